/**
 * SslClient: a pg.Client (same API, same events) whose connect() negotiates SSL the libpq way and
 * which carries the read-only `security` report of the connection it holds.
 *
 *   const client = new SslClient(options); await client.connect()   // or: await connect(options)
 *   new pg.Pool({ ...options, Client: SslClient })                    // what createPool() does
 *
 * One SslClient may need several start-ups (prefer retries in plaintext after an authentication
 * error over SSL; allow retries with SSL): pg cannot reconnect a client, so between attempts the
 * client is given a fresh pg Connection on the next socket and pg's connection-state flags are
 * reset (startOn / abandonAttempt below). That is the one place that touches pg's internals.
 */
import type { Socket } from 'node:net'
import pg from 'pg'
import type { ConnectOptions } from './options.js'
import type { SecurityReport } from './report.js'
import { resolveSettings, type ResolvedSettings } from './settings/resolve.js'
import { pgConfig } from './connect/pg-config.js'
import { PgSslError } from './errors.js'
import { DIALECTS } from './dialects.js'
import { authenticate } from './opengauss/startup.js'
import { guardStartup } from './connect/startup-guard.js'
import { publish } from './policy/audit.js'
import type { ExpiryWarning } from './policy/enforce.js'

/** The pg.Client fields a retry resets (pg/lib/client.js constructor and _connect). */
interface PgClientState {
  connection: pg.Connection & NodeJS.EventEmitter & { stream: Socket }
  _connecting: boolean
  _connected: boolean
  _connectionError: boolean
  _ending: boolean
  _ended: boolean
  _queryable: boolean
  connectionTimeoutHandle?: NodeJS.Timeout
  connectionParameters: { client_encoding?: string }
  getStartupConf(): Record<string, string>
}

/** The executor's view of a client: run a start-up on a socket, or give it up. */
export interface StartupTarget {
  startOn(stream: Socket, onAuthenticated: () => void, atAuthenticationOk?: () => PgSslError | undefined): Promise<void>
  abandonAttempt(): void
}

/** What a successful negotiation yields: the report, and certificates the policy warns about. */
export interface Negotiated {
  readonly report: SecurityReport
  readonly warnings: readonly ExpiryWarning[]
}

type Executor = (client: SslClient) => Promise<Negotiated>
let runAttempts: Executor | undefined
/** Set once by connect.ts (breaks the import cycle client → executor → client). */
export function setExecutor(executor: Executor): void {
  runAttempts = executor
}

export class SslClient extends pg.Client implements StartupTarget {
  #settings: ResolvedSettings | undefined
  #settingsError: unknown
  #report: SecurityReport | undefined

  constructor(options: ConnectOptions = {}) {
    let settings: ResolvedSettings | undefined
    let settingsError: unknown
    try {
      settings = resolveSettings(options)
    } catch (error) {
      // A pool constructs clients where a throw would escape; connect() reports it instead.
      settingsError = error
    }
    const config = settings ? pgConfig(settings) : { ssl: false as const }
    super(config)
    this.#settings = settings
    this.#settingsError = settingsError
  }

  /** What this connection really negotiated. Frozen; set once when the connection is made. */
  get security(): SecurityReport {
    if (!this.#report) throw new Error('this client is not connected yet: call connect() first')
    return this.#report
  }

  /**
   * The resolved settings hold the password and sslpassword in clear, so they are not a public
   * property (a console.log of the client must not show them). @internal
   */
  static settingsOf(client: SslClient): ResolvedSettings {
    if (!client.#settings) throw client.#settingsError
    return client.#settings
  }

  override connect(): Promise<this>
  override connect(callback: (error: Error | undefined) => void): void
  override connect(callback?: (error: Error | undefined, client?: this) => void): Promise<this> | void {
    const done = (async () => {
      if (this.#settingsError !== undefined) throw this.#settingsError
      if (!runAttempts) throw new Error('pg-sslmode executor not loaded')
      if (this.#report) throw new Error('Client has already been connected. You cannot reuse a client.')
      const settings = SslClient.settingsOf(this)
      const sinks = { onSecurityEvent: settings.onSecurityEvent, auditLog: settings.auditLog, emitter: this }
      const host = settings.values.host?.value
      let negotiated: Negotiated
      try {
        negotiated = await runAttempts(this)
      } catch (error) {
        const e = error as PgSslError
        if (e instanceof PgSslError && e.code === 'POLICY_VIOLATION') {
          publish({ type: 'policy-violation', time: new Date().toISOString(), rule: e.rule ?? '', required: e.required ?? '', observed: e.observed ?? '', message: e.message, host }, sinks)
        }
        throw error
      }
      this.#report = deepFreeze(negotiated.report)
      const time = new Date().toISOString()
      for (const warning of negotiated.warnings) publish({ type: 'certificate-expiring', time, host: this.#report.host, ...warning }, sinks)
      if (this.#report.fallback !== 'none') publish({ type: 'fallback', time, report: this.#report }, sinks)
      publish({ type: 'security', time, report: this.#report }, sinks)
      return this
    })()
    if (!callback) return done
    // pg calls back with (null, client) on success; some libraries use the second argument.
    done.then(
      () => callback(null as unknown as undefined, this),
      (error: Error) => callback(error),
    )
  }

  /** @internal Run the start-up on an established socket (pg's, or openGauss's before pg's). */
  async startOn(stream: Socket, onAuthenticated: () => void, atAuthenticationOk?: () => PgSslError | undefined): Promise<void> {
    const state = this as unknown as PgClientState
    const openGauss = DIALECTS[SslClient.settingsOf(this).dialect].openGaussAuthentication
    // A server that is not PostgreSQL, or misbehaves, is refused at once (startup-guard.ts).
    guardStartup(stream, { phase: 'auth', untilAuthenticated: openGauss, ...(atAuthenticationOk ? { atAuthenticationOk } : {}) })
    if (openGauss) {
      await authenticate(stream, {
        params: state.getStartupConf(),
        user: this.user ?? '',
        password: async () => {
          const p = this.password as unknown
          const value = typeof p === 'function' ? await (p as () => unknown)() : p
          return typeof value === 'string' ? value : undefined
        },
      })
      onAuthenticated()
      guardStartup(stream, { phase: 'after-auth' })
    }
    const ConnectionClass = pg.Connection as unknown as new (config: Record<string, unknown>) => PgClientState['connection']
    const connection = new ConnectionClass({
      stream: adoptConnected(stream),
      ssl: false,
      encoding: state.connectionParameters.client_encoding || 'utf8',
    })
    connection.once('authenticationOk', onAuthenticated)
    // The openGauss start-up is done already: pg only reads what follows AuthenticationOk.
    if (openGauss) (connection as unknown as { startup(): void }).startup = () => {}
    state.connection = connection
    state._connecting = false
    state._connected = false
    state._connectionError = false
    state._ending = false
    state._ended = false
    state._queryable = true
    await super.connect()
  }

  /** @internal Drop the connection of a failed attempt without it touching this client again. */
  abandonAttempt(): void {
    const state = this as unknown as PgClientState
    clearTimeout(state.connectionTimeoutHandle)
    const connection = state.connection
    connection.removeAllListeners()
    connection.on('error', () => {}) // a late socket error must not be unhandled
    connection.stream.destroy()
  }
}

/**
 * pg calls stream.connect() and waits for 'connect'; the socket is connected already, so answer
 * at once (next tick, after pg has attached its listeners) and let data flow.
 */
function adoptConnected(stream: Socket): Socket {
  stream.connect = function (this: Socket) {
    process.nextTick(() => {
      this.emit('connect')
      this.resume()
    })
    return this
  } as Socket['connect']
  return stream
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

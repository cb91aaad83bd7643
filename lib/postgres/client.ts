/**
 * SslClient: a pg.Client (same constructor, API, events, errors and `connection` object) whose
 * connect() negotiates SSL the libpq way and which carries the read-only `security` report of
 * the connection it holds.
 *
 *   const client = new SslClient(options); await client.connect()   // or: await connect(options)
 *   new SslClient('postgresql://db/app?sslmode=verify-full')          // a string, as pg takes one
 *   new pg.Pool({ ...options, Client: SslClient })                    // what createPool() does
 *
 * One SslClient may need several start-ups (prefer retries in plaintext after an authentication
 * error over SSL; allow retries with SSL; several hosts). pg cannot reconnect a client, so between
 * attempts the pg.Connection pg created is given the next socket, the listeners pg attached for
 * the failed attempt are removed (the application's stay) and pg's connection-state flags are
 * reset (startOn / abandonAttempt below), through pg-internals.ts, which names every private member of
 * pg that pg-sslmode uses and why (a canary test checks them on every supported pg).
 * Throughout, `client.connection` is the object pg made and `client.connection.stream` the socket
 * of the attempt under way.
 */
import { Socket } from 'node:net'
import pg from './pg.js'
import {
  activeQueryOf,
  connectionOf,
  failWaitingQueries,
  holdQueries,
  isEnding,
  isPipelined,
  markEnded,
  markEnding,
  pgSocket,
  promiseKind,
  queuedQueryCount,
  readyForPgStartup,
  showNoPassword,
  showTlsParameters,
  stopPgAttempt,
  usePgSocket,
} from './pg-internals.js'
import type { ConnectOptions } from './options.js'
import { adoptConnected, isUnconnected, type Listener, restoreListeners, snapshotListeners } from './pg-handover.js'
import type { SecurityReport } from '../engine/report.js'
import type { ConnectionSettings } from './connection-settings.js'
import { clientSettings } from './settings-reuse.js'
import { pgConfig, sslOptionAsPgShowsIt } from './connect/pg-config.js'
import { PgSslError } from '../engine/errors.js'
import { closeQuietly, destroyedExternally, watchExternalDestroy } from '../engine/sockets.js'
import { auditRefusal, publishConnected } from '../engine/policy/audit.js'
import { RETRY_COUNTERS, RetryCounters } from './connect/retry.js'
import type { CancelRequest } from './connect/cancel.js'
import {
  type Negotiated,
  type StartOptions,
  type StartupFacts,
  type StartupTarget,
  TERMINATED,
} from './connect/target.js'

// The connect machinery (the executor, TLS, the guards, openGauss, cancel requests) loads at the
// first connect(): `require('pg-sslmode')` pays for the settings and pg's classes only (cold start,
// docs/benchmarks.md). Each module is loaded once; later calls reuse the promise.
let executorModule: Promise<typeof import('./connect/executor.js')> | undefined
let startTapsModule: Promise<typeof import('./connect/start-taps.js')> | undefined
let cancelModule: Promise<typeof import('./connect/cancel.js')> | undefined
const executor = () => (executorModule ??= import('./connect/executor.js'))
const startTaps = () => (startTapsModule ??= import('./connect/start-taps.js'))
export const cancelRequests = () => (cancelModule ??= import('./connect/cancel.js'))

export class SslClient extends pg.Client implements StartupTarget {
  #settings: ConnectionSettings | undefined
  #settingsError: unknown
  /** The report of the connection that was made (reportWhenAsked). */
  #report: (() => SecurityReport) | undefined
  /** connect() was called (a client connects once, as in pg). */
  #started = false
  /** Between connect() and the report: attempts may be under way. */
  #negotiating = false
  /** Settles when the negotiation is over, whichever way. */
  #negotiation: Promise<void> = Promise.resolve()
  #aborted = false
  #abortHandler: (() => void) | undefined
  #restoreDestroy: (() => void) | undefined
  #usedOwnSocket = false
  /** The listeners on pg's connection before the first attempt: the application's. */
  #applicationListeners: Map<string | symbol, Listener[]> | undefined
  #connectEventHeld = false
  #endEmitted = false
  #retryCounters: RetryCounters | undefined
  #cancelKey: { processId: number; key: Buffer } | undefined

  constructor(config: ConnectOptions | string = {}) {
    const options: ConnectOptions = typeof config === 'string' ? { connectionString: config } : (config ?? {})
    let settings: ConnectionSettings | undefined
    let settingsError: unknown
    // createPool() shares its retry counters with the clients it makes (pool.connectRetryStats).
    const counters = (options as { [RETRY_COUNTERS]?: unknown })[RETRY_COUNTERS]
    const pooled = counters instanceof RetryCounters
    try {
      // A pool's clients share one options object, and an application may pass its own again: its
      // resolution is reused while it holds (settings-reuse.ts).
      settings = clientSettings(options, pooled)
    } catch (error) {
      // A pool constructs clients where a throw would escape; connect() reports it instead.
      settingsError = error
    }
    const pgOptions = settings
      ? pgConfig(settings)
      : { ssl: false as const, ...(options.Promise ? { Promise: options.Promise } : {}) }
    super(pgOptions)
    showNoPassword(this)
    // As pg: until the connection says which TLS is in effect, connectionParameters.ssl is the ssl option.
    if (options.ssl !== undefined && options.ssl !== null) showTlsParameters(this, sslOptionAsPgShowsIt(options.ssl))
    this.#settings = settings
    this.#settingsError = settingsError
    if (pooled) this.#retryCounters = counters
  }

  /** What this connection really negotiated. Frozen; its facts are read when the connection is made. */
  get security(): SecurityReport {
    if (!this.#report) throw new Error('this client is not connected yet: call connect() first')
    return this.#report()
  }

  /**
   * The resolved settings hold the password and sslpassword in clear, so they are not a public
   * property (a console.log of the client must not show them). @internal
   */
  #settingsInForce(): ConnectionSettings {
    if (!this.#settings) throw this.#settingsError
    return this.#settings
  }

  override connect(): Promise<this>
  override connect(callback: (error: Error | undefined) => void): void
  override connect(callback?: (error: Error | undefined, client?: this) => void): Promise<this> | undefined {
    if (this.#started) {
      const error = new Error('Client has already been connected. You cannot reuse a client.')
      if (callback) {
        process.nextTick(() => callback(error))
        return
      }
      return promiseKind(this).reject(error)
    }
    this.#started = true
    this.#negotiating = true
    // pg's own socket is client.connection.stream from now on, as in pg: ending it ends the attempt.
    this.expose(pgSocket(this))
    const outcome = this.#negotiate()
    this.#negotiation = outcome.then(
      () => undefined,
      () => undefined,
    )
    // As pg: a connection ended by end() while connecting never settles its connect() (pg's
    // 'end' handler skips the callback when the client is ending).
    const settle = (resolve: (client: this) => void, reject: (error: Error) => void): void => {
      outcome.then(
        () => (isEnding(this) ? this.#emitHeldConnect() : resolve(this)),
        (error: Error) => (isEnding(this) ? undefined : reject(error)),
      )
    }
    if (callback) {
      // In pg's order: the callback runs at ReadyForQuery, before the 'connect' event, and a query
      // it makes waits until it returns (pg sends it once its ReadyForQuery handler is done).
      settle(
        (client) => {
          const release = holdQueries(this)
          try {
            callback(null as unknown as undefined, client)
            this.#emitHeldConnect()
          } finally {
            release()
          }
        },
        (error) => callback(error),
      )
      return
    }
    // A promise resolves at ReadyForQuery too; its then() runs after the 'connect' event.
    return new (promiseKind(this))<this>((resolve, reject) =>
      settle((client) => {
        this.#emitHeldConnect()
        resolve(client)
      }, reject),
    )
  }

  async #negotiate(): Promise<void> {
    try {
      if (this.#settingsError !== undefined) throw this.#settingsError
      const settings = this.#settingsInForce()
      const sinks = { onSecurityEvent: settings.onSecurityEvent, auditLogs: settings.auditLogs, emitter: this }
      let negotiated: Negotiated
      try {
        negotiated = await (await executor()).negotiate(this, settings, this.#retryCounters)
      } catch (error) {
        auditRefusal(error, sinks, settings.values.host?.value)
        throw error
      }
      this.#report = negotiated.report
      publishConnected(this.#report, negotiated.warnings, sinks)
    } finally {
      this.#negotiating = false
      showNoPassword(this)
      this.#abortHandler = undefined
      this.#restoreDestroy?.()
      this.#restoreDestroy = undefined
    }
  }

  /** pg emits 'connect' at ReadyForQuery; it is held until the report exists, and sent here. */
  #emitHeldConnect(): void {
    if (!this.#connectEventHeld) return
    this.#connectEventHeld = false
    super.emit('connect')
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connect' && this.#negotiating) {
      this.#connectEventHeld = true
      return true
    }
    if (event === 'end') this.#endEmitted = true
    return super.emit(event, ...args)
  }

  override end(): Promise<void>
  override end(callback: (error: Error) => void): void
  override end(callback?: (error: Error) => void): Promise<void> | void {
    if (!this.#negotiating) return callback ? super.end(callback) : super.end()
    if (isPipelined(this) && queuedQueryCount(this) > 0) {
      // pg's pipeline mode: queries queued before end() still run, then a graceful goodbye — so
      // the connection is made first (a failed one fails them, as in pg).
      const done = this.#negotiation.then(() => (this.#report ? super.end() : undefined))
      return this.#settleEnd(done, callback)
    }
    // Still negotiating (TCP, SSLRequest, TLS, or pg's start-up on our socket): end() aborts it
    // and closes every socket, as pg's end() closes a connecting client's socket; no further
    // attempt is made, connect() never settles (as in pg), queries waiting fail with pg's
    // "Connection terminated", and 'end' follows once all is closed.
    markEnding(this)
    this.#abort()
    const done = this.#negotiation.then(() => {
      failWaitingQueries(this)
      markEnded(this)
      if (!this.#endEmitted) process.nextTick(() => super.emit('end'))
    })
    return this.#settleEnd(done, callback)
  }

  /** end()'s callback or promise (of pg's Promise kind), once `done` has settled. */
  #settleEnd(done: Promise<unknown>, callback?: (error: Error) => void): Promise<void> | undefined {
    if (!callback) return new (promiseKind(this))<void>((resolve) => done.then(() => resolve()))
    done.then(() => callback(undefined as unknown as Error))
    return undefined
  }

  // ---------------------------------------------------------------------------------------------
  // The executor's side (StartupTarget)

  /** Ended from outside: end(), or connection.stream destroyed (seen the moment destroy() returned). */
  get aborted(): boolean {
    if (!this.#aborted && this.#negotiating && destroyedExternally(pgSocket(this))) this.#abort()
    return this.#aborted
  }

  onAbort(handler: (() => void) | undefined): void {
    this.#abortHandler = handler
  }

  #abort(): void {
    if (this.#aborted || !this.#negotiating) return
    this.#aborted = true
    this.#abortHandler?.()
  }

  /** @internal */
  nextSocket(): Socket {
    // pg made an unconnected net.Socket for this client: the first attempt uses that very object.
    const own = pgSocket(this)
    const socket = !this.#usedOwnSocket && isUnconnected(own) ? own : new Socket()
    this.#usedOwnSocket = true
    this.expose(socket)
    return socket
  }

  /** @internal */
  expose(stream: Socket): void {
    // The first attempt goes on on pg's own socket, exposed since connect(): already watched.
    if (this.#restoreDestroy && stream === pgSocket(this)) return
    this.#restoreDestroy?.()
    usePgSocket(this, stream)
    this.#restoreDestroy = watchExternalDestroy(stream, () => this.#abort())
  }

  /** @internal Run the start-up on an established socket (pg's, or openGauss's before pg's). */
  async startOn(stream: Socket, start: StartOptions): Promise<StartupFacts> {
    const con = connectionOf(this)
    this.#applicationListeners ??= snapshotListeners(con)
    const taps = await (await startTaps()).tapStartup(stream, this, start, (processId, key) => {
      this.#cancelKey = { processId, key }
    })
    this.expose(adoptConnected(stream))
    // openGauss's start-up is done already: pg only reads what follows AuthenticationOk.
    readyForPgStartup(this, {
      startupDone: start.openGauss !== undefined,
      ...(taps.startupPacket ? { startupPacket: taps.startupPacket } : {}),
    })
    con.once('authenticationOk', start.onAuthenticated)
    // end() called once pg has the socket: pg closes it and never settles its connect(); the
    // negotiation must not wait for it.
    let onEnd: (() => void) | undefined
    const ended = new Promise<never>((_, reject) => {
      onEnd = () => reject(new PgSslError('CONNECTION_FAILED', TERMINATED))
      con.once('end', onEnd)
    })
    ended.catch(() => {})
    try {
      await Promise.race([super.connect(), ended])
    } finally {
      // Once pg's connect() has settled, a later 'end' is the session's, not this wait's.
      con.removeListener('end', onEnd!)
    }
    return taps.facts()
  }

  /**
   * pg's cancel(client, query), made as libpq 17+ makes it when `client` is an SslClient: the
   * request goes to the server that client is connected to with that client's own sslmode,
   * verification and policy (connect/cancel.ts), never in plaintext where the session used TLS
   * unless its sslmode would fall back. The settings of the client cancel() is called on are not
   * used then (libpq's PQcancelCreate also takes the session's). A failed cancel is emitted as
   * 'error' on this client when it has listeners, else as a process warning. Any other target:
   * pg's own behaviour.
   */
  cancel(client: InstanceType<typeof pg.Client>, query: unknown): void {
    if (client instanceof SslClient && activeQueryOf(client) === query) {
      cancelRequests()
        .then(({ sendCancel }) => sendCancel(SslClient.cancelRequestOf(client)))
        .catch((error: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', error)
          else
            process.emitWarning(
              `pg-sslmode: the cancel request failed: ${(error as Error)?.message ?? error}`,
              'PgSslCancelWarning',
            )
        })
      return
    }
    ;(pg.Client.prototype as unknown as { cancel(client: unknown, query: unknown): void }).cancel.call(
      this,
      client,
      query,
    )
  }

  /**
   * @internal What a cancel request for this client's session needs: the server it is connected
   * to, the whole cancel key (BackendKeyData) and its settings (secrets included: never print).
   */
  static cancelRequestOf(client: SslClient): CancelRequest {
    const report = client.#report?.()
    return {
      ...(report ? { session: { host: report.host, port: report.port } } : {}),
      ...(client.#cancelKey ? { key: client.#cancelKey } : {}),
      settings: () => client.#settingsInForce(),
    }
  }

  /** @internal The process ID and whole cancel key of the session (BackendKeyData), once connected. */
  static cancelKeyOf(client: SslClient): { processId: number; key: Buffer } | undefined {
    return client.#cancelKey
  }

  /** @internal One value from a query on the connected session, as the server's text. */
  async askServer(sql: string): Promise<string | undefined> {
    const raw = { getTypeParser: () => (value: string) => value }
    const result = await super.query({ text: sql, rowMode: 'array', types: raw } as never)
    const value = (result as unknown as { rows: unknown[][] }).rows[0]?.[0]
    return typeof value === 'string' ? value : undefined
  }

  /** @internal Drop the connection of a failed attempt without it touching this client again. */
  abandonAttempt(): void {
    stopPgAttempt(this)
    const con = connectionOf(this)
    // What pg (and startOn) attached for this attempt goes; the application's listeners stay.
    if (this.#applicationListeners) restoreListeners(con, this.#applicationListeners)
    const stream = pgSocket(this)
    stream.removeAllListeners()
    stream.on('error', () => {}) // a late socket error must not be unhandled
    closeQuietly(stream)
  }
}

/** Connects with libpq's sslmode semantics and returns a connected pg client with `security`. */
export async function connect(options: ConnectOptions = {}): Promise<SslClient> {
  return new SslClient(options).connect()
}

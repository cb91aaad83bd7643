/**
 * Hand an established socket (plain or TLS) to pg and run the PostgreSQL start-up on it; turn a
 * start-up failure into a classified Failure (server refusal before or after authentication,
 * TLS alert, other).
 */
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import pg from 'pg'
import { SslClient } from '../client.js'
import { PgSslError } from '../errors.js'
import { effectiveUser, settingValue, type ResolvedSettings } from '../settings/resolve.js'
import { Failure } from './failure.js'
import type { Endpoint } from './transport.js'

/** Hand an established socket to pg and run the PostgreSQL start-up (authentication) on it. */
export async function startUp(stream: Socket, settings: ResolvedSettings, endpoint: Endpoint): Promise<SslClient> {
  const client = new SslClient({ ...pgConfig(settings, endpoint), stream: adoptConnected(stream) as unknown as pg.ClientConfig['stream'], ssl: false })
  let authenticated = false
  ;(client as unknown as { connection: NodeJS.EventEmitter }).connection.once('authenticationOk', () => {
    authenticated = true
  })
  try {
    await client.connect()
    return client
  } catch (error) {
    // Late socket errors of a failed client must not become unhandled 'error' events.
    client.on('error', () => {})
    stream.destroy()
    throw startupFailure(error, authenticated, stream)
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

function startupFailure(error: unknown, authenticated: boolean, stream: Socket): Failure {
  if (error instanceof pg.DatabaseError) {
    const sqlstate = error.code ?? ''
    const message = error.message
    // After AuthenticationOk libpq retries nothing (e.g. "database does not exist").
    const kind = authenticated ? 'other' : 'rejected'
    // PostgreSQL: no pg_hba line for plaintext ("..., no encryption"); openGauss require_ssl: 57P03.
    const plaintextRefused =
      !(stream instanceof TLSSocket) && ((sqlstate === '28000' && /no encryption/.test(message)) || (sqlstate === '57P03' && /ssl/i.test(message)))
    if (plaintextRefused && !authenticated) {
      const refused = new PgSslError('SSL_REQUIRED_BY_SERVER', `server requires SSL, client disabled it: ${message} (SQLSTATE ${sqlstate})`, {
        sqlstate,
        setting: 'sslmode',
        cause: error,
      })
      return new Failure(kind, refused)
    }
    return new Failure(kind, new PgSslError('SERVER_REJECTED', `server rejected the connection: ${message} (SQLSTATE ${sqlstate})`, { sqlstate, cause: error }))
  }
  if (error instanceof PgSslError) return new Failure('other', error)
  const code = (error as { code?: unknown })?.code
  if (stream instanceof TLSSocket && typeof code === 'string' && code.startsWith('ERR_SSL_')) {
    // With TLS 1.3 the server checks our certificate after our side of the handshake is done, so
    // its refusal (an alert) arrives during start-up. libpq does not fall back after this either.
    const alert = new PgSslError('SSL_HANDSHAKE_FAILED', `SSL error during start-up: ${(error as Error).message}`, {
      cause: error,
      hint: /certificate|unknown ca/i.test((error as Error).message)
        ? 'the server refused the client certificate: check sslcert/sslkey and that the server trusts their CA'
        : undefined,
    })
    return new Failure('other', alert)
  }
  const failed = new PgSslError('CONNECTION_FAILED', `connection start-up failed: ${(error as Error)?.message ?? String(error)}`, { cause: error })
  return new Failure('other', failed)
}

function pgConfig(settings: ResolvedSettings, endpoint: Endpoint): pg.ClientConfig {
  const v = (name: string): string | undefined => settingValue(settings, name)
  // Explicit values everywhere, so pg never falls back to process.env (the caller may pass its own env).
  const user = effectiveUser(settings)
  const config: pg.ClientConfig & Record<string, unknown> = {
    ...settings.passThrough,
    user,
    database: v('dbname') ?? user,
    // Informational for pg (client.host/port): the socket is already connected to this endpoint.
    host: endpoint.host,
    port: endpoint.port,
  }
  if (settings.passwordFunction) config.password = settings.passwordFunction
  else if (settings.values.password !== undefined) config.password = settings.values.password.value
  const appName = v('application_name') ?? v('fallback_application_name')
  if (appName !== undefined) config.application_name = appName
  if (v('options') !== undefined) config.options = v('options')
  if (v('client_encoding') !== undefined) config.client_encoding = v('client_encoding')
  const replication = v('replication')
  if (replication !== undefined) config.replication = replication === 'database' ? 'database' : ['1', 'true', 'on', 'yes'].includes(replication)
  if (v('channel_binding') === 'prefer' && settings.passThrough.enableChannelBinding === undefined) config.enableChannelBinding = true
  return config
}


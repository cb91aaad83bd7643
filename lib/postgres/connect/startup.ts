/**
 * Run the PostgreSQL start-up on an established socket (plain or TLS) through pg; turn a
 * start-up failure into a classified Failure (server refusal before or after authentication,
 * TLS alert, other).
 */
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import pg from '../pg.js'
import type { StartOptions, StartupFacts, StartupTarget } from './target.js'
import { PgSslError } from '../../engine/errors.js'
import { Failure } from './failure.js'

/** Run the PostgreSQL start-up (authentication) on an established socket for `target`. */
export async function startUp(
  stream: Socket,
  target: StartupTarget,
  start: Omit<StartOptions, 'onAuthenticated'>,
): Promise<StartupFacts> {
  let authenticated = false
  const onAuthenticated = (): void => {
    authenticated = true
  }
  try {
    return await target.startOn(stream, { ...start, onAuthenticated })
  } catch (error) {
    target.abandonAttempt()
    throw startupFailure(error, authenticated, stream)
  }
}

function startupFailure(error: unknown, authenticated: boolean, stream: Socket): Failure {
  if (error instanceof pg.DatabaseError) {
    const sqlstate = error.code ?? ''
    const message = error.message
    // After AuthenticationOk libpq retries nothing (e.g. "database does not exist").
    const kind = authenticated ? 'other' : 'rejected'
    // PostgreSQL: no pg_hba line for plaintext ("..., no encryption"); openGauss require_ssl: 57P03.
    const plaintextRefused =
      !(stream instanceof TLSSocket) &&
      ((sqlstate === '28000' && /no encryption/.test(message)) || (sqlstate === '57P03' && /ssl/i.test(message)))
    if (plaintextRefused && !authenticated) {
      const refused = new PgSslError(
        'SSL_REQUIRED_BY_SERVER',
        `server requires SSL, client disabled it: ${message} (SQLSTATE ${sqlstate})`,
        {
          sqlstate,
          setting: 'sslmode',
          cause: error,
        },
      )
      return new Failure(kind, refused)
    }
    return new Failure(
      kind,
      new PgSslError('SERVER_REJECTED', `server rejected the connection: ${message} (SQLSTATE ${sqlstate})`, {
        sqlstate,
        cause: error,
      }),
    )
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
  // pg's own words (its SASL checks, "Connection terminated unexpectedly", ...), as pg would throw them.
  const failed = new PgSslError('CONNECTION_FAILED', (error as Error)?.message ?? String(error), { cause: error })
  return new Failure('other', failed)
}

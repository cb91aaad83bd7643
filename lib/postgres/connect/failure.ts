/**
 * What a failed attempt was, whether libpq would try the next attempt after it, and which error
 * the user finally sees.
 */
import pg from '../pg.js'
import { DIALECTS, type Dialect } from '../dialects.js'
import { detailsOf, PgSslError } from '../../engine/errors.js'
import type { AttemptRecord } from '../../engine/report.js'
import type { AttemptSpec, Plan } from '../plan.js'
import { violation } from '../../engine/policy/enforce.js'
import type { SslPolicy } from '../../engine/policy/policy.js'

/** A failed attempt, classified for the retry decision. */
export class Failure {
  constructor(
    /** rejected = ErrorResponse before AuthenticationOk, the only server refusal libpq retries. */
    readonly kind: 'ssl-refused' | 'handshake' | 'rejected' | 'other',
    readonly error: PgSslError,
  ) {}
}

/** Whether `next` may run after `failure` (libpq's retry rules, per dialect). */
export function mayFollow(next: AttemptSpec, failure: Failure, dialect: Dialect): boolean {
  const rejectedWithRetry =
    failure.kind === 'rejected' &&
    (failure.error.sqlstate !== '57P03' || DIALECTS[dialect].retriesOtherSslChoiceAfter57P03)
  switch (next.trigger) {
    case 'first':
      return true
    case 'ssl-failed':
      return failure.kind === 'ssl-refused' || failure.kind === 'handshake' || rejectedWithRetry
    case 'plaintext-rejected':
      return rejectedWithRetry
  }
}

export function classify(error: unknown, timedOut: boolean, timeoutMs: number): Failure {
  if (timedOut) {
    // pg's words first ("timeout expired"), so code written for pg recognises it.
    const timeout = new PgSslError(
      'CONNECT_TIMEOUT',
      `timeout expired: the connection attempt did not finish within ${timeoutMs / 1000} s (connect_timeout)`,
      { setting: 'connect_timeout', cause: error },
    )
    return new Failure('other', timeout)
  }
  if (error instanceof Failure) return error
  if (error instanceof PgSslError) {
    switch (error.code) {
      case 'SSL_DISABLED_ON_SERVER':
        return new Failure('ssl-refused', error)
      case 'SSL_HANDSHAKE_FAILED':
      case 'CERT_VERIFY_FAILED':
        return new Failure('handshake', error)
      default:
        return new Failure('other', error)
    }
  }
  return new Failure(
    'other',
    new PgSslError('CONNECTION_FAILED', `connection failed: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    }),
  )
}

/**
 * How one host's attempts ended: the error libpq would report for it, and whether libpq goes on
 * to the next host after it (PQconnectPoll's try_next_host). The connect loop reads both; nothing
 * is attached to the error afterwards.
 */
export class HostFailure {
  constructor(
    readonly error: PgSslError,
    readonly nextHostAllowed: boolean,
  ) {}
}

/**
 * libpq tries the next host only when this one could not be reached, timed out, answered 57P03
 * "cannot connect now" or was of the wrong kind (target_session_attrs); anything else ends it.
 */
export function hostFailure(
  failures: readonly Failure[],
  plan: Plan,
  policy: SslPolicy,
  how: { readonly reached: boolean; readonly timedOut: boolean },
): HostFailure {
  const nextHostAllowed =
    !how.reached ||
    how.timedOut ||
    failures.some(
      (f) =>
        (f.error.sqlstate === '57P03' && f.kind === 'rejected') || f.error.code === 'TARGET_SESSION_ATTRS_MISMATCH',
    )
  return new HostFailure(finalError(failures, plan, policy), nextHostAllowed)
}

/**
 * The error the user sees when no attempt connected. Usually the last one; but when prefer's SSL
 * attempt failed verification or its handshake and the plaintext retry was then refused, the SSL
 * failure is what the user must fix, so it is the one thrown.
 */
export function finalError(failures: readonly Failure[], plan: Plan, policy: SslPolicy = {}): PgSslError {
  const lastFailure = failures[failures.length - 1]!
  const last = lastFailure.error
  // prefer would have gone on in plaintext here (libpq's retry rule): what refused is the policy, not the mode.
  if (plan.forbiddenFallback && mayFollow(plan.forbiddenFallback, lastFailure, plan.dialect)) {
    return violation(
      policy,
      'allowPlaintextFallback',
      'no plaintext fallback (allowPlaintextFallback: false)',
      `the SSL attempt failed and sslmode=${plan.requestedMode} would have continued without encryption`,
      last.message,
    )
  }
  const sslFailure = failures.find((f) => f.kind === 'handshake')?.error
  if (last.code === 'SSL_REQUIRED_BY_SERVER' && sslFailure) {
    return new PgSslError(
      sslFailure.code,
      `${sslFailure.message}; the plaintext retry was refused too (${last.message})`,
      {
        ...(sslFailure.reason ? { reason: sslFailure.reason } : {}),
        ...(sslFailure.setting ? { setting: sslFailure.setting } : {}),
        hint: sslFailure.hint,
        cause: sslFailure,
      },
    )
  }
  if (last.code === 'SSL_REQUIRED_BY_SERVER' && plan.requestedMode === 'allow' && last.sqlstate === '57P03') {
    return new PgSslError(last.code, last.message, {
      sqlstate: '57P03',
      setting: 'sslmode',
      hint:
        `PostgreSQL's libpq does not retry with SSL after SQLSTATE 57P03; openGauss's does: use ` +
        `dialect 'opengauss' or 'gaussdb' for an openGauss server, or sslmode=require`,
    })
  }
  // libpq lists every attempt's error; the code stays the last attempt's.
  if (failures.length > 1)
    return withEarlierAttempts(
      last,
      failures.slice(0, -1).map((f) => f.error),
    )
  return last
}

function withEarlierAttempts(last: PgSslError, earlier: readonly PgSslError[]): PgSslError {
  return new PgSslError(last.code, `${last.message} (earlier attempt: ${earlier.map((e) => e.message).join('; ')})`, {
    ...detailsOf(last),
    cause: last,
  })
}

/** One attempt as the report and the error list it (security.attempts, error.attempts). */
export function attemptRecord(
  endpoint: { host: string; port: number },
  spec: AttemptSpec,
  sameSocket: boolean,
  result: AttemptRecord['result'],
  error?: PgSslError,
): AttemptRecord {
  return {
    host: endpoint.host,
    port: endpoint.port,
    ssl: spec.ssl,
    verifyChain: spec.verifyChain,
    verifyHostname: spec.verifyHostname,
    sameSocket,
    result,
    ...(error ? { failure: failureSummary(error) } : {}),
  }
}

export function failureSummary(error: PgSslError): NonNullable<AttemptRecord['failure']> {
  return {
    code: error.code,
    message: error.message,
    ...(error.sqlstate ? { sqlstate: error.sqlstate } : {}),
    ...(error.reason ? { reason: error.reason } : {}),
  }
}

/**
 * The error the caller gets: a refusal the server sent is pg's own DatabaseError (SQLSTATE in
 * `code`, as pg gives it) carrying pg-sslmode's code, hint and attempts; everything else is the
 * PgSslError itself.
 */
export function publicError(error: PgSslError): Error {
  if (error.code !== 'SERVER_REJECTED' && error.code !== 'SSL_REQUIRED_BY_SERVER') return error
  let server: unknown = error
  while (server && !(server instanceof pg.DatabaseError)) server = (server as { cause?: unknown }).cause
  if (!(server instanceof pg.DatabaseError)) return error
  const details: Record<string, unknown> = {
    sslCode: error.code,
    sslHint: error.hint,
    sslMessage: error.message,
    sqlstate: server.code ?? '',
    attempts: error.attempts,
  }
  if (error.setting !== undefined) details.setting = error.setting
  for (const [name, value] of Object.entries(details))
    Object.defineProperty(server, name, { value, enumerable: true, configurable: true, writable: name === 'attempts' })
  return server
}

/**
 * Connection-establishment retry (createPool's connectRetry, docs/pools.md): when every host
 * failed because the server is not up yet or is going away, wait with jittered exponential
 * backoff and run the attempts again, within a budget. Certificate, policy, authentication and
 * configuration failures are never retried: waiting cannot fix them.
 */
import type { PgSslError } from '../../engine/errors.js'
import type { ConnectRetrySettings } from '../settings/connect-retry.js'

/** Socket errors that mean "nobody is listening yet" or "the server went away". */
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ENOENT'])
/** cannot_connect_now (starting up, shutting down, recovery), admin_shutdown, crash_shutdown. */
const GOING_AWAY_SQLSTATE = new Set(['57P03', '57P01', '57P02'])

/** Why `error` is worth waiting for, or undefined when it is not. */
export function transientReason(error: PgSslError): string | undefined {
  switch (error.code) {
    case 'CONNECTION_FAILED': {
      const errno = errnoOf(error)
      if (errno === undefined) return 'the server closed the connection before the start-up finished'
      return TRANSIENT_ERRNO.has(errno) ? errno : undefined
    }
    case 'SSL_HANDSHAKE_FAILED': {
      // The server went away in the middle of the handshake; a TLS alert is never transient.
      const errno = errnoOf(error)
      return errno === 'ECONNRESET' || errno === 'EPIPE' ? errno : undefined
    }
    case 'TARGET_SESSION_ATTRS_MISMATCH':
      // During a failover the host that will be the primary is still a standby.
      return 'target_session_attrs: no host of the kind asked for yet'
    case 'SERVER_REJECTED':
      return error.sqlstate !== undefined && GOING_AWAY_SQLSTATE.has(error.sqlstate)
        ? `SQLSTATE ${error.sqlstate}`
        : undefined
    default:
      return undefined
  }
}

function errnoOf(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code
  }
  return undefined
}

/** The wait before retry number `retry` (0-based): half the ceiling plus a random half ("equal jitter"). */
export function backoffDelay(
  retry: number,
  settings: ConnectRetrySettings,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(settings.maxDelayMillis, settings.initialDelayMillis * 2 ** Math.min(retry, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** After a round in which every host failed: stop, stop with the budget spent, or wait and go again. */
export type RetryDecision =
  | { readonly kind: 'stop' }
  | { readonly kind: 'budget-spent' }
  | { readonly kind: 'wait'; readonly delayMillis: number; readonly reason: string }

/**
 * `errors`: each host's error in the round just ended. Every host must have failed for a reason
 * waiting can fix, and the wait must end within the budget.
 */
export function afterFailedRound(
  settings: ConnectRetrySettings | undefined,
  errors: readonly PgSslError[],
  retries: number,
  elapsedMillis: number,
  random: () => number = Math.random,
): RetryDecision {
  if (!settings || errors.length === 0) return { kind: 'stop' }
  const reasons = errors.map(transientReason)
  if (reasons.some((r) => r === undefined)) return { kind: 'stop' }
  const delayMillis = backoffDelay(retries, settings, random)
  if (elapsedMillis + delayMillis >= settings.budgetMillis) return { kind: 'budget-spent' }
  return { kind: 'wait', delayMillis, reason: reasons.at(-1)! }
}

/** What a pool shows of its clients' retries (pool.connectRetryStats). */
export interface ConnectRetryStats {
  /** Retries made (one per wait). */
  readonly retries: number
  /** Clients waiting to retry right now. */
  readonly waiting: number
  /** Milliseconds spent waiting, summed over clients. */
  readonly waitedMillis: number
  /** Connections that succeeded after at least one retry. */
  readonly recovered: number
  /** Connections that gave up with the budget spent, on a failure that was still transient. */
  readonly exhausted: number
}

/** The mutable counters behind ConnectRetryStats, shared by a pool's clients. */
export class RetryCounters implements ConnectRetryStats {
  retries = 0
  waiting = 0
  waitedMillis = 0
  recovered = 0
  exhausted = 0
  snapshot(): ConnectRetryStats {
    return Object.freeze({
      retries: this.retries,
      waiting: this.waiting,
      waitedMillis: this.waitedMillis,
      recovered: this.recovered,
      exhausted: this.exhausted,
    })
  }
}

/** The option key under which createPool() hands its counters to the clients it makes. */
export const RETRY_COUNTERS = Symbol('pg-sslmode.retryCounters')

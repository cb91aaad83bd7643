/**
 * connectRetry: how long a pool keeps trying to open a connection while the server is not up
 * yet or going away (docs/pools.md). Validated here, with the settings; used by the executor.
 */
import { PgSslError } from '../../engine/errors.js'

export interface ConnectRetryOptions {
  /**
   * Give up once this many milliseconds have passed since connect() (default: connectionTimeoutMillis if set, else 10
   * 000).
   */
  budgetMillis?: number
  /** The first wait (default 50 ms); each later wait doubles, up to maxDelayMillis, with jitter. */
  initialDelayMillis?: number
  /** The longest single wait (default 1 000 ms). */
  maxDelayMillis?: number
}

export interface ConnectRetrySettings {
  readonly budgetMillis: number
  readonly initialDelayMillis: number
  readonly maxDelayMillis: number
}

export const DEFAULT_RETRY_BUDGET_MS = 10_000
const DEFAULT_INITIAL_DELAY_MS = 50
const DEFAULT_MAX_DELAY_MS = 1_000

/** undefined: no retry (connect() and SslClient, as libpq); createPool() passes `true` unless told otherwise. */
export function connectRetryOf(raw: unknown, connectionTimeoutMillis: unknown): ConnectRetrySettings | undefined {
  if (raw === undefined || raw === false) return undefined
  const given: ConnectRetryOptions = raw === true ? {} : (raw as ConnectRetryOptions)
  if (typeof given !== 'object' || given === null) {
    throw new PgSslError(
      'INVALID_SETTING',
      'connectRetry must be true, false or { budgetMillis, initialDelayMillis, maxDelayMillis }',
      { setting: 'connectRetry' },
    )
  }
  for (const name of Object.keys(given)) {
    if (!['budgetMillis', 'initialDelayMillis', 'maxDelayMillis'].includes(name)) {
      throw new PgSslError('INVALID_SETTING', `unknown connectRetry field "${name}"`, {
        setting: 'connectRetry',
        hint: 'connectRetry takes budgetMillis, initialDelayMillis and maxDelayMillis',
      })
    }
  }
  const poolTimeout =
    typeof connectionTimeoutMillis === 'number' && connectionTimeoutMillis > 0 ? connectionTimeoutMillis : undefined
  const settings = {
    budgetMillis: given.budgetMillis ?? poolTimeout ?? DEFAULT_RETRY_BUDGET_MS,
    initialDelayMillis: given.initialDelayMillis ?? DEFAULT_INITIAL_DELAY_MS,
    maxDelayMillis: given.maxDelayMillis ?? DEFAULT_MAX_DELAY_MS,
  }
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new PgSslError('INVALID_SETTING', `connectRetry.${name} must be a non-negative number of milliseconds`, {
        setting: 'connectRetry',
      })
    }
  }
  if (settings.initialDelayMillis > settings.maxDelayMillis) {
    throw new PgSslError('INVALID_SETTING', 'connectRetry.initialDelayMillis is larger than maxDelayMillis', {
      setting: 'connectRetry',
    })
  }
  return settings
}

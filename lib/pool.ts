/**
 * createPool(): a pg.Pool (same options, events and API) whose every new connection is an
 * SslClient — negotiated with libpq's sslmode semantics, verified, and checked against the SSL
 * policy — so a connection that fails any of that never enters the pool, and pool.connect() /
 * pool.query() reject with the same error codes as connect().
 */
import pg from 'pg'
import { SslClient } from './client.js'
import { PgSslError } from './errors.js'
import type { ConnectOptions } from './options.js'
import { RETRY_COUNTERS, RetryCounters, type ConnectRetryStats } from './connect/retry.js'

export type PoolOptions = ConnectOptions & Omit<pg.PoolConfig, keyof pg.ClientConfig | 'Client'>

/** A checked-out client: pg's PoolClient (release()) that is also an SslClient (security). */
export type SslPoolClient = SslClient & pg.PoolClient

/** A pg.Pool whose checked-out clients are SslClients (with `security`). */
export interface SslPool extends Omit<pg.Pool, 'connect'> {
  /** What connectRetry did so far: retries, clients waiting now, time waited, recovered and exhausted connections. */
  readonly connectRetryStats: ConnectRetryStats
  connect(): Promise<SslPoolClient>
  connect(callback: (error: Error | undefined, client: SslPoolClient | undefined, done: (release?: unknown) => void) => void): void
}

export function createPool(options: PoolOptions = {}): SslPool {
  // pg-pool keeps the password non-enumerable; keep it so when passing the options on.
  const config: Record<string | symbol, unknown> = { ...(options as Record<string, unknown>) }
  if ('password' in options && !Object.keys(options).includes('password')) config.password = (options as { password?: unknown }).password
  const Client = (options as { Client?: unknown }).Client
  if (Client !== undefined && !(typeof Client === 'function' && (Client === SslClient || Client.prototype instanceof SslClient))) {
    throw new PgSslError('INVALID_SETTING', 'createPool() makes every connection an SslClient: its Client option takes SslClient or a subclass of it', {
      setting: 'Client',
      hint: 'extend SslClient instead of pg.Client, or leave Client out',
    })
  }
  // Unlike a single connect() (libpq tries once), a pool waits for a server that is restarting.
  if (config.connectRetry === undefined) config.connectRetry = true
  const counters = new RetryCounters()
  config[RETRY_COUNTERS] = counters
  const pool = new pg.Pool({ ...config, Client: (Client ?? SslClient) as typeof pg.Client } as pg.PoolConfig) as unknown as SslPool
  Object.defineProperty(pool, 'connectRetryStats', { get: () => counters.snapshot(), enumerable: false })
  return pool
}

/**
 * pg's module surface with SslClient as its Client, for libraries that take a pg "driver"
 * (Knex's pg dialect: override `_driver()` to return this — see the README).
 */
export const pgDriver: typeof pg = Object.freeze({ ...pg, Client: SslClient as unknown as typeof pg.Client }) as typeof pg

/**
 * createPool(): a pg.Pool (same options, events and API) whose every new connection is an
 * SslClient — negotiated with libpq's sslmode semantics, verified, and checked against the SSL
 * policy — so a connection that fails any of that never enters the pool, and pool.connect() /
 * pool.query() reject with the same error codes as connect(). Unlike connect(), a new connection
 * waits and retries while the server is not up yet or going away (connectRetry, docs/pools.md).
 */
import pg from './pg.js'
import type Pg from 'pg'
import { SslClient } from './client.js'
import { PgSslError } from '../engine/errors.js'
import type { ConnectOptions } from './options.js'
import { RETRY_COUNTERS, RetryCounters, type ConnectRetryStats } from './connect/retry.js'
import { hasHiddenPassword } from './settings/merge.js'

export type PoolOptions = ConnectOptions & Omit<Pg.PoolConfig, keyof Pg.ClientConfig | 'Client'>

/** A checked-out client: pg's PoolClient (release()) that is also an SslClient (security). */
export type SslPoolClient = SslClient & Pg.PoolClient

/** A pg.Pool whose checked-out clients are SslClients (with `security`). */
export interface SslPool extends Omit<Pg.Pool, 'connect'> {
  /** What connectRetry did so far: retries, clients waiting now, time waited, recovered and exhausted connections. */
  readonly connectRetryStats: ConnectRetryStats
  connect(): Promise<SslPoolClient>
  connect(
    callback: (error: Error | undefined, client: SslPoolClient | undefined, done: (release?: unknown) => void) => void,
  ): void
}

/**
 * pg's Pool class with SslClient connections: `new SslPgPool(options)` is createPool(options).
 * It is the Pool of pgDriver and the one pg-sslmode/register puts in place of every pg's Pool.
 * (pg.Pool is read here, once, before register can replace it.)
 */
export class SslPgPool extends pg.Pool {
  readonly #counters: RetryCounters
  constructor(options: PoolOptions = {}) {
    const counters = new RetryCounters()
    super(poolConfig(options, counters))
    this.#counters = counters
  }
  get connectRetryStats(): ConnectRetryStats {
    return this.#counters.snapshot()
  }
}

export function createPool(options: PoolOptions = {}): SslPool {
  return new SslPgPool(options) as unknown as SslPool
}

function poolConfig(options: PoolOptions, counters: RetryCounters): Pg.PoolConfig {
  // pg-pool keeps the password non-enumerable; keep it so when passing the options on.
  const config: Record<string | symbol, unknown> = { ...(options as Record<string, unknown>) }
  if (hasHiddenPassword(options)) config.password = (options as { password?: unknown }).password
  const Client = (options as { Client?: unknown }).Client
  if (
    Client !== undefined &&
    !(typeof Client === 'function' && (Client === SslClient || Client.prototype instanceof SslClient))
  ) {
    throw new PgSslError(
      'INVALID_SETTING',
      'a pg-sslmode pool makes every connection an SslClient: its Client option takes SslClient or a subclass of it',
      {
        setting: 'Client',
        hint: 'extend SslClient instead of pg.Client, or leave Client out',
      },
    )
  }
  // Unlike a single connect() (libpq tries once), a pool waits for a server that is restarting.
  if (config.connectRetry === undefined) config.connectRetry = true
  config[RETRY_COUNTERS] = counters
  config.Client = Client ?? SslClient
  return config as Pg.PoolConfig
}

/**
 * pg's module surface with SslClient as its Client and SslPgPool as its Pool, for libraries that
 * take a pg "driver" (TypeORM's `driver`, Sequelize's `dialectModule`, Knex's `_driver()`).
 */
export const pgDriver: typeof pg = Object.freeze(
  Object.defineProperty(
    { ...pg, Client: SslClient as unknown as typeof pg.Client, Pool: SslPgPool as unknown as typeof pg.Pool },
    'native',
    { get: refuseNative, enumerable: false },
  ),
) as typeof pg

/** pg.native would be libpq through pg-native: connections pg-sslmode never sees. Refused, never skipped. */
export function refuseNative(): never {
  throw new PgSslError(
    'NATIVE_NOT_SUPPORTED',
    "pg.native (pg-native) was asked for, but its connections would bypass pg-sslmode's sslmode semantics and policy",
    {
      setting: 'native',
    },
  )
}

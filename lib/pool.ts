/**
 * createPool(): a pg.Pool (same options, events and API) whose every new connection is an
 * SslClient — negotiated with libpq's sslmode semantics, verified, and checked against the SSL
 * policy — so a connection that fails any of that never enters the pool, and pool.connect() /
 * pool.query() reject with the same error codes as connect().
 */
import pg from 'pg'
import { SslClient } from './client.js'
import type { ConnectOptions } from './options.js'

export type PoolOptions = ConnectOptions & Omit<pg.PoolConfig, keyof pg.ClientConfig | 'Client'>

/** A pg.Pool whose checked-out clients are SslClients (with `security`). */
export type SslPool = pg.Pool & {
  connect(): Promise<SslClient & pg.PoolClient>
}

export function createPool(options: PoolOptions = {}): SslPool {
  return new pg.Pool({ ...(options as pg.PoolConfig), Client: SslClient as unknown as typeof pg.Client }) as SslPool
}

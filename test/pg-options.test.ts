/**
 * Every option pg documents for pg.Client and pg.Pool, one by one: honoured (the client or pool
 * pg-sslmode builds shows what pg's shows: the start-up parameters sent to the server, the
 * client's fields, the pool's options), honoured on the sockets pg-sslmode opens itself, or
 * refused by name. No option is silently dropped. (Against a server: test/e2e/pg-compat.test.ts.)
 */
import t from 'tap'
import pg from 'pg'
import { createPool, connectionSettings, SslClient } from '../lib/index.js'

type Client = pg.Client & {
  getStartupConf(): Record<string, string>
  connectionParameters: Record<string, unknown>
  _types: unknown
  _Promise: unknown
  binary: boolean
  pipeline: boolean
  enableChannelBinding: boolean
  scramMaxIterations: number
}
const base = { host: 'db.example', port: 5433, user: 'app', database: 'appdb', password: 'pw', env: {} }
const both = (options: Record<string, unknown>): [Client, Client] => [
  new pg.Client({ ...base, ...options }) as Client,
  new SslClient({ ...base, ...options } as never) as unknown as Client,
]

/** Options pg sends in the start-up packet (or keeps in connectionParameters): the same on both. */
const STARTUP: Record<string, unknown> = {
  user: 'someone',
  database: 'otherdb',
  application_name: 'compat-app',
  fallback_application_name: 'compat-fallback',
  options: '-c search_path=app',
  client_encoding: 'LATIN1',
  statement_timeout: 1234,
  lock_timeout: 2345,
  idle_in_transaction_session_timeout: 3456,
  replication: 'database',
}

t.test('start-up parameters: what the server receives is the same', async (t) => {
  for (const [name, value] of Object.entries(STARTUP)) {
    const [theirs, ours] = both({ [name]: value })
    t.same(ours.getStartupConf(), theirs.getStartupConf(), name)
  }
  const cs = { connectionString: 'postgresql://cs-user@cs-host:6000/cs-db?application_name=cs-app', env: {} }
  const theirs = new pg.Client(cs) as Client
  const ours = new SslClient(cs) as unknown as Client
  t.same(ours.getStartupConf(), theirs.getStartupConf(), 'connectionString')
  t.equal(ours.host, 'cs-host')
  t.equal(ours.port, 6000)
  // The one place the orders differ (README): pg lets the connection string beat options given
  // next to it; pg-sslmode keeps libpq's order, options first.
  const mixed = { ...cs, user: 'option-user' }
  t.equal((new pg.Client(mixed) as Client).getStartupConf().user, 'cs-user', 'pg: the connection string wins')
  t.equal(
    (new SslClient(mixed) as unknown as Client).getStartupConf().user,
    'option-user',
    'pg-sslmode: the option wins, as in libpq',
  )
})

t.test('client fields pg reads at run time: the same on both', async (t) => {
  const types = { getTypeParser: () => (v: string) => v }
  class P<T> extends Promise<T> {}
  const checks: Array<[string, unknown, (c: Client) => unknown]> = [
    ['host', 'h.example', (c) => c.host],
    ['port', 7777, (c) => c.port],
    ['password', 'secret', (c) => c.password],
    ['query_timeout', 4567, (c) => c.connectionParameters.query_timeout],
    ['types', types, (c) => c._types],
    ['binary', true, (c) => c.binary],
    ['Promise', P, (c) => c._Promise],
    ['pipeline', true, (c) => c.pipeline],
    ['enableChannelBinding', true, (c) => c.enableChannelBinding],
    ['scramMaxIterations', 50000, (c) => c.scramMaxIterations],
  ]
  for (const [name, value, read] of checks) {
    const [theirs, ours] = both({ [name]: value })
    t.same(read(ours), read(theirs), name)
  }
})

t.test('options pg-sslmode honours on the sockets it opens itself', async (t) => {
  const settings = (options: Record<string, unknown>) => connectionSettings({ ...base, ...options } as never).values
  t.equal(
    settings({ connectionTimeoutMillis: 1500 }).connect_timeout?.value,
    '1.5',
    'connectionTimeoutMillis → connect_timeout',
  )
  t.equal(settings({ keepAlive: true }).keepalives?.value, '1', 'keepAlive → keepalives')
  t.equal(settings({ keepAlive: false }).keepalives?.value, '0')
  t.equal(
    settings({ keepAliveInitialDelayMillis: 3000 }).keepalives_idle?.value,
    '3',
    'keepAliveInitialDelayMillis → keepalives_idle',
  )
  t.equal(
    settings({ ssl: { rejectUnauthorized: false } }).sslmode?.value,
    'require',
    "ssl → libpq's settings (see the ssl option tests)",
  )
})

t.test('refused by name, never dropped', async (t) => {
  t.throws(() => connectionSettings({ ...base, stream: () => null } as never), {
    code: 'INVALID_SETTING',
    setting: 'stream',
  })
  t.throws(() => connectionSettings({ ...base, ssl: { checkServerIdentity: () => undefined } } as never), {
    code: 'INVALID_SETTING',
    setting: 'ssl.checkServerIdentity',
  })
  t.throws(() => createPool({ ...base, Client: pg.Client } as never), { code: 'INVALID_SETTING', setting: 'Client' })
})

t.test('pool options: what pg.Pool keeps, createPool keeps', async (t) => {
  const options = {
    max: 7,
    min: 1,
    idleTimeoutMillis: 1234,
    connectionTimeoutMillis: 2345,
    allowExitOnIdle: true,
    maxUses: 9,
    maxLifetimeSeconds: 60,
    log: () => {},
  }
  const theirs = new pg.Pool({ ...base, ...options }) as unknown as {
    options: Record<string, unknown>
    end(): Promise<void>
  }
  const ours = createPool({ ...base, ...options } as never) as unknown as {
    options: Record<string, unknown>
    end(): Promise<void>
  }
  for (const name of Object.keys(options)) t.same(ours.options[name], theirs.options[name], name)
  t.equal(ours.options.Client, SslClient, 'every pool connection is an SslClient')
  await theirs.end()
  await ours.end()
  // A subclass of SslClient is kept.
  class Mine extends SslClient {}
  const mine = createPool({ ...base, Client: Mine } as never) as unknown as {
    options: Record<string, unknown>
    end(): Promise<void>
  }
  t.equal(mine.options.Client, Mine)
  await mine.end()
})

/**
 * The pg / pg-sslmode compatibility scenarios (not a test file): each runs once through pg.Client /
 * pg.Pool and once through SslClient / createPool, with the same options, and what the
 * application can observe must be the same (values, events, error fields). The options use pg's
 * own `ssl` option, which both understand. What node-postgres's own tests promise (events,
 * LISTEN/NOTIFY, query config objects, rowMode, type parsers, prepared statements, query_timeout,
 * pipelining, cursors and streams, pool events and idle timeout, the connection object, errors,
 * end() while connecting) is the list.
 *
 * pg, pg-cursor and pg-query-stream are handed in, never imported here: test/e2e/pg-compat.test.ts
 * runs the list on this repository's pg, and test/e2e/pg-versions.test.ts runs it inside an
 * application's own install, on the pg that application pins (pg-compat/in-app.mjs).
 */
import type pgModule from 'pg'
import { socketsSettleTo } from '../support.js'

type Pg = typeof pgModule
type CursorClass = new (
  text: string,
  values?: unknown[],
) => { read(rows: number): Promise<unknown[]>; close(): Promise<void> }
type QueryStreamClass = new (text: string) => pgModule.Submittable & AsyncIterable<unknown>

/** One library's constructors: pg's own, or pg-sslmode's in their place. */
export interface Api {
  readonly name: string
  readonly Client: new (config?: object | string) => pgModule.Client
  readonly Pool: new (config?: object) => pgModule.Pool
}

/** What every scenario is given besides the library under test. */
export interface CompatContext {
  readonly pg: Pg
  readonly Cursor: CursorClass
  readonly QueryStream: QueryStreamClass
  /** The same options for both: pg's own names, pg's ssl option (verified against the test CA). */
  readonly options: () => Record<string, unknown> & {
    host: string
    port: number
    user: string
    database: string
    password: string
    ssl: { ca: Buffer | string }
  }
  /** Open sockets of the process before the scenarios ran. */
  readonly baselineSockets: number
}

export interface Scenario {
  readonly name: string
  readonly run: (api: Api, context: CompatContext) => Promise<unknown>
}

/** pg_hba lines the scenarios need: TLS only, with SCRAM (a wrong password must fail). */
export const COMPAT_HBA = ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl all all ::1/128 scram-sha-256']

export const SCENARIOS: Scenario[] = []

function scenario(name: string, run: Scenario['run']): void {
  SCENARIOS.push({ name, run })
}

/** pg's constructors, and pg-sslmode's with the same shapes. */
export function apis(
  pg: Pg,
  ours: { SslClient: unknown; createPool: (config?: never) => unknown },
): readonly [Api, Api] {
  return [
    { name: 'pg', Client: pg.Client, Pool: pg.Pool },
    {
      name: 'pg-sslmode',
      Client: ours.SslClient as Api['Client'],
      // biome-ignore lint/complexity/useArrowFunction: the scenarios call it with new, which an arrow refuses
      Pool: function (config?: object) {
        return ours.createPool(config as never)
      } as unknown as Api['Pool'],
    },
  ]
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

scenario('connect, query, events: connect and end, once each', async ({ Client }, { options }) => {
  const client = new Client(options())
  const events: string[] = []
  client.on('connect', () => events.push('connect'))
  client.on('end', () => events.push('end'))
  const returned = await client.connect()
  const { rows, fields, command, rowCount } = await client.query('select 1::int as one, $1::text as two', ['zwei'])
  await client.end()
  await tick(10)
  return {
    same: returned === undefined || returned === client,
    rows,
    fields: fields.map((f) => [f.name, f.dataTypeID]),
    command,
    rowCount,
    events,
  }
})

scenario('a string constructor argument is a connection string', async ({ Client }, { pg, options }) => {
  const o = options()
  const client = new Client(
    `postgresql://${o.user}:${encodeURIComponent(o.password)}@localhost:${o.port}/${o.database}?sslmode=disable`,
  )
  // pg and pg-sslmode both read sslmode=disable here; the server requires TLS (hostssl only).
  const error = await client.connect().then(
    () => undefined,
    (e: pgModule.DatabaseError) => ({ code: e.code, severity: e.severity, db: e instanceof pg.DatabaseError }),
  )
  await client.end()
  return error
})

scenario(
  'errors keep pg contract: a wrong password is a DatabaseError with the SQLSTATE',
  async ({ Client }, { pg, options }) => {
    const client = new Client({ ...options(), password: 'not-the-password' })
    const error = (await client.connect().catch((e: unknown) => e)) as pgModule.DatabaseError
    return { db: error instanceof pg.DatabaseError, code: error.code, severity: error.severity, message: error.message }
  },
)

scenario('query errors: fields of the DatabaseError', async ({ Client }, { pg, options }) => {
  const client = new Client(options())
  await client.connect()
  const error = (await client.query('select * from no_such_table').catch((e: unknown) => e)) as pgModule.DatabaseError
  const after = await client.query('select 2 as two')
  await client.end()
  return {
    db: error instanceof pg.DatabaseError,
    code: error.code,
    position: error.position,
    severity: error.severity,
    after: after.rows,
  }
})

scenario('notice and notification events (LISTEN/NOTIFY)', async ({ Client }, { options }) => {
  const client = new Client(options())
  await client.connect()
  const notices: string[] = []
  const notifications: Array<[string, string | undefined]> = []
  client.on('notice', (n) => notices.push(n.message ?? ''))
  client.on('notification', (n) => notifications.push([n.channel, n.payload]))
  await client.query(`DO $$ BEGIN RAISE NOTICE 'hello notice'; END $$`)
  await client.query('LISTEN compat_channel')
  await client.query(`NOTIFY compat_channel, 'payload 1'`)
  await tick(50)
  await client.end()
  return { notices, notifications }
})

scenario(
  'query config objects, rowMode array, named prepared statements, type parsers',
  async ({ Client }, { pg, options }) => {
    const client = new Client({
      ...options(),
      types: {
        getTypeParser: (oid: number, format?: string) =>
          oid === 23 ? (v: string) => `int:${v}` : pg.types.getTypeParser(oid, format as 'text'),
      },
    })
    await client.connect()
    const config = await client.query({ text: 'select $1::int as n', values: [7] })
    const arrays = await client.query({ text: 'select 1::int as a, 2::int as b', rowMode: 'array' })
    const named1 = await client.query({ name: 'compat-stmt', text: 'select $1::int * 2 as doubled', values: [21] })
    const named2 = await client.query({ name: 'compat-stmt', text: 'select $1::int * 2 as doubled', values: [4] })
    await client.end()
    return { config: config.rows, arrays: arrays.rows, named: [named1.rows, named2.rows] }
  },
)

scenario('query_timeout and statement_timeout', async ({ Client }, { options }) => {
  const client = new Client({ ...options(), query_timeout: 100, statement_timeout: 5000 })
  await client.connect()
  const timeout = (await client.query('select pg_sleep(1)').catch((e: Error) => e)) as Error
  await client.end().catch(() => undefined)
  const statement = new Client({ ...options(), statement_timeout: 50 })
  await statement.connect()
  const cancelled = (await statement
    .query('select pg_sleep(1)')
    .catch((e: pgModule.DatabaseError) => e)) as pgModule.DatabaseError
  const setting = await statement.query('show statement_timeout')
  await statement.end()
  return { timeout: timeout.message, cancelled: cancelled.code, setting: setting.rows }
})

scenario('pipelining: several queries in flight, then end()', async ({ Client }, { options, baselineSockets }) => {
  const client = new Client({ ...options(), pipeline: true })
  await client.connect()
  const results = await Promise.all([1, 2, 3, 4].map((n) => client.query('select $1::int as n', [n])))
  const pending = client.query('select 5 as n')
  await client.end()
  const last = await pending.then(
    (r) => r.rows,
    (e: Error) => e.message,
  )
  return {
    rows: results.map((r) => r.rows[0]),
    last,
    sockets: (await socketsSettleTo(baselineSockets)) <= baselineSockets,
  }
})

scenario('pg-cursor and pg-query-stream', async ({ Client }, { options, Cursor, QueryStream }) => {
  const client = new Client(options())
  await client.connect()
  const cursor = client.query(new Cursor('select generate_series(1, 5) as n') as never) as unknown as InstanceType<
    typeof Cursor
  >
  const first = await cursor.read(2)
  const rest = await cursor.read(10)
  await cursor.close()
  const stream = client.query(new QueryStream('select generate_series(1, 3) as n'))
  const streamed: unknown[] = []
  for await (const row of stream) streamed.push(row)
  await client.end()
  return { first, rest, streamed }
})

scenario(
  'listeners on client.connection see the real traffic, before and after connect()',
  async ({ Client }, { options }) => {
    const client = new Client(options())
    const seen: string[] = []
    const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection
    connection.on('message', (m: { name: string }) => seen.push(m.name))
    await client.connect()
    const sameObject = (client as unknown as { connection: unknown }).connection === connection
    await client.query('select 1')
    await client.end()
    // Authentication messages and the query's, as pg parsed them.
    return { sameObject, seen: [...new Set(seen)].filter((n) => n !== 'parameterStatus').sort() }
  },
)

scenario(
  'end() while connecting: end resolves, the socket closes, connect() never settles',
  async ({ Client }, { options, baselineSockets }) => {
    const client = new Client(options())
    let settled = 'pending'
    client.connect().then(
      () => (settled = 'resolved'),
      () => (settled = 'rejected'),
    )
    const events: string[] = []
    client.on('end', () => events.push('end'))
    await client.end()
    await tick(300)
    return { settled, events, sockets: (await socketsSettleTo(baselineSockets)) <= baselineSockets }
  },
)

scenario(
  'end() during a prepared statement: the statement is cut off, the backend goes away',
  async ({ Client }, { options }) => {
    const client = new Client(options())
    await client.connect()
    const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number
    const running = client.query({ name: 'compat-sleep', text: 'select pg_sleep($1)', values: [3] }).then(
      () => 'finished',
      (e: Error) => e.message,
    )
    await tick(100)
    await client.end()
    const outcome = await running
    // Another session watches for the backend: with the socket gone, the server ends it at its next
    // write, so it is given a moment; both libraries must leave it in the same state.
    const watcher = new Client(options())
    await watcher.connect()
    let alive = true
    for (let i = 0; i < 40 && alive; i++) {
      alive =
        (await watcher.query('select count(*)::int as n from pg_stat_activity where pid = $1', [pid])).rows[0].n > 0
      if (alive) await tick(100)
    }
    await watcher.end()
    return { outcome, backendGoneWithin4s: !alive }
  },
)

scenario(
  "an empty password from a password function: pg's own SASL error and message",
  async ({ Client }, { options }) => {
    const client = new Client({ ...options(), password: async () => '' })
    const error = (await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    )) as Error | undefined
    await client.end().catch(() => undefined)
    return { isError: error instanceof Error, message: error?.message }
  },
)

scenario(
  'a client given no password shows password null, on the client and its connectionParameters',
  async ({ Client }, { options }) => {
    const { password: _given, ...withoutPassword } = options()
    const client = new Client(withoutPassword) as unknown as {
      password: unknown
      connectionParameters: { password: unknown }
      end(): Promise<void>
    }
    const shown = { password: client.password, parameters: client.connectionParameters.password }
    await client.end().catch(() => undefined)
    return shown
  },
)

scenario(
  'connectionParameters.ssl before connect(): the ssl option, its key readable and not enumerable',
  async ({ Client }, { options }) => {
    const client = new Client({ ...options(), ssl: { ...options().ssl, key: 'KEY-not-a-secret' } })
    const ssl = (client as unknown as { connectionParameters: { ssl: Record<string, unknown> } }).connectionParameters
      .ssl
    return {
      key: ssl.key,
      enumerable: Object.keys(ssl).includes('key'),
      inJson: JSON.stringify(ssl).includes('KEY-not'),
    }
  },
)

scenario(
  'pipeline: end() right after queries while connecting lets them finish (pg 8.23; earlier pg ends them)',
  async ({ Client }, { options }) => {
    const client = new Client({ ...options(), pipeline: true } as object)
    client.connect().catch(() => undefined)
    const p1 = client.query('SELECT 1 AS num')
    const p2 = client.query('SELECT 2 AS num')
    const ended = client.end()
    // Before pg 8.23 the queries fail or never settle: each is given two seconds, and observed.
    const settled = (p: Promise<unknown>) =>
      Promise.race([
        p.then(
          (r) => (r as { rows?: unknown[] } | undefined)?.rows,
          (e: Error) => e.message,
        ),
        tick(2000).then(() => 'still pending'),
      ])
    return { queries: await Promise.all([settled(p1), settled(p2)]), end: await settled(ended) }
  },
)

scenario(
  'end() while connecting with queries queued: each fails with "Connection terminated"',
  async ({ Client }, { options }) => {
    const client = new Client(options())
    client.connect().catch(() => undefined)
    const queued = [client.query('select 1'), client.query('select 2')].map((q) =>
      q.then(
        () => 'ran',
        (e: Error) => e.message,
      ),
    )
    const ending = client.end()
    const outcome = await Promise.race([Promise.all(queued), tick(2000).then(() => 'still pending')])
    await ending
    return outcome
  },
)

scenario(
  'connect(callback): it runs before the connect event; a query it makes is sent when it returns',
  async ({ Client }, { options }) => {
    const client = new Client(options())
    const order: string[] = []
    client.on('connect', () => order.push('connect event'))
    const rows = await new Promise((resolve, reject) =>
      client.connect((error: Error | undefined) => {
        if (error) return reject(error)
        order.push('callback')
        client.query('select 1 as one').then((r) => resolve(r.rows), reject)
      }),
    )
    await client.end()
    // end() in the callback: the query made just before it never reaches the server
    // (node-postgres's query-error-handling-prepared-statement-tests).
    const cut = new Client(options())
    const outcome = await new Promise((resolve) =>
      cut.connect(() => {
        cut.query({ name: 'compat-cut', text: 'select pg_sleep($1) /* compat-cut */', values: [2] }).then(
          () => resolve('ran'),
          (e: Error) => resolve(e.message),
        )
        cut.end()
      }),
    )
    await tick(200)
    const watcher = new Client(options())
    await watcher.connect()
    const running = (
      await watcher.query(
        "select count(*)::int as n from pg_stat_activity where query like '%compat-cut */' and pid <> pg_backend_pid()",
      )
    ).rows[0].n
    await watcher.end()
    return { order, rows, outcome, running }
  },
)

scenario('a second connect() fails with pg error', async ({ Client }, { options }) => {
  const client = new Client(options())
  await client.connect()
  const again = (await client.connect().catch((e: Error) => e)) as Error
  await client.end()
  return again.message
})

scenario(
  'a connection terminated by the server: error event with 57P01, queries fail',
  async ({ Client }, { options }) => {
    const client = new Client(options())
    await client.connect()
    const errors: string[] = []
    client.on('error', (e: Error) => errors.push((e as pgModule.DatabaseError).code ?? e.message))
    const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number
    const killer = new Client(options())
    await killer.connect()
    await killer.query('select pg_terminate_backend($1)', [pid])
    await killer.end()
    await tick(100)
    const after = (await client.query('select 1').catch((e: Error) => e)) as Error
    await client.end().catch(() => undefined)
    return { errors, after: after.message }
  },
)

scenario('the Promise option', async ({ Client }, { options }) => {
  class TaggedPromise<T> extends Promise<T> {}
  const client = new Client({ ...options(), Promise: TaggedPromise })
  const connecting = client.connect()
  const tagged = connecting instanceof TaggedPromise
  await connecting
  const query = client.query('select 1')
  const queryTagged = query instanceof TaggedPromise
  await query
  await client.end()
  return { tagged, queryTagged }
})

scenario('pool: events, idleTimeoutMillis, totals', async ({ Pool }, { options }) => {
  const pool = new Pool({ ...options(), max: 2, idleTimeoutMillis: 100 })
  const events: string[] = []
  for (const e of ['connect', 'acquire', 'release', 'remove']) pool.on(e as 'connect', () => events.push(e))
  const results = await Promise.all([1, 2, 3].map((n) => pool.query('select $1::int as n', [n])))
  const busy = { total: pool.totalCount, idle: pool.idleCount }
  await tick(300)
  const afterIdle = { total: pool.totalCount, idle: pool.idleCount }
  await pool.end()
  return {
    rows: results.map((r) => r.rows[0]),
    busy,
    afterIdle,
    events: [...new Set(events)].sort(),
    counts: ['connect', 'remove'].map((e) => events.filter((x) => x === e).length),
  }
})

scenario(
  'pool: the connection stream taken right after pool.query() is the live one',
  async ({ Pool }, { options }) => {
    const pool = new Pool({ ...options(), max: 1 })
    const query = pool.query('select pg_sleep(0.2)')
    const client = (pool as unknown as { _clients: Array<{ connection: { stream: { destroy(): void } } }> })
      ._clients[0]!
    client.connection.stream.destroy()
    const outcome = await query.then(
      () => 'resolved',
      (e: Error) => e.message,
    )
    const next = await pool.query('select 1 as one').then(
      (r) => r.rows,
      (e: Error) => e.message,
    )
    await pool.end()
    return { outcome, next }
  },
)

scenario(
  'pool: connectionTimeoutMillis against a server that does not answer',
  async ({ Pool }, { options, baselineSockets }) => {
    const net = await import('node:net')
    // Reads (so it sees the client close) but never answers.
    const silent = net.createServer((s) => s.on('error', () => {}).resume())
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const pool = new Pool({
      ...options(),
      host: '127.0.0.1',
      port: (silent.address() as { port: number }).port,
      connectionTimeoutMillis: 200,
    })
    const error = (await pool.query('select 1').catch((e: Error) => e)) as Error
    await pool.end()
    await new Promise((r) => silent.close(r))
    return {
      timeout: /timeout/.test(error.message),
      sockets: (await socketsSettleTo(baselineSockets)) <= baselineSockets,
    }
  },
)

/**
 * Query builders over policy-enforced, verified TLS, with real queries against a real server:
 * Kysely (PostgresDialect({ pool: createPool(...) })), Drizzle (drizzle-orm/node-postgres over
 * createPool) and Knex (its pg dialect with pgDriver).
 */
import t from 'tap'
import { Kysely, PostgresDialect, sql } from 'kysely'
import knex from 'knex'
import { drizzle } from 'drizzle-orm/node-postgres'
import { sql as drizzleSql } from 'drizzle-orm'
import { integer, pgTable, text } from 'drizzle-orm/pg-core'
import { createRequire } from 'node:module'
import { createPool, pgDriver, type SecurityEvent } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { isolatedEnv, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())
const settings = {
  connectionString:
    `postgresql://${cluster.user}@${cluster.host}:${cluster.port}/${cluster.database}?` +
    `sslmode=verify-full&sslrootcert=${encodeURIComponent(fixture('ca.crt'))}`,
  env: isolatedEnv(),
  policy: { minimumMode: 'verify-full' as const },
}

t.test('Kysely over createPool', async (t) => {
  const events: SecurityEvent[] = []
  const db = new Kysely<{ items: { id: number; name: string } }>({
    dialect: new PostgresDialect({ pool: createPool({ ...settings, onSecurityEvent: (e) => events.push(e), max: 4 }) }),
  })
  t.teardown(() => db.destroy())
  await db.schema
    .createTable('items')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .execute()
  await db
    .insertInto('items')
    .values([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ])
    .execute()
  const rows = await db.selectFrom('items').selectAll().orderBy('id').execute()
  t.same(rows, [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ])
  const ssl = await sql<{
    ssl: boolean
    version: string
  }>`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(db)
  t.equal(ssl.rows[0]?.ssl, true, 'the server confirms TLS')
  t.ok(
    events.some((e) => e.type === 'security' && e.report.outcome === 'encrypted-verified' && e.report.hostnameVerified),
    'each pooled connection reported verify-full',
  )
  await db.schema.dropTable('items').execute()
})

t.test('Drizzle over createPool', async (t) => {
  const events: SecurityEvent[] = []
  const pool = createPool({ ...settings, onSecurityEvent: (e) => events.push(e), max: 2 })
  const db = drizzle(pool)
  t.teardown(() => pool.end())
  const items = pgTable('drizzle_items', { id: integer('id').primaryKey(), name: text('name') })
  await db.execute(drizzleSql`create table if not exists drizzle_items (id int primary key, name text)`)
  await db.insert(items).values([
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ])
  t.same(await db.select().from(items).orderBy(items.id), [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ])
  const ssl = await db.execute<{ ssl: boolean }>(drizzleSql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`)
  t.equal(ssl.rows[0]?.ssl, true, 'the server confirms TLS')
  t.ok(
    events.some((e) => e.type === 'security' && e.report.hostnameVerified),
    'pooled connections verified the host name',
  )
  await db.execute(drizzleSql`drop table drizzle_items`)
})

t.test('Knex with its pg dialect using pgDriver', async (t) => {
  const require = createRequire(import.meta.url)
  const PgDialect = require('knex/lib/dialects/postgres/index.js') as new (config: object) => object
  class SslPgDialect extends (PgDialect as unknown as { new (config: object): { _driver(): unknown } }) {
    override _driver(): unknown {
      return pgDriver
    }
  }
  const db = knex({ client: SslPgDialect as never, connection: settings as never, pool: { min: 0, max: 2 } })
  t.teardown(() => db.destroy())
  const result = await db.raw<{ rows: Array<{ ssl: boolean; n: number }> }>(
    'select ssl, 42 as n from pg_stat_ssl where pid = pg_backend_pid()',
  )
  t.same(result.rows, [{ ssl: true, n: 42 }])
  t.same(await db.select(db.raw('1 + 1 as two')), [{ two: 2 }])

  const weak = knex({
    client: SslPgDialect as never,
    connection: { ...settings, connectionString: settings.connectionString.replace('verify-full', 'prefer') } as never,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 5000,
  })
  await t.rejects(weak.raw('select 1'), { code: 'POLICY_VIOLATION' }, 'the policy holds through Knex too')
  await weak.destroy()
})

endsWithNoOpenSockets(t)

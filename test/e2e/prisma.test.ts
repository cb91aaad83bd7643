/**
 * Prisma 7 as its users run it, in a fresh app install: `prisma generate` with the prisma-client
 * generator (no engine download: the CLI still looks for a schema engine, and
 * PRISMA_SCHEMA_ENGINE_BINARY tells it one is there — generate never runs it), then
 * @prisma/adapter-pg over createPool() (the adapter checks `instanceof pg.Pool`) and over its own
 * pool under pg-sslmode/register: a table made with SQL, a row written and read, TLS seen by the
 * server, and a wrong CA refused with its code. Needs the npm registry, like pg-versions.test.ts.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, startCluster } from '../../scripts/harness.js'
import { installApp, registryProblem, runInApp } from '../app-install.js'

const SCHEMA = `
generator client {
  provider = "prisma-client"
  output   = "./generated"
}

datasource db {
  provider = "postgresql"
}

model Note {
  id   Int    @id
  body String
}
`

const CONFIG = `import { defineConfig } from 'prisma/config'
export default defineConfig({ schema: 'schema.prisma' })
`

/** argv: port, user, CA, 'pool' | 'register'. */
const APP = `
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/client.js'
import { createPool } from 'pg-sslmode'
const [port, user, ca, mode] = process.argv.slice(2)
const out: Record<string, unknown> = {}
let pool: pg.Pool | undefined
let adapter: PrismaPg
if (mode === 'register') {
  adapter = new PrismaPg({ host: 'localhost', port: Number(port), user, database: 'postgres' })
} else {
  pool = createPool({
    host: 'localhost', port: Number(port), user, database: 'postgres',
    sslmode: 'verify-full', sslrootcert: ca, env: { HOME: process.env.HOME },
  })
  out.poolIsPgPool = pool instanceof pg.Pool
  pool.on('connect', (client) => {
    out.outcome = (client as unknown as { security: { outcome: string } }).security.outcome
  })
  adapter = new PrismaPg(pool)
}
const prisma = new PrismaClient({ adapter })
try {
  await prisma.$executeRawUnsafe('create table if not exists "Note" (id int primary key, body text not null)')
  await prisma.note.upsert({ where: { id: 1 }, create: { id: 1, body: 'kept' }, update: {} })
  out.notes = await prisma.note.findMany()
  const sslRows = await prisma.$queryRawUnsafe('select ssl from pg_stat_ssl where pid = pg_backend_pid()')
  out.ssl = (sslRows as Array<{ ssl: boolean }>)[0]?.ssl
} catch (error) {
  const e = error as { code?: string; sslCode?: string; cause?: { code?: string }; message: string }
  const codes = /(CERT_VERIFY_FAILED|SSL_DISABLED_ON_SERVER|HOSTNAME_MISMATCH)/
  out.error = JSON.stringify(error, Object.getOwnPropertyNames(error)).match(codes)?.[1] ?? e.message
}
await prisma.$disconnect()
await pool?.end()
console.log(JSON.stringify(out))
`

const why = registryProblem()
if (why) {
  if (process.env.CI === 'true') t.fail(`the Prisma test needs the npm registry on CI: ${why}`)
  else t.comment(`skipping Prisma: ${why}`)
} else {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const app = installApp('prisma', ['prisma@7', '@prisma/client@7', '@prisma/adapter-pg@7', 'pg', 'tsx'], {
    'schema.prisma': SCHEMA,
    'prisma.config.ts': CONFIG,
    'app.ts': APP,
  })
  t.ok(
    app.install.ok,
    `npm install prisma@7 @prisma/client@7 @prisma/adapter-pg@7 pg tsx pg-sslmode (${app.install.ms} ` +
      `ms)${app.install.ok ? '' : `: ${app.install.error}`}`,
  )
  const env = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) }
  const generate = spawnSync(join(app.dir, 'node_modules', '.bin', 'prisma'), ['generate'], {
    cwd: app.dir,
    encoding: 'utf8',
    timeout: 120_000,
    // Any existing file: generate does not run the schema engine, but the CLI would download one.
    env: {
      ...env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  })
  t.equal(
    generate.status,
    0,
    `prisma generate without downloads: ` +
      `${(generate.stdout + generate.stderr).trim().split('\n').slice(-2).join(' | ')}`,
  )
  const tsx = join(app.dir, 'node_modules', '.bin', 'tsx')
  const args = [String(cluster.port), cluster.user]

  t.test('@prisma/adapter-pg over createPool(): verify-full, rows, TLS seen by the server', async (t) => {
    const run = runInApp(app, [tsx, 'app.ts', ...args, fixture('ca.crt'), 'pool'], env)
    t.equal(run.status, 0, run.stderr)
    t.same(run.result, {
      poolIsPgPool: true,
      outcome: 'encrypted-verified',
      notes: [{ id: 1, body: 'kept' }],
      ssl: true,
    })
  })

  t.test('@prisma/adapter-pg under pg-sslmode/register: the environment decides, a wrong CA is refused', async (t) => {
    const registerEnv = { ...env, PGSSLMODE: 'verify-full', PGSSLROOTCERT: fixture('ca.crt'), PGSSLREGISTER: 'quiet' }
    const run = runInApp(
      app,
      [process.execPath, '--import', 'pg-sslmode/register', '--import', 'tsx', 'app.ts', ...args, '', 'register'],
      registerEnv,
    )
    t.equal(run.status, 0, run.stderr)
    t.same(run.result, { notes: [{ id: 1, body: 'kept' }], ssl: true })
    const refused = runInApp(
      app,
      [process.execPath, '--import', 'pg-sslmode/register', '--import', 'tsx', 'app.ts', ...args, '', 'register'],
      { ...registerEnv, PGSSLROOTCERT: fixture('other-ca.crt') },
    )
    t.equal(refused.result.error, 'CERT_VERIFY_FAILED', 'PGSSLROOTCERT is read as libpq reads it (plain pg ignores it)')
  })
}

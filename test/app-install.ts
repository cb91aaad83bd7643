/**
 * An application's own install, made as a user makes it (test helpers, not a test file): the
 * packed pg-sslmode and the app's dependencies from the npm registry in a fresh directory, and
 * the small apps run in it. Used by test/e2e/pg-versions.test.ts and test/e2e/runtimes.test.ts.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Why the npm registry cannot be used here, or undefined when it can. */
export function registryProblem(): string | undefined {
  const registry = spawnSync('npm', ['view', 'pg@latest', 'version'], { encoding: 'utf8', timeout: 60_000 })
  return registry.status === 0
    ? undefined
    : `the npm registry cannot be reached ` +
        `(${(registry.stderr || registry.error?.message || '').trim().split('\n').at(-1)})`
}

let tarball: string | undefined

/** `npm pack` of this repository (its dist, as built by the test command), once per process. */
export function packedPgSslmode(): string {
  if (tarball) return tarball
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-pack-'))
  const packed = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr.trim().split('\n').at(-1)}`)
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!)
  return tarball
}

export interface App {
  readonly dir: string
  /** What npm install said, and how long it took. */
  readonly install: { readonly ok: boolean; readonly ms: number; readonly error: string }
}

/** A fresh ES-module app with `files`, and `npm install` of `packages` plus the packed pg-sslmode. */
export function installApp(
  name: string,
  packages: readonly string[],
  files: Readonly<Record<string, string>>,
  npmFlags: readonly string[] = [],
): App {
  const dir = mkdtempSync(join(tmpdir(), `pg-sslmode-app-${name}-`))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
  )
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  const started = Date.now()
  const install = (cache: readonly string[]) =>
    spawnSync('npm', ['install', '--no-audit', '--no-fund', ...cache, ...npmFlags, ...packages, packedPgSslmode()], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
    })
  let run = install(['--prefer-offline'])
  // --prefer-offline trusts a cached package list; a version published since it was cached is then
  // "notarget" although the registry has it. Asking the registry again settles that.
  if (run.status !== 0 && /ETARGET|notarget/i.test(run.stderr)) run = install([])
  return {
    dir,
    install: {
      ok: run.status === 0,
      ms: Date.now() - started,
      error: run.stderr.trim().split('\n').slice(-3).join(' | '),
    },
  }
}

/** The pg copies in an app's tree. */
export function pgCopies(app: App): string[] {
  return spawnSync('npm', ['ls', 'pg', '--all', '--parseable'], { cwd: app.dir, encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => /node_modules\/pg$/.test(line))
}

/** Runs `command` in the app; the last line of stdout is JSON. */
export function runInApp(
  app: App,
  command: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): { status: number | null; result: Record<string, unknown>; stderr: string } {
  const run = spawnSync(command[0]!, command.slice(1), { cwd: app.dir, encoding: 'utf8', env, timeout: timeoutMs })
  let result: Record<string, unknown> = {}
  try {
    result = JSON.parse(run.stdout.trim().split('\n').at(-1) || '{}') as Record<string, unknown>
  } catch {
    result = { unparsed: run.stdout }
  }
  return { status: run.status, result, stderr: run.stderr.trim().split('\n').slice(0, 6).join(' | ') }
}

/**
 * What an app checks with its own pg (argv: port, user, CA, another CA): SslClient and the pool
 * are the app's pg.Client and pg.Pool, the app's pg.defaults and pg.types apply, verify-full
 * connects, a wrong CA is refused with its code.
 */
export const CHECKS_APP = `
import pg from 'pg'
import { connect, createPool, SslClient } from 'pg-sslmode'
const [port, user, ca, otherCa] = process.argv.slice(2)
const out = { pgVersion: (await import('pg/package.json', { with: { type: 'json' } })).default.version }
const options = {
  host: 'localhost', port: Number(port), user, database: 'postgres',
  sslmode: 'verify-full', sslrootcert: ca, env: { HOME: process.env.HOME },
}
pg.defaults.application_name = 'the-apps-defaults'
pg.types.setTypeParser(23, (text) => 'int4:' + text)
const client = await connect(options)
out.clientIsPgClient = client instanceof pg.Client && new SslClient(options) instanceof pg.Client
out.outcome = client.security.outcome
out.applicationName = (await client.query('show application_name')).rows[0].application_name
out.typed = (await client.query('select 7::int4 as n')).rows[0].n
await client.end()
const pool = createPool(options)
out.poolIsPgPool = pool instanceof pg.Pool
out.poolRows = (await pool.query('select 1::text as one')).rows
await pool.end()
out.refusal = await connect({ ...options, sslrootcert: otherCa })
  .then((c) => c.end().then(() => 'connected'), (e) => e.code)
console.log(JSON.stringify(out))
`

/** What CHECKS_APP prints when everything holds. */
export const CHECKS_PASS = {
  clientIsPgClient: true,
  outcome: 'encrypted-verified',
  applicationName: 'the-apps-defaults',
  typed: 'int4:7',
  poolIsPgPool: true,
  poolRows: [{ one: '1' }],
  refusal: 'CERT_VERIFY_FAILED',
}

/** The canary of lib/postgres/pg-internals.ts on the app's pg (an internal module: reached by its file). */
export const PG_CANARY_APP = `
import pg from 'pg'
const adapter = new URL('./node_modules/pg-sslmode/dist/cjs/postgres/pg-internals.js', import.meta.url)
const { missingPgMembers } = await import(adapter)
console.log(JSON.stringify({ missing: missingPgMembers(pg) }))
`

/** A plain pg app, for pg-sslmode/register with PGSSLMODE in its environment. */
export const REGISTERED_APP = `
import pg from 'pg'
const client = new pg.Client({ database: 'postgres' })
await client.connect()
const security = client.security
console.log(JSON.stringify({ security: security?.outcome ?? null, mode: security?.effectiveMode ?? null }))
await client.end()
`

/**
 * What an app checks with its own mysql2 (argv: port, password, CA, another CA): VERIFY_IDENTITY
 * connects with a report, a pool's connections carry one, a wrong CA is refused with its code,
 * and every private member of mysql2 pg-sslmode/mysql relies on is there.
 */
export const MYSQL_CHECKS_APP = `
import { connectMysql, createMysqlPool } from 'pg-sslmode/mysql'
const [port, password, ca, otherCa] = process.argv.slice(2)
const out = { mysql2Version: (await import('mysql2/package.json', { with: { type: 'json' } })).default.version }
const options = {
  host: 'localhost', port: Number(port), user: 'app', password, database: 'app',
  sslMode: 'VERIFY_IDENTITY', sslCa: ca, optionFiles: false, env: {},
}
const conn = await connectMysql(options)
out.outcome = conn.security.outcome
out.rows = (await conn.query('select 1 as one'))[0]
await conn.end()
const pool = createMysqlPool(options)
const pooled = await pool.getConnection()
out.pooledOutcome = pooled.security.outcome
pooled.release()
await pool.end()
out.refusal = await connectMysql({ ...options, sslCa: otherCa })
  .then((c) => c.end().then(() => 'connected'), (e) => e.code)
// The canary of lib/mysql/mysql2-internals.ts on the app's mysql2 (an internal module: reached by its file).
const adapter = new URL('./node_modules/pg-sslmode/dist/cjs/mysql/mysql2-internals.js', import.meta.url)
const { missingMysql2Members } = await import(adapter)
out.missingMembers = missingMysql2Members()
console.log(JSON.stringify(out))
`

export const MYSQL_CHECKS_PASS = {
  outcome: 'encrypted-verified',
  rows: [{ one: 1 }],
  pooledOutcome: 'encrypted-verified',
  refusal: 'CERT_VERIFY_FAILED',
  missingMembers: [],
}

/** tsx's ES-module loader, for an app that runs this repository's TypeScript scenarios. */
export const TSX_LOADER = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href
/** The compatibility scenarios (test/pg-compat/scenarios.ts), for COMPAT_APP's first argument. */
export const COMPAT_SCENARIOS = pathToFileURL(join(root, 'test', 'pg-compat', 'scenarios.ts')).href

/**
 * The pg / pg-sslmode compatibility scenarios on the app's own pg, pg-cursor and pg-query-stream
 * (argv: the scenarios module, port, user, database, CA; the password in COMPAT_PASSWORD). Run with
 * tsx's loader; prints, for each scenario, what pg and what pg-sslmode observed.
 */
export const COMPAT_APP = `
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import Cursor from 'pg-cursor'
import QueryStream from 'pg-query-stream'
import { createPool, SslClient } from 'pg-sslmode'
const [scenarios, port, user, database, ca] = process.argv.slice(2)
const { apis, SCENARIOS } = await import(scenarios)
for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
const context = {
  pg, Cursor, QueryStream,
  options: () => ({
    host: 'localhost', port: Number(port), user, database, password: process.env.COMPAT_PASSWORD,
    ssl: { ca: readFileSync(ca) }, env: { HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) },
  }),
  baselineSockets: process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length,
}
const outcome = (promise) => promise.then((value) => ({ value }), (e) => ({ threw: String(e?.message ?? e) }))
const [PG, OURS] = apis(pg, { SslClient, createPool })
const results = []
for (const { name, run } of SCENARIOS) {
  const expected = await outcome(run(PG, context))
  const observed = await outcome(run(OURS, context))
  results.push({ name, expected, observed })
}
const pgVersion = (await import('pg/package.json', { with: { type: 'json' } })).default.version
console.log(JSON.stringify({ pgVersion, results }))
`

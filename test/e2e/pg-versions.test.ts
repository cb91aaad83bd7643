/**
 * pg-sslmode in the application's own install, for each pg an application's lockfile may pin
 * (8.11.3, 8.13.3, 8.16.3, 8.20.0 and the newest 8.x): a fresh app directory gets that pg and the
 * packed pg-sslmode from the npm registry, as `npm install pg@X pg-sslmode` would, and then:
 * one pg copy in the tree (pg is a peer dependency), SslClient and createPool()'s pool are
 * instances of the app's pg.Client and pg.Pool, the app's pg.defaults and pg.types apply,
 * verify-full connects, a wrong CA is refused with its code, and pg-sslmode/register covers a
 * plain pg.Client. Needs the npm registry (CI has it): without it the test says so and skips,
 * except on CI.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixture, startCluster } from '../../scripts/harness.js'

const PG_VERSIONS = ['8.11.3', '8.13.3', '8.16.3', '8.20.0', 'latest']
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** What the app checks, with the app's own pg; prints one JSON line. */
const APP = `
import pg from 'pg'
import { connect, createPool, SslClient } from 'pg-sslmode'
const [port, user, ca, otherCa] = process.argv.slice(2)
const out = { pgVersion: (await import('pg/package.json', { with: { type: 'json' } })).default.version }
const options = { host: 'localhost', port: Number(port), user, database: 'postgres', sslmode: 'verify-full', sslrootcert: ca, env: { HOME: process.env.HOME } }
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
out.refusal = await connect({ ...options, sslrootcert: otherCa }).then((c) => c.end().then(() => 'connected'), (e) => e.code)
console.log(JSON.stringify(out))
`

/** A plain pg app, under node --import pg-sslmode/register with PGSSLMODE in its environment. */
const REGISTERED_APP = `
import pg from 'pg'
const client = new pg.Client({ database: 'postgres' })
await client.connect()
console.log(JSON.stringify({ security: client.security?.outcome ?? null, mode: client.security?.effectiveMode ?? null }))
await client.end()
`

const registry = spawnSync('npm', ['view', 'pg@latest', 'version'], { encoding: 'utf8', timeout: 60_000 })
if (registry.status !== 0) {
  const why = `the npm registry cannot be reached (${(registry.stderr || registry.error?.message || '').trim().split('\n').at(-1)})`
  if (process.env.CI === 'true') t.fail(`the pg version matrix needs the npm registry on CI: ${why}`)
  else t.comment(`skipping the pg version matrix: ${why}`)
} else {
  const packDir = mkdtempSync(join(tmpdir(), 'pg-sslmode-pack-'))
  const packed = spawnSync('npm', ['pack', '--pack-destination', packDir], { cwd: root, encoding: 'utf8' })
  t.equal(packed.status, 0, `npm pack: ${packed.stderr.trim().split('\n').at(-1)}`)
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!)
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())

  for (const version of PG_VERSIONS) {
    t.test(`pg@${version} in the application's install`, async (t) => {
      const app = mkdtempSync(join(tmpdir(), `pg-sslmode-app-${version}-`))
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }))
      writeFileSync(join(app, 'app.mjs'), APP)
      writeFileSync(join(app, 'registered.mjs'), REGISTERED_APP)
      const started = Date.now()
      const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `pg@${version}`, tarball], { cwd: app, encoding: 'utf8', timeout: 180_000 })
      t.equal(install.status, 0, `npm install pg@${version} pg-sslmode (${Date.now() - started} ms)${install.status === 0 ? '' : `: ${install.stderr.trim().split('\n').slice(-3).join(' | ')}`}`)
      const copies = spawnSync('npm', ['ls', 'pg', '--all', '--parseable'], { cwd: app, encoding: 'utf8' }).stdout.split('\n').filter((line) => /node_modules\/pg$/.test(line))
      t.same(copies.length, 1, `one pg in the tree: ${copies.join(', ')}`)
      const env = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) }
      const run = spawnSync(process.execPath, ['app.mjs', String(cluster.port), cluster.user, fixture('ca.crt'), fixture('other-ca.crt')], { cwd: app, encoding: 'utf8', env, timeout: 60_000 })
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1) || '{}') as Record<string, unknown>
      t.equal(run.status, 0, run.stderr.trim().split('\n').slice(0, 6).join(' | '))
      if (version !== 'latest') t.equal(result.pgVersion, version, 'the app runs on the pg it pinned')
      t.match(result, {
        clientIsPgClient: true,
        outcome: 'encrypted-verified',
        applicationName: 'the-apps-defaults',
        typed: 'int4:7',
        poolIsPgPool: true,
        poolRows: [{ one: '1' }],
        refusal: 'CERT_VERIFY_FAILED',
      })
      const registered = spawnSync(process.execPath, ['--import', 'pg-sslmode/register', 'registered.mjs'], {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...env, PGHOST: 'localhost', PGPORT: String(cluster.port), PGUSER: cluster.user, PGSSLMODE: 'verify-full', PGSSLROOTCERT: fixture('ca.crt'), PGSSLREGISTER: 'quiet' },
      })
      t.same(JSON.parse(registered.stdout.trim() || '{}'), { security: 'encrypted-verified', mode: 'verify-full' }, `register covers the app's pg.Client${registered.status === 0 ? '' : `: ${registered.stderr.trim().split('\n')[0]}`}`)
    })
  }
}

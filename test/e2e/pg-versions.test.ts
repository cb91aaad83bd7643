/**
 * pg-sslmode in the application's own install, for each pg (and mysql2) an application's lockfile may pin
 * (8.11.3, 8.13.3, 8.16.3, 8.20.0 and the newest 8.x): a fresh app directory gets that pg and the
 * packed pg-sslmode from the npm registry, as `npm install pg@X pg-sslmode` would, and then: one
 * pg copy in the tree (pg is a peer dependency), SslClient and createPool()'s pool are instances
 * of the app's pg.Client and pg.Pool, the app's pg.defaults and pg.types apply, verify-full
 * connects, a wrong CA is refused with its code, every private member of pg that pg-sslmode relies
 * on is there (the canary of lib/postgres/pg-internals.ts), and pg-sslmode/register covers a plain
 * pg.Client. For mysql2 (3.23.3, the first pg-sslmode/mysql accepts, and the newest): VERIFY_IDENTITY
 * with a report, a pool, a coded refusal, on MariaDB. Needs the npm registry (CI has it): without it the test says so
 * and skips, except on CI.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, startCluster, TEST_PASSWORD } from '../../scripts/harness.js'
import { COMPAT_HBA } from '../pg-compat/scenarios.js'
import {
  CHECKS_APP,
  CHECKS_PASS,
  COMPAT_APP,
  COMPAT_SCENARIOS,
  installApp,
  MYSQL_CHECKS_APP,
  PG_CANARY_APP,
  MYSQL_CHECKS_PASS,
  pgCopies,
  registryProblem,
  REGISTERED_APP,
  runInApp,
  TSX_LOADER,
} from '../app-install.js'
import { mariadbProblem, MYSQL_PASSWORD, startMariaDb } from '../../scripts/mariadb.js'

const PG_VERSIONS = ['8.11.3', '8.13.3', '8.16.3', '8.20.0', 'latest']
const MYSQL2_VERSIONS = ['3.23.3', 'latest']

const why = registryProblem()
if (why) {
  if (process.env.CI === 'true') t.fail(`the pg version matrix needs the npm registry on CI: ${why}`)
  else t.comment(`skipping the pg version matrix: ${why}`)
} else {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  // The compatibility scenarios need password authentication (a wrong password must fail).
  const compatCluster = await startCluster({ ssl: true, hbaTcpLines: COMPAT_HBA })
  t.teardown(() => compatCluster.stop())
  const noMariaDb = mariadbProblem()
  const mariadb = noMariaDb ? undefined : await startMariaDb({ ssl: true })
  t.teardown(() => mariadb?.stop())

  for (const version of PG_VERSIONS) {
    t.test(`pg@${version} in the application's install`, async (t) => {
      const app = installApp(version, [`pg@${version}`, 'pg-cursor', 'pg-query-stream'], {
        'app.mjs': CHECKS_APP,
        'registered.mjs': REGISTERED_APP,
        'canary.mjs': PG_CANARY_APP,
        'compat.mjs': COMPAT_APP,
      })
      t.ok(
        app.install.ok,
        `npm install pg@${version} pg-cursor pg-query-stream pg-sslmode (${app.install.ms} ` +
          `ms)${app.install.ok ? '' : `: ${app.install.error}`}`,
      )
      const copies = pgCopies(app)
      t.equal(copies.length, 1, `one pg in the tree: ${copies.join(', ')}`)
      const env = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) }
      const checks = runInApp(
        app,
        [process.execPath, 'app.mjs', String(cluster.port), cluster.user, fixture('ca.crt'), fixture('other-ca.crt')],
        env,
      )
      t.equal(checks.status, 0, checks.stderr)
      if (version !== 'latest') t.equal(checks.result.pgVersion, version, 'the app runs on the pg it pinned')
      t.match(checks.result, CHECKS_PASS)
      const canary = runInApp(app, [process.execPath, 'canary.mjs'], env)
      t.same(
        canary.result,
        { missing: [] },
        `pg@${version} has every private member pg-sslmode relies on (lib/postgres/pg-internals.ts) ${canary.stderr}`,
      )
      const registered = runInApp(app, [process.execPath, '--import', 'pg-sslmode/register', 'registered.mjs'], {
        ...env,
        PGHOST: 'localhost',
        PGPORT: String(cluster.port),
        PGUSER: cluster.user,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: fixture('ca.crt'),
        PGSSLREGISTER: 'quiet',
      })
      t.same(
        registered.result,
        { security: 'encrypted-verified', mode: 'verify-full' },
        `register covers the app's pg.Client ${registered.stderr}`,
      )
      const compat = runInApp(
        app,
        [
          process.execPath,
          '--import',
          TSX_LOADER,
          'compat.mjs',
          COMPAT_SCENARIOS,
          String(compatCluster.port),
          compatCluster.user,
          compatCluster.database,
          fixture('ca.crt'),
        ],
        { ...env, COMPAT_PASSWORD: TEST_PASSWORD },
        180_000,
      )
      t.equal(compat.status, 0, `the compatibility scenarios ran on pg@${version} ${compat.stderr}`)
      const results = (compat.result.results ?? []) as Array<{ name: string; expected: unknown; observed: unknown }>
      t.ok(results.length > 0, 'the compatibility scenarios reported')
      for (const { name, expected, observed } of results) t.same(observed, expected, `pg@${version}: ${name}`)
    })
  }

  t.test('without pg (Yarn 1, or npm --legacy-peer-deps): loading pg-sslmode names the install command', async (t) => {
    const app = installApp(
      'no-pg',
      [],
      {
        'load.mjs':
          "await import('pg-sslmode').then(() => console.log(JSON.stringify({ loaded: true })), (e) " +
          '=> console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })))\n',
        'load.cjs':
          "try { require('pg-sslmode'); console.log(JSON.stringify({ loaded: true })) } catch (e) { " +
          'console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })) }\n',
      },
      ['--legacy-peer-deps'],
    )
    t.ok(app.install.ok, `npm install --legacy-peer-deps pg-sslmode (${app.install.ms} ms)`)
    t.equal(pgCopies(app).length, 0, 'no pg in the tree')
    for (const file of ['load.mjs', 'load.cjs']) {
      const run = runInApp(app, [process.execPath, file], { PATH: process.env.PATH ?? '', HOME: tmpdir() })
      t.match(run.result, { code: 'PEER_MISSING', hint: /npm install pg/ }, `${file}: ${JSON.stringify(run.result)}`)
    }
  })

  if (!mariadb) t.comment(`skipping the mysql2 versions: ${noMariaDb}`)
  else {
    for (const version of MYSQL2_VERSIONS) {
      t.test(`mysql2@${version} in the application's install`, async (t) => {
        const app = installApp(`mysql2-${version}`, [`mysql2@${version}`, 'pg'], { 'app.mjs': MYSQL_CHECKS_APP })
        t.ok(
          app.install.ok,
          `npm install mysql2@${version} pg-sslmode (${app.install.ms} ` +
            `ms)${app.install.ok ? '' : `: ${app.install.error}`}`,
        )
        const checks = runInApp(
          app,
          [
            process.execPath,
            'app.mjs',
            String(mariadb.port),
            MYSQL_PASSWORD,
            fixture('ca.crt'),
            fixture('other-ca.crt'),
          ],
          { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) },
        )
        t.equal(checks.status, 0, checks.stderr)
        if (version !== 'latest') t.equal(checks.result.mysql2Version, version, 'the app runs on the mysql2 it pinned')
        t.match(checks.result, MYSQL_CHECKS_PASS)
      })
    }
  }
}

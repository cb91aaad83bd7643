/**
 * Bun and Deno, as their users run an app: a fresh app directory with pg, the packed pg-sslmode and
 * the runtimes' own npm packages (bun, deno: they ship the binaries), then the same checks as for
 * Node — verify-full, SslClient and the pool as the app's pg.Client and pg.Pool, the app's
 * pg.defaults and pg.types, a wrong CA refused with its code — and pg-sslmode/register (Bun:
 * `--preload`; Deno: an import before the app's own). Needs the npm registry, like
 * pg-versions.test.ts.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, startCluster } from '../../scripts/harness.js'
import { CHECKS_APP, CHECKS_PASS, installApp, registryProblem, REGISTERED_APP, runInApp } from '../app-install.js'

const RUNTIMES = { bun: '1.4', deno: '2.9' }

const why = registryProblem()
if (why) {
  if (process.env.CI === 'true') t.fail(`the Bun and Deno tests need the npm registry on CI: ${why}`)
  else t.comment(`skipping Bun and Deno: ${why}`)
} else {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const app = installApp('runtimes', ['pg', `bun@${RUNTIMES.bun}`, `deno@${RUNTIMES.deno}`], {
    'app.mjs': CHECKS_APP,
    'registered.mjs': REGISTERED_APP,
    'register-first.mjs': "import 'pg-sslmode/register'\nawait import('./registered.mjs')\n",
  })
  t.ok(
    app.install.ok,
    `npm install pg bun@${RUNTIMES.bun} deno@${RUNTIMES.deno} pg-sslmode (${app.install.ms} ` +
      `ms)${app.install.ok ? '' : `: ${app.install.error}`}`,
  )
  const bin = (name: string): string => join(app.dir, 'node_modules', '.bin', name)
  const env = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')) }
  const pgEnv = {
    ...env,
    PGHOST: 'localhost',
    PGPORT: String(cluster.port),
    PGUSER: cluster.user,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: fixture('ca.crt'),
    PGSSLREGISTER: 'quiet',
  }
  const args = [String(cluster.port), cluster.user, fixture('ca.crt'), fixture('other-ca.crt')]
  const runtimes: Array<[name: string, run: string[], registered: string[]]> = [
    ['Bun', [bin('bun'), 'app.mjs'], [bin('bun'), '--preload', 'pg-sslmode/register', 'registered.mjs']],
    ['Deno', [bin('deno'), 'run', '--allow-all', 'app.mjs'], [bin('deno'), 'run', '--allow-all', 'register-first.mjs']],
  ]
  for (const [name, run, registered] of runtimes) {
    t.test(`${name}: verify-full, a pool, a coded refusal, register`, async (t) => {
      const version = runInApp(app, [run[0]!, '--version'], env)
      t.comment(`${name} ${JSON.stringify(version.result.unparsed ?? version.result).slice(0, 60)}`)
      const checks = runInApp(app, [...run, ...args], env)
      t.equal(checks.status, 0, checks.stderr)
      t.match(checks.result, CHECKS_PASS)
      const covered = runInApp(app, registered, pgEnv)
      t.same(
        covered.result,
        { security: 'encrypted-verified', mode: 'verify-full' },
        `register covers a plain pg.Client ${covered.stderr}`,
      )
    })
  }
}

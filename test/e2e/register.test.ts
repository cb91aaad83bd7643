/**
 * pg-sslmode/register, end to end: real applications' libraries (TypeORM, Sequelize, pg-promise —
 * which brings its own copy of pg) run real queries over verified TLS with nothing but
 * `node --import|--require pg-sslmode/register` and the environment's libpq settings; TypeORM and
 * Sequelize also through their own hook (driver / dialectModule) with pgDriver. The same runs
 * without the library fail, which is what makes these tests able to fail.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixture, startCluster } from '../../scripts/harness.js'
import { isolatedEnv } from '../support.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const REGISTER_ESM = join(root, 'dist', 'esm', 'postgres', 'register.js')
const REGISTER_CJS = join(root, 'dist', 'cjs', 'postgres', 'register.js')

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

interface Outcome {
  library?: string
  rows?: Array<{ ssl: boolean; version: string }>
  security?: { outcome: string; requestedMode: string; hostnameVerified: boolean; policy: { sources: string[] } } | null
  error?: { code: string | null; message: string }
}

function run(
  script: string,
  args: string[],
  nodeFlags: string[],
  env: Record<string, string> = {},
): Promise<{ outcome: Outcome | undefined; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeFlags, join(here, 'register', script), ...args],
      {
        cwd: root,
        timeout: 60_000,
        env: {
          ...isolatedEnv(),
          PATH: process.env.PATH ?? '',
          PGHOST: cluster.host,
          PGPORT: String(cluster.port),
          PGUSER: cluster.user,
          PGDATABASE: cluster.database,
          PGSSLMODE: 'verify-full',
          PGSSLROOTCERT: fixture('ca.crt'),
          PG_SSLMODE_ESM: join(root, 'dist', 'esm', 'index.js'),
          PG_SSLMODE_CJS: join(root, 'dist', 'cjs', 'index.js'),
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').at(-1)
        let outcome: Outcome | undefined
        try {
          outcome = line ? (JSON.parse(line) as Outcome) : undefined
        } catch {
          outcome = undefined
        }
        resolve({ outcome, stderr, code: error ? Number((error as { code?: unknown }).code ?? 1) : 0 })
      },
    )
  })
}

function verified(t: import('tap').Test, outcome: Outcome | undefined, stderr: string): void {
  t.same(outcome?.error, undefined, `no error (${stderr.split('\n').filter(Boolean).slice(-3).join(' | ')})`)
  t.equal(outcome?.rows?.[0]?.ssl, true, "the server saw the ORM's query over TLS (pg_stat_ssl)")
  t.match(
    outcome?.security,
    { outcome: 'encrypted-verified', requestedMode: 'verify-full', hostnameVerified: true },
    'PGSSLMODE=verify-full with PGSSLROOTCERT, as libpq reads them',
  )
}

const libraries: Array<[name: string, script: string, flag: string, register: string]> = [
  ['TypeORM', 'typeorm.mjs', '--import', REGISTER_ESM],
  ['Sequelize', 'sequelize.cjs', '--require', REGISTER_CJS],
  ['pg-promise', 'pg-promise.mjs', '--import', REGISTER_ESM],
]

for (const [name, script, flag, register] of libraries) {
  t.test(`${name}: node ${flag} pg-sslmode/register, no code change`, async (t) => {
    const { outcome, stderr } = await run(script, ['register'], [flag, register])
    verified(t, outcome, stderr)
    t.match(
      stderr,
      /pg-sslmode\/register: pg \d+\.\d+\.\d+ at \S+ now connects with libpq's sslmode semantics/,
      'a start-up line says which pg copies are covered',
    )
    if (name === 'pg-promise')
      t.match(stderr, /pg-promise\/node_modules\/pg now connects/, "pg-promise's own nested copy of pg is covered too")
  })

  t.test(`${name}: without pg-sslmode, the same settings do not give a verified connection (control)`, async (t) => {
    const { outcome } = await run(script, ['register'], [])
    t.ok(
      outcome?.error !== undefined || outcome?.security == null,
      `plain pg ignores PGSSLROOTCERT and has no report: ${outcome?.error?.message ?? 'no security report'}`,
    )
  })
}

t.test('NODE_OPTIONS=--import pg-sslmode/register works the same (any launcher)', async (t) => {
  const { outcome, stderr } = await run('typeorm.mjs', ['register'], [], { NODE_OPTIONS: `--import ${REGISTER_ESM}` })
  verified(t, outcome, stderr)
})

t.test("TypeORM's own hook: driver: pgDriver", async (t) => {
  const { outcome, stderr } = await run('typeorm.mjs', ['driver'], [])
  verified(t, outcome, stderr)
})

t.test("Sequelize's own hook: dialectModule: pgDriver", async (t) => {
  const { outcome, stderr } = await run('sequelize.cjs', ['driver'], [])
  verified(t, outcome, stderr)
})

t.test("an ORM's ssl option cannot weaken the environment's policy", async (t) => {
  const policyFile = join(tmpdir(), `pg-sslmode-register-policy-${process.pid}.json`)
  writeFileSync(policyFile, JSON.stringify({ minimumMode: 'verify-ca' }))
  for (const [name, script, flag, register] of libraries.slice(0, 2)) {
    const { outcome } = await run(script, ['register'], [flag, register], {
      PGSSLPOLICY: policyFile,
      ORM_SSL: 'false',
      PGSSLMODE: 'disable',
    })
    t.equal(outcome?.error?.code, 'POLICY_VIOLATION', `${name} with ssl: false: ${outcome?.error?.message}`)
    t.match(
      outcome?.error?.message,
      /minimumMode \(set by env:PGSSLPOLICY=/,
      "the violation names the environment's rule",
    )
    // With PGSSLMODE=verify-full the ORM's ssl: false is the weaker of two TLS sources: the stricter applies.
    const stricter = await run(script, ['register'], [flag, register], { PGSSLPOLICY: policyFile, ORM_SSL: 'false' })
    t.match(
      stricter.outcome?.security,
      { outcome: 'encrypted-verified', requestedMode: 'verify-full' },
      `${name} with ssl: false under PGSSLMODE=verify-full: verify-full`,
    )
    const lax = await run(script, ['register'], [flag, register], {
      PGSSLPOLICY: policyFile,
      ORM_SSL: JSON.stringify({ rejectUnauthorized: false }),
    })
    t.match(
      lax.outcome?.security,
      { outcome: 'encrypted-verified' },
      `${name} with rejectUnauthorized: false still verifies: the root CA is there (libpq's require ` +
        `rule) and the policy asks for it`,
    )
  }
})

t.test('pg-native is refused loudly, not skipped', async (t) => {
  const { code, stderr } = await run('pg-promise.mjs', ['native'], ['--import', REGISTER_ESM])
  t.not(code, 0, 'the process fails')
  t.match(stderr, /NATIVE_NOT_SUPPORTED/)
  const forced = await run('typeorm.mjs', ['register'], ['--import', REGISTER_ESM], { NODE_PG_FORCE_NATIVE: '1' })
  t.not(forced.code, 0)
  t.match(forced.stderr, /NATIVE_NOT_SUPPORTED.*NODE_PG_FORCE_NATIVE|NODE_PG_FORCE_NATIVE[\s\S]*NATIVE_NOT_SUPPORTED/)
})

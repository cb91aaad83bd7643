/**
 * pg's own spellings, pasted by users moving from pg: sslmode=no-verify (pg-connection-string,
 * PGSSLMODE, `ssl: 'no-verify'`, `ssl: { rejectUnauthorized: false }`) and uselibpqcompat=true.
 * Against a real server, with a root certificate in ~/.postgresql that does not sign the server's:
 * pg itself connects encrypted without verifying, and so must pg-sslmode — libpq's `require` would
 * verify with that file (as verify-ca) and fail, which pg-sslmode and libpq 18 still both do for
 * `sslmode=require`. The report and a warning name the pg spelling.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { connect, sslCodeOf, type ConnectOptions } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets, isolatedEnv, rejection, serverView } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())
endsWithNoOpenSockets(t)

/** A home whose ~/.postgresql/root.crt is a CA that did not sign the server's certificate. */
function homeWithWrongRoot(): Record<string, string> {
  const env = isolatedEnv()
  mkdirSync(join(env.HOME!, '.postgresql'))
  copyFileSync(fixture('other-ca.crt'), join(env.HOME!, '.postgresql', 'root.crt'))
  return env
}
const server = `postgresql://${cluster.user}@localhost:${cluster.port}/postgres`

/** The warnings emitted while `run` runs. */
async function warningsOf(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  const listen = (warning: Error) => seen.push(warning.message)
  process.on('warning', listen)
  try {
    await run()
    await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
  } finally {
    process.off('warning', listen)
  }
  return seen
}

t.test('sslmode=require with a wrong ~/.postgresql/root.crt: verified, and refused — as libpq 18', async (t) => {
  const env = homeWithWrongRoot()
  const error = await rejection(connect({ connectionString: `${server}?sslmode=require`, env }))
  t.equal(error.code, 'CERT_VERIFY_FAILED')
  if (!libpq18Problem()) {
    const libpq = libpq18Connect(`${server}?sslmode=require`, { HOME: env.HOME! })
    t.notOk(libpq.ok, `libpq 18 too: ${libpq.error.split('\n')[0]}`)
  }
})

t.test("pg's no-verify spellings: encrypted, not verified, as pg does it", async (t) => {
  const env = homeWithWrongRoot()
  const raw = new pg.Client({ connectionString: `${server}?sslmode=no-verify` })
  await raw.connect()
  t.equal((await raw.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl, true, 'pg')
  await raw.end()

  const spellings: Array<[string, ConnectOptions]> = [
    ['sslmode=no-verify in a URI', { connectionString: `${server}?sslmode=no-verify`, env }],
    [
      'sslmode=no-verify in a conninfo string',
      {
        connectionString: `host=localhost port=${cluster.port} user=${cluster.user} sslmode=no-verify`,
        env,
      },
    ],
    ['PGSSLMODE=no-verify', { connectionString: server, env: { ...env, PGSSLMODE: 'no-verify' } }],
    ["ssl: 'no-verify'", { connectionString: server, ssl: 'no-verify', env }],
    ['ssl: { rejectUnauthorized: false }', { connectionString: server, ssl: { rejectUnauthorized: false }, env }],
  ]
  const warned: string[] = []
  for (const [name, options] of spellings) {
    let client: Awaited<ReturnType<typeof connect>> | undefined
    const warnings = await warningsOf(async () => {
      client = await connect(options)
    })
    t.equal(client!.security.outcome, 'encrypted', `${name}: encrypted, not verified`)
    t.equal(client!.security.effectiveMode, 'require', `${name}: libpq's require, not verify-ca`)
    t.equal(client!.security.rootCertificate, null, `${name}: ~/.postgresql/root.crt not used`)
    t.equal((await serverView(client!)).ssl, true, `${name}: the server sees TLS`)
    t.match(client!.security.notes.join('\n'), /pg's spelling, not libpq's/, `${name}: the report names it`)
    warned.push(...warnings)
    await client!.end()
  }
  // Once per spelling and source, as every pg-sslmode settings warning: a pool must not flood the log.
  for (const where of ['(connection string)', '(environment variable PGSSLMODE)', "pg's ssl option without"]) {
    t.ok(
      warned.some((w) => w.includes(where) && w.includes("pg's spelling")),
      `a warning names the spelling: ${where}`,
    )
  }
})

t.test('no-verify refused where it cannot mean what it says', async (t) => {
  const env = isolatedEnv()
  const withRoot = await rejection(
    connect({ connectionString: `${server}?sslmode=no-verify&sslrootcert=${fixture('ca.crt')}`, env }),
  )
  t.equal(withRoot.code, 'INVALID_SETTING')
  t.equal(withRoot.setting, 'sslrootcert', 'a root certificate that would verify nothing')
  const services = join(env.HOME!, 'services.conf')
  writeFileSync(services, `[app]\nhost=localhost\nport=${cluster.port}\nsslmode=no-verify\n`)
  const fromService = await rejection(connect({ service: 'app', env: { ...env, PGSERVICEFILE: services } }))
  t.equal(fromService.code, 'INVALID_SETTING', 'a service file is libpq\'s: "invalid sslmode value"')
  t.match(fromService.message, /invalid sslmode value: "no-verify"/)
  const compat = await rejection(connect({ connectionString: `${server}?uselibpqcompat=true&sslmode=no-verify`, env }))
  t.equal(compat.code, 'INVALID_SETTING', "uselibpqcompat=true asks for libpq's sslmodes")
})

t.test('uselibpqcompat=true is what pg-sslmode does: accepted and noted; false is refused', async (t) => {
  const env = isolatedEnv()
  const client = await connect({
    connectionString: `${server}?uselibpqcompat=true&sslmode=verify-full&sslrootcert=${fixture('ca.crt')}`,
    env,
  })
  t.equal(client.security.outcome, 'encrypted-verified')
  t.match(client.security.notes.join('\n'), /uselibpqcompat=true .* is pg-connection-string's/)
  await client.end()
  const refused = await connect({ connectionString: `${server}?uselibpqcompat=false&sslmode=require`, env }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.equal(sslCodeOf(refused), 'INVALID_SETTING')
  t.match((refused as Error).message, /uselibpqcompat=false/)
})

/**
 * PgBouncer in between (Debian's pgbouncer, started by the test like the clusters): every sslmode
 * against PgBouncer's client leg agrees with libpq 18; transaction pooling works through
 * createPool; and the report describes the leg to PgBouncer — its certificate, not the server's.
 * Skipped, with the reason, only where pgbouncer is not installed (.ci/run installs it).
 */
import t from 'tap'
import { connect, createPool, SSL_MODES } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { pgbouncerProblem, startPgBouncer, type PgBouncer } from '../../scripts/pgbouncer.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const why = pgbouncerProblem()
if (why && process.env.CI === 'true') throw new Error(`PgBouncer is required in CI: ${why}`)

const cluster = why ? undefined : await startCluster({ ssl: true }) // presents server.crt (CN localhost)
const bouncers: Record<string, PgBouncer> = {}
if (cluster) {
  // PgBouncer presents its own certificate to clients: server-ip.crt (CN db.example.com, IP 127.0.0.1).
  bouncers.tlsRequired = await startPgBouncer(cluster, { clientTls: 'require', clientCert: 'server-ip' })
  bouncers.tlsOff = await startPgBouncer(cluster, { clientTls: 'disable' })
  bouncers.transaction = await startPgBouncer(cluster, {
    clientTls: 'require',
    clientCert: 'server-ip',
    poolMode: 'transaction',
  })
  t.teardown(async () => {
    for (const b of Object.values(bouncers)) await b.stop()
    await cluster.stop()
  })
}

const libpqWhy = libpq18Problem()
for (const name of ['tlsRequired', 'tlsOff'] as const) {
  for (const sslmode of SSL_MODES) {
    t.test(
      `PgBouncer client_tls_sslmode=${name === 'tlsRequired' ? 'require' : 'disable'}, sslmode=${sslmode}: as libpq 18`,
      { skip: why ?? libpqWhy ?? false },
      async (t) => {
        const b = bouncers[name]!
        const conninfo =
          `host=127.0.0.1 port=${b.port} user=app dbname=app sslmode=${sslmode} ` + `sslrootcert=${fixture('ca.crt')}`
        const libpq = libpq18Connect(conninfo, { HOME: '/nonexistent' })
        const ours = await connect({ connectionString: conninfo, env: {} }).then(
          async (client) => {
            const encrypted = client.security.encrypted
            const rows = (await client.query('select 1 as one')).rows
            await client.end()
            return { ok: rows[0]?.one === 1, encrypted, error: '' }
          },
          (error: Error) => ({ ok: false, encrypted: false, error: error.message }),
        )
        t.equal(
          ours.ok,
          libpq.ok,
          `libpq: ${libpq.ok ? `ok, ssl=${libpq.ssl}` : libpq.error.split('\n')[0]}; pg-sslmode: ` +
            `${ours.ok ? `ok, encrypted=${ours.encrypted}` : ours.error}`,
        )
        if (ours.ok && libpq.ok) t.equal(ours.encrypted, libpq.ssl, 'encrypted alike')
      },
    )
  }
}

t.test(
  'the report describes the leg to PgBouncer: its certificate, verified for its name',
  { skip: why ?? false },
  async (t) => {
    const client = await connect({
      host: '127.0.0.1',
      port: bouncers.tlsRequired!.port,
      user: 'app',
      dbname: 'app',
      env: {},
      sslmode: 'verify-full',
      sslrootcert: fixture('ca.crt'),
    })
    t.match(
      client.security.serverCertificate?.subject,
      /db\.example\.com/,
      "PgBouncer's certificate (the server presents CN=localhost)",
    )
    t.equal(client.security.hostnameVerified, true)
    const behind = (await client.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0]
    t.equal(
      behind?.ssl,
      true,
      'the leg behind PgBouncer is TLS too (server_tls_sslmode=verify-ca) — visible only by asking the server',
    )
    await client.end()
  },
)

t.test('transaction pooling through PgBouncer with createPool', { skip: why ?? false }, async (t) => {
  const pool = createPool({
    host: '127.0.0.1',
    port: bouncers.transaction!.port,
    user: 'app',
    dbname: 'app',
    env: {},
    sslmode: 'verify-full',
    sslrootcert: fixture('ca.crt'),
    max: 20,
  })
  const results = await Promise.all(Array.from({ length: 400 }, (_, i) => pool.query('select $1::int as i', [i])))
  t.same(
    results.map((r) => r.rows[0].i),
    Array.from({ length: 400 }, (_, i) => i),
    '400 parameterised queries, each its own answer',
  )
  const tx = await pool.connect()
  await tx.query('begin')
  await tx.query('create temp table t_tx (x int) on commit drop')
  await tx.query('insert into t_tx values (1)')
  t.same(
    (await tx.query('select count(*)::int as n from t_tx')).rows,
    [{ n: 1 }],
    'a transaction stays on one server connection',
  )
  await tx.query('commit')
  t.equal(tx.security.outcome, 'encrypted-verified')
  tx.release()
  await pool.end()
})

endsWithNoOpenSockets(t)

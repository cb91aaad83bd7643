/** createPool(): every pooled connection is negotiated, verified and reported like connect(). */
import t from 'tap'
import { createPool, PgSslError } from '../../lib/index.js'
import { fixture, startClusters } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, serverView, endsWithNoOpenSockets } from '../support.js'

const clusters = await startClusters({ sslOn: { ssl: true }, sslRejected: { ssl: true, hbaTcpLines: ['hostssl all all 127.0.0.1/32 reject', 'hostnossl all all 127.0.0.1/32 trust'] } })
t.teardown(() => clusters.stopAll())
const base = (c: { host: string; port: number; user: string }) => ({ host: c.host, port: c.port, user: c.user, env: isolatedEnv() })

t.test('pooled clients carry the report and run real queries over verified TLS', async (t) => {
  const pool = createPool({ ...base(clusters.sslOn), sslmode: 'verify-full', sslrootcert: fixture('ca.crt'), max: 4 })
  t.teardown(() => pool.end())
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('select $1::int as n', [i])))
  t.same(results.map((r) => r.rows[0].n), Array.from({ length: 20 }, (_, i) => i))
  t.ok(pool.totalCount <= 4)
  const client = await pool.connect()
  t.equal(client.security.outcome, 'encrypted-verified')
  t.equal((await serverView(client)).ssl, true)
  client.release()
})

t.test('a connection that fails verification never enters the pool; same error code', async (t) => {
  const before = await openSocketCount()
  const pool = createPool({ ...base(clusters.sslOn), sslmode: 'verify-ca', sslrootcert: fixture('other-ca.crt'), max: 2 })
  const error = (await pool.query('select 1').catch((e: unknown) => e)) as PgSslError
  t.equal(error.code, 'CERT_VERIFY_FAILED')
  t.equal(error.reason, 'untrusted-root')
  t.equal(pool.totalCount, 0, 'no client in the pool')
  await pool.end()
  t.ok((await socketsSettleTo(before)) <= before)
})

t.test('bad settings surface through pool.connect(), not as a crash', async (t) => {
  const pool = createPool({ ...base(clusters.sslOn), sslmode: 'verify_ca' as never })
  await t.rejects(pool.connect(), { code: 'INVALID_SETTING' })
  await pool.end()
})

t.test('prefer retries in plaintext within one pooled client (libpq), and the report says so', async (t) => {
  const pool = createPool({ ...base(clusters.sslRejected), sslmode: 'prefer', max: 1 })
  t.teardown(() => pool.end())
  const client = await pool.connect()
  t.equal(client.security.fallback, 'plaintext-after-ssl')
  t.equal((await client.query('select 1 as one')).rows[0].one, 1)
  client.release()
  t.equal((await pool.query('select 2 as two')).rows[0].two, 2, 'the same client serves later queries')
})

endsWithNoOpenSockets(t)

/** createPool(): every pooled connection is negotiated, verified and reported like connect(). */
import t from 'tap'
import { connect, createPool, type PgSslError, SslClient, type SecurityEvent } from '../../lib/index.js'
import { fixture, freePort, startClusters } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, serverView, endsWithNoOpenSockets } from '../support.js'

const clusters = await startClusters({
  sslOn: { ssl: true },
  sslRejected: {
    ssl: true,
    hbaTcpLines: ['hostssl all all 127.0.0.1/32 reject', 'hostnossl all all 127.0.0.1/32 trust'],
  },
  passwordOnly: { ssl: true, hbaTcpLines: ['hostssl all all 127.0.0.1/32 scram-sha-256'] },
})
t.teardown(() => clusters.stopAll())
const base = (c: { host: string; port: number; user: string }) => ({
  host: c.host,
  port: c.port,
  user: c.user,
  env: isolatedEnv(),
})

t.test('pooled clients carry the report and run real queries over verified TLS', async (t) => {
  const pool = createPool({ ...base(clusters.sslOn), sslmode: 'verify-full', sslrootcert: fixture('ca.crt'), max: 4 })
  t.teardown(() => pool.end())
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('select $1::int as n', [i])))
  t.same(
    results.map((r) => r.rows[0].n),
    Array.from({ length: 20 }, (_, i) => i),
  )
  t.ok(pool.totalCount <= 4)
  const client = await pool.connect()
  t.equal(client.security.outcome, 'encrypted-verified')
  t.equal((await serverView(client)).ssl, true)
  client.release()
})

t.test('a connection that fails verification never enters the pool; same error code', async (t) => {
  const before = await openSocketCount()
  const pool = createPool({
    ...base(clusters.sslOn),
    sslmode: 'verify-ca',
    sslrootcert: fixture('other-ca.crt'),
    max: 2,
  })
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

t.test('connectRetry: a server that is down is waited for within the budget, then a clear error', async (t) => {
  const port = await freePort()
  const events: SecurityEvent[] = []
  const pool = createPool({
    host: '127.0.0.1',
    port,
    user: 'nobody',
    env: isolatedEnv(),
    sslmode: 'require',
    connectRetry: { budgetMillis: 600, initialDelayMillis: 20, maxDelayMillis: 100 },
    onSecurityEvent: (e) => void events.push(e),
  })
  const started = Date.now()
  const error = (await pool.connect().catch((e: unknown) => e)) as PgSslError
  const elapsed = Date.now() - started
  t.equal(error.code, 'CONNECTION_FAILED')
  t.match(
    error.message,
    /ECONNREFUSED .*gave up after \d+ connection retr(y|ies) in [\d.]+ s: connectRetry budget 600 ms/,
  )
  t.ok(elapsed >= 300 && elapsed < 5_000, `it waited, but not beyond the budget (${elapsed} ms)`)
  const retries = events.filter((e) => e.type === 'connect-retry')
  t.ok(retries.length >= 2, `each retry is an event (${retries.length})`)
  t.match(retries[0], {
    type: 'connect-retry',
    retry: 1,
    reason: 'ECONNREFUSED',
    code: 'CONNECTION_FAILED',
    host: '127.0.0.1',
  })
  t.ok(error.attempts!.length === retries.length + 1, 'every round of attempts is in error.attempts')
  t.match(pool.connectRetryStats, { retries: retries.length, waiting: 0, exhausted: 1, recovered: 0 })
  await pool.end()
})

t.test('connectRetry never waits for a certificate, policy, authentication or settings failure', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'untrusted certificate',
      { ...base(clusters.sslOn), sslmode: 'verify-ca', sslrootcert: fixture('other-ca.crt') },
      'CERT_VERIFY_FAILED',
    ],
    [
      'policy',
      { ...base(clusters.sslRejected), sslmode: 'prefer', policy: { allowPlaintextFallback: false } },
      'POLICY_VIOLATION',
    ],
    ['server refusal (pg_hba reject)', { ...base(clusters.sslRejected), sslmode: 'require' }, '28000'],
    ['missing password', { ...base(clusters.passwordOnly), sslmode: 'require' }, 'PASSWORD_REQUIRED'],
    ['bad setting', { ...base(clusters.sslOn), sslmode: 'verify_ca' }, 'INVALID_SETTING'],
  ]
  for (const [name, options, code] of cases) {
    const pool = createPool({ ...options, connectRetry: { budgetMillis: 30_000 } } as never)
    const started = Date.now()
    const error = (await pool.connect().catch((e: unknown) => e)) as PgSslError
    t.equal(error.code, code, `${name}: ${error.message}`)
    t.ok(Date.now() - started < 5_000, `${name}: immediate`)
    t.equal(pool.connectRetryStats.retries, 0, `${name}: no retry`)
    await pool.end()
  }
})

t.test('connect() and SslClient try once, as libpq; connectRetry is opt-in there', async (t) => {
  const port = await freePort()
  const once = await connect({ host: '127.0.0.1', port, env: isolatedEnv(), sslmode: 'disable' }).catch(
    (e: PgSslError) => e,
  )
  t.equal((once as PgSslError).code, 'CONNECTION_FAILED')
  t.notMatch((once as PgSslError).message, /retr/)
  t.equal((once as PgSslError).attempts!.length, 1)
  const started = Date.now()
  const retried = (await connect({
    host: '127.0.0.1',
    port,
    env: isolatedEnv(),
    sslmode: 'disable',
    connectRetry: { budgetMillis: 300, initialDelayMillis: 10, maxDelayMillis: 50 },
  }).catch((e: PgSslError) => e)) as PgSslError
  t.ok(
    retried.attempts!.length > 2 && Date.now() - started >= 150,
    `retried until the budget (${retried.attempts!.length} attempts)`,
  )
  const bad = createPool({ connectRetry: { budgetMillis: -1 } })
  await t.rejects(
    bad.connect(),
    { code: 'INVALID_SETTING', setting: 'connectRetry' },
    'a negative budget is refused before any network traffic',
  )
  await bad.end()
})

t.test("connectRetry: end() during the wait ends it at once, pg-pool's connection timeout too", async (t) => {
  const port = await freePort()
  const client = new SslClient({
    host: '127.0.0.1',
    port,
    env: isolatedEnv(),
    sslmode: 'disable',
    connectRetry: { budgetMillis: 60_000, initialDelayMillis: 200, maxDelayMillis: 200 },
  })
  let settled = false
  client.connect().then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((r) => setTimeout(r, 100))
  const started = Date.now()
  await client.end()
  t.ok(Date.now() - started < 1_000, 'end() returned at once')
  t.equal(settled, false, 'connect() does not settle after end(), as in pg')

  const pool = createPool({
    host: '127.0.0.1',
    port,
    env: isolatedEnv(),
    sslmode: 'disable',
    connectionTimeoutMillis: 400,
    connectRetry: { budgetMillis: 60_000, initialDelayMillis: 100, maxDelayMillis: 100 },
  })
  const begun = Date.now()
  const error = (await pool.connect().catch((e: unknown) => e)) as Error
  t.match(error.message, /connection timeout/, "pg-pool's timeout ends the retries")
  t.ok(Date.now() - begun < 2_000, `within about connectionTimeoutMillis (${Date.now() - begun} ms)`)
  t.equal(pool.connectRetryStats.waiting, 0)
  await pool.end()
})

endsWithNoOpenSockets(t)

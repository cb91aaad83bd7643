/**
 * A pool that rides through a server restart (docs/pools.md). 3,000 queries at concurrency 20
 * through a verified-TLS pool while the server does a fast restart: every query settles, no query
 * that never reached a server fails (connectRetry waits for the server instead), and the only
 * failures are the statements that were in flight when the server went away, each with a clear
 * error. Bounded: it stops by itself within the test timeout.
 */
import t from 'tap'
import pg from 'pg'
import { createPool, type SecurityEvent } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

/** What a statement the server was running (or about to read) fails with when the server goes away. */
function isInFlightError(error: unknown): boolean {
  const e = error as { code?: string; message?: string }
  if (error instanceof pg.DatabaseError) return e.code === '57P01' || e.code === '57P02'
  return /Connection terminated|ECONNRESET|EPIPE|not queryable|write after end/.test(
    `${e.code ?? ''} ${e.message ?? ''}`,
  )
}

t.test('3,000 queries, concurrency 20, one fast restart: no unsent query fails', async (t) => {
  let unhandled = 0
  const onUnhandled = (): void => void unhandled++
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => void process.off('unhandledRejection', onUnhandled))
  const socketsBefore = await openSocketCount()

  const events: SecurityEvent[] = []
  const pool = createPool({
    host: cluster.host,
    port: cluster.port,
    user: cluster.user,
    env: isolatedEnv(),
    sslmode: 'verify-full',
    sslrootcert: fixture('ca.crt'),
    max: 20,
    connectionTimeoutMillis: 20_000,
    onSecurityEvent: (event) => void (event.type === 'connect-retry' && events.push(event)),
  })
  let idleErrors = 0
  pool.on('error', () => void idleErrors++) // idle clients the restart killed: the application is told here

  const total = 3_000
  let next = 0
  let answered = 0
  const acquireFailures: unknown[] = []
  const inFlightFailures: unknown[] = []
  let restarted: Promise<void> | undefined
  let restartedAt = 0
  let firstAnswerAfterRestart = 0
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++
      if (i === 500) {
        restarted = cluster.restart().then(() => {
          restartedAt = Date.now()
        })
      }
      let client
      try {
        client = await pool.connect()
      } catch (error) {
        acquireFailures.push(error)
        continue
      }
      try {
        const { rows } = await client.query('select $1::int as i', [i])
        if (rows[0].i !== i) throw new Error(`query ${i} got the answer of another`)
        answered++
        if (restartedAt && !firstAnswerAfterRestart) firstAnswerAfterRestart = Date.now()
        client.release()
      } catch (error) {
        if ((error as Error).message.includes('answer of another')) throw error
        inFlightFailures.push(error)
        client.release(error as Error) // a broken connection leaves the pool
      }
    }
  }
  await Promise.all(Array.from({ length: 20 }, worker))
  await restarted

  t.equal(answered + acquireFailures.length + inFlightFailures.length, total, 'every query settled')
  t.same(
    acquireFailures.map((e) => `${(e as Error).message}`),
    [],
    'no query that never reached a server failed',
  )
  t.ok(
    inFlightFailures.length <= 20 + idleErrors,
    `only statements in flight failed (${inFlightFailures.length}; concurrency 20)`,
  )
  const unclear = inFlightFailures.filter((e) => !isInFlightError(e))
  t.same(
    unclear.map((e) => `${(e as Error).message}`),
    [],
    'each in-flight failure is a clear "the server went away" error',
  )
  const stats = pool.connectRetryStats
  t.ok(
    stats.retries > 0 && events.length === stats.retries,
    `the pool waited for the server: ${stats.retries} retries, each an audit event`,
  )
  t.equal(stats.waiting, 0, 'no client is still waiting')
  t.equal(stats.exhausted, 0, 'no connection gave up')
  t.ok(
    events.every((e) => e.type === 'connect-retry' && e.reason.length > 0 && e.delayMillis >= 0),
    'each retry event says why and how long it waited',
  )
  t.comment(
    `answered ${answered}, in-flight failures ${inFlightFailures.length}, idle clients lost ` +
      `${idleErrors}, retries ${stats.retries} (${stats.recovered} connections recovered, ` +
      `${stats.waitedMillis} ms waited); first answer ` +
      `${firstAnswerAfterRestart ? firstAnswerAfterRestart - restartedAt : '?'} ms after the server was ready`,
  )

  const client = await pool.connect()
  t.equal(client.security.outcome, 'encrypted-verified', 'new connections are verified again')
  client.release()
  await pool.end()
  t.ok(
    (await socketsSettleTo(socketsBefore)) <= socketsBefore,
    'no socket left open (once the closing ones have closed)',
  )
  t.equal(unhandled, 0, 'no unhandled rejection')
})

t.test('pool.query() (what ORMs call) rides through the restart as well', async (t) => {
  const pool = createPool({
    host: cluster.host,
    port: cluster.port,
    user: cluster.user,
    env: isolatedEnv(),
    sslmode: 'verify-full',
    sslrootcert: fixture('ca.crt'),
    max: 10,
    connectionTimeoutMillis: 20_000,
  })
  pool.on('error', () => {})
  await pool.query('select 1')
  // Every idle connection dies with the server; every query below needs a new connection.
  await cluster.restart().then(async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => pool.query('select $1::int as i', [i])),
    )
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]
    t.same(
      failed.map((f) => String(f.reason?.message)).filter((m) => !isInFlightError({ message: m })),
      [],
      'nothing but the dead idle connection may fail',
    )
  })
  // Queries issued while the server is down wait for it.
  const down = cluster.restart()
  const during = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => pool.query('select $1::int as i', [i])))
  await down
  const unsent = during.filter((r) => r.status === 'rejected' && !isInFlightError(r.reason)) as PromiseRejectedResult[]
  t.same(
    unsent.map((r) => String(r.reason?.message)),
    [],
    'queries issued during the restart were answered once the server was back',
  )
  await pool.end()
})

endsWithNoOpenSockets(t)

/**
 * Load with a fault: 500 concurrent queries through a 20-connection verified-TLS pool while the
 * server restarts once. Every query settles (answered or rejected — the application is told), the
 * pool recovers, no socket is left open, and nothing is an unhandled rejection. Bounded: it stops
 * by itself within the test timeout.
 */
import t from 'tap'
import { createPool } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

t.test('500 queries, 20 connections, one server restart', async (t) => {
  let unhandled = 0
  const onUnhandled = (): void => void unhandled++
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => void process.off('unhandledRejection', onUnhandled))
  const socketsBefore = await openSocketCount()

  const pool = createPool({ host: cluster.host, port: cluster.port, user: cluster.user, env: isolatedEnv(), sslmode: 'verify-full', sslrootcert: fixture('ca.crt'), max: 20, connectionTimeoutMillis: 10_000 })
  let poolErrors = 0
  pool.on('error', () => void poolErrors++) // idle clients killed by the restart: the application is told here

  let answered = 0
  let rejected = 0
  let restarted: Promise<void> | undefined
  const queries = Array.from({ length: 500 }, async (_, i) => {
    try {
      const { rows } = await pool.query('select pg_sleep(0.005), $1::int as i', [i])
      if (rows[0].i !== i) throw new Error(`query ${i} got the answer of another`)
      answered++
    } catch (error) {
      if ((error as Error).message.includes('answer of another')) throw error
      rejected++
    }
    if (answered + rejected === 150) restarted = cluster.restart()
  })
  const settled = await Promise.allSettled(queries)
  await restarted
  t.equal(settled.filter((s) => s.status === 'rejected').length, 0, 'no query got another query’s answer')
  t.equal(answered + rejected, 500, `every query settled: ${answered} answered, ${rejected} rejected with an error`)
  t.ok(answered >= 150, 'the queries before the restart were answered')
  t.ok(rejected > 0 || poolErrors > 0 || answered === 500, 'the restart was noticed (or survived)')

  const after = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.query('select $1::int as i', [i])))
  t.equal(after.length, 50, 'the pool recovered: 50 queries after the restart answered')
  const client = await pool.connect()
  t.equal(client.security.outcome, 'encrypted-verified', 'new connections are verified again')
  client.release()
  await pool.end()
  t.ok((await socketsSettleTo(socketsBefore)) <= socketsBefore, 'no socket left open (once the closing ones have closed)')
  t.equal(unhandled, 0, 'no unhandled rejection')
})

endsWithNoOpenSockets(t)

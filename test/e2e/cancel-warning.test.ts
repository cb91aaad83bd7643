/**
 * pg's cancel(client, query) through SslClient finds the running query without reading pg's
 * deprecated `client.activeQuery` (whose DeprecationWarning the application never asked for). A
 * file of its own: Node prints a deprecation once per process, so nothing else may have read it.
 */
import t from 'tap'
import pg from 'pg'
import { connect, SslClient } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { endsWithNoOpenSockets, isolatedEnv } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

t.test("cancel(client, query) without pg's activeQuery DeprecationWarning", async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  t.teardown(() => void process.off('warning', onWarning))
  const options = {
    host: 'localhost',
    port: cluster.port,
    user: cluster.user,
    env: isolatedEnv(),
    sslmode: 'verify-full' as const,
    sslrootcert: fixture('ca.crt'),
  }
  const client = await connect(options)
  const query = new pg.Query('select pg_sleep(30)')
  const done = new Promise<unknown>((resolve) => {
    query.on('error', resolve)
    query.on('end', resolve)
  })
  client.query(query)
  await new Promise((r) => setTimeout(r, 200))
  new SslClient(options).cancel(client, query)
  t.equal(((await done) as { code?: string })?.code, '57014', 'the query was cancelled')
  await client.end()
  await new Promise((r) => setTimeout(r, 50))
  t.same(
    warnings.filter((w) => /activeQuery/.test(w)),
    [],
    'no deprecation warning',
  )
  // The control: pg's getter does warn, so the assertion above can fail.
  void (client as unknown as { activeQuery: unknown }).activeQuery
  await new Promise((r) => setTimeout(r, 50))
  t.ok(
    warnings.some((w) => /activeQuery/.test(w)),
    'reading client.activeQuery itself warns (pg 8.15+)',
  )
})

endsWithNoOpenSockets(t)

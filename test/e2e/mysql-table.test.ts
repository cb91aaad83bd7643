/**
 * The MySQL client × server table on real MariaDB servers: TLS on / off × require_secure_transport
 * × the five ssl-modes (and ssl-ca without a mode), each cell asserted as the MySQL 8 client
 * documents it — the outcome, the fallback, the error code — and what the server itself saw
 * (Ssl_version, Ssl_cipher) matched against the report. scripts/mysql-table.ts is the one table;
 * the demo prints it.
 */
import t from 'tap'
import { mariadbProblem, startMariaDbs } from '../../scripts/mariadb.js'
import { MYSQL_SERVER_KINDS, MYSQL_TABLE, runMysqlCell } from '../../scripts/mysql-table.js'
import { connectMysql } from '../../lib/mysql/index.js'
import { endsWithNoOpenSockets, openSocketCount } from '../support.js'

const why = mariadbProblem()
if (why && process.env.CI === 'true') throw new Error(`MariaDB is required in CI: ${why}`)

if (!why) {
  const servers = await startMariaDbs(
    Object.fromEntries(MYSQL_SERVER_KINDS.map((k) => [k.name, k.server])) as Record<
      string,
      Parameters<typeof startMariaDbs>[0][string]
    >,
  )
  t.teardown(() => servers.stopAll())

  t.test('every cell of the table', async (t) => {
    for (const cell of MYSQL_TABLE) {
      const server = servers[cell.server]!
      const result = await runMysqlCell(cell, server)
      t.same(result.observed, cell.expect, `${cell.server} × ${cell.client}: ${result.describe}`)
      if (result.serverSaw) {
        // The server's own account of the session agrees with the report.
        t.equal(result.serverSaw.version, result.report?.protocol ?? '', `${cell.server} × ${cell.client}: Ssl_version`)
        t.equal(result.serverSaw.cipher, result.report?.cipher ?? '', `${cell.server} × ${cell.client}: Ssl_cipher`)
      }
    }
  })

  t.test('a refused cell leaves no socket open and names each attempt', async (t) => {
    const before = await openSocketCount()
    const error = await connectMysql({
      host: '127.0.0.1',
      port: servers['tls-off']!.port,
      user: 'app',
      sslMode: 'REQUIRED',
      optionFiles: false,
      env: {},
    }).then(
      () => undefined,
      (e: unknown) => e as { code: string; attempts: unknown[] },
    )
    t.equal(error?.code, 'SSL_DISABLED_ON_SERVER')
    t.match(error?.attempts, [{ ssl: true, result: 'failed', failure: { code: 'SSL_DISABLED_ON_SERVER' } }])
    t.equal(await openSocketCount(), before)
  })
} else {
  t.test('MariaDB', { skip: `MariaDB is not available: ${why}` }, async () => undefined)
}

endsWithNoOpenSockets(t)

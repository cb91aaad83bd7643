/**
 * The acceptance table: all 24 client × server cells (docs/modes.md), in the postgres and the gaussdb
 * dialect, against real PostgreSQL servers (every build on this machine: embedded 18, system 15).
 * Each connected cell is also checked against the server's own view (pg_stat_ssl).
 */
import t from 'tap'
import { connect } from '../../lib/index.js'
import type { PgSslError } from '../../lib/engine/errors.js'
import { availableServers, privateCopy, startCluster, type Cluster } from '../../scripts/harness.js'
import { SERVER_CONFIGS, seedTable, serverKey } from '../../scripts/seed-table.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, serverView, endsWithNoOpenSockets } from '../support.js'

for (const binaries of availableServers()) {
  t.test(`PostgreSQL ${binaries.version} (${binaries.source})`, async (t) => {
    const clusters = new Map<string, Cluster>()
    t.teardown(() => Promise.all([...clusters.values()].map((c) => c.stop())))
    await Promise.all(
      SERVER_CONFIGS.map(async ({ serverSsl, requireSsl }) => {
        clusters.set(serverKey(serverSsl, requireSsl), await startCluster({ ssl: serverSsl, requireSsl, binaries }))
      }),
    )
    const socketsBefore = await openSocketCount()

    for (const dialect of ['postgres', 'gaussdb'] as const) {
      for (const cell of seedTable(dialect)) {
        const cluster = clusters.get(serverKey(cell.serverSsl, cell.requireSsl))!
        const name =
          `${dialect}: server ${serverKey(cell.serverSsl, cell.requireSsl)}, ` +
          `sslmode=${cell.mode} → ${cell.wording}`
        const verifies = cell.mode === 'verify-ca' || cell.mode === 'verify-full'
        const options = {
          host: cluster.host,
          port: cluster.port,
          user: cluster.user,
          dialect,
          sslmode: cell.mode,
          env: isolatedEnv(),
          // gsql's rule: the root CA file must be 0600 (git checks files out 0644).
          ...(verifies ? { sslrootcert: privateCopy('ca.crt') } : {}),
        }
        if (cell.error) {
          const error = await connect(options).then(
            (client) => client.end().then(() => undefined),
            (e: PgSslError) => e,
          )
          t.equal(error?.sslCode, cell.error, name)
          continue
        }
        const client = await connect(options).catch((error: PgSslError) => {
          t.fail(`${name}: ${error.sslCode} ${error.message}`)
          return undefined
        })
        if (!client) continue
        const report = client.security
        const server = await serverView(client)
        await client.end()
        t.equal(report.outcome, cell.outcome, name)
        t.equal(report.encrypted, server.ssl, `${name}: report agrees with pg_stat_ssl`)
        t.equal(report.protocol, server.version, `${name}: protocol agrees with pg_stat_ssl`)
        t.equal(report.cipher, server.cipher, `${name}: cipher agrees with pg_stat_ssl`)
        if (report.encrypted && dialect === 'gaussdb') {
          t.equal(report.protocol, 'TLSv1.2', `${name}: gsql speaks TLS 1.2 only`)
          t.match(
            report.cipher,
            /^(ECDHE-(RSA|ECDSA)|DHE-RSA)-AES(128|256)-GCM-SHA(256|384)$/,
            `${name}: one of gsql's cipher suites`,
          )
        }
        if (cell.mode === 'verify-full') t.ok(report.hostnameVerified, `${name}: host name verified`)
        if (cell.mode === 'allow' && cell.requireSsl && cell.serverSsl) {
          t.equal(report.fallback, 'ssl-after-plaintext', `${name}: the report shows the SSL retry`)
          t.equal(report.attempts.length, 2)
        }
      }
    }
    t.ok(
      (await socketsSettleTo(socketsBefore)) <= socketsBefore,
      'no socket is left open after 96 connections and failures',
    )
  })
}

endsWithNoOpenSockets(t)

/**
 * openGauss's require_ssl answers a plaintext start-up with SQLSTATE 57P03. openGauss's libpq
 * (opengauss/gaussdb dialects) then retries with SSL under sslmode=allow; modern PostgreSQL libpq
 * (postgres dialect) does not change the SSL choice after 57P03. Reproduced with a test peer in
 * front of a real PostgreSQL (scripts/require-ssl-peer.ts).
 */
import t from 'tap'
import { connect } from '../../lib/index.js'
import { privateCopy, startCluster } from '../../scripts/harness.js'
import { seedTable } from '../../scripts/seed-table.js'
import { startRequireSslPeer } from '../../scripts/require-ssl-peer.js'
import { isolatedEnv, rejection, serverView, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
const peer = await startRequireSslPeer(cluster)
t.teardown(async () => {
  await peer.close()
  await cluster.stop()
})
const options = { host: peer.host, port: peer.port, user: cluster.user, env: isolatedEnv() }

for (const dialect of ['opengauss', 'gaussdb'] as const) {
  t.test(`${dialect}: allow retries with SSL after 57P03`, async (t) => {
    const client = await connect({ ...options, dialect, sslmode: 'allow' })
    t.equal(client.security.encrypted, true)
    t.equal(client.security.fallback, 'ssl-after-plaintext')
    t.match(client.security.attempts, [
      { ssl: false, result: 'failed', failure: { code: 'SSL_REQUIRED_BY_SERVER', sqlstate: '57P03' } },
      { ssl: true, result: 'connected' },
    ])
    t.equal((await serverView(client)).ssl, true, 'the server confirms SSL')
    await client.end()
  })
}

t.test('postgres: allow does not change the SSL choice after 57P03 (libpq 10+)', async (t) => {
  const error = await rejection(connect({ ...options, dialect: 'postgres', sslmode: 'allow' }))
  t.equal(error.sslCode, 'SSL_REQUIRED_BY_SERVER')
  t.equal(error.sqlstate, '57P03')
  t.match(error.hint, /opengauss/)
  t.equal(error.attempts?.length, 1)
})

t.test('every dialect: disable cannot connect, prefer/require/verify-ca connect encrypted', async (t) => {
  for (const dialect of ['postgres', 'opengauss', 'gaussdb'] as const) {
    const refused = await rejection(connect({ ...options, dialect, sslmode: 'disable' }))
    t.equal(refused.sslCode, 'SSL_REQUIRED_BY_SERVER', `${dialect} disable`)
    t.match(refused.sslMessage, /server requires SSL, client disabled it/)
    t.equal(refused.code, '57P03', "pg's contract: code is the SQLSTATE, message the server's")
    for (const sslmode of ['prefer', 'require', 'verify-ca'] as const) {
      const client = await connect({ ...options, dialect, sslmode, sslrootcert: privateCopy('ca.crt') })
      t.equal(client.security.encrypted, true, `${dialect} ${sslmode}`)
      await client.end()
    }
  }
})

t.test("the seed table's require_ssl=on row, against the openGauss-like refusal", async (t) => {
  for (const dialect of ['postgres', 'opengauss', 'gaussdb'] as const) {
    for (const cell of seedTable(dialect).filter((c) => c.serverSsl && c.requireSsl)) {
      const verifies = cell.mode === 'verify-ca' || cell.mode === 'verify-full'
      const run = connect({
        ...options,
        dialect,
        sslmode: cell.mode,
        ...(verifies ? { sslrootcert: privateCopy('ca.crt') } : {}),
      })
      // PostgreSQL's libpq does not retry allow with SSL after 57P03: the documented difference.
      const expectedError = dialect === 'postgres' && cell.mode === 'allow' ? 'SSL_REQUIRED_BY_SERVER' : cell.error
      if (expectedError) {
        t.equal((await rejection(run)).sslCode, expectedError, `${dialect} ${cell.mode}: ${expectedError}`)
      } else {
        const client = await run
        t.equal(
          client.security.outcome === 'unencrypted' ? 'unencrypted' : 'encrypted',
          cell.outcome === 'unencrypted' ? 'unencrypted' : 'encrypted',
          `${dialect} ${cell.mode}: ${cell.wording}`,
        )
        await client.end()
      }
    }
  }
})

endsWithNoOpenSockets(t)

/**
 * openGauss authentication end to end, through a protocol test peer (scripts/opengauss-auth-peer.ts)
 * that plays openGauss's side of the exchange and then hands the session to a real PostgreSQL.
 * In the postgres dialect pg's own start-up runs and cannot log in, as against a real openGauss.
 */
import t from 'tap'
import { connect } from '../../lib/index.js'
import { privateCopy, startCluster, TEST_PASSWORD } from '../../scripts/harness.js'
import { startOpenGaussAuthPeer } from '../../scripts/opengauss-auth-peer.js'
import { isolatedEnv, rejection, serverView, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

for (const method of ['sha256', 'md5_sha256'] as const) {
  t.test(`${method}: the opengauss and gaussdb dialects log in`, async (t) => {
    const peer = await startOpenGaussAuthPeer(cluster, method, TEST_PASSWORD)
    t.teardown(() => peer.close())
    for (const dialect of ['opengauss', 'gaussdb'] as const) {
      const client = await connect({ host: peer.host, port: peer.port, user: cluster.user, password: TEST_PASSWORD, dialect, sslmode: 'prefer', env: isolatedEnv() })
      t.same((await client.query('select 40 + 2 as n')).rows, [{ n: 42 }], `${dialect}: queries run after the openGauss exchange`)
      t.equal((await serverView(client)).ssl, false, 'plaintext: the peer refused SSL')
      t.equal(client.security.fallback, 'plaintext-after-ssl')
      await client.end()
    }
    t.same(peer.seen.map((s) => [s.protocol, s.accepted]), [[(3 << 16) | 51, true], [(3 << 16) | 51, true]], 'protocol 3.51 asked for, proofs accepted')

    const wrong = await rejection(connect({ host: peer.host, port: peer.port, user: cluster.user, password: 'wrong-password', dialect: 'opengauss', sslmode: 'disable', env: isolatedEnv() }))
    t.equal(wrong.sslCode, 'SERVER_REJECTED')
    t.equal(wrong.sqlstate, '28P01')
    t.notMatch(JSON.stringify({ m: wrong.message, a: wrong.attempts }), /wrong-password/)

    const noPassword = await rejection(connect({ host: peer.host, port: peer.port, user: cluster.user, dialect: 'opengauss', sslmode: 'disable', env: isolatedEnv() }))
    t.match(noPassword.message, /no password supplied/)
    t.equal(noPassword.sslCode, 'PASSWORD_REQUIRED', 'refused before anything is sent')
  })
}

t.test('sha256 login over TLS 1.2 with the gsql cipher list, certificate verified', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD, { tls: true })
  t.teardown(() => peer.close())
  for (const dialect of ['opengauss', 'gaussdb'] as const) {
    const client = await connect({ host: peer.host, port: peer.port, user: cluster.user, password: TEST_PASSWORD, dialect, sslmode: 'verify-ca', sslrootcert: privateCopy('ca.crt'), env: isolatedEnv() })
    t.equal(client.security.outcome, 'encrypted-verified', dialect)
    t.equal(client.security.protocol, 'TLSv1.2')
    t.match(client.security.cipher, /^(ECDHE-(RSA|ECDSA)|DHE-RSA)-AES(128|256)-GCM-SHA(256|384)$/)
    t.same((await client.query('select 1 as one')).rows, [{ one: 1 }])
    await client.end()
  }
  t.same(peer.seen.map((s) => s.accepted), [true, true], 'the SHA256 proofs went through TLS and were accepted')
})

t.test('sm3 is refused clearly', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sm3', TEST_PASSWORD)
  t.teardown(() => peer.close())
  const error = await rejection(connect({ host: peer.host, port: peer.port, user: cluster.user, password: TEST_PASSWORD, dialect: 'opengauss', sslmode: 'disable', env: isolatedEnv() }))
  t.equal(error.code, 'UNSUPPORTED_AUTH')
  t.match(error.message, /SM3/)
})

t.test('the postgres dialect keeps pg (and PostgreSQL SASL): it cannot log in to openGauss SHA256', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD)
  t.teardown(() => peer.close())
  const error = await rejection(connect({ host: peer.host, port: peer.port, user: cluster.user, password: TEST_PASSWORD, sslmode: 'disable', env: isolatedEnv(), connectionTimeoutMillis: 3000 }))
  t.ok(['CONNECTION_FAILED', 'SERVER_REJECTED', 'CONNECT_TIMEOUT'].includes(error.sslCode), `${error.sslCode}: ${error.message}`)
})

endsWithNoOpenSockets(t)

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
    // MD5_SHA256 carries no iteration count: it works for verifiers made with the 2048 clients assume.
    const peer = await startOpenGaussAuthPeer(
      cluster,
      method,
      TEST_PASSWORD,
      method === 'md5_sha256' ? { storedIterations: 2048 } : {},
    )
    t.teardown(() => peer.close())
    for (const dialect of ['opengauss', 'gaussdb'] as const) {
      const client = await connect({
        host: peer.host,
        port: peer.port,
        user: cluster.user,
        password: TEST_PASSWORD,
        dialect,
        sslmode: 'prefer',
        env: isolatedEnv(),
      })
      t.same(
        (await client.query('select 40 + 2 as n')).rows,
        [{ n: 42 }],
        `${dialect}: queries run after the openGauss exchange`,
      )
      t.equal((await serverView(client)).ssl, false, 'plaintext: the peer refused SSL')
      t.equal(client.security.fallback, 'plaintext-after-ssl')
      await client.end()
    }
    t.same(
      peer.seen.map((s) => [s.protocol, s.accepted]),
      [
        [(3 << 16) | 51, true],
        [(3 << 16) | 51, true],
      ],
      'protocol 3.51 asked for, proofs accepted',
    )

    const wrong = await rejection(
      connect({
        host: peer.host,
        port: peer.port,
        user: cluster.user,
        password: 'wrong-password',
        dialect: 'opengauss',
        sslmode: 'disable',
        env: isolatedEnv(),
      }),
    )
    t.equal(wrong.sslCode, 'SERVER_REJECTED')
    t.equal(wrong.sqlstate, '28P01')
    t.notMatch(JSON.stringify({ m: wrong.message, a: wrong.attempts }), /wrong-password/)

    const noPassword = await rejection(
      connect({
        host: peer.host,
        port: peer.port,
        user: cluster.user,
        dialect: 'opengauss',
        sslmode: 'disable',
        env: isolatedEnv(),
      }),
    )
    t.match(noPassword.message, /no password supplied/)
    t.equal(noPassword.sslCode, 'PASSWORD_REQUIRED', 'refused before anything is sent')
  })
}

t.test('sha256 login over TLS 1.2 with the gsql cipher list, certificate verified', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD, { tls: true })
  t.teardown(() => peer.close())
  for (const dialect of ['opengauss', 'gaussdb'] as const) {
    const client = await connect({
      host: peer.host,
      port: peer.port,
      user: cluster.user,
      password: TEST_PASSWORD,
      dialect,
      sslmode: 'verify-ca',
      sslrootcert: privateCopy('ca.crt'),
      env: isolatedEnv(),
    })
    t.equal(client.security.outcome, 'encrypted-verified', dialect)
    t.equal(client.security.protocol, 'TLSv1.2')
    t.match(client.security.cipher, /^(ECDHE-(RSA|ECDSA)|DHE-RSA)-AES(128|256)-GCM-SHA(256|384)$/)
    t.same((await client.query('select 1 as one')).rows, [{ one: 1 }])
    await client.end()
  }
  t.same(
    peer.seen.map((s) => s.accepted),
    [true, true],
    'the SHA256 proofs went through TLS and were accepted',
  )
})

t.test(
  "SHA256 under each protocol version, as the server sends it (auth.cpp) and openGauss's libpq reads it",
  async (t) => {
    const cases: Array<[version: string, minor: number, signature: boolean]> = [
      ['3.51', 51, false], // iteration count sent
      ['3.50', 50, false], // neither signature nor iteration count
      ['3.0', 0, true], // the server signs first
    ]
    for (const [version, minor, signature] of cases) {
      const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD, {
        storedIterations: minor > 50 ? 10000 : 2048,
      })
      const client = await connect({
        host: peer.host,
        port: peer.port,
        user: cluster.user,
        password: TEST_PASSWORD,
        dialect: 'opengauss',
        sslmode: 'disable',
        max_protocol_version: version,
        env: isolatedEnv(),
      } as never)
      t.same((await client.query('select 1 as one')).rows, [{ one: 1 }], `${version}: logged in`)
      t.equal(client.security.protocolVersion, version)
      t.equal(
        client.security.notes.some((n) => /server proved it knows the password/.test(n)),
        signature,
        `${version}: server signature ${signature ? 'checked' : 'not part of this version'}`,
      )
      await client.end()
      t.same(
        peer.seen.map((s) => [s.protocol, s.accepted]),
        [[(3 << 16) | minor, true]],
      )
      await peer.close()
    }
  },
)

t.test(
  'a server that does not know the password is detected (protocol 3.0: wrong server signature), and no proof is sent',
  async (t) => {
    const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD, {
      storedIterations: 2048,
      wrongSignature: true,
    })
    t.teardown(() => peer.close())
    for (const dialect of ['opengauss', 'gaussdb'] as const) {
      const error = await rejection(
        connect({
          host: peer.host,
          port: peer.port,
          user: cluster.user,
          password: TEST_PASSWORD,
          dialect,
          sslmode: 'disable',
          max_protocol_version: '3.0',
          env: isolatedEnv(),
        } as never),
      )
      t.equal(error.code, 'SERVER_SIGNATURE_MISMATCH', `${dialect}: ${error.message}`)
      t.notMatch(JSON.stringify({ m: error.message, a: error.attempts }), new RegExp(TEST_PASSWORD))
    }
    for (let i = 0; i < 50 && peer.seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20))
    t.same(
      peer.seen.map((s) => s.answered),
      [false, false],
      'the client answered nothing',
    )
  },
)

t.test(
  'MD5_SHA256 carries no iteration count: a verifier made with another count is refused by the server',
  async (t) => {
    const peer = await startOpenGaussAuthPeer(cluster, 'md5_sha256', TEST_PASSWORD, { storedIterations: 10000 })
    t.teardown(() => peer.close())
    const error = await rejection(
      connect({
        host: peer.host,
        port: peer.port,
        user: cluster.user,
        password: TEST_PASSWORD,
        dialect: 'opengauss',
        sslmode: 'disable',
        env: isolatedEnv(),
      }),
    )
    t.equal(error.sqlstate, '28P01', 'as gsql, JDBC and Go (2048 assumed) would be')
  },
)

t.test(
  'max_protocol_version in the openGauss dialects takes 3.51, 3.50 or 3.0, checked before connecting',
  async (t) => {
    const error = await rejection(
      connect({
        host: '127.0.0.1',
        port: 1,
        dialect: 'gaussdb',
        sslmode: 'disable',
        max_protocol_version: '3.2',
        env: isolatedEnv(),
      } as never),
    )
    t.equal(error.code, 'INVALID_SETTING')
    t.equal(error.setting, 'max_protocol_version')
    t.equal(error.attempts, undefined, 'no attempt was made')
  },
)

t.test('sm3 is refused clearly', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sm3', TEST_PASSWORD)
  t.teardown(() => peer.close())
  const error = await rejection(
    connect({
      host: peer.host,
      port: peer.port,
      user: cluster.user,
      password: TEST_PASSWORD,
      dialect: 'opengauss',
      sslmode: 'disable',
      env: isolatedEnv(),
    }),
  )
  t.equal(error.code, 'UNSUPPORTED_AUTH')
  t.match(error.message, /SM3/)
})

t.test('the postgres dialect keeps pg (and PostgreSQL SASL): it cannot log in to openGauss SHA256', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD)
  t.teardown(() => peer.close())
  const error = await rejection(
    connect({
      host: peer.host,
      port: peer.port,
      user: cluster.user,
      password: TEST_PASSWORD,
      sslmode: 'disable',
      env: isolatedEnv(),
      connectionTimeoutMillis: 3000,
    }),
  )
  // Its code 10 is SASL for PostgreSQL: the body names no mechanism libpq 18 knows (UNSUPPORTED_AUTH).
  t.ok(
    ['CONNECTION_FAILED', 'SERVER_REJECTED', 'CONNECT_TIMEOUT', 'UNSUPPORTED_AUTH'].includes(error.sslCode),
    `${error.sslCode}: ${error.message}`,
  )
})

endsWithNoOpenSockets(t)

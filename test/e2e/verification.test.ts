/**
 * Certificate verification, fallbacks and client certificates against real servers: what the
 * report says, what the server says (pg_stat_ssl), which error code and reason a failure carries.
 */
import t from 'tap'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { connect, isPgSslError } from '../../lib/index.js'
import { fixture, privateCopy, startClusters, TEST_PASSWORD } from '../../scripts/harness.js'
import {
  isolatedEnv,
  openSocketCount,
  socketsSettleTo,
  rejection,
  serverView,
  endsWithNoOpenSockets,
} from '../support.js'

const clusters = await startClusters({
  sslOn: { ssl: true },
  sslOff: { ssl: false },
  otherHost: { ssl: true, serverCert: 'server-otherhost' },
  revoked: { ssl: true, serverCert: 'server-revoked' },
  clientCert: { ssl: true, clientCert: true },
  sslRejected: {
    ssl: true,
    hbaTcpLines: ['hostssl all all 127.0.0.1/32 reject', 'hostnossl all all 127.0.0.1/32 trust'],
  },
  password: { ssl: true, hbaTcpLines: ['hostssl all all 127.0.0.1/32 scram-sha-256'] },
})
t.teardown(() => clusters.stopAll())

const at = (c: { host: string; port: number; user: string }) => ({
  host: c.host,
  port: c.port,
  user: c.user,
  env: isolatedEnv(),
})
const CA = fixture('ca.crt')
const OTHER_CA = fixture('other-ca.crt')

t.test('verify-full checks the host name; verify-ca does not', async (t) => {
  const error = await rejection(connect({ ...at(clusters.otherHost), sslmode: 'verify-full', sslrootcert: CA }))
  t.equal(error.code, 'HOSTNAME_MISMATCH')
  // libpq's wording: the first name and how many others were examined.
  t.equal(
    error.message,
    'server certificate for "db.example.com" (and 1 other name) does not match host name "127.0.0.1"',
  )
  t.equal(error.setting, 'host')

  const ca = await connect({ ...at(clusters.otherHost), sslmode: 'verify-ca', sslrootcert: CA })
  t.equal(ca.security.outcome, 'encrypted-verified')
  t.equal(ca.security.hostnameVerified, false)
  await ca.end()

  // hostaddr: connect to the IP, verify (and send SNI for) the name.
  const byName = await connect({
    ...at(clusters.otherHost),
    host: 'db.example.com',
    hostaddr: '127.0.0.1',
    sslmode: 'verify-full',
    sslrootcert: CA,
  })
  t.equal(byName.security.hostnameVerified, true)
  t.equal(byName.security.host, 'db.example.com')
  await byName.end()

  const local = await connect({ ...at(clusters.sslOn), host: 'localhost', sslmode: 'verify-full', sslrootcert: CA })
  t.equal(local.security.hostnameVerified, true)
  t.match(local.security.serverCertificate, {
    subject: /CN=localhost/,
    issuer: /CN=pg-sslmode test root CA/,
    fingerprint256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
  })
  await local.end()

  // The report is put together when first read (reportWhenAsked): first read after the connection closed, it
  // shows the same facts, frozen, and stays one object.
  const later = await connect({ ...at(clusters.sslOn), host: 'localhost', sslmode: 'verify-full', sslrootcert: CA })
  await later.end()
  t.match(later.security, {
    hostnameVerified: true,
    protocol: local.security.protocol,
    serverCertificate: { subject: /CN=localhost/, fingerprint256: local.security.serverCertificate?.fingerprint256 },
  })
  t.ok(Object.isFrozen(later.security.serverCertificate), 'frozen all the way down')
  t.equal(later.security, later.security, 'one report')
})

t.test('a server certificate from another CA fails verification with reason untrusted-root', async (t) => {
  for (const sslmode of ['verify-ca', 'verify-full', 'require'] as const) {
    const error = await rejection(connect({ ...at(clusters.sslOn), sslmode, sslrootcert: OTHER_CA }))
    t.equal(error.code, 'CERT_VERIFY_FAILED', sslmode)
    t.equal(error.reason, 'untrusted-root', sslmode)
    t.match(error.hint, /sslrootcert/)
  }
})

t.test('CRLs: a revoked server certificate fails with reason revoked; CRLs need a root CA', async (t) => {
  for (const crl of [{ sslcrl: fixture('ca-revoking.crl') }, { sslcrldir: fixture('crl-dir') }]) {
    const error = await rejection(connect({ ...at(clusters.revoked), sslmode: 'verify-full', sslrootcert: CA, ...crl }))
    t.equal(error.code, 'CERT_VERIFY_FAILED', Object.keys(crl)[0]!)
    t.equal(error.reason, 'revoked')
    t.match(error.hint, /CRL/)
  }
  const notRevoked = await connect({
    ...at(clusters.sslOn),
    sslmode: 'verify-full',
    sslrootcert: CA,
    sslcrl: fixture('ca-revoking.crl'),
  })
  t.equal(notRevoked.security.outcome, 'encrypted-verified', 'a CRL that does not list the certificate passes')
  await notRevoked.end()
  const emptyCrl = await connect({
    ...at(clusters.revoked),
    sslmode: 'verify-ca',
    sslrootcert: CA,
    sslcrl: fixture('ca-empty.crl'),
  })
  t.equal(emptyCrl.security.outcome, 'encrypted-verified')
  await emptyCrl.end()
  const withoutRoot = await connect({ ...at(clusters.revoked), sslmode: 'require', sslcrl: fixture('ca-revoking.crl') })
  t.equal(withoutRoot.security.outcome, 'encrypted', 'without a root CA libpq loads no CRL, and neither do we')
  await withoutRoot.end()
  const prefer = await connect({
    ...at(clusters.revoked),
    sslmode: 'prefer',
    sslrootcert: CA,
    sslcrl: fixture('ca-revoking.crl'),
  })
  t.equal(
    prefer.security.fallback,
    'plaintext-after-ssl',
    'prefer falls back to plaintext after a revoked certificate, as libpq does',
  )
  await prefer.end()
})

t.test('require behaves like verify-ca exactly when a root CA is available', async (t) => {
  const withCa = await connect({ ...at(clusters.sslOn), sslmode: 'require', sslrootcert: CA })
  t.equal(withCa.security.requestedMode, 'require')
  t.equal(withCa.security.effectiveMode, 'verify-ca')
  t.equal(withCa.security.serverCertificateVerified, true)
  t.equal(withCa.security.rootCertificate, CA)
  t.match(withCa.security.notes.join(' '), /like verify-ca/)
  await withCa.end()

  const without = await connect({ ...at(clusters.sslOn), sslmode: 'require' })
  t.equal(without.security.effectiveMode, 'require')
  t.equal(without.security.outcome, 'encrypted')
  t.equal(without.security.serverCertificateVerified, false)
  await without.end()

  // libpq's default file ~/.postgresql/root.crt counts as an available root CA.
  const home = isolatedEnv().HOME!
  mkdirSync(join(home, '.postgresql'))
  copyFileSync(OTHER_CA, join(home, '.postgresql', 'root.crt'))
  const error = await rejection(connect({ ...at(clusters.sslOn), sslmode: 'require', env: { HOME: home } }))
  t.equal(error.code, 'CERT_VERIFY_FAILED', 'a wrong ~/.postgresql/root.crt makes require fail, as in libpq')
  copyFileSync(CA, join(home, '.postgresql', 'root.crt'))
  const viaDefault = await connect({ ...at(clusters.sslOn), sslmode: 'require', env: { HOME: home } })
  t.equal(viaDefault.security.effectiveMode, 'verify-ca')
  t.equal(viaDefault.security.rootCertificate, join(home, '.postgresql', 'root.crt'))
  await viaDefault.end()
})

t.test('prefer falls back to plaintext and the report shows why', async (t) => {
  const before = await openSocketCount()

  const wrongCa = await connect({ ...at(clusters.sslOn), sslmode: 'prefer', sslrootcert: OTHER_CA })
  t.equal(wrongCa.security.encrypted, false)
  t.equal(wrongCa.security.fallback, 'plaintext-after-ssl')
  t.match(wrongCa.security.attempts, [
    {
      ssl: true,
      verifyChain: true,
      result: 'failed',
      failure: { code: 'CERT_VERIFY_FAILED', reason: 'untrusted-root' },
    },
    { ssl: false, sameSocket: false, result: 'connected' },
  ])
  t.match(wrongCa.security.notes.join(' '), /fell back to plaintext/)
  t.equal((await serverView(wrongCa)).ssl, false)
  await wrongCa.end()

  const noSsl = await connect({ ...at(clusters.sslOff), sslmode: 'prefer' })
  t.equal(noSsl.security.fallback, 'plaintext-after-ssl')
  t.match(
    noSsl.security.attempts,
    [
      { ssl: true, result: 'failed', failure: { code: 'SSL_DISABLED_ON_SERVER' } },
      { ssl: false, sameSocket: true, result: 'connected' },
    ],
    "after 'N' the plaintext start-up reuses the socket, as libpq does",
  )
  await noSsl.end()

  const authRejected = await connect({ ...at(clusters.sslRejected), sslmode: 'prefer' })
  t.equal(authRejected.security.encrypted, false)
  t.match(authRejected.security.attempts, [
    { ssl: true, result: 'failed', failure: { code: 'SERVER_REJECTED', sqlstate: '28000' } },
    { ssl: false, result: 'connected' },
  ])
  await authRejected.end()

  t.ok((await socketsSettleTo(before)) <= before, 'no socket left behind by the failed attempts')
})

t.test('client certificates: sent, refused, encrypted keys, mismatched keys', async (t) => {
  const key = privateCopy('client.key')
  const client = await connect({
    ...at(clusters.clientCert),
    sslmode: 'verify-full',
    sslrootcert: CA,
    sslcert: fixture('client.crt'),
    sslkey: key,
  })
  t.equal(client.security.clientCertificateSent, true)
  t.match((await serverView(client)).clientDn, /CN=app/, 'the server saw the client certificate')
  await client.end()

  const encrypted = await connect({
    ...at(clusters.clientCert),
    sslmode: 'verify-ca',
    sslrootcert: CA,
    sslcert: fixture('client.crt'),
    sslkey: privateCopy('client-encrypted.key'),
    sslpassword: 'fixture-passphrase',
  })
  t.equal(encrypted.security.clientCertificateSent, true)
  await encrypted.end()

  const certModeDisabled = await rejection(
    connect({
      ...at(clusters.clientCert),
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('client.crt'),
      sslkey: key,
      sslcertmode: 'disable',
    }),
  )
  t.equal(certModeDisabled.sslCode, 'SERVER_REJECTED', 'sslcertmode=disable keeps the certificate back')

  const noCert = await rejection(connect({ ...at(clusters.clientCert), sslmode: 'verify-ca', sslrootcert: CA }))
  t.equal(noCert.sslCode, 'SERVER_REJECTED')
  t.equal(noCert.sqlstate, '28000')

  const otherCa = await rejection(
    connect({
      ...at(clusters.clientCert),
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('other-client.crt'),
      sslkey: privateCopy('other-client.key'),
    }),
  )
  t.equal(otherCa.code, 'SSL_HANDSHAKE_FAILED', 'the server refuses a client certificate from an unknown CA')

  const wrongPass = await rejection(
    connect({
      ...at(clusters.clientCert),
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('client-encrypted.key'),
      sslpassword: 'not-the-passphrase',
    }),
  )
  t.equal(wrongPass.code, 'KEY_DECRYPT_FAILED')
  t.notMatch(JSON.stringify({ m: wrongPass.message, h: wrongPass.hint, a: wrongPass.attempts }), /not-the-passphrase/)
  t.equal(wrongPass.attempts, undefined, 'refused before any connection attempt')

  const noPass = await rejection(
    connect({
      ...at(clusters.clientCert),
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('client-encrypted.key'),
    }),
  )
  t.equal(noPass.code, 'KEY_DECRYPT_FAILED')

  const mismatch = await rejection(
    connect({
      ...at(clusters.clientCert),
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('other-client.key'),
    }),
  )
  t.equal(mismatch.code, 'KEY_MISMATCH')
})

t.test('file problems are reported before connecting, naming the file', async (t) => {
  const missing = await rejection(
    connect({ ...at(clusters.sslOn), sslmode: 'verify-ca', sslrootcert: '/nonexistent/ca.pem' }),
  )
  t.equal(missing.code, 'FILE_NOT_FOUND')
  t.equal(missing.file, '/nonexistent/ca.pem')
  t.equal(missing.setting, 'sslrootcert')
  const garbage = join(isolatedEnv().HOME!, 'garbage.pem')
  writeFileSync(garbage, 'this is not a certificate')
  const invalid = await rejection(connect({ ...at(clusters.sslOn), sslmode: 'verify-ca', sslrootcert: garbage }))
  t.equal(invalid.code, 'INVALID_PEM')
  t.equal(invalid.file, garbage)
  const noKey = await rejection(connect({ ...at(clusters.sslOn), sslmode: 'require', sslcert: fixture('client.crt') }))
  t.equal(noKey.code, 'FILE_NOT_FOUND')
  t.equal(noKey.setting, 'sslkey')
})

t.test('a Unix-domain socket never uses SSL, whatever the mode, and the report says so', async (t) => {
  const client = await connect({
    ...at(clusters.sslOn),
    host: clusters.sslOn.socketDir,
    sslmode: 'verify-full',
    sslrootcert: CA,
  })
  t.equal(client.security.transport, 'unix')
  t.equal(client.security.encrypted, false)
  t.equal(client.security.outcome, 'unencrypted')
  t.match(client.security.notes.join(' '), /never used over a Unix-domain socket/)
  await client.end()
})

t.test('connect() with nothing but the environment', async (t) => {
  const vars = {
    PGHOST: clusters.sslOn.host,
    PGPORT: String(clusters.sslOn.port),
    PGUSER: clusters.sslOn.user,
    PGSSLMODE: 'verify-ca',
    PGSSLROOTCERT: CA,
  }
  const saved = { ...process.env }
  Object.assign(process.env, vars)
  t.teardown(() => {
    for (const name of Object.keys(vars)) delete process.env[name]
    Object.assign(process.env, saved)
  })
  const client = await connect()
  t.equal(client.security.requestedMode, 'verify-ca')
  t.equal(client.security.outcome, 'encrypted-verified')
  const { rows } = await client.query('select 1 as one')
  t.same(rows, [{ one: 1 }])
  await client.end()
})

t.test('passwords reach the server and never an error', async (t) => {
  const ok = await connect({ ...at(clusters.password), sslmode: 'require', password: TEST_PASSWORD })
  t.equal(ok.security.encrypted, true)
  await ok.end()
  const viaUri = await connect({
    connectionString:
      `postgresql://app:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${clusters.password.port}/` +
      `app?sslmode=require`,
    env: isolatedEnv(),
  })
  await viaUri.end()
  const wrong = 'wrong-password-value'
  const error = await rejection(connect({ ...at(clusters.password), sslmode: 'require', password: wrong }))
  t.equal(error.sslCode, 'SERVER_REJECTED')
  t.equal(error.sqlstate, '28P01')
  // pg's contract: the server's refusal is pg's DatabaseError, `code` the SQLSTATE.
  t.ok(error instanceof pg.DatabaseError, 'a pg.DatabaseError')
  t.equal(error.code, '28P01')
  t.equal((error as unknown as pg.DatabaseError).severity, 'FATAL')
  t.match(error.message, /^password authentication failed for user "app"$/, "pg's message")
  t.ok(isPgSslError(error, 'SERVER_REJECTED'), 'and still recognised as a pg-sslmode error')
  t.match(error.attempts, [{ ssl: true, result: 'failed', failure: { code: 'SERVER_REJECTED', sqlstate: '28P01' } }])
  t.notMatch(
    JSON.stringify({ message: error.message, hint: error.hint, attempts: error.attempts, stack: error.stack }),
    new RegExp(wrong),
  )
})

endsWithNoOpenSockets(t)

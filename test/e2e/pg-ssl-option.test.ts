/**
 * pg's `ssl` option, translated (lib/settings/pg-ssl-option.ts): code written for pg passes it
 * unchanged and gets the libpq mode with the same meaning — checked against real servers, with
 * the server's own view (pg_stat_ssl) where it matters. A policy in the environment is never
 * weakened by it; what has no libpq equivalent is refused by name.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, SslClient, type ConnectOptions } from '../../lib/index.js'
import { fixture, startClusters } from '../../scripts/harness.js'
import { isolatedEnv, rejection, serverView, endsWithNoOpenSockets } from '../support.js'

const clusters = await startClusters({
  sslOn: { ssl: true },
  requireSsl: { ssl: true, requireSsl: true },
  clientCert: { ssl: true, clientCert: true },
})
t.teardown(() => clusters.stopAll())

const CA = readFileSync(fixture('ca.crt'))
const OTHER_CA = readFileSync(fixture('other-ca.crt'))
const at = (c: { port: number; user: string }, extra: ConnectOptions = {}): ConnectOptions => ({
  host: 'localhost',
  port: c.port,
  user: c.user,
  env: isolatedEnv(),
  ...extra,
})

t.test('ssl: { ca } verifies the chain and the host name (pg: rejectUnauthorized defaults to true)', async (t) => {
  const client = await connect(at(clusters.sslOn, { ssl: { ca: CA } }))
  t.equal(client.security.effectiveMode, 'verify-full')
  t.equal(client.security.hostnameVerified, true)
  t.equal(client.security.rootCertificate, "ssl.ca (pg's ssl option)")
  t.equal((await serverView(client)).ssl, true)
  await client.end()
  const wrong = await rejection(connect(at(clusters.sslOn, { ssl: { ca: OTHER_CA } })))
  t.equal(wrong.code, 'CERT_VERIFY_FAILED')
  const byIp = await rejection(
    connect(at(clusters.sslOn, { host: '127.0.0.2', hostaddr: '127.0.0.1', ssl: { ca: CA } })),
  )
  t.equal(byIp.code, 'HOSTNAME_MISMATCH', 'the host name is checked, as Node does for pg')
  const servername = await connect(at(clusters.sslOn, { host: '127.0.0.1', ssl: { ca: CA, servername: 'localhost' } }))
  t.equal(servername.security.hostnameVerified, true, 'ssl.servername is the name checked (and sent as SNI)')
  await servername.end()
})

t.test('ssl: true uses the system trust store (SSL_CERT_FILE), verify-full', async (t) => {
  const home = isolatedEnv().HOME!
  const client = await connect(
    at(clusters.sslOn, {
      ssl: true,
      env: { HOME: home, SSL_CERT_FILE: fixture('ca.crt'), SSL_CERT_DIR: join(home, 'none') },
    }),
  )
  t.equal(client.security.effectiveMode, 'verify-full')
  t.match(client.security.rootCertificate, /^system \(file .*ca\.crt/)
  await client.end()
  const untrusted = await rejection(
    connect(
      at(clusters.sslOn, {
        ssl: true,
        env: { HOME: home, SSL_CERT_FILE: fixture('other-ca.crt'), SSL_CERT_DIR: join(home, 'none') },
      }),
    ),
  )
  t.equal(untrusted.code, 'CERT_VERIFY_FAILED')
})

t.test('ssl: { rejectUnauthorized: false } encrypts without verifying; strings are sslmodes', async (t) => {
  const client = await connect(at(clusters.sslOn, { ssl: { rejectUnauthorized: false, ca: OTHER_CA } }))
  t.equal(client.security.outcome, 'encrypted', 'encrypted, nothing verified (the ca is not used as a root)')
  t.equal((await serverView(client)).ssl, true)
  await client.end()
  for (const [ssl, mode] of [
    ['require', 'require'],
    ['no-verify', 'require'],
    ['prefer', 'prefer'],
    ['disable', 'disable'],
  ] as const) {
    const c = await connect(at(clusters.sslOn, { ssl }))
    t.equal(c.security.requestedMode, mode, `ssl: '${ssl}'`)
    await c.end()
  }
  const refused = await rejection(connect(at(clusters.requireSsl, { ssl: false })))
  t.equal(refused.sslCode, 'SSL_REQUIRED_BY_SERVER', 'ssl: false is sslmode=disable')
  const keyword = await connect(
    at(clusters.sslOn, { ssl: { rejectUnauthorized: false }, sslmode: 'verify-ca', sslrootcert: fixture('ca.crt') }),
  )
  t.equal(keyword.security.effectiveMode, 'verify-ca', 'libpq keywords win over what ssl implies')
  await keyword.end()
})

t.test('ssl: { ca, cert, key, passphrase } authenticates with the client certificate', async (t) => {
  const client = await connect(
    at(clusters.clientCert, {
      ssl: {
        ca: CA,
        cert: readFileSync(fixture('client.crt')),
        key: readFileSync(fixture('client-encrypted.key')),
        passphrase: 'fixture-passphrase',
      },
    }),
  )
  t.equal(client.security.clientCertificateSent, true)
  t.match((await serverView(client)).clientDn, /CN=app/)
  // connectionParameters.ssl shows the material in effect, as pg's does; the key is not enumerable.
  const ssl = (client as unknown as { connectionParameters: { ssl: Record<string, unknown> } }).connectionParameters.ssl
  t.equal((ssl.ca as Buffer[]).length, 1)
  t.equal((ssl.ca as Buffer[])[0]!.toString().trim(), CA.toString().trim(), 'the roots in effect')
  t.equal(ssl.rejectUnauthorized, true)
  t.ok(Buffer.isBuffer(ssl.key), 'the key is there')
  t.notOk(Object.keys(ssl).includes('key'), 'but not enumerable')
  t.notMatch(JSON.stringify(ssl), /PRIVATE KEY|fixture-passphrase/)
  await client.end()
  const wrongPass = await rejection(
    connect(
      at(clusters.clientCert, {
        ssl: {
          ca: CA,
          cert: readFileSync(fixture('client.crt')),
          key: readFileSync(fixture('client-encrypted.key')),
          passphrase: 'wrong',
        },
      }),
    ),
  )
  t.equal(wrongPass.code, 'KEY_DECRYPT_FAILED')
  t.notMatch(wrongPass.message, /wrong/)
})

t.test('what has no libpq equivalent is refused by name', async (t) => {
  for (const [name, value] of [
    ['checkServerIdentity', () => undefined],
    ['secureContext', {}],
    ['ciphers', 'HIGH'],
    ['pfx', Buffer.alloc(1)],
  ] as const) {
    const error = await rejection(new SslClient(at(clusters.sslOn, { ssl: { [name]: value } as never })).connect())
    t.equal(error.code, 'INVALID_SETTING', name)
    t.equal(error.setting, `ssl.${name}`)
  }
  t.equal((await rejection(connect(at(clusters.sslOn, { ssl: 'sometimes' as never })))).setting, 'ssl')
})

t.test("an environment policy is never weakened by pg's ssl option", async (t) => {
  const file = join(isolatedEnv().HOME!, 'policy.json')
  writeFileSync(file, JSON.stringify({ minimumMode: 'verify-full' }))
  const error = await rejection(
    connect(at(clusters.sslOn, { ssl: { rejectUnauthorized: false }, env: { ...isolatedEnv(), PGSSLPOLICY: file } })),
  )
  t.equal(error.code, 'POLICY_VIOLATION')
  t.equal(error.rule, 'minimumMode')
})

endsWithNoOpenSockets(t)

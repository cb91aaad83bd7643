/**
 * Every certificate failure reason reached against a real server, two-way authentication with
 * encrypted keys and the DWS bundle, and file permissions — each scenario also run through psql
 * (libpq) where libpq has an opinion, which must agree on whether the connection is made.
 */
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type PgSslError } from '../../lib/index.js'
import { materialStats } from '../../lib/engine/tls/file-cache.js'
import { FIXTURES, fixture, privateCopy, startClusters, TEST_USER } from '../../scripts/harness.js'
import { isolatedEnv, serverView, endsWithNoOpenSockets } from '../support.js'

const clusters = await startClusters({
  expired: { ssl: true, serverCert: 'server-expired' },
  notYetValid: { ssl: true, serverCert: 'server-not-yet-valid' },
  revoked: { ssl: true, serverCert: 'server-revoked' },
  chainBundle: { ssl: true, serverCert: 'server-chain-bundle' },
  chainLeafOnly: { ssl: true, serverCert: 'server-chain' },
  badIntermediate: { ssl: true, serverCert: 'server-bad-intermediate-bundle' },
  byLeaf: { ssl: true, serverCert: 'server-by-leaf-bundle' },
  good: { ssl: true },
  otherHost: { ssl: true, serverCert: 'server-otherhost' },
  wildcard: { ssl: true, serverCert: 'server-wildcard' },
  ipOnly: { ssl: true, serverCert: 'server-ip' },
  clientCert: { ssl: true, clientCert: true },
})
t.teardown(() => clusters.stopAll())

type Name = Exclude<keyof typeof clusters, 'stopAll'>
const home = isolatedEnv().HOME!
const psql = spawnSync('sh', ['-c', 'command -v psql'], { encoding: 'utf8' }).stdout.trim()

function libpqConnects(conninfo: string): Promise<boolean | undefined> {
  if (!psql) return Promise.resolve(undefined)
  return new Promise((resolve) =>
    execFile(
      psql,
      ['-X', '-w', '-A', '-t', '-c', 'select 1', conninfo],
      { env: { PATH: process.env.PATH ?? '', HOME: home } },
      (error) => resolve(!error),
    ),
  )
}

async function attempt(
  conninfo: string,
  extra: Record<string, unknown> = {},
): Promise<{ error?: PgSslError; client?: Awaited<ReturnType<typeof connect>> }> {
  try {
    return { client: await connect({ connectionString: conninfo, env: { HOME: home }, ...extra }) }
  } catch (error) {
    return { error: error as PgSslError }
  }
}

const base = (name: Name, extra = '') =>
  `host=${clusters[name].host} port=${clusters[name].port} user=${TEST_USER} ${extra}`.trim()
const CA = fixture('ca.crt')
const CRLS = fixture('crl-bundle.crl')

interface Scenario {
  name: string
  conninfo: string
  expect: { reason: string; code?: string } | 'connected' | { code: string }
}

const SCENARIOS: Scenario[] = [
  {
    name: 'expired server certificate',
    conninfo: base('expired', `sslmode=verify-ca sslrootcert=${CA}`),
    expect: { reason: 'expired' },
  },
  {
    name: 'server certificate not yet valid',
    conninfo: base('notYetValid', `sslmode=verify-ca sslrootcert=${CA}`),
    expect: { reason: 'not-yet-valid' },
  },
  {
    name: 'revoked server certificate',
    conninfo: base('revoked', `sslmode=verify-full sslrootcert=${CA} sslcrl=${CRLS}`),
    expect: { reason: 'revoked' },
  },
  {
    name: 'revoked intermediate CA',
    conninfo: base('badIntermediate', `sslmode=verify-full sslrootcert=${CA} sslcrl=${CRLS}`),
    expect: { reason: 'revoked' },
  },
  {
    name: 'revoked intermediate CA, no CRL configured',
    conninfo: base('badIntermediate', `sslmode=verify-full sslrootcert=${CA}`),
    expect: 'connected',
  },
  {
    name: 'wrong CA',
    conninfo: base('good', `sslmode=verify-ca sslrootcert=${fixture('other-ca.crt')}`),
    expect: { reason: 'untrusted-root' },
  },
  {
    name: 'intermediate sent by the server',
    conninfo: base('chainBundle', `sslmode=verify-full sslrootcert=${CA}`),
    expect: 'connected',
  },
  {
    name: 'intermediate sent, every CRL present',
    conninfo: base('chainBundle', `sslmode=verify-full sslrootcert=${CA} sslcrl=${CRLS}`),
    expect: 'connected',
  },
  {
    name: 'intermediate sent, intermediate CRL missing',
    conninfo: base('chainBundle', `sslmode=verify-full sslrootcert=${CA} sslcrl=${fixture('ca-revoking.crl')}`),
    expect: { reason: 'crl-problem' },
  },
  {
    name: 'CRL directory',
    conninfo: base('badIntermediate', `sslmode=verify-ca sslrootcert=${CA} sslcrldir=${fixture('crl-dir')}`),
    expect: { reason: 'revoked' },
  },
  {
    name: 'intermediate not sent by the server',
    conninfo: base('chainLeafOnly', `sslmode=verify-ca sslrootcert=${CA}`),
    expect: { reason: 'untrusted-root' },
  },
  {
    name: 'intermediate not sent, but in sslrootcert',
    conninfo: base('chainLeafOnly', `sslmode=verify-ca sslrootcert=${join(home, 'ca-and-intermediate.pem')}`),
    expect: 'connected',
  },
  // Node exposes only the certificates OpenSSL can link as issuers, so the non-CA "issuer" the
  // server sends is not seen here (test/chain.test.ts shows not-a-ca when it is).
  {
    name: 'issued by a non-CA certificate',
    conninfo: base('byLeaf', `sslmode=verify-ca sslrootcert=${CA}`),
    expect: { reason: 'untrusted-root' },
  },
  {
    name: 'certificate for another host',
    conninfo: base('otherHost', `sslmode=verify-full sslrootcert=${CA}`),
    expect: { code: 'HOSTNAME_MISMATCH' },
  },
  {
    name: 'wildcard certificate, matching name',
    conninfo: base('wildcard', `host=db.pg-sslmode.test hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=${CA}`),
    expect: 'connected',
  },
  {
    name: 'wildcard certificate, two labels',
    conninfo: base('wildcard', `host=a.db.pg-sslmode.test hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=${CA}`),
    expect: { code: 'HOSTNAME_MISMATCH' },
  },
  {
    name: 'IP-only certificate, IP host',
    conninfo: base('ipOnly', `sslmode=verify-full sslrootcert=${CA}`),
    expect: 'connected',
  },
  {
    name: 'IP-only certificate, host name (CN is db.example.com)',
    conninfo: base('ipOnly', `host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=${CA}`),
    expect: { code: 'HOSTNAME_MISMATCH' },
  },
]
writeFileSync(
  join(home, 'ca-and-intermediate.pem'),
  [CA, fixture('intermediate-ca.crt')].map((f) => spawnSync('cat', [f], { encoding: 'utf8' }).stdout).join(''),
)

t.test('each scenario gives its reason, and libpq agrees on connect/refuse', async (t) => {
  for (const s of SCENARIOS) {
    const { client, error } = await attempt(s.conninfo)
    if (s.expect === 'connected') {
      t.ok(client, `${s.name}: connected${error ? ` — but ${error.code}: ${error.message}` : ''}`)
      if (client) {
        t.equal(client.security.serverCertificateVerified, true)
        await client.end()
      }
    } else {
      t.ok(error, `${s.name}: refused`)
      if ('reason' in s.expect) {
        t.equal(error?.code, 'CERT_VERIFY_FAILED', s.name)
        t.equal(error?.reason, s.expect.reason, `${s.name}: ${error?.message}`)
      } else {
        t.equal(error?.code, s.expect.code, `${s.name}: ${error?.message}`)
      }
    }
    const libpq = await libpqConnects(s.conninfo)
    if (libpq !== undefined)
      t.equal(libpq, s.expect === 'connected', `${s.name}: libpq ${libpq ? 'connects' : 'refuses'} too`)
  }
})

t.test('a revocation error names the serial and the CRL issuer', async (t) => {
  const { error } = await attempt(base('revoked', `sslmode=verify-ca sslrootcert=${CA} sslcrl=${CRLS}`))
  t.match(error?.serial, /^[0-9A-F]+$/)
  t.match(error?.crlIssuer, /pg-sslmode test root CA/)
  t.equal(error?.setting, 'sslcrl')
})

t.test('two-way authentication with encrypted client keys (PKCS#8 and legacy PEM)', async (t) => {
  for (const keyFile of ['client-encrypted.key', 'client-legacy.key']) {
    const conninfo = base(
      'clientCert',
      `sslmode=verify-full sslrootcert=${CA} sslcert=${fixture('client.crt')} ` +
        `sslkey=${privateCopy(keyFile)} sslpassword=fixture-passphrase`,
    )
    const { client, error } = await attempt(conninfo)
    t.ok(client, `${keyFile}: ${error?.message ?? 'connected'}`)
    if (client) {
      t.match((await serverView(client)).clientDn, /CN=app/, `${keyFile}: the server saw the client certificate`)
      await client.end()
    }
    const libpq = await libpqConnects(conninfo)
    if (libpq !== undefined) t.equal(libpq, true, `${keyFile}: libpq connects too`)
    const wrong = await attempt(conninfo.replace('sslpassword=fixture-passphrase', 'sslpassword=wrong'))
    t.equal(wrong.error?.code, 'KEY_DECRYPT_FAILED', `${keyFile}: a wrong passphrase`)
  }
})

t.test('key file permissions: libpq rule in the postgres dialect, and psql agrees', async (t) => {
  const key = privateCopy('client.key')
  const conninfo = base(
    'clientCert',
    `sslmode=verify-ca sslrootcert=${CA} sslcert=${fixture('client.crt')} sslkey=${key}`,
  )
  const expectations: Array<[mode: number, owner: 'root' | 'nobody', ok: boolean]> = [
    [0o600, 'root', true],
    [0o640, 'root', true],
    [0o644, 'root', false],
  ]
  if (process.getuid?.() === 0) expectations.push([0o640, 'nobody', false])
  for (const [mode, owner, ok] of expectations) {
    if (process.getuid?.() === 0) chownSync(key, owner === 'root' ? 0 : 65534, owner === 'root' ? 0 : 65534)
    chmodSync(key, mode)
    const { client, error } = await attempt(conninfo)
    const label = `key ${mode.toString(8)} owned by ${owner}`
    if (ok) t.ok(client, `${label}: accepted (${error?.message ?? ''})`)
    else {
      t.equal(error?.code, 'FILE_PERMISSIONS', label)
      t.equal(error?.file, key)
      t.match(error?.hint, /chmod 6[04]0/)
    }
    await client?.end()
    const libpq = await libpqConnects(conninfo)
    if (libpq !== undefined && owner === 'root') t.equal(libpq, ok, `${label}: libpq agrees`)
  }
})

t.test('openGauss rule: certificate, key and root CA 0600 in the gaussdb dialect', async (t) => {
  const ca = privateCopy('ca.crt')
  chmodSync(ca, 0o644)
  const { error } = await attempt(base('good', `sslmode=verify-ca sslrootcert=${ca}`), { dialect: 'gaussdb' })
  t.equal(error?.code, 'FILE_PERMISSIONS')
  t.match(error?.message, /permission should be u=rw\(600\) or less/)
  t.match(error?.hint, /chmod 600/)
  const off = await attempt(base('good', `sslmode=verify-ca sslrootcert=${ca}`), {
    dialect: 'gaussdb',
    filePermissions: 'off',
  })
  t.ok(off.client, 'filePermissions: off lets it through')
  await off.client?.end()
  const postgres = await attempt(base('good', `sslmode=verify-ca sslrootcert=${ca}`))
  t.ok(postgres.client, 'libpq does not check the root CA file')
  await postgres.client?.end()
})

t.test('the DWS console bundle: sslcertdir, passphrase from .cipher/.rand, two-way auth', async (t) => {
  const bundle = mkdtempSync(join(tmpdir(), 'pg-sslmode-dws-'))
  cpSync(join(FIXTURES, '..', 'dws-sslcert'), bundle, { recursive: true })
  for (const f of readdirSync(bundle)) chmodSync(join(bundle, f), 0o600)
  const conninfo = base('clientCert', 'sslmode=verify-ca')
  for (const how of ['option', 'env'] as const) {
    const extra =
      how === 'option'
        ? { sslcertdir: bundle, dialect: 'gaussdb' }
        : { env: { HOME: home, PGSSLCERTDIR: bundle }, dialect: 'gaussdb' }
    const { client, error } = await attempt(conninfo, extra)
    t.ok(client, `${how}: ${error?.message ?? 'connected'}`)
    if (client) {
      t.equal(client.security.clientCertificateSent, true)
      t.equal(client.security.protocol, 'TLSv1.2')
      t.match(client.security.notes.join(' '), /passphrase was read from .*client\.key\.cipher/)
      t.match((await serverView(client)).clientDn, /CN=app/)
      await client.end()
    }
  }
  const postgres = await attempt(conninfo, { sslcertdir: bundle })
  t.equal(
    postgres.error?.code,
    'KEY_DECRYPT_FAILED',
    'the postgres dialect does not read .cipher files (libpq does not)',
  )
  copyFileSync(join(bundle, 'client.key.cipher'), join(bundle, `${TEST_USER}.key.cipher`))
  writeFileSync(join(bundle, `${TEST_USER}.key.rand`), Buffer.alloc(24))
  chmodSync(join(bundle, `${TEST_USER}.key.rand`), 0o600)
  const corrupt = await attempt(conninfo, { sslcertdir: bundle, dialect: 'gaussdb' })
  t.equal(corrupt.error?.code, 'KEY_CIPHER_CORRUPT', '<user>.key.cipher is preferred, and a bad one is reported')
  t.match(corrupt.error?.file, /app\.key\.rand$/)
})

t.test('connections with the same material verify the chain once', async (t) => {
  const conninfo = base('chainBundle', `sslmode=verify-full sslrootcert=${CA} sslcrl=${CRLS}`)
  const first = await attempt(conninfo)
  await first.client?.end()
  const before = { ...materialStats }
  for (let i = 0; i < 3; i++) (await attempt(conninfo)).client?.end()
  t.same(materialStats, before, 'no read, no parse, no context, no verification')
})

endsWithNoOpenSockets(t)

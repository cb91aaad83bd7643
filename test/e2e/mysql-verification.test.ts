/**
 * Over MySQL, once each: every certificate failure reason the PostgreSQL side proves end to end,
 * MySQL's host-name rule, CRL files and directories, ssl-capath, client certificates (REQUIRE
 * X509), every SSL policy rule, security events, pools — on real MariaDB servers presenting the
 * fixture certificates. Plus two protocol peers for what no real server does on request: a server
 * that drops the connection after the SSL request, and one that is not MySQL at all.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, privateCopy } from '../../scripts/harness.js'
import { mariadbProblem, MYSQL_PASSWORD, startMariaDbs, type MariaDb } from '../../scripts/mariadb.js'
import { connectMysql, createMysqlPool, type MysqlConnectOptions } from '../../lib/mysql/index.js'
import type { SecurityEvent } from '../../lib/engine/policy/audit.js'
import { endsWithNoOpenSockets, openSocketCount } from '../support.js'

const why = mariadbProblem()
if (why && process.env.CI === 'true') throw new Error(`MariaDB is required in CI: ${why}`)

const CA = fixture('ca.crt')
const CRLS = fixture('crl-bundle.crl')

interface Outcome {
  readonly error?: {
    code: string
    sslCode?: string
    reason?: string
    setting?: string
    rule?: string
    message: string
    hint?: string
    errno?: number
  }
  readonly security?: Awaited<ReturnType<typeof connectMysql>>['security']
  readonly currentUser?: string
}

if (!why) {
  const servers = await startMariaDbs({
    good: { ssl: true },
    off: { ssl: false },
    expired: { ssl: true, serverCert: 'server-expired' },
    notYetValid: { ssl: true, serverCert: 'server-not-yet-valid' },
    revoked: { ssl: true, serverCert: 'server-revoked' },
    badIntermediate: { ssl: true, serverCert: 'server-bad-intermediate-bundle' },
    chainBundle: { ssl: true, serverCert: 'server-chain-bundle' },
    chainLeafOnly: { ssl: true, serverCert: 'server-chain' },
    otherHost: { ssl: true, serverCert: 'server-otherhost' },
    tls12: { ssl: true, tlsVersion: 'TLSv1.2' },
  })
  t.teardown(() => servers.stopAll())
  const at = (s: MariaDb, extra: MysqlConnectOptions = {}): MysqlConnectOptions => ({
    host: s.host,
    port: s.port,
    user: 'app',
    password: MYSQL_PASSWORD,
    database: 'app',
    optionFiles: false,
    env: {},
    ...extra,
  })

  async function outcome(options: MysqlConnectOptions): Promise<Outcome> {
    try {
      const connection = await connectMysql(options)
      const [rows] = (await connection.query('SELECT CURRENT_USER() AS u')) as unknown as [Array<{ u: string }>]
      await connection.end()
      return { security: connection.security, currentUser: rows[0]!.u }
    } catch (error) {
      return { error: error as Outcome['error'] }
    }
  }

  t.test('every certificate failure reason, as on PostgreSQL, with MySQL setting names', async (t) => {
    const cases: Array<[string, MysqlConnectOptions, string, string]> = [
      ['expired server certificate', at(servers.expired, { sslMode: 'VERIFY_CA', sslCa: CA }), 'expired', 'ssl-ca'],
      ['not yet valid', at(servers.notYetValid, { sslMode: 'VERIFY_CA', sslCa: CA }), 'not-yet-valid', 'ssl-ca'],
      [
        'revoked server certificate (ssl-crl)',
        at(servers.revoked, { sslMode: 'VERIFY_IDENTITY', sslCa: CA, sslCrl: CRLS }),
        'revoked',
        'ssl-crl',
      ],
      [
        'revoked intermediate CA (ssl-crl)',
        at(servers.badIntermediate, { sslMode: 'VERIFY_CA', sslCa: CA, sslCrl: CRLS }),
        'revoked',
        'ssl-crl',
      ],
      [
        'revoked intermediate CA (ssl-crlpath)',
        at(servers.badIntermediate, { sslMode: 'VERIFY_CA', sslCa: CA, sslCrlpath: fixture('crl-dir') }),
        'revoked',
        'ssl-crl',
      ],
      [
        'a CRL for the root only: the intermediate has none (CRL_CHECK_ALL)',
        at(servers.chainBundle, { sslMode: 'VERIFY_CA', sslCa: CA, sslCrl: fixture('ca-revoking.crl') }),
        'crl-problem',
        'ssl-crl',
      ],
      [
        'another CA',
        at(servers.good, { sslMode: 'VERIFY_CA', sslCa: fixture('other-ca.crt') }),
        'untrusted-root',
        'ssl-ca',
      ],
      [
        'intermediate not sent by the server',
        at(servers.chainLeafOnly, { sslMode: 'VERIFY_CA', sslCa: CA }),
        'untrusted-root',
        'ssl-ca',
      ],
    ]
    for (const [name, options, reason, setting] of cases) {
      const { error } = await outcome(options)
      t.match(error, { code: 'CERT_VERIFY_FAILED', reason, setting }, name)
      t.notMatch(error?.hint ?? '', /sslrootcert|sslcrl/, `${name}: the hint names MySQL's settings`)
    }
    // The same servers are fine where nothing is wrong with them.
    t.match(
      await outcome(at(servers.chainBundle, { sslMode: 'VERIFY_IDENTITY', sslCa: CA, sslCrl: CRLS })),
      { security: { outcome: 'encrypted-verified' } },
      'chain with every CRL',
    )
    t.match(
      await outcome(at(servers.badIntermediate, { sslMode: 'VERIFY_CA', sslCa: CA })),
      { security: { outcome: 'encrypted-verified' } },
      'no CRL configured: not checked',
    )
    t.match(
      await outcome(at(servers.expired, { sslMode: 'REQUIRED' })),
      { security: { outcome: 'encrypted', serverCertificateVerified: false } },
      'REQUIRED does not verify',
    )
    t.match(
      await outcome(at(servers.expired, { sslMode: 'REQUIRED', sslCa: CA })),
      { security: { outcome: 'encrypted' } },
      'REQUIRED with ssl-ca still does not verify (the MySQL client warns)',
    )
  })

  t.test("VERIFY_IDENTITY: MySQL's rule on the live certificate, IP addresses included", async (t) => {
    const mismatch = await outcome(at(servers.otherHost, { sslMode: 'VERIFY_IDENTITY', sslCa: CA }))
    t.match(
      mismatch.error,
      { code: 'HOSTNAME_MISMATCH', setting: 'host', message: /"127\.0\.0\.1"/ },
      'an IP host is checked (mysql2 skips that)',
    )
    t.match(await outcome(at(servers.otherHost, { sslMode: 'VERIFY_CA', sslCa: CA })), {
      security: { outcome: 'encrypted-verified', hostnameVerified: false },
    })
    const byName = await outcome(at(servers.good, { host: 'localhost', sslMode: 'VERIFY_IDENTITY', sslCa: CA }))
    t.match(byName.security, {
      hostnameVerified: true,
      host: 'localhost',
      serverCertificate: { subject: /CN=localhost/ },
    })
  })

  t.test(
    'VERIFY_IDENTITY reads an IP host as OpenSSL does (127.000.000.001 is 127.0.0.1), as the MariaDB client',
    async (t) => {
      for (const host of ['127.000.000.001', '127.0.0.1']) {
        const ours = await outcome(at(servers.good, { host, sslMode: 'VERIFY_IDENTITY', sslCa: CA }))
        t.match(
          ours.security,
          { hostnameVerified: true, outcome: 'encrypted-verified' },
          `${host}: pg-sslmode accepts the certificate's IP:127.0.0.1`,
        )
        const client = spawnSync(
          'mariadb',
          [
            `--host=${host}`,
            `--port=${servers.good.port}`,
            '--user=app',
            '--ssl-verify-server-cert',
            `--ssl-ca=${CA}`,
            '--batch',
            '-e',
            'select 1',
          ],
          {
            encoding: 'utf8',
            env: { ...process.env, MYSQL_PWD: MYSQL_PASSWORD },
          },
        )
        if (client.error) t.comment(`the MariaDB client did not run: ${client.error.message}`)
        else
          t.equal(
            client.status,
            0,
            `${host}: the MariaDB client accepts it too${client.status === 0 ? '' : `: ${client.stderr.trim()}`}`,
          )
      }
      const mismatch = await outcome(
        at(servers.otherHost, { host: '127.000.000.001', sslMode: 'VERIFY_IDENTITY', sslCa: CA }),
      )
      t.match(mismatch.error, { code: 'HOSTNAME_MISMATCH' }, 'and a certificate for another host is still refused')
    },
  )

  t.test('ssl-capath: a hashed CA directory verifies as ssl-ca does', async (t) => {
    const hash = spawnSync('openssl', ['x509', '-subject_hash', '-noout', '-in', CA], {
      encoding: 'utf8',
    }).stdout.trim()
    if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('openssl is needed to name the CA file')
    const capath = mkdtempSync(join(tmpdir(), 'pg-sslmode-capath-'))
    writeFileSync(join(capath, `${hash}.0`), readFileSync(CA))
    const r = await outcome(at(servers.good, { sslCapath: capath }))
    t.match(r.security, { requestedMode: 'VERIFY_CA', outcome: 'encrypted-verified', rootCertificate: capath })
  })

  t.test('tls-version, ssl-cipher and tls-ciphersuites reach the session the server sees', async (t) => {
    const v12 = await outcome(
      at(servers.good, { sslMode: 'REQUIRED', tlsVersion: 'TLSv1.2', sslCipher: 'ECDHE-RSA-AES128-GCM-SHA256' }),
    )
    t.match(v12.security, { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' })
    const v13 = await outcome(
      at(servers.good, {
        uri: 'mysql://h/app?tls-version=TLSv1.3&tls-ciphersuites=TLS_AES_128_GCM_SHA256',
        host: servers.good.host,
        sslMode: 'REQUIRED',
      }),
    )
    t.match(v13.security, { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' })
    const refused = await outcome(at(servers.tls12, { sslMode: 'REQUIRED', tlsVersion: 'TLSv1.3' }))
    t.match(
      refused.error,
      { code: 'SSL_HANDSHAKE_FAILED' },
      'a TLS 1.2 server and tls-version=TLSv1.3 have no version in common',
    )
  })

  t.test('client certificates: REQUIRE X509 passes with one, is refused without', async (t) => {
    const withCert = await outcome(
      at(servers.good, {
        user: 'x509user',
        sslMode: 'VERIFY_IDENTITY',
        sslCa: CA,
        sslCert: fixture('client.crt'),
        sslKey: privateCopy('client.key'),
      }),
    )
    t.match(withCert, {
      currentUser: 'x509user@%',
      security: { clientCertificateSent: true, outcome: 'encrypted-verified' },
    })
    const without = await outcome(at(servers.good, { user: 'x509user', sslMode: 'VERIFY_IDENTITY', sslCa: CA }))
    t.match(without.error, { errno: 1045, sslCode: 'SERVER_REJECTED' })
  })

  t.test('every policy rule, over MySQL', async (t) => {
    const rule = async (name: string, options: MysqlConnectOptions, expected: string | undefined): Promise<Outcome> => {
      const r = await outcome(options)
      if (expected === undefined)
        t.ok(r.security, `${name}: connected${r.error ? ` — but ${r.error.code}: ${r.error.message}` : ''}`)
      else t.match(r.error, { code: 'POLICY_VIOLATION', rule: expected }, name)
      return r
    }
    await rule(
      'minimumMode refuses a weaker mode',
      at(servers.good, { sslMode: 'PREFERRED', policy: { minimumMode: 'verify-ca' } }),
      'minimumMode',
    )
    const upgraded = await rule(
      'minimumMode upgrades when asked',
      at(servers.good, {
        sslMode: 'REQUIRED',
        sslCa: CA,
        policy: { minimumMode: 'verify-full', onWeakerMode: 'upgrade' },
      }),
      undefined,
    )
    t.match(upgraded.security, {
      requestedMode: 'REQUIRED',
      effectiveMode: 'VERIFY_IDENTITY',
      policy: { upgradedFrom: 'REQUIRED' },
      hostnameVerified: true,
    })
    await rule(
      'forbiddenModes',
      at(servers.good, { sslMode: 'REQUIRED', policy: { forbiddenModes: ['require'] } }),
      'forbiddenModes',
    )
    await rule(
      'allowPlaintextFallback: PREFERRED against a server without TLS',
      at(servers.off, { sslMode: 'PREFERRED', policy: { allowPlaintextFallback: false } }),
      'allowPlaintextFallback',
    )
    await rule(
      'requireClientCertificate',
      at(servers.good, { sslMode: 'VERIFY_CA', sslCa: CA, policy: { requireClientCertificate: true } }),
      'requireClientCertificate',
    )
    await rule(
      'requireCrl',
      at(servers.good, { sslMode: 'VERIFY_CA', sslCa: CA, policy: { requireCrl: true } }),
      'requireCrl',
    )
    await rule(
      'tls.minVersion against a TLS 1.2 server',
      at(servers.tls12, { sslMode: 'REQUIRED', policy: { tls: { minVersion: 'TLSv1.3' } } }),
      'tls.minVersion',
    )
    const capped = await rule(
      'tls.maxVersion is offered, so TLS 1.2 is negotiated',
      at(servers.good, { sslMode: 'REQUIRED', policy: { tls: { maxVersion: 'TLSv1.2' } } }),
      undefined,
    )
    t.equal(capped.security?.protocol, 'TLSv1.2')
    const suite = await rule(
      'tls.ciphers is offered',
      at(servers.good, { sslMode: 'REQUIRED', policy: { tls: { ciphers: ['TLS_AES_128_GCM_SHA256'] } } }),
      undefined,
    )
    t.equal(suite.security?.cipher, 'TLS_AES_128_GCM_SHA256')
    const fingerprint = new X509Certificate(readFileSync(fixture('server.crt'))).fingerprint256
    await rule(
      'pinnedServerFingerprints, pinned',
      at(servers.good, { sslMode: 'VERIFY_CA', sslCa: CA, policy: { pinnedServerFingerprints: [fingerprint] } }),
      undefined,
    )
    await rule(
      'pinnedServerFingerprints, another pin',
      at(servers.good, { sslMode: 'VERIFY_CA', sslCa: CA, policy: { pinnedServerFingerprints: ['AA'.repeat(32)] } }),
      'pinnedServerFingerprints',
    )
    await rule(
      'certificateExpiry.rejectWithinDays',
      at(servers.good, {
        sslMode: 'VERIFY_CA',
        sslCa: CA,
        policy: { certificateExpiry: { rejectWithinDays: 100_000 } },
      }),
      'certificateExpiry',
    )
    await rule('allowedDialects', at(servers.good, { policy: { allowedDialects: ['postgres'] } }), 'allowedDialects')
    await rule('allowedDialects naming mysql', at(servers.good, { policy: { allowedDialects: ['mysql'] } }), undefined)
    await rule(
      'allowedAuthMethods, before the credentials',
      at(servers.good, { sslMode: 'REQUIRED', policy: { allowedAuthMethods: ['caching_sha2_password'] } }),
      'allowedAuthMethods',
    )
    const allowed = await rule(
      'allowedAuthMethods naming the plugin',
      at(servers.good, { sslMode: 'REQUIRED', policy: { allowedAuthMethods: ['mysql_native_password'] } }),
      undefined,
    )
    t.equal(allowed.security?.authentication, 'mysql_native_password')
    await rule(
      'channelBinding (MySQL has none)',
      at(servers.good, { policy: { channelBinding: 'require' } }),
      'channelBinding',
    )
    const keyDir = mkdtempSync(join(tmpdir(), 'pg-sslmode-openkey-'))
    const openKey = join(keyDir, 'client.key')
    writeFileSync(openKey, readFileSync(fixture('client.key')))
    chmodSync(openKey, 0o644)
    const keyOptions = {
      user: 'x509user',
      sslMode: 'VERIFY_CA',
      sslCa: CA,
      sslCert: fixture('client.crt'),
      sslKey: openKey,
    }
    t.match(
      (await outcome(at(servers.good, keyOptions))).error,
      { code: 'FILE_PERMISSIONS', setting: 'ssl-key' },
      "libpq's key rule by default",
    )
    await rule(
      'filePermissions off accepts the readable key',
      at(servers.good, { ...keyOptions, policy: { filePermissions: 'off' } }),
      undefined,
    )
    const env = await outcome(at(servers.good, { sslMode: 'PREFERRED', env: { PGSSLPOLICY: 'recommended' } }))
    t.match(
      env.error,
      { code: 'POLICY_VIOLATION', rule: 'minimumMode', message: /PGSSLPOLICY/ },
      'PGSSLPOLICY applies to MySQL connections too',
    )
  })

  t.test('security events and the audit log: connected, fallback, violation — no password', async (t) => {
    const events: SecurityEvent[] = []
    const log = join(mkdtempSync(join(tmpdir(), 'pg-sslmode-audit-')), 'audit.jsonl')
    const onSecurityEvent = (e: SecurityEvent): void => void events.push(e)
    await outcome({ ...at(servers.off, { sslMode: 'PREFERRED', onSecurityEvent }), env: { PGSSLAUDITLOG: log } })
    await outcome({
      ...at(servers.good, { sslMode: 'VERIFY_CA', sslCa: CA, onSecurityEvent }),
      env: { PGSSLAUDITLOG: log },
    })
    await outcome({
      ...at(servers.off, { sslMode: 'PREFERRED', onSecurityEvent, policy: { allowPlaintextFallback: false } }),
      env: { PGSSLAUDITLOG: log },
    })
    t.same(
      events.map((e) => e.type),
      ['security', 'fallback', 'security', 'policy-violation'],
    )
    t.match(events[1], {
      report: {
        dialect: 'mysql',
        fallback: 'plaintext-after-ssl',
        attempts: [
          { ssl: true, result: 'failed' },
          { ssl: false, result: 'connected', sameSocket: true },
        ],
      },
    })
    t.match(events[2], {
      report: { outcome: 'encrypted-verified', serverVersion: /MariaDB/, negotiation: 'mysql', protocolVersion: '10' },
    })
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    t.equal(lines.length, 4)
    t.notMatch(lines.join('\n'), new RegExp(MYSQL_PASSWORD))
  })

  t.test('a pool: every connection verified, a refusal keeps its code through mysql2, nothing leaked', async (t) => {
    const before = await openSocketCount()
    const pool = createMysqlPool(at(servers.good, { sslMode: 'VERIFY_IDENTITY', sslCa: CA, connectionLimit: 5 }))
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.query('SELECT ? AS n', [i])))
    t.same(
      results.map(([rows]) => (rows as Array<{ n: number }>)[0]!.n),
      Array.from({ length: 200 }, (_, i) => i),
    )
    const connections = await Promise.all(Array.from({ length: 5 }, () => pool.getConnection()))
    t.same(
      connections.map((c) => c.security.outcome),
      Array(5).fill('encrypted-verified'),
    )
    for (const c of connections) c.release()
    await pool.end()
    const bad = createMysqlPool(at(servers.revoked, { sslMode: 'VERIFY_CA', sslCa: CA, sslCrl: CRLS }))
    await t.rejects(bad.query('SELECT 1'), { code: 'CERT_VERIFY_FAILED', reason: 'revoked' })
    await bad.end()
    const missing = createMysqlPool(at(servers.good, { sslMode: 'VERIFY_CA', sslCa: join(tmpdir(), 'no-such-ca.pem') }))
    await t.rejects(
      missing.query('SELECT 1'),
      { code: 'FILE_NOT_FOUND', setting: 'ssl-ca' },
      'checked per connection, before the TCP connection',
    )
    await missing.end()
    t.equal(await openSocketCount(), before)
  })

  t.test('unknown mode and a missing CA fail before any connection is made', async (t) => {
    let accepted = 0
    const listener = createServer((s) => {
      accepted++
      s.destroy()
    })
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
    const port = (listener.address() as { port: number }).port
    await t.rejects(connectMysql({ host: '127.0.0.1', port, sslMode: 'VERIFY', optionFiles: false, env: {} }), {
      code: 'INVALID_SETTING',
    })
    await t.rejects(
      connectMysql({ host: '127.0.0.1', port, sslMode: 'VERIFY_IDENTITY', optionFiles: false, env: {} }),
      { code: 'ROOT_CERT_MISSING' },
    )
    t.throws(() => createMysqlPool({ host: '127.0.0.1', port, sslMode: 'nope', optionFiles: false, env: {} }), {
      code: 'INVALID_SETTING',
    })
    t.equal(accepted, 0, 'no TCP connection was opened')
    await new Promise((r) => listener.close(r))
  })
} else {
  t.test('MariaDB', { skip: `MariaDB is not available: ${why}` }, async () => undefined)
}

/** Protocol peers for what a real server does not do on request. */
async function peer(
  onConnection: (socket: import('node:net').Socket) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as { port: number }).port, server }
}

function helloPacket(ssl: boolean): Buffer {
  const caps = 0x0000a20f | 0x80000 | (ssl ? 0x800 : 0)
  const body = Buffer.concat([
    Buffer.from([10]),
    Buffer.from('8.0.40-peer\0'),
    Buffer.from([1, 0, 0, 0]),
    Buffer.alloc(8, 0x61),
    Buffer.from([0]),
    Buffer.from([caps & 0xff, (caps >> 8) & 0xff, 0xff, 2, 0, (caps >> 16) & 0xff, (caps >> 24) & 0xff, 21]),
    Buffer.alloc(10),
    Buffer.alloc(12, 0x62),
    Buffer.from([0]),
    Buffer.from('mysql_native_password\0'),
  ])
  return Buffer.concat([Buffer.from([body.length, 0, 0, 0]), body])
}

t.test('protocol peer: a server that drops the connection after the SSL request', async (t) => {
  const { port, server } = await peer((socket) => {
    socket.write(helloPacket(true))
    socket.once('data', () => socket.destroy())
  })
  const error = await connectMysql({
    host: '127.0.0.1',
    port,
    user: 'app',
    sslMode: 'REQUIRED',
    optionFiles: false,
    env: {},
  }).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  )
  t.match(error, { code: 'SSL_HANDSHAKE_FAILED' })
  await new Promise((r) => server.close(r))
})

t.test('protocol peer: not a MySQL server (an SSH banner, a PostgreSQL answer) is refused at once', async (t) => {
  for (const banner of [
    Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'),
    Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'),
  ]) {
    const { port, server } = await peer((socket) => socket.end(banner))
    await t.rejects(connectMysql({ host: '127.0.0.1', port, user: 'app', optionFiles: false, env: {} }), {
      code: 'PROTOCOL_VIOLATION',
      message: /did not send a MySQL handshake/,
      attempts: [{ result: 'failed', failure: { code: 'PROTOCOL_VIOLATION' } }],
    })
    await new Promise((r) => server.close(r))
  }
})

t.test("protocol peer: an ERR packet instead of a handshake is the server's error, coded", async (t) => {
  const body = Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('Too many connections')])
  const { port, server } = await peer((socket) =>
    socket.end(Buffer.concat([Buffer.from([body.length, 0, 0, 0]), body])),
  )
  await t.rejects(connectMysql({ host: '127.0.0.1', port, user: 'app', optionFiles: false, env: {} }), {
    errno: 1040,
    sslCode: 'SERVER_REJECTED',
  } as unknown as Error)
  await new Promise((r) => server.close(r))
})

endsWithNoOpenSockets(t)

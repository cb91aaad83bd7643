/**
 * `pg-sslmode scan` against real PostgreSQL servers of different configurations, compared with
 * testssl.sh (Debian package testssl.sh) on the same servers: the protocol versions, the cipher
 * suites per version (the same set: those Node's OpenSSL lacks, such as SEED on the low-security
 * server, come from the scan's own ClientHello), and the certificate's fingerprint; the plaintext answer is
 * compared with what pg_hba.conf says (host or hostssl only).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { scan, type ScanReport } from '../../lib/cli/scan.js'
import { startClusters } from '../../scripts/harness.js'
import { mariadbProblem, startMariaDb } from '../../scripts/mariadb.js'
import { CLI_BIN, endsWithNoOpenSockets } from '../support.js'

const testssl = ['testssl', 'testssl.sh'].find((bin) => spawnSync(bin, ['--version']).status === 0)
if (!testssl && process.env.CI === 'true') throw new Error('testssl.sh is required in CI (Debian package testssl.sh)')

const clusters = await startClusters({
  'TLS 1.2+, chosen ciphers': {
    ssl: true,
    settings: {
      ssl_min_protocol_version: "'TLSv1.2'",
      ssl_ciphers: "'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384'",
    },
  },
  'TLS 1.0-1.2 at security level 0, hostssl only': {
    ssl: true,
    requireSsl: true,
    settings: {
      ssl_min_protocol_version: "'TLSv1'",
      ssl_max_protocol_version: "'TLSv1.2'",
      ssl_ciphers: "'ALL:@SECLEVEL=0'",
    },
  },
})
t.teardown(() => clusters.stopAll())

const TESTSSL_VERSIONS: Record<string, keyof ScanReport['protocols']> = {
  TLS1: 'TLSv1',
  TLS1_1: 'TLSv1.1',
  TLS1_2: 'TLSv1.2',
  TLS1_3: 'TLSv1.3',
}
const CIPHER_VERSION: Record<string, keyof ScanReport['protocols']> = {
  tls1: 'TLSv1',
  tls1_1: 'TLSv1.1',
  tls1_2: 'TLSv1.2',
  tls1_3: 'TLSv1.3',
}

/** testssl.sh's answers: protocols, ciphers per version (OpenSSL names), the SHA-256 fingerprint. */
function testsslOf(host: string, port: number, dir: string, starttls: 'postgres' | 'mysql' = 'postgres') {
  const out = join(dir, `testssl-${port}.json`)
  spawnSync(
    testssl!,
    ['--quiet', '--color', '0', '--starttls', starttls, '-p', '-E', '-S', '--jsonfile', out, `${host}:${port}`],
    {
      stdio: 'ignore',
      timeout: 300_000,
    },
  )
  const entries = JSON.parse(readFileSync(out, 'utf8')) as Array<{ id: string; finding: string }>
  const protocols: Partial<Record<string, boolean>> = {}
  const ciphers: Record<string, Set<string>> = {}
  let fingerprint = ''
  for (const { id, finding } of entries) {
    if (id in TESTSSL_VERSIONS) protocols[TESTSSL_VERSIONS[id]!] = /^offered/.test(finding)
    const cipher = /^cipher-(tls1(?:_\d)?)_x[0-9a-f]+$/.exec(id)
    if (cipher) {
      const version = CIPHER_VERSION[cipher[1]!]!
      ciphers[version] ??= new Set()
      ciphers[version].add(finding.trim().split(/\s+/)[3]!)
    }
    if (id === 'cert_fingerprintSHA256') fingerprint = finding.trim()
  }
  return { protocols, ciphers, fingerprint }
}

for (const [name, cluster] of Object.entries(clusters).filter(([k]) => k !== 'stopAll')) {
  const c = cluster as (typeof clusters)['TLS 1.2+, chosen ciphers']
  t.test(name, { skip: testssl ? false : 'testssl.sh is not installed (Debian package testssl.sh)' }, async (t) => {
    const started = Date.now()
    const ours = await scan(`${c.host}:${c.port}`)
    t.ok(Date.now() - started < 20_000, `the scan takes seconds (${Date.now() - started} ms)`)
    agreesWithTestssl(t, ours, testsslOf(c.host, c.port, t.testdir()))
    const hostsslOnly = name.includes('hostssl only')
    t.equal(
      ours.plaintext,
      !hostsslOnly,
      `plaintext start-up ${hostsslOnly ? 'refused' : 'accepted'}, as pg_hba.conf says`,
    )
    t.equal(
      ours.findings.some((f) => f.id === 'plaintext-startup'),
      !hostsslOnly,
      'the finding says it',
    )
    if (hostsslOnly) {
      t.ok(
        ours.findings.some((f) => f.id === 'protocol-tlsv1' && f.severity === 'high'),
        'TLS 1.0 is a finding',
      )
      t.ok(
        ours.findings.some((f) => f.id.startsWith('weak-cipher:') && f.severity === 'critical'),
        'anonymous suites too',
      )
      // PostgreSQL 18's OpenSSL 1.1 still has SEED; Node's OpenSSL 3 cannot offer it.
      t.ok(ours.ciphers['TLSv1.2']?.includes('SEED-SHA'), 'SEED, found by the scan’s own hello')
      t.ok(
        ours.findings.some((f) => f.id === 'weak-cipher:TLSv1.2:SEED-SHA' && f.severity === 'high'),
        'and rated as testssl.sh rates an obsolete cipher',
      )
    }
  })
}

/** Ours against testssl.sh's: protocols, suites per version, the fingerprint. */
function agreesWithTestssl(t: Test, ours: ScanReport, theirs: ReturnType<typeof testsslOf>): void {
  t.same(
    ours.protocols,
    { TLSv1: false, 'TLSv1.1': false, ...theirs.protocols },
    'the protocol versions, as testssl.sh',
  )
  for (const [version, found] of Object.entries(theirs.ciphers)) {
    const mine = new Set(ours.ciphers[version as keyof ScanReport['ciphers']] ?? [])
    t.same(
      [...mine].filter((x) => !found.has(x)),
      [],
      `${version}: no suite testssl.sh does not find`,
    )
    t.same(
      [...found].filter((x) => !mine.has(x)),
      [],
      `${version}: every suite testssl.sh finds`,
    )
  }
  t.equal(ours.certificate?.fingerprint256.replace(/:/g, ''), theirs.fingerprint, 'the certificate, as testssl.sh')
}

t.test(
  'MariaDB with require_secure_transport, TLS 1.2 only',
  {
    skip: testssl ? (mariadbProblem() ?? false) : 'testssl.sh is not installed',
  },
  async (t) => {
    const server = await startMariaDb({ ssl: true, requireSecureTransport: true, tlsVersion: 'TLSv1.2' })
    t.teardown(() => server.stop())
    const ours = await scan(`mysql://${server.host}:${server.port}`)
    agreesWithTestssl(t, ours, testsslOf(server.host, server.port, t.testdir(), 'mysql'))
    t.ok(ours.serverVersion?.includes(server.version), `the server version, from its handshake (${ours.serverVersion})`)
    t.equal(ours.clientCertificate, 'requested', 'MariaDB with ssl-ca asks for a client certificate')
    // MariaDB refuses an insecure login only after it succeeded, so without credentials: unknown.
    t.equal(ours.plaintext, 'unknown', 'the plaintext answer cannot be had without credentials from MariaDB')
    t.ok(
      ours.findings.some((f) => f.id === 'plaintext-unknown'),
      'and the report says why',
    )
    t.ok(
      ours.findings.some((f) => f.id === 'no-tlsv1.3'),
      'TLS 1.2 only: no TLS 1.3 is a finding',
    )
  },
)

t.test('the command: --json has the documented fields; exit 1 for serious findings', async (t) => {
  const bin = CLI_BIN
  const c = clusters['TLS 1.2+, chosen ciphers']
  const run = spawnSync(process.execPath, [bin, 'scan', `host=${c.host} port=${c.port}`, '--json'], {
    encoding: 'utf8',
  })
  t.equal(run.status, 1, 'a plaintext start-up is a high finding')
  const report = JSON.parse(run.stdout) as ScanReport
  t.match(report, {
    protocols: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true },
    ciphers: { 'TLSv1.2': ['ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384'] },
    certificate: { fingerprint256: /^[0-9A-F:]+$/, keyType: 'rsa', keyBits: 2048 },
    plaintext: true,
    clientCertificate: 'not-requested',
    directSsl: true,
  })
  t.ok(
    report.findings.every((f) => f.id && f.severity && f.message),
    'findings: id, severity, message',
  )
  const closed = spawnSync(process.execPath, [bin, 'scan', '127.0.0.1:1'], { encoding: 'utf8' })
  t.equal(closed.status, 1)
  t.match(closed.stdout, /could not be reached: ECONNREFUSED/)
  t.ok(execFileSync(process.execPath, [bin, 'help', 'scan'], { encoding: 'utf8' }).startsWith('usage: pg-sslmode scan'))
})

endsWithNoOpenSockets(t)

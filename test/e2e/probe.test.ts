/**
 * `pg-sslmode probe` against the seed's three server configurations: each row it prints must be
 * that server's row of the client × server table (docs/modes.md), through the real executable.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProbeReport } from '../../lib/index.js'
import { fixture, startClusters } from '../../scripts/harness.js'
import { seedTable } from '../../scripts/seed-table.js'
import { isolatedEnv, endsWithNoOpenSockets } from '../support.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin['pg-sslmode'] as string)
const clusters = await startClusters({
  'ssl=on require_ssl=on': { ssl: true, requireSsl: true },
  'ssl=on require_ssl=off': { ssl: true },
  'ssl=off': { ssl: false },
  'ssl=on, passwords': {
    ssl: true,
    hbaTcpLines: ['host all all 127.0.0.1/32 scram-sha-256'],
    setupSql: [`CREATE ROLE pw LOGIN PASSWORD 'secret-pw'`],
  },
})
t.teardown(() => clusters.stopAll())

function runProbe(conninfo: string, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, 'probe', conninfo, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...isolatedEnv() },
  })
  return { code: r.status, out: r.stdout + r.stderr }
}

for (const [name, serverSsl, requireSsl] of [
  ['ssl=on require_ssl=on', true, true],
  ['ssl=on require_ssl=off', true, false],
  ['ssl=off', false, false],
] as const) {
  t.test(`probe of a server with ${name}`, async (t) => {
    const c = clusters[name]
    const { code, out } = runProbe(`host=${c.host} port=${c.port} user=app sslrootcert=${fixture('ca.crt')}`, '--json')
    t.equal(code, 0, out)
    const report = JSON.parse(out) as ProbeReport
    t.same(
      report.server,
      { ssl: serverSsl, requireSsl: serverSsl ? requireSsl : 'unknown' },
      'the server columns are read off the answers',
    )
    for (const cell of seedTable('postgres').filter((x) => x.serverSsl === serverSsl && x.requireSsl === requireSsl)) {
      const row = report.modes.find((m) => m.mode === cell.mode)!
      if (cell.error) t.equal(row.code, cell.error, `${cell.mode}: ${cell.wording}`)
      else
        t.equal(
          row.outcome === 'unencrypted' ? 'unencrypted' : 'encrypted',
          cell.outcome === 'unencrypted' ? 'unencrypted' : 'encrypted',
          `${cell.mode}: ${cell.wording} (probe: ${row.result})`,
        )
    }
    if (serverSsl) {
      t.same(report.tlsVersions, { 'TLSv1.2': true, 'TLSv1.3': true })
      t.match(report.certificate, { subject: /CN=localhost/, subjectAltName: /127\.0\.0\.1/ })
    } else t.equal(report.certificate, null)
  })
}

t.test('human output and --policy', async (t) => {
  const c = clusters['ssl=on require_ssl=off']
  const text = runProbe(`host=${c.host} port=${c.port} user=app sslrootcert=${fixture('ca.crt')}`, '--policy', 'strict')
  t.equal(text.code, 1, 'strict needs a CRL, which this probe does not give')
  t.match(text.out, /server ssl=on, require_ssl=off/)
  t.match(text.out, /policy: NOT satisfied — .*requireCrl/)
  const ok = runProbe(
    `host=${c.host} port=${c.port} user=app sslrootcert=${fixture('ca.crt')} sslcrl=${fixture('ca-empty.crl')}`,
    '--policy',
    'strict',
  )
  t.equal(ok.code, 0, ok.out)
  t.match(ok.out, /policy: satisfied — connected with verify-full, TLSv1\.3/)
  t.equal(runProbe('').code, 2)
})

t.test('TLS facts even when verification fails: a CA that did not sign the server', async (t) => {
  const c = clusters['ssl=on require_ssl=off']
  const { code, out } = runProbe(
    `host=${c.host} port=${c.port} user=app sslrootcert=${fixture('other-ca.crt')}`,
    '--json',
  )
  t.equal(code, 0, out)
  const report = JSON.parse(out) as ProbeReport
  t.same(report.server, { ssl: true, requireSsl: false }, 'the server columns, although require verifies and fails')
  t.same(report.tlsVersions, { 'TLSv1.2': true, 'TLSv1.3': true }, 'the versions the server accepts')
  t.match(report.certificate, { subject: /CN=localhost/ }, 'and its certificate')
  t.ok(report.chain.length >= 1, 'the chain it presents')
  for (const mode of ['require', 'verify-ca', 'verify-full'])
    t.match(
      report.modes.find((m) => m.mode === mode),
      { code: 'CERT_VERIFY_FAILED', step: 'verification' },
      mode,
    )
  const text = runProbe(`host=${c.host} port=${c.port} user=app sslrootcert=${fixture('other-ca.crt')}`).out
  t.match(text, /verify-full .* at verification \[CERT_VERIFY_FAILED\]/)
  t.match(text, /TLS versions accepted: TLSv1\.2, TLSv1\.3/)
  t.match(text, /certificate: .*CN=localhost/)
})

t.test('without a password: the host, the TLS facts, and where each mode stopped', async (t) => {
  const c = clusters['ssl=on, passwords']
  const { code, out } = runProbe(`host=${c.host} port=${c.port} user=pw`, '--json')
  t.equal(code, 0, out)
  const report = JSON.parse(out) as ProbeReport
  t.equal(`${report.host}:${report.port}`, `${c.host}:${c.port}`, 'the header names the server, not "?:?"')
  t.same(report.server, { ssl: true, requireSsl: false }, 'a plaintext start-up got as far as authentication')
  t.same(report.tlsVersions, { 'TLSv1.2': true, 'TLSv1.3': true })
  for (const mode of ['disable', 'allow', 'prefer', 'require'])
    t.match(
      report.modes.find((m) => m.mode === mode),
      { code: 'PASSWORD_REQUIRED', step: 'authentication' },
      mode,
    )
  t.match(
    report.modes.find((m) => m.mode === 'verify-full'),
    { code: 'ROOT_CERT_MISSING', step: 'settings' },
  )
})

t.test('a target that cannot be probed exits non-zero', async (t) => {
  const closed = runProbe('host=127.0.0.1 port=1 user=app')
  t.equal(closed.code, 1, closed.out)
  t.match(closed.out, /^pg-sslmode probe — 127\.0\.0\.1:1: could not be reached \(ECONNREFUSED\)/)
  const json = runProbe('host=127.0.0.1 port=1 user=app', '--json')
  t.equal(json.code, 1)
  t.match(JSON.parse(json.out), { reachable: false, unreachable: 'ECONNREFUSED' })
})

endsWithNoOpenSockets(t)

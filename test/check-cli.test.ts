/**
 * `pg-sslmode check`: the real executable (the package bin, built by npm test) on real files,
 * collecting every problem in one run; and the report function behind it.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkMaterial } from '../lib/cli/check.js'
import { render } from '../lib/cli/main.js'
import { FIXTURES, fixture, privateCopy } from '../scripts/harness.js'
import { testCertificate } from './support.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin['pg-sslmode'] as string)
const home = mkdtempSync(join(tmpdir(), 'pg-sslmode-check-'))

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
  })
  return { code: r.status, out: r.stdout + r.stderr }
}

const good =
  `sslmode=verify-full sslrootcert=${fixture('ca.crt')} ` +
  `sslcrl=${fixture('crl-bundle.crl')} sslcert=${fixture('client.crt')} ` +
  `sslkey=${privateCopy('client-encrypted.key')} sslpassword=fixture-passphrase`

t.test('all good: exit 0, a readable table, JSON on request', async (t) => {
  const text = run(['check', good])
  t.equal(text.code, 0, text.out)
  t.match(text.out, /OK\s+client certificate and key/)
  t.match(text.out, /OK\s+client chain\s+the client certificate chains to sslrootcert/)
  t.notOk(text.out.includes('\x1b['), 'no colours when stdout is not a terminal')
  t.notMatch(text.out, /fixture-passphrase/, 'the passphrase is never printed')
  const json = run(['check', good, '--json'])
  const report = JSON.parse(json.out) as { ok: boolean; findings: Array<{ status: string; check: string }> }
  t.equal(report.ok, true)
  t.ok(report.findings.length >= 8)
})

t.test('every problem is reported in one run, with codes and hints; exit 1', async (t) => {
  const openKey = privateCopy('other-client.key')
  chmodSync(openKey, 0o644)
  const { code, out } = run([
    'check',
    `sslmode=verify-ca sslrootcert=/nonexistent/ca.pem sslcert=${fixture('client.crt')} sslkey=${openKey}`,
  ])
  t.equal(code, 1)
  t.match(out, /FAIL\s+root CA .*FILE_NOT_FOUND/)
  t.match(out, /FAIL\s+client certificate and key .*group or world access.*FILE_PERMISSIONS/)
  t.match(out, /hint: chmod 6[04]0/)
  // other-client.key is not client.crt's key either: no longer hidden behind the permissions.
  t.match(out, /FAIL\s+client certificate and key .*does not match.*KEY_MISMATCH/)
  t.match(out, /3 problems found/)
  const noRoot = run(['check', 'sslmode=verify-ca'])
  t.equal(noRoot.code, 1)
  t.match(noRoot.out, /FAIL\s+sslmode .*ROOT_CERT_MISSING/)
})

t.test('key that does not match, wrong passphrase', async (t) => {
  t.match(
    run(['check', `sslcert=${fixture('client.crt')} sslkey=${privateCopy('other-client.key')}`]).out,
    /KEY_MISMATCH/,
  )
  t.match(
    run(['check', `sslcert=${fixture('client.crt')} sslkey=${privateCopy('client-legacy.key')} sslpassword=nope`]).out,
    /KEY_DECRYPT_FAILED/,
  )
})

t.test('every problem at once: a group-readable key that does not match an expired certificate', async (t) => {
  const expired = testCertificate({
    cn: 'app',
    issuerCert: fixture('ca.crt'),
    signingKey: fixture('ca.key'),
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2021-01-01T00:00:00Z'),
  })
  const other = testCertificate({ cn: 'other', issuerCert: fixture('ca.crt'), signingKey: fixture('ca.key') })
  const certFile = join(home, 'expired.crt')
  const keyFile = join(home, 'other.key')
  writeFileSync(certFile, expired.certPem)
  writeFileSync(keyFile, other.keyPem, { mode: 0o644 })
  chmodSync(keyFile, 0o644)
  const target = `sslmode=verify-full sslrootcert=${fixture('ca.crt')} sslcert=${certFile} sslkey=${keyFile}`
  const report = await checkMaterial({ connectionString: target, env: { HOME: home } })
  const failed = report.findings.filter((f) => f.status === 'fail')
  t.match(failed, [{ code: 'FILE_PERMISSIONS' }, { code: 'KEY_MISMATCH' }, { check: 'client certificate validity' }])
  t.match(failed.find((f) => f.check === 'client certificate validity')?.detail, /expired on 2021-01-01/)
  t.ok(
    failed.every((f) => f.hint === undefined || f.hint.length > 0),
    'each with its hint',
  )
  const cli = run(['check', target])
  t.equal(cli.code, 1, 'the exit code says problems were found')
  t.match(cli.out, /FILE_PERMISSIONS[\s\S]*KEY_MISMATCH[\s\S]*expired on 2021-01-01[\s\S]*3 problems found/)
})

t.test('expiry warnings (under 30 days) and an expired CRL', async (t) => {
  const expiring = testCertificate({
    cn: 'app',
    issuerCert: fixture('ca.crt'),
    signingKey: fixture('ca.key'),
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 10 * 86_400_000),
  })
  const certFile = join(home, 'expiring.crt')
  const keyFile = join(home, 'expiring.key')
  writeFileSync(certFile, expiring.certPem)
  writeFileSync(keyFile, expiring.keyPem, { mode: 0o600 })
  const report = await checkMaterial({
    env: { HOME: home },
    sslrootcert: fixture('ca.crt'),
    sslcrl: fixture('ca-expired.crl'),
    sslcert: certFile,
    sslkey: keyFile,
  })
  t.equal(report.ok, false)
  t.ok(
    report.findings.some(
      (f) => f.status === 'warn' && f.check === 'client certificate validity' && /expires in (9|10) day/.test(f.detail),
    ),
  )
  t.ok(report.findings.some((f) => f.status === 'fail' && f.check === 'CRL freshness' && /expired/.test(f.detail)))
})

t.test('the DWS bundle with --sslcertdir and --dialect gaussdb; an ini file with --ini', async (t) => {
  const bundle = mkdtempSync(join(tmpdir(), 'pg-sslmode-dws-check-'))
  cpSync(join(FIXTURES, '..', 'dws-sslcert'), bundle, { recursive: true })
  for (const f of readdirSync(bundle)) chmodSync(join(bundle, f), 0o600)
  const dws = run(['check', 'sslmode=verify-ca user=dbadmin', '--sslcertdir', bundle, '--dialect', 'gaussdb'])
  t.equal(dws.code, 0, dws.out)
  t.match(dws.out, /passphrase from .*client\.key\.cipher/)
  chmodSync(join(bundle, 'cacert.pem'), 0o644)
  const open = run(['check', 'sslmode=verify-ca', '--sslcertdir', bundle, '--dialect', 'gaussdb'])
  t.equal(open.code, 1)
  t.match(open.out, /permission should be u=rw\(600\) or less/)

  const ini = join(home, 'database.ini')
  writeFileSync(ini, `[staging]\nhost=db\nsslmode=verify-ca\nsslrootcert=${fixture('ca.crt')}\n`)
  const fromIni = run(['check', '--ini', `${ini}:staging`, '--json'])
  t.equal(fromIni.code, 0, fromIni.out)
  t.match(JSON.parse(fromIni.out), { sslmode: 'verify-ca' })
})

t.test('colours on a terminal; usage errors exit 2', async (t) => {
  const report = await checkMaterial({ env: { HOME: home }, sslrootcert: '/nonexistent' })
  t.ok(render(report, true).includes('\x1b[31mFAIL'))
  t.equal(run(['probe']).code, 2)
  t.equal(run(['check', '--bogus']).code, 2)
  t.equal(run(['--help']).code, 0)
})

t.test('the SSL policy of the environment is checked too', async (t) => {
  const weak = run(['check', `sslmode=prefer sslrootcert=${fixture('ca.crt')}`], { PGSSLPOLICY: 'recommended' })
  t.equal(weak.code, 1)
  t.match(weak.out, /FAIL\s+policy: dialect and mode .*minimumMode/)
  t.match(weak.out, /FAIL\s+policy: material .*requireClientCertificate/)
  const strong = run(
    [
      'check',
      `sslmode=verify-full sslrootcert=${fixture('ca.crt')} sslcert=${fixture('client.crt')} ` +
        `sslkey=${privateCopy('client.key')}`,
    ],
    { PGSSLPOLICY: 'recommended' },
  )
  t.equal(strong.code, 0, strong.out)
  t.match(strong.out, /OK\s+policy: dialect and mode\s+sslmode verify-full meets env:PGSSLPOLICY=recommended/)
})

t.test('the policy: an OAuth issuer with a mode weaker than verify-full under tokensRequireVerifyFull', async (t) => {
  const oauth = `oauth_issuer=https://login.example oauth_client_id=app sslrootcert=${fixture('ca.crt')}`
  const weak = run(['check', `sslmode=verify-ca ${oauth}`], { PGSSLPOLICY: 'strict' })
  t.equal(weak.code, 1)
  t.match(
    weak.out,
    /FAIL\s+policy: authentication .*tokensRequireVerifyFull.*oauth_issuer is set and sslmode is verify-ca/,
  )
  const policyFile = join(home, 'tokens-policy.json')
  writeFileSync(policyFile, '{ "tokensRequireVerifyFull": true }')
  const strong = run(['check', `sslmode=verify-full ${oauth}`], { PGSSLPOLICY: policyFile })
  t.match(strong.out, /OK\s+policy: authentication\s+checked when the server asks: bearer tokens only over verify-full/)
  const none = run(['check', `sslmode=verify-ca sslrootcert=${fixture('ca.crt')}`], { PGSSLPOLICY: 'strict' })
  t.notMatch(none.out, /tokensRequireVerifyFull/, 'no OAuth settings: no token to refuse')
})

t.test('a URI password is never printed, whatever characters it holds', async (t) => {
  for (const [uri, secret] of [
    ['postgresql://app:Qq7?x:y@db.example/app?sslmode=require', 'Qq7?x:y'],
    ['postgresql://app:Zz9/rest@db.example/app', 'Zz9'],
    ['postgresql://app:p@Ww4@db.example/app', 'Ww4'],
  ] as const) {
    for (const extra of [[], ['--json']]) {
      const { out } = run(['check', uri, ...extra])
      t.notMatch(out, secret, `${uri.replace(secret, '…')} ${extra.join(' ')}`)
    }
  }
  t.match(
    run(['check', 'postgresql://app:Zz9/rest@db.example/app']).out,
    /INVALID_SETTING/,
    'an unencoded "/" in the password is refused',
  )
})

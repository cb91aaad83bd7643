/**
 * The SSL policy against real servers, through every public path (connect with options, env,
 * conninfo, ini; pools): each rule rejecting and accepting, a weaker application option under a
 * stricter environment policy, upgrade vs reject, a TLS 1.2-only server under a TLS 1.3 policy,
 * plaintext fallback blocked, pinning, and the audit trail.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createPool, type PgSslError, type ConnectOptions, type SecurityEvent } from '../../lib/index.js'
import { fixture, privateCopy, startClusters } from '../../scripts/harness.js'
import { isolatedEnv, endsWithNoOpenSockets } from '../support.js'

const clusters = await startClusters({
  sslOn: { ssl: true },
  sslOff: { ssl: false },
  tls12only: { ssl: true, settings: { ssl_max_protocol_version: 'TLSv1.2' } },
  clientCert: { ssl: true, clientCert: true },
})
t.teardown(() => clusters.stopAll())
const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-policy-e2e-'))
const CA = fixture('ca.crt')
const at = (c: { host: string; port: number; user: string }, extra: ConnectOptions = {}): ConnectOptions => ({
  host: c.host,
  port: c.port,
  user: c.user,
  env: isolatedEnv(),
  ...extra,
})

async function outcome(
  options: ConnectOptions,
): Promise<{ error?: PgSslError; report?: Awaited<ReturnType<typeof connect>>['security'] }> {
  try {
    const client = await connect(options)
    const report = client.security
    await client.end()
    return { report }
  } catch (error) {
    return { error: error as PgSslError }
  }
}

t.test('minimumMode: reject by default, upgrade when asked (and the report shows it)', async (t) => {
  const rejected = await outcome(
    at(clusters.sslOn, { sslmode: 'prefer', sslrootcert: CA, policy: { minimumMode: 'verify-full' } }),
  )
  t.equal(rejected.error?.code, 'POLICY_VIOLATION')
  t.equal(rejected.error?.rule, 'minimumMode')
  t.equal(rejected.error?.required, 'sslmode verify-full or stronger')
  t.match(rejected.error?.observed, /prefer/)
  t.equal(rejected.error?.attempts, undefined, 'refused before any network traffic')

  const upgraded = await outcome(
    at(clusters.sslOn, {
      sslmode: 'prefer',
      sslrootcert: CA,
      policy: { minimumMode: 'verify-full', onWeakerMode: 'upgrade' },
    }),
  )
  t.equal(upgraded.report?.requestedMode, 'prefer')
  t.equal(upgraded.report?.effectiveMode, 'verify-full')
  t.equal(upgraded.report?.hostnameVerified, true)
  t.same(upgraded.report?.policy, { sources: ['option'], upgradedFrom: 'prefer' })
  t.match(upgraded.report?.notes.join(' '), /policy raised sslmode prefer to verify-full/)

  const ok = await outcome(
    at(clusters.sslOn, {
      sslmode: 'require',
      sslrootcert: CA,
      policy: 'recommended',
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('client.key'),
    }),
  )
  t.equal(ok.report?.effectiveMode, 'verify-ca', 'require with a root CA satisfies verify-ca')
})

t.test('an application cannot weaken the environment policy', async (t) => {
  const envPolicy = join(dir, 'env-policy.json')
  writeFileSync(envPolicy, JSON.stringify({ minimumMode: 'verify-full', allowPlaintextFallback: false }))
  const env = { ...isolatedEnv(), PGSSLPOLICY: envPolicy }
  const weaker = await outcome(
    at(clusters.sslOn, {
      env,
      sslmode: 'verify-ca',
      sslrootcert: CA,
      policy: { minimumMode: 'disable', allowPlaintextFallback: true },
    }),
  )
  t.equal(weaker.error?.code, 'POLICY_VIOLATION', 'the app policy cannot lower the minimum')
  t.equal(weaker.error?.rule, 'minimumMode')
  const upgraded = await outcome(
    at(clusters.sslOn, { env, sslmode: 'verify-ca', sslrootcert: CA, policy: { onWeakerMode: 'upgrade' } }),
  )
  t.equal(
    upgraded.report?.effectiveMode,
    'verify-full',
    'the app may choose to upgrade: the result still meets the environment minimum',
  )
  t.same(upgraded.report?.policy.sources, [`env:PGSSLPOLICY=${envPolicy}`, 'option'])
  const viaConninfo = await outcome({
    env,
    connectionString: `host=${clusters.sslOn.host} port=${clusters.sslOn.port} user=app sslmode=disable`,
  })
  t.equal(viaConninfo.error?.rule, 'minimumMode', 'nor can a connection string')
  const ini = join(dir, 'weak.ini')
  writeFileSync(
    ini,
    `[postgresql]\nhost=${clusters.sslOn.host}\nport=${clusters.sslOn.port}\nuser=app\nsslmode=allow\n`,
  )
  t.equal((await outcome({ env, ini })).error?.rule, 'minimumMode', 'nor an ini file')
  const good = await outcome(at(clusters.sslOn, { env, sslmode: 'verify-full', sslrootcert: CA }))
  t.same(good.report?.policy.sources, [`env:PGSSLPOLICY=${envPolicy}`])

  writeFileSync(envPolicy, '{ not json')
  t.equal(
    (await outcome(at(clusters.sslOn, { env, sslmode: 'verify-full', sslrootcert: CA }))).error?.code,
    'POLICY_INVALID',
    'a broken policy file is never ignored',
  )
  t.equal(
    (await outcome(at(clusters.sslOn, { env: { ...env, PGSSLPOLICY: 'strictest' } }))).error?.code,
    'POLICY_INVALID',
  )
})

t.test('a TLS 1.2-only server under a TLS 1.3 policy', async (t) => {
  const refused = await outcome(
    at(clusters.tls12only, { sslmode: 'require', policy: { tls: { minVersion: 'TLSv1.3' } } }),
  )
  t.equal(refused.error?.code, 'POLICY_VIOLATION')
  t.equal(refused.error?.rule, 'tls.minVersion')
  t.match(refused.error?.observed, /TLSv1\.2/)
  const accepted = await outcome(at(clusters.sslOn, { sslmode: 'require', policy: { tls: { minVersion: 'TLSv1.3' } } }))
  t.equal(accepted.report?.protocol, 'TLSv1.3')
  const capped = await outcome(at(clusters.sslOn, { sslmode: 'require', policy: { tls: { maxVersion: 'TLSv1.2' } } }))
  t.equal(capped.report?.protocol, 'TLSv1.2', 'a policy maximum is negotiated, not just checked')
  const cipher = await outcome(
    at(clusters.sslOn, {
      sslmode: 'require',
      policy: { tls: { maxVersion: 'TLSv1.2', ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] } },
    }),
  )
  t.equal(cipher.report?.cipher, 'ECDHE-RSA-AES128-GCM-SHA256')
})

t.test('plaintext fallback blocked', async (t) => {
  const allowed = await outcome(at(clusters.sslOff, { sslmode: 'prefer' }))
  t.equal(allowed.report?.fallback, 'plaintext-after-ssl')
  const blocked = await outcome(at(clusters.sslOff, { sslmode: 'prefer', policy: { allowPlaintextFallback: false } }))
  // The client asked for prefer: what refused is the policy, and the error says which rule and why.
  t.equal(blocked.error?.code, 'POLICY_VIOLATION', 'a policy violation, not "client requires SSL"')
  t.equal(blocked.error?.rule, 'allowPlaintextFallback')
  t.equal(blocked.error?.ruleSource, 'option')
  t.match(
    blocked.error?.message,
    /allowPlaintextFallback \(set by option\) requires no plaintext fallback.*server does not support SSL/,
  )
  t.equal(blocked.error?.attempts?.length, 1, 'no plaintext attempt was made')

  // The same rule from the environment's policy file names that source.
  const file = join(isolatedEnv().HOME!, 'no-fallback.json')
  writeFileSync(file, JSON.stringify({ allowPlaintextFallback: false }))
  const fromEnv = await outcome(
    at(clusters.sslOff, { sslmode: 'prefer', env: { ...isolatedEnv(), PGSSLPOLICY: file } }),
  )
  t.equal(fromEnv.error?.rule, 'allowPlaintextFallback')
  t.equal(fromEnv.error?.ruleSource, `env:PGSSLPOLICY=${file}`)
  // And every rule names its source: here a preset given as the option.
  const preset = await outcome(at(clusters.sslOff, { sslmode: 'require', policy: 'recommended' }))
  t.equal(preset.error?.code, 'POLICY_VIOLATION')
  t.equal(preset.error?.ruleSource, 'option:recommended', `${preset.error?.rule} names its source`)
  t.match(preset.error?.message, /\(set by option:recommended\)/)
})

t.test('client certificate, CRL and file-permission rules', async (t) => {
  const noCert = await outcome(
    at(clusters.clientCert, { sslmode: 'verify-ca', sslrootcert: CA, policy: { requireClientCertificate: true } }),
  )
  t.equal(noCert.error?.rule, 'requireClientCertificate')
  const withCert = await outcome(
    at(clusters.clientCert, {
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('client.key'),
      policy: { requireClientCertificate: true },
    }),
  )
  t.equal(withCert.report?.clientCertificateSent, true)
  const noCrl = await outcome(
    at(clusters.sslOn, { sslmode: 'verify-ca', sslrootcert: CA, policy: { requireCrl: true } }),
  )
  t.equal(noCrl.error?.rule, 'requireCrl')
  const withCrl = await outcome(
    at(clusters.sslOn, {
      sslmode: 'verify-ca',
      sslrootcert: CA,
      sslcrl: fixture('ca-empty.crl'),
      policy: { requireCrl: true },
    }),
  )
  t.equal(withCrl.report?.outcome, 'encrypted-verified')
  const openCa = privateCopy('ca.crt')
  const { chmodSync } = await import('node:fs')
  chmodSync(openCa, 0o644)
  const strictFiles = await outcome(
    at(clusters.sslOn, { sslmode: 'verify-ca', sslrootcert: openCa, policy: { filePermissions: 'openGauss-600' } }),
  )
  t.equal(strictFiles.error?.code, 'FILE_PERMISSIONS', 'the policy applies the openGauss rule in the postgres dialect')
  const appOff = await outcome(
    at(clusters.sslOn, {
      sslmode: 'verify-ca',
      sslrootcert: openCa,
      filePermissions: 'off',
      env: { ...isolatedEnv(), PGSSLPOLICY: 'gaussdb' },
    }),
  )
  t.equal(appOff.error?.code, 'FILE_PERMISSIONS', 'filePermissions: off cannot weaken the gaussdb preset')
})

t.test('forbidden modes and dialects (the gaussdb preset)', async (t) => {
  const r = await outcome(
    at(clusters.sslOn, { sslmode: 'verify-full', sslrootcert: CA, policy: { forbiddenModes: ['verify-full'] } }),
  )
  t.equal(r.error?.rule, 'forbiddenModes')
  const d = await outcome(
    at(clusters.sslOn, {
      sslmode: 'verify-ca',
      sslrootcert: CA,
      policy: { allowedDialects: ['gaussdb', 'opengauss'] },
    }),
  )
  t.equal(d.error?.rule, 'allowedDialects')
})

t.test('pinning: match and mismatch', async (t) => {
  const fp = new X509Certificate(readFileSync(fixture('server.crt'))).fingerprint256
  const match = await outcome(at(clusters.sslOn, { sslmode: 'require', policy: { pinnedServerFingerprints: [fp] } }))
  t.equal(match.report?.serverCertificate?.fingerprint256, fp)
  const mismatch = await outcome(
    at(clusters.sslOn, { sslmode: 'require', policy: { pinnedServerFingerprints: ['AB'.repeat(32)] } }),
  )
  t.equal(mismatch.error?.rule, 'pinnedServerFingerprints')
  t.match(mismatch.error?.observed, fp)
})

t.test('certificate expiry: warn (event) and reject', async (t) => {
  const events: SecurityEvent[] = []
  const warned = await outcome(
    at(clusters.sslOn, {
      sslmode: 'require',
      policy: { certificateExpiry: { warnWithinDays: 100_000 } },
      onSecurityEvent: (e) => events.push(e),
    }),
  )
  t.ok(warned.report)
  t.match(
    events.find((e) => e.type === 'certificate-expiring'),
    { certificate: 'server', subject: /CN=localhost/ },
  )
  const rejected = await outcome(
    at(clusters.sslOn, { sslmode: 'require', policy: { certificateExpiry: { rejectWithinDays: 100_000 } } }),
  )
  t.equal(rejected.error?.rule, 'certificateExpiry.rejectWithinDays')
})

t.test('pools enforce the policy on every connection', async (t) => {
  const pool = createPool({
    ...at(clusters.sslOn, { sslmode: 'prefer', policy: { minimumMode: 'verify-ca' } }),
    max: 2,
  })
  const error = (await pool.query('select 1').catch((e: unknown) => e)) as PgSslError
  t.equal(error.code, 'POLICY_VIOLATION')
  t.equal(pool.totalCount, 0)
  await pool.end()
  const good = createPool({
    ...at(clusters.sslOn, {
      sslmode: 'verify-full',
      sslrootcert: CA,
      policy: 'strict',
      sslcrl: fixture('ca-empty.crl'),
    }),
    max: 2,
  })
  const client = await good.connect()
  t.equal(client.security.protocol, 'TLSv1.3')
  client.release()
  await good.end()
})

t.test('audit: callback, client events and the JSON-lines file, without secrets', async (t) => {
  const log = join(dir, 'audit.jsonl')
  const events: SecurityEvent[] = []
  const env = { ...isolatedEnv(), PGSSLAUDITLOG: log }
  const client = await connect(
    at(clusters.sslOff, { env, sslmode: 'prefer', password: 'never-logged', onSecurityEvent: (e) => events.push(e) }),
  )
  await client.end()
  await outcome(
    at(clusters.sslOn, {
      env,
      sslmode: 'prefer',
      policy: { minimumMode: 'verify-ca' },
      onSecurityEvent: (e) => events.push(e),
    }),
  )
  t.same(
    events.map((e) => e.type),
    ['fallback', 'security', 'policy-violation'],
  )
  const lines = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SecurityEvent)
  t.same(
    lines.map((e) => e.type),
    ['fallback', 'security', 'policy-violation'],
  )
  t.match(lines[1], { type: 'security', report: { requestedMode: 'prefer', fallback: 'plaintext-after-ssl' } })
  t.match(lines[2], { type: 'policy-violation', rule: 'minimumMode' })
  t.notMatch(readFileSync(log, 'utf8'), /never-logged/)
})

endsWithNoOpenSockets(t)

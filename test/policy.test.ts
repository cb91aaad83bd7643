/**
 * Policy rules as pure functions: validation, the stricter-of combination, and every enforcement
 * check on its own — each of these assertions fails if its check is removed.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { planAttempts } from '../lib/postgres/plan.js'
import {
  checkDialectAndMode,
  checkExpiry,
  checkMaterial,
  checkNegotiated,
  modeForPolicy,
  withoutPlaintextFallback,
} from '../lib/engine/policy/enforce.js'
import { combinePolicies, loadPolicy, PRESETS, validatePolicy, type SslPolicy } from '../lib/engine/policy/policy.js'
import { fixture } from '../scripts/harness.js'

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-policy-'))
const server = new X509Certificate(readFileSync(fixture('server.crt')))
const now = new Date('2026-11-21T00:00:00Z')

t.test('validation: unknown rules, wrong types, bad fingerprints, files', async (t) => {
  t.throws(() => validatePolicy({ minimumMode: 'verify_ca' }, 'test'), {
    code: 'POLICY_INVALID',
    message: /minimumMode must be one of/,
  })
  t.throws(() => validatePolicy({ minimumMod: 'verify-ca' }, 'test'), {
    code: 'POLICY_INVALID',
    message: /unknown rule "minimumMod"/,
  })
  t.throws(() => validatePolicy({ tls: { minVersion: 'TLS1.3' } }, 'test'), { code: 'POLICY_INVALID' })
  t.throws(() => validatePolicy({ requireCrl: 'yes' }, 'test'), { code: 'POLICY_INVALID' })
  t.throws(() => validatePolicy({ pinnedServerFingerprints: ['AB:CD'] }, 'test'), {
    code: 'POLICY_INVALID',
    message: /SHA-256/,
  })
  t.throws(() => validatePolicy([], 'test'), { code: 'POLICY_INVALID' })
  t.same(loadPolicy('recommended', 'test'), PRESETS.recommended)
  const file = join(dir, 'policy.json')
  writeFileSync(file, JSON.stringify({ minimumMode: 'verify-full', tls: { minVersion: 'TLSv1.3' } }))
  t.same(loadPolicy(file, 'test'), { minimumMode: 'verify-full', tls: { minVersion: 'TLSv1.3' } })
  writeFileSync(file, '{ "minimumMode": ')
  t.throws(() => loadPolicy(file, 'test'), { code: 'POLICY_INVALID', message: /not valid JSON/ })
  t.throws(() => loadPolicy(join(dir, 'missing.json'), 'test'), { code: 'POLICY_INVALID', message: /cannot be read/ })
  t.throws(() => loadPolicy('recomended', 'test'), { code: 'POLICY_INVALID', message: /neither a preset/ })
})

t.test('combination takes the stricter value of every rule', async (t) => {
  const fp = server.fingerprint256
  const a: SslPolicy = {
    minimumMode: 'require',
    onWeakerMode: 'upgrade',
    allowPlaintextFallback: true,
    tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: ['A', 'B'] },
    filePermissions: 'off',
    certificateExpiry: { warnWithinDays: 10 },
    pinnedServerFingerprints: [fp, 'AA'.repeat(32)],
    forbiddenModes: ['allow'],
    allowedDialects: ['postgres', 'gaussdb'],
  }
  const b: SslPolicy = {
    minimumMode: 'verify-ca',
    onWeakerMode: 'reject',
    requireClientCertificate: true,
    allowPlaintextFallback: false,
    tls: { minVersion: 'TLSv1.3', ciphers: ['B', 'C'] },
    filePermissions: 'libpq',
    certificateExpiry: { warnWithinDays: 30, rejectWithinDays: 2 },
    requireCrl: true,
    pinnedServerFingerprints: [fp.replace(/:/g, '').toLowerCase()],
    forbiddenModes: ['verify-full'],
    allowedDialects: ['gaussdb'],
  }
  const expected: SslPolicy = {
    minimumMode: 'verify-ca',
    onWeakerMode: 'reject',
    requireClientCertificate: true,
    allowPlaintextFallback: false,
    tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: ['B'] },
    filePermissions: 'libpq',
    certificateExpiry: { warnWithinDays: 30, rejectWithinDays: 2 },
    requireCrl: true,
    pinnedServerFingerprints: [fp],
    forbiddenModes: ['allow', 'verify-full'],
    allowedDialects: ['gaussdb'],
  }
  t.same(combinePolicies([a, b]), expected)
  t.same(combinePolicies([b, a]).minimumMode, 'verify-ca', 'order does not matter')
  t.same(
    combinePolicies([{ filePermissions: 'openGauss-600' }, { filePermissions: 'libpq' }]).filePermissions,
    'openGauss-600',
  )
  t.same(combinePolicies([]), {})
  // With labels, each rule remembers which policies set it, for the violation message.
  const labelled = combinePolicies(
    [
      { minimumMode: 'verify-ca', tls: { minVersion: 'TLSv1.3' } },
      { minimumMode: 'require', requireCrl: true },
    ],
    ['env:PGSSLPOLICY=strict', 'option'],
  )
  t.same(labelled.ruleSources, {
    minimumMode: ['env:PGSSLPOLICY=strict', 'option'],
    'tls.minVersion': ['env:PGSSLPOLICY=strict'],
    requireCrl: ['option'],
  })
  t.throws(() => combinePolicies([{ tls: { minVersion: 'TLSv1.3' } }, { tls: { maxVersion: 'TLSv1.2' } }]), {
    code: 'POLICY_INVALID',
    message: /no connection could satisfy both/,
  })
})

const plan = (
  sslmode: Parameters<typeof planAttempts>[0]['sslmode'],
  rootCert: 'file' | 'none' = 'none',
  transport: 'tcp' | 'unix' = 'tcp',
) => planAttempts({ sslmode, dialect: 'postgres', rootCert, transport })

t.test('minimumMode: reject, upgrade, what the plan really enforces', async (t) => {
  t.throws(() => modeForPolicy({ minimumMode: 'verify-ca' }, plan('prefer')), {
    code: 'POLICY_VIOLATION',
    rule: 'minimumMode',
    required: 'sslmode verify-ca or stronger',
    observed: /would use prefer/,
  })
  t.same(modeForPolicy({ minimumMode: 'verify-ca', onWeakerMode: 'upgrade' }, plan('prefer')), {
    mode: 'verify-ca',
    upgradedFrom: 'prefer',
  })
  t.same(
    modeForPolicy({ minimumMode: 'verify-ca' }, plan('require', 'file')),
    { mode: 'require' },
    'require with a root CA is verify-ca',
  )
  t.throws(() => modeForPolicy({ minimumMode: 'verify-ca' }, plan('require')), {
    code: 'POLICY_VIOLATION',
    rule: 'minimumMode',
  })
  t.throws(
    () => modeForPolicy({ minimumMode: 'require', onWeakerMode: 'upgrade' }, plan('verify-full', 'file', 'unix')),
    { code: 'POLICY_VIOLATION', rule: 'minimumMode', message: /Unix-domain socket/ },
    'a Unix socket cannot be upgraded',
  )
  t.same(modeForPolicy({}, plan('disable')), { mode: 'disable' })
})

t.test('forbidden modes, allowed dialects', async (t) => {
  t.throws(() => checkDialectAndMode(PRESETS.gaussdb, 'postgres', 'verify-full'), {
    code: 'POLICY_VIOLATION',
    rule: 'forbiddenModes',
  })
  t.throws(() => checkDialectAndMode({ allowedDialects: ['gaussdb'] }, 'postgres', 'verify-ca'), {
    code: 'POLICY_VIOLATION',
    rule: 'allowedDialects',
  })
  t.doesNotThrow(() =>
    checkDialectAndMode({ allowedDialects: ['postgres'], forbiddenModes: ['allow'] }, 'postgres', 'verify-ca'),
  )
})

t.test('no plaintext fallback: prefer keeps only its SSL attempt', async (t) => {
  t.same(
    withoutPlaintextFallback({ allowPlaintextFallback: false }, plan('prefer').attempts).map((a) => a.ssl),
    [true],
  )
  t.same(
    withoutPlaintextFallback({}, plan('prefer').attempts).map((a) => a.ssl),
    [true, false],
  )
  t.same(
    withoutPlaintextFallback({ allowPlaintextFallback: false }, plan('allow').attempts).map((a) => a.ssl),
    [false, true],
    "allow's plaintext is not a fallback",
  )
})

t.test('material rules: client certificate, CRL, expiry', async (t) => {
  t.throws(
    () => checkMaterial({ requireClientCertificate: true }, { clientCertificate: undefined, crlCount: 0 }, now),
    { code: 'POLICY_VIOLATION', rule: 'requireClientCertificate' },
  )
  t.doesNotThrow(() =>
    checkMaterial({ requireClientCertificate: true }, { clientCertificate: server, crlCount: 0 }, now),
  )
  t.throws(() => checkMaterial({ requireCrl: true }, { clientCertificate: undefined, crlCount: 0 }, now), {
    code: 'POLICY_VIOLATION',
    rule: 'requireCrl',
  })
  t.doesNotThrow(() => checkMaterial({ requireCrl: true }, { clientCertificate: undefined, crlCount: 1 }, now))
  const days = Math.floor((new Date(server.validTo).getTime() - now.getTime()) / 86_400_000)
  t.throws(() => checkExpiry({ certificateExpiry: { rejectWithinDays: days + 1 } }, 'server', server, now), {
    code: 'POLICY_VIOLATION',
    rule: 'certificateExpiry.rejectWithinDays',
  })
  t.same(checkExpiry({ certificateExpiry: { rejectWithinDays: days } }, 'server', server, now), [])
  t.match(checkExpiry({ certificateExpiry: { warnWithinDays: days + 1 } }, 'client', server, now), [
    { certificate: 'client', daysLeft: days },
  ])
})

t.test('negotiated rules: TLS version bounds, ciphers, pinning, server expiry', async (t) => {
  const session = {
    protocol: 'TLSv1.2',
    cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
    cipherStandardName: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    peerCertificate: server,
  }
  t.throws(() => checkNegotiated({ tls: { minVersion: 'TLSv1.3' } }, session, now), {
    code: 'POLICY_VIOLATION',
    rule: 'tls.minVersion',
    required: 'TLSv1.3 or newer',
    observed: /negotiated TLSv1.2/,
  })
  t.same(checkNegotiated({ tls: { minVersion: 'TLSv1.2' } }, session, now), [])
  t.throws(() => checkNegotiated({ tls: { maxVersion: 'TLSv1.2' } }, { ...session, protocol: 'TLSv1.3' }, now), {
    code: 'POLICY_VIOLATION',
    rule: 'tls.maxVersion',
  })
  t.throws(() => checkNegotiated({ tls: { ciphers: ['TLS_AES_256_GCM_SHA384'] } }, session, now), {
    code: 'POLICY_VIOLATION',
    rule: 'tls.ciphers',
  })
  t.same(
    checkNegotiated({ tls: { ciphers: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'] } }, session, now),
    [],
    'IANA names work too',
  )
  t.throws(() => checkNegotiated({ pinnedServerFingerprints: ['AA'.repeat(32)] }, session, now), {
    code: 'POLICY_VIOLATION',
    rule: 'pinnedServerFingerprints',
    observed: new RegExp(server.fingerprint256),
  })
  t.same(checkNegotiated({ pinnedServerFingerprints: [server.fingerprint256.toLowerCase()] }, session, now), [])
  t.match(checkNegotiated({ certificateExpiry: { warnWithinDays: 100_000 } }, session, now), [
    { certificate: 'server' },
  ])
})

/**
 * `pg-sslmode check`: checks the certificate material that connect() would use — with the same
 * settings sources and the same loading code — without connecting, and collects every finding
 * instead of stopping at the first: files, permissions, PEM, key ↔ certificate, passphrase, client
 * chain to the root, expiry, CRL freshness.
 */
import type { X509Certificate } from 'node:crypto'
import { DIALECTS } from '../postgres/dialects.js'
import type { ConnectOptions } from '../postgres/options.js'
import { planAttempts } from '../postgres/plan.js'
import { effectiveUser, settingValue } from '../postgres/settings/merge.js'
import { connectionSettings, type ConnectionSettings } from '../postgres/connection-settings.js'
import { verifyChain } from '../engine/tls/chain.js'
import {
  checkDialectAndMode,
  checkMaterial as checkPolicyMaterial,
  modeForPolicy,
  violation,
} from '../engine/policy/enforce.js'
import { loadTlsMaterial, type MaterialRequest, type TlsMaterial } from '../engine/tls/material.js'
import { attempt, attemptPastPermissions, certificateAlone, expiry, failure } from './check-findings.js'

export type { CheckStatus, Finding } from './check-findings.js'
import type { Finding } from './check-findings.js'

export interface CheckReport {
  readonly ok: boolean
  readonly dialect: string
  readonly sslmode: string
  readonly findings: readonly Finding[]
}

const DAY = 86_400_000
export { EXPIRY_WARNING_DAYS } from './check-findings.js'

export async function checkMaterial(options: ConnectOptions = {}, now = new Date()): Promise<CheckReport> {
  let settings: ConnectionSettings
  try {
    settings = connectionSettings(options)
  } catch (error) {
    return {
      ok: false,
      dialect: String(options.dialect ?? 'postgres'),
      sslmode: '?',
      findings: [failure('settings', error)],
    }
  }
  const rules = DIALECTS[settings.dialect]
  const base: MaterialRequest = {
    sendClientCertificate: settingValue(settings, 'sslcertmode') !== 'disable',
    systemRootCert: rules.knowsSystemRootCert,
    trustStoreEnv: settings.trustStoreEnv,
    filePermissions: settings.policy.filePermissions ?? rules.filePermissions,
    ...(rules.keyPassphraseFromCipherFiles ? { cipherFilesFor: { user: effectiveUser(settings) } } : {}),
  }
  const run: CheckRun = {
    settings,
    base,
    now,
    findings: [],
    value: (name) => settingValue(settings, name),
    describe: (name) => {
      const setting = settings.values[name]
      return setting ? `${setting.value} (${setting.source})` : 'not set'
    },
  }
  const { roots, crlCount } = await rootFindings(run)
  const clientCertificate = await clientFindings(run, roots)
  modeFindings(run, roots, clientCertificate, crlCount)
  const { findings } = run
  return {
    ok: findings.every((f) => f.status !== 'fail'),
    dialect: settings.dialect,
    sslmode: settings.sslmode,
    findings,
  }
}

/** What every step of a check shares: the settings, the base material request, where findings go. */
interface CheckRun {
  readonly settings: ConnectionSettings
  readonly base: MaterialRequest
  readonly now: Date
  readonly findings: Finding[]
  readonly value: (name: string) => string | undefined
  /** A setting as "value (source)", or "not set". */
  readonly describe: (name: string) => string
}

/** The root CA, and the CRLs, which libpq only loads with a root CA. */
async function rootFindings(run: CheckRun): Promise<{ roots: TlsMaterial | undefined; crlCount: number }> {
  const { findings, value, describe, base, now } = run
  const rootFile = value('sslrootcert')
  if (!rootFile) {
    findings.push({
      status: 'ok',
      check: 'root CA',
      detail: 'none: the server certificate is verified only in modes that need a root CA (which would fail)',
    })
    return { roots: undefined, crlCount: 0 }
  }
  const roots = await attemptPastPermissions(
    findings,
    'root CA',
    base.filePermissions,
    (filePermissions) => loadTlsMaterial({ ...base, filePermissions, sslrootcert: rootFile }),
    (m) => `${describe('sslrootcert')}: ${m.roots?.length ?? 0} certificate(s)`,
  )
  for (const cert of roots?.roots ?? []) findings.push(expiry('root CA', cert, now, rootFile))
  if (!value('sslcrl') && !value('sslcrldir')) return { roots, crlCount: 0 }
  if (!roots) {
    findings.push({
      status: 'warn',
      check: 'CRLs',
      detail: 'a CRL is set but no root CA: libpq (and this library) ignore CRLs without a root CA',
    })
    return { roots, crlCount: 0 }
  }
  return { roots, crlCount: await crlFindings(run, rootFile) }
}

/** The CRLs: loaded as connect() loads them, each fresh or not. Returns how many were found. */
async function crlFindings(run: CheckRun, rootFile: string): Promise<number> {
  const { findings, value, describe, base, now } = run
  const crlRequest = {
    ...base,
    sslrootcert: rootFile,
    ...(value('sslcrl') ? { sslcrl: value('sslcrl')! } : {}),
    ...(value('sslcrldir') ? { sslcrldir: value('sslcrldir')! } : {}),
  }
  const withCrls = await attempt(
    findings,
    'CRLs',
    () => loadTlsMaterial(crlRequest),
    (m) =>
      `${m.crlList?.length ?? 0} CRL(s) from ` +
      `${[describe('sslcrl'), value('sslcrldir') ? describe('sslcrldir') : ''].filter(Boolean).join(', ')}`,
  )
  const crlCount = withCrls?.crlList?.length ?? 0
  if (withCrls && crlCount === 0) {
    findings.push({
      status: 'fail',
      check: 'CRL freshness',
      detail:
        'no CRL was found (a CRL directory is read as OpenSSL reads it: <issuer hash>.r0, .r1, ' +
        '...): libpq checks CRLs then and refuses every server',
    })
  }
  for (const crl of withCrls?.crlList ?? []) {
    const where = `CRL of ${crl.issuer}`
    if (crl.nextUpdate && crl.nextUpdate < now)
      findings.push({
        status: 'fail',
        check: 'CRL freshness',
        detail: `${where} expired on ${crl.nextUpdate.toISOString()} (nextUpdate): libpq refuses every server then`,
      })
    else if (crl.nextUpdate && crl.nextUpdate.getTime() - now.getTime() < 7 * DAY)
      findings.push({
        status: 'warn',
        check: 'CRL freshness',
        detail: `${where} must be renewed by ${crl.nextUpdate.toISOString()}`,
      })
    else
      findings.push({
        status: 'ok',
        check: 'CRL freshness',
        detail: `${where}: next update ${crl.nextUpdate?.toISOString() ?? 'not stated'}`,
      })
  }
  return crlCount
}

/** The client certificate and key: readable, matching, unexpired, chaining to the root CA. */
async function clientFindings(run: CheckRun, roots: TlsMaterial | undefined): Promise<X509Certificate | undefined> {
  const { findings, value, describe, base, now, settings } = run
  const certFile = value('sslcert')
  if (!certFile || !base.sendClientCertificate) {
    findings.push({
      status: 'ok',
      check: 'client certificate',
      detail: certFile ? 'sslcertmode=disable: not sent' : 'none (one-way authentication)',
    })
    return undefined
  }
  const client = await attemptPastPermissions(
    findings,
    'client certificate and key',
    base.filePermissions,
    (filePermissions) =>
      loadTlsMaterial({
        ...base,
        filePermissions,
        sslcert: certFile,
        ...(value('sslkey') ? { sslkey: value('sslkey')! } : {}),
        ...(settings.values.sslpassword ? { sslpassword: settings.values.sslpassword.value } : {}),
      }),
    (m) =>
      `${describe('sslcert')} with key ${describe('sslkey')}: readable, ` +
      `matching${m.files.keyPassphrase ? `, passphrase from ${m.files.keyPassphrase}` : ''}`,
  )
  // The certificate on its own, so that a key problem does not hide its expiry or its chain.
  const chain = client?.clientChain ?? certificateAlone(certFile)
  if (!chain) return undefined
  findings.push(expiry('client certificate', chain[0]!, now, certFile))
  if (roots?.roots) {
    const result = verifyChain({ presented: chain, roots: roots.roots, now })
    findings.push(
      result.ok
        ? { status: 'ok', check: 'client chain', detail: 'the client certificate chains to sslrootcert' }
        : {
            status: 'warn',
            check: 'client chain',
            detail:
              `${result.message} (the server checks the client certificate against its own ` +
              `ssl_ca_file, which may differ)`,
          },
    )
  }
  return chain[0]
}

/** What the mode will do with this material, and what the policy says of it. */
function modeFindings(
  run: CheckRun,
  roots: TlsMaterial | undefined,
  clientCertificate: X509Certificate | undefined,
  crlCount: number,
): void {
  const { findings, settings, value, now } = run
  const rootFile = value('sslrootcert')
  try {
    const plan = planAttempts({
      sslmode: settings.sslmode,
      dialect: settings.dialect,
      rootCert: roots?.rootCert ?? (rootFile ? 'file' : 'none'),
      transport: 'tcp',
    })
    const source = settings.values.sslmode?.source ?? 'default'
    const detail =
      `${plan.requestedMode}${plan.effectiveMode !== plan.requestedMode ? ` → ${plan.effectiveMode}` : ''} ` +
      `(from ${source})`
    findings.push({
      status: 'ok',
      check: 'sslmode',
      detail: detail + (plan.notes.length ? `: ${plan.notes.join('; ')}` : ''),
    })
    if (settings.policySources.length > 0)
      findings.push(...policyFindings(settings, plan, clientCertificate, crlCount, now))
  } catch (error) {
    findings.push(failure('sslmode', error))
  }
}

/** What the SSL policy (PGSSLPOLICY) says about these settings and files, before any connection. */
function policyFindings(
  settings: ConnectionSettings,
  plan: ReturnType<typeof planAttempts>,
  clientCertificate: X509Certificate | undefined,
  crlCount: number,
  now: Date,
): Finding[] {
  const out: Finding[] = []
  const where = settings.policySources.join(', ')
  const check = (what: string, run: () => string): void => {
    try {
      out.push({ status: 'ok', check: `policy: ${what}`, detail: run() })
    } catch (error) {
      out.push(failure(`policy: ${what}`, error))
    }
  }
  check('dialect and mode', () => {
    checkDialectAndMode(settings.policy, settings.dialect, settings.sslmode)
    const { mode, upgradedFrom } = modeForPolicy(settings.policy, plan)
    return upgradedFrom
      ? `sslmode ${upgradedFrom} will be raised to ${mode} (${where})`
      : `sslmode ${plan.effectiveMode} meets ${where}`
  })
  check('authentication', () => {
    const { channelBinding, allowedAuthMethods, allowKeyLog } = settings.policy
    if (allowKeyLog === false && settingValue(settings, 'sslkeylogfile')) {
      throw violation(
        settings.policy,
        'allowKeyLog',
        'no TLS key log',
        `sslkeylogfile is set (${settingValue(settings, 'sslkeylogfile')})`,
      )
    }
    // An OAuth bearer token goes out only over verify-full under tokensRequireVerifyFull: a weaker
    // mode with oauth_issuer set would be refused at the server's OAUTHBEARER request.
    let mode = plan.effectiveMode
    try {
      mode = modeForPolicy(settings.policy, plan).mode
    } catch {
      // the mode itself breaks the policy: said by "dialect and mode"
    }
    if (settings.policy.tokensRequireVerifyFull && settingValue(settings, 'oauth_issuer') && mode !== 'verify-full') {
      throw violation(
        settings.policy,
        'tokensRequireVerifyFull',
        'a bearer token to be sent only over verify-full',
        `oauth_issuer is set and sslmode is ${mode}`,
      )
    }
    const rules = [
      settings.policy.tokensRequireVerifyFull ? 'bearer tokens only over verify-full' : '',
      channelBinding ? 'channel binding required (SCRAM-SHA-256-PLUS)' : '',
      allowedAuthMethods ? `authentication by ${allowedAuthMethods.join(', ')}` : '',
    ].filter(Boolean)
    return rules.length ? `checked when the server asks: ${rules.join('; ')}` : `no authentication rules in ${where}`
  })
  check('material', () => {
    const warnings = checkPolicyMaterial(settings.policy, { clientCertificate, crlCount }, now)
    return warnings.length
      ? warnings.map((w) => `${w.certificate} certificate expires in ${w.daysLeft} day(s)`).join('; ')
      : `client certificate, CRL and expiry rules of ${where} are met`
  })
  return out
}

/**
 * Policy enforcement, as pure functions the executor calls at two moments:
 * - before connecting: dialect, modes (reject or upgrade), plaintext fallback, client certificate,
 *   CRL, TLS bounds that cannot be met, client certificate expiry;
 * - after the TLS handshake, before any byte of the start-up: negotiated version and cipher,
 *   pinned server fingerprint, server certificate expiry.
 * Each rule lives in exactly one check, so a test that removes it fails.
 */
import type { X509Certificate } from 'node:crypto'
import { PgSslError } from '../errors.js'
import { sslModeRank, type ServerFamily, type SslMode, type TlsVersion } from '../terms.js'
import { fingerprintMatches, tlsRank, type SslPolicy } from './policy.js'

/** A POLICY_VIOLATION naming the rule, where the rule came from, what it requires and what was seen. */
export function violation(
  policy: SslPolicy,
  rule: string,
  required: string,
  observed: string,
  detail?: string,
): PgSslError {
  const sources = policy.ruleSources?.[rule] ?? []
  const from = sources.length > 0 ? ` (set by ${sources.join(', ')})` : ''
  return new PgSslError(
    'POLICY_VIOLATION',
    `SSL policy violation: ${rule}${from} requires ${required}, but ${observed}${detail ? ` (${detail})` : ''}`,
    {
      setting: 'policy',
      rule,
      required,
      observed,
      ...(sources.length > 0 ? { ruleSource: sources.join(', ') } : {}),
      hint:
        `change the connection settings to meet the policy rule ${rule}, or ask whoever owns the ` +
        `policy${sources.length > 0 ? ` (${sources.join(', ')})` : ''} to change it`,
    },
  )
}

/** Rules on the settings alone: dialect and forbidden modes. */
export function checkDialectAndMode(
  policy: SslPolicy,
  dialect: ServerFamily,
  mode: SslMode,
  modeName: string = `sslmode ${mode}`,
): void {
  if (policy.allowedDialects && !policy.allowedDialects.includes(dialect)) {
    throw violation(
      policy,
      'allowedDialects',
      `one of ${policy.allowedDialects.join(', ')}`,
      `the dialect is ${dialect}`,
    )
  }
  if (policy.forbiddenModes?.includes(mode)) {
    throw violation(
      policy,
      'forbiddenModes',
      `an sslmode other than ${policy.forbiddenModes.join(', ')}`,
      `${modeName} is used`,
    )
  }
}

/**
 * minimumMode against what a plan really enforces (require with a root CA counts as verify-ca; a
 * Unix socket as disable). Returns the mode to plan with: the same, or the minimum when the policy
 * says upgrade.
 */
export function modeForPolicy(
  policy: SslPolicy,
  plan: { readonly requestedMode: SslMode; readonly effectiveMode: SslMode; readonly transport: 'tcp' | 'unix' },
): { mode: SslMode; upgradedFrom?: SslMode } {
  const minimum = policy.minimumMode
  if (!minimum) return { mode: plan.requestedMode }
  const effective: SslMode = plan.transport === 'unix' ? 'disable' : plan.effectiveMode
  if (sslModeRank(effective) >= sslModeRank(minimum)) return { mode: plan.requestedMode }
  if (policy.onWeakerMode === 'upgrade' && plan.transport === 'tcp')
    return { mode: minimum, upgradedFrom: plan.requestedMode }
  const why =
    plan.transport === 'unix'
      ? 'a Unix-domain socket never uses SSL'
      : effective !== plan.requestedMode
        ? `sslmode ${plan.requestedMode} enforces ${effective}`
        : undefined
  throw violation(policy, 'minimumMode', `sslmode ${minimum} or stronger`, `the connection would use ${effective}`, why)
}

/** allowPlaintextFallback: false removes prefer's plaintext retry from the plan. */
export function withoutPlaintextFallback<A extends { readonly trigger?: string; readonly ssl: boolean }>(
  policy: SslPolicy,
  attempts: readonly A[],
): readonly A[] {
  if (policy.allowPlaintextFallback !== false) return attempts
  return attempts.filter((a) => !(a.trigger === 'ssl-failed' && !a.ssl))
}

export interface LoadedMaterialFacts {
  readonly clientCertificate: X509Certificate | undefined
  readonly crlCount: number
}

/** Rules on the certificate material, before connecting. Returns expiry warnings. */
export function checkMaterial(policy: SslPolicy, facts: LoadedMaterialFacts, now: Date): ExpiryWarning[] {
  if (policy.requireClientCertificate && !facts.clientCertificate) {
    throw violation(
      policy,
      'requireClientCertificate',
      'a client certificate (two-way authentication)',
      'none is configured (sslcert/sslkey, or sslcertmode=disable)',
    )
  }
  if (policy.requireCrl && facts.crlCount === 0) {
    throw violation(
      policy,
      'requireCrl',
      'a certificate revocation list (sslcrl or sslcrldir, with a root CA)',
      'none is loaded',
    )
  }
  return facts.clientCertificate ? checkExpiry(policy, 'client', facts.clientCertificate, now) : []
}

export interface ExpiryWarning {
  readonly certificate: 'server' | 'client'
  readonly subject: string
  readonly validTo: string
  readonly daysLeft: number
}

export function checkExpiry(
  policy: SslPolicy,
  which: 'server' | 'client',
  cert: X509Certificate,
  now: Date,
): ExpiryWarning[] {
  const limits = policy.certificateExpiry
  if (!limits) return []
  const validTo = new Date(cert.validTo)
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000)
  const subject = cert.subject.replace(/\n/g, ', ')
  if (limits.rejectWithinDays !== undefined && daysLeft < limits.rejectWithinDays) {
    throw violation(
      policy,
      'certificateExpiry.rejectWithinDays',
      `a ${which} certificate valid for at least ${limits.rejectWithinDays} more days`,
      `"${subject}" expires in ${daysLeft} day(s)`,
    )
  }
  if (limits.warnWithinDays !== undefined && daysLeft < limits.warnWithinDays) {
    return [{ certificate: which, subject, validTo: validTo.toISOString(), daysLeft }]
  }
  return []
}

export interface NegotiatedFacts {
  readonly protocol: string | null
  readonly cipher: string | null
  readonly cipherStandardName: string | null
  readonly peerCertificate: X509Certificate | undefined
}

/** Rules on the finished TLS handshake. Returns expiry warnings for the server certificate. */
export function checkNegotiated(policy: SslPolicy, session: NegotiatedFacts, now: Date): ExpiryWarning[] {
  const protocol = session.protocol as TlsVersion | null
  const { minVersion, maxVersion, ciphers } = policy.tls ?? {}
  if (minVersion && (!protocol || tlsRank(protocol) < tlsRank(minVersion))) {
    throw violation(
      policy,
      'tls.minVersion',
      `${minVersion} or newer`,
      `the server negotiated ${protocol ?? 'an unknown version'}`,
    )
  }
  if (maxVersion && protocol && tlsRank(protocol) > tlsRank(maxVersion)) {
    throw violation(policy, 'tls.maxVersion', `${maxVersion} or older`, `the server negotiated ${protocol}`)
  }
  if (ciphers && !ciphers.some((c) => c === session.cipher || c === session.cipherStandardName)) {
    throw violation(
      policy,
      'tls.ciphers',
      `one of ${ciphers.join(', ')}`,
      `the server negotiated ${session.cipher ?? 'no cipher'}`,
    )
  }
  if (policy.pinnedServerFingerprints) {
    const fp = session.peerCertificate?.fingerprint256 ?? 'none'
    if (!fingerprintMatches(policy.pinnedServerFingerprints, fp)) {
      throw violation(
        policy,
        'pinnedServerFingerprints',
        'a server certificate with a pinned SHA-256 fingerprint',
        `the server presented ${fp}`,
      )
    }
  }
  return session.peerCertificate ? checkExpiry(policy, 'server', session.peerCertificate, now) : []
}

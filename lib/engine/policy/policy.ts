/**
 * SSL policy: rules a security team states once and no connection through this library can
 * break. Policies come from connect({ policy }) and from PGSSLPOLICY (a preset name or a JSON
 * file); several combine by taking the stricter value of every rule, so an application can never
 * weaken what its environment imposes.
 */
import { readFileSync } from 'node:fs'
import { PgSslError } from '../errors.js'
import {
  SERVER_FAMILIES,
  SSL_MODES,
  sslModeRank,
  TLS_VERSIONS,
  tlsRank,
  type ServerFamily,
  type SslMode,
  type TlsVersion,
} from '../terms.js'
import { FILE_PERMISSION_RULES, type FilePermissionRule } from '../tls/permissions.js'

export interface SslPolicy {
  /** The weakest acceptable sslmode (disable < allow < prefer < require < verify-ca < verify-full). */
  minimumMode?: SslMode
  /** What to do with a weaker mode: refuse (default) or raise it to minimumMode (reported). */
  onWeakerMode?: 'reject' | 'upgrade'
  /** Two-way authentication: a client certificate must be configured and loaded. */
  requireClientCertificate?: boolean
  /** Whether prefer may fall back to plaintext after its SSL attempt fails. */
  allowPlaintextFallback?: boolean
  tls?: { minVersion?: TlsVersion; maxVersion?: TlsVersion; ciphers?: string[] }
  filePermissions?: FilePermissionRule
  /** Server and client certificates: warn or refuse when they expire within so many days. */
  certificateExpiry?: { warnWithinDays?: number; rejectWithinDays?: number }
  /** A CRL (sslcrl or sslcrldir) must be configured. */
  requireCrl?: boolean
  /** SHA-256 fingerprints (hex, colons optional) one of which the server certificate must have. */
  pinnedServerFingerprints?: string[]
  /** Modes that may not be used at all (e.g. verify-full, which GaussDB(DWS) does not support). */
  forbiddenModes?: SslMode[]
  /** Server families connections may be made to ('mysql' for pg-sslmode/mysql connections). */
  allowedDialects?: ServerFamily[]
  /** 'require': the server must authenticate with SCRAM bound to the TLS session (SCRAM-SHA-256-PLUS). */
  channelBinding?: 'require'
  /**
   * How the server may authenticate the client (none, password, md5, scram-sha-256,
   * scram-sha-256-plus, sha256, md5_sha256, sm3, gss, sspi; for MySQL the authentication plugin:
   * mysql_native_password, caching_sha2_password, sha256_password, mysql_clear_password, client_ed25519).
   */
  allowedAuthMethods?: AuthMethodName[]
  /** false: refuse sslkeylogfile, which writes the session keys to a file (encryption is void for its readers). */
  allowKeyLog?: boolean
  /**
   * true: a bearer token (OAuth, PostgreSQL 18) leaves the process only over TLS that verified the
   * server's chain and host name (verify-full); over anything weaker it is never fetched nor sent.
   */
  tokensRequireVerifyFull?: boolean
  /**
   * Set on a combined policy: for each rule ("allowPlaintextFallback", "tls.minVersion", ...) where
   * it came from (a preset, a file, PGSSLPOLICY, the policy option), so a violation can say so.
   */
  readonly ruleSources?: Readonly<Record<string, readonly string[]>>
}

export type PresetName = 'libpq' | 'recommended' | 'gaussdb' | 'strict'

export const AUTH_METHOD_NAMES = [
  'none',
  'password',
  'md5',
  'scram-sha-256',
  'scram-sha-256-plus',
  'sha256',
  'md5_sha256',
  'sm3',
  'gss',
  'sspi',
  'oauth',
  'mysql_native_password',
  'caching_sha2_password',
  'sha256_password',
  'mysql_clear_password',
  'client_ed25519',
] as const

export type AuthMethodName = (typeof AUTH_METHOD_NAMES)[number]

const RECOMMENDED: SslPolicy = {
  minimumMode: 'verify-ca',
  requireClientCertificate: true,
  allowPlaintextFallback: false,
  tls: { minVersion: 'TLSv1.2' },
  // A key log makes every recorded session readable: never in a hardened setup. (channelBinding
  // is not set: it needs SCRAM passwords, and these presets authenticate with certificates.)
  allowKeyLog: false,
  // A token sent over an unverified session is a stolen login.
  tokensRequireVerifyFull: true,
}

/** The presets, documented as a table in the README (checked by a test). */
export const PRESETS: Readonly<Record<PresetName, SslPolicy>> = {
  libpq: {},
  recommended: RECOMMENDED,
  gaussdb: {
    ...RECOMMENDED,
    tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' },
    filePermissions: 'openGauss-600',
    forbiddenModes: ['verify-full'],
    // GaussDB(DWS) has neither verify-full nor OAuth: the rule would only refuse what cannot happen.
    tokensRequireVerifyFull: undefined,
  },
  strict: {
    minimumMode: 'verify-full',
    allowPlaintextFallback: false,
    tls: { minVersion: 'TLSv1.3' },
    requireCrl: true,
    allowKeyLog: false,
    tokensRequireVerifyFull: true,
  },
}

export { tlsRank }
const PERMISSION_ORDER: readonly FilePermissionRule[] = ['off', 'libpq', 'openGauss-600']

const invalid = (where: string, message: string): PgSslError =>
  new PgSslError('POLICY_INVALID', `invalid SSL policy (${where}): ${message}`, {
    setting: 'policy',
    hint: 'see the policy rules in the README; a policy that cannot be read is never ignored',
  })

const KNOWN = new Set([
  'minimumMode',
  'onWeakerMode',
  'requireClientCertificate',
  'allowPlaintextFallback',
  'tls',
  'filePermissions',
  'certificateExpiry',
  'requireCrl',
  'pinnedServerFingerprints',
  'forbiddenModes',
  'allowedDialects',
  'channelBinding',
  'allowedAuthMethods',
  'allowKeyLog',
  'tokensRequireVerifyFull',
])

/** Check a policy object read from code or JSON; unknown rules and wrong types are errors. */
export function validatePolicy(value: unknown, where: string): SslPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(where, 'a policy is a JSON object or a preset name')
  const p = value as Record<string, unknown>
  for (const key of Object.keys(p)) if (!KNOWN.has(key)) throw invalid(where, `unknown rule "${key}"`)
  const oneOf = <T extends string>(key: string, v: unknown, allowed: readonly T[]): void => {
    if (v !== undefined && !allowed.includes(v as T))
      throw invalid(where, `${key} must be one of ${allowed.join(', ')}`)
  }
  const bool = (key: string): void => {
    if (p[key] !== undefined && typeof p[key] !== 'boolean') throw invalid(where, `${key} must be true or false`)
  }
  oneOf('minimumMode', p.minimumMode, SSL_MODES)
  oneOf('onWeakerMode', p.onWeakerMode, ['reject', 'upgrade'] as const)
  oneOf('filePermissions', p.filePermissions, FILE_PERMISSION_RULES)
  bool('requireClientCertificate')
  bool('allowPlaintextFallback')
  bool('requireCrl')
  bool('allowKeyLog')
  bool('tokensRequireVerifyFull')
  oneOf('channelBinding', p.channelBinding, ['require'] as const)
  if (p.tls !== undefined) {
    const tls = p.tls as Record<string, unknown>
    if (typeof tls !== 'object' || tls === null) throw invalid(where, 'tls must be an object')
    for (const key of Object.keys(tls))
      if (!['minVersion', 'maxVersion', 'ciphers'].includes(key)) throw invalid(where, `unknown rule "tls.${key}"`)
    oneOf('tls.minVersion', tls.minVersion, TLS_VERSIONS)
    oneOf('tls.maxVersion', tls.maxVersion, TLS_VERSIONS)
    if (tls.ciphers !== undefined && (!Array.isArray(tls.ciphers) || tls.ciphers.some((c) => typeof c !== 'string')))
      throw invalid(where, 'tls.ciphers must be a list of cipher names')
  }
  if (p.certificateExpiry !== undefined) {
    const e = p.certificateExpiry as Record<string, unknown>
    for (const key of ['warnWithinDays', 'rejectWithinDays']) {
      if (e[key] !== undefined && (typeof e[key] !== 'number' || (e[key] as number) < 0))
        throw invalid(where, `certificateExpiry.${key} must be a number of days`)
    }
  }
  const list = (key: string, allowed?: readonly string[]): void => {
    const v = p[key]
    if (v === undefined) return
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || (allowed && !allowed.includes(x)))) {
      throw invalid(where, `${key} must be a list${allowed ? ` of ${allowed.join(', ')}` : ' of strings'}`)
    }
  }
  list('pinnedServerFingerprints')
  list('forbiddenModes', SSL_MODES)
  list('allowedDialects', SERVER_FAMILIES)
  list('allowedAuthMethods', AUTH_METHOD_NAMES)
  for (const fp of (p.pinnedServerFingerprints as string[] | undefined) ?? []) {
    if (!/^([0-9a-f]{2}:?){31}[0-9a-f]{2}$/i.test(fp))
      throw invalid(where, `pinned fingerprint "${fp}" is not a SHA-256 fingerprint`)
  }
  return p as SslPolicy
}

/** A preset name, a policy object, or a JSON file (for PGSSLPOLICY). */
export function loadPolicy(source: string | SslPolicy, where: string): SslPolicy {
  if (typeof source !== 'string') return validatePolicy(source, where)
  if (Object.hasOwn(PRESETS, source)) return PRESETS[source as PresetName]
  if (!source.includes('/') && !source.endsWith('.json')) {
    throw invalid(where, `"${source}" is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a policy file path`)
  }
  let text: string
  try {
    text = readFileSync(source, 'utf8')
  } catch (error) {
    throw new PgSslError(
      'POLICY_INVALID',
      `the SSL policy file "${source}" (${where}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        setting: 'policy',
        file: source,
        hint: 'a policy that cannot be read is never ignored: fix the path or unset the variable',
      },
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new PgSslError(
      'POLICY_INVALID',
      `the SSL policy file "${source}" is not valid JSON: ${(error as Error).message}`,
      { setting: 'policy', file: source },
    )
  }
  return validatePolicy(parsed, `${where} ${source}`)
}

const maxBy = <T>(a: T | undefined, b: T | undefined, rank: (v: T) => number): T | undefined =>
  a === undefined ? b : b === undefined ? a : rank(a) >= rank(b) ? a : b
const minBy = <T>(a: T | undefined, b: T | undefined, rank: (v: T) => number): T | undefined =>
  a === undefined ? b : b === undefined ? a : rank(a) <= rank(b) ? a : b
const intersect = <T>(
  a: T[] | undefined,
  b: T[] | undefined,
  eq: (x: T, y: T) => boolean = (x, y) => x === y,
): T[] | undefined => (a === undefined ? b : b === undefined ? a : a.filter((x) => b.some((y) => eq(x, y))))
const normalizeFingerprint = (fp: string): string => fp.replace(/:/g, '').toUpperCase()

type Environment = Readonly<Record<string, string | undefined>>

/**
 * PGSSLPOLICY and PGSSLAUDITLOG as they apply to one connection. The process environment's always
 * apply: the `env` option says where a connection's settings are read, and an application that
 * passes one (`env: { HOME }`) must not take the environment's policy or audit log away with it.
 * When the `env` option names a policy or log of its own, that one applies as well.
 */
export function environmentControls(
  envOption: Environment | undefined,
  processEnv: Environment = process.env,
): { policies: string[]; auditLogs: string[] } {
  const both = (name: string): string[] => {
    const fromProcess = processEnv[name]
    const fromOption = envOption?.[name]
    const out: string[] = []
    if (typeof fromProcess === 'string' && fromProcess !== '') out.push(fromProcess)
    if (typeof fromOption === 'string' && fromOption !== '' && fromOption !== fromProcess) out.push(fromOption)
    return out
  }
  return { policies: both('PGSSLPOLICY'), auditLogs: both('PGSSLAUDITLOG') }
}

/**
 * The policies in force for a connection: PGSSLPOLICY (environmentControls; the application cannot
 * weaken it), the policy option, then any `extra` rules the caller adds — each labelled with where
 * it came from.
 */
export function policiesInForce(
  environmentPolicies: readonly string[],
  option: string | SslPolicy | undefined,
  extra: ReadonlyArray<[SslPolicy, string]> = [],
): { policy: SslPolicy; sources: string[] } {
  const policies: SslPolicy[] = []
  const sources: string[] = []
  for (const value of environmentPolicies) {
    policies.push(loadPolicy(value, 'PGSSLPOLICY'))
    sources.push(`env:PGSSLPOLICY=${value}`)
  }
  if (option !== undefined) {
    policies.push(loadPolicy(option, 'policy option'))
    sources.push(typeof option === 'string' ? `option:${option}` : 'option')
  }
  for (const [policy, source] of extra) {
    policies.push(policy)
    sources.push(source)
  }
  return { policy: combinePolicies(policies, sources), sources }
}

/** The stricter value of every rule. */
export function combinePolicies(policies: readonly SslPolicy[], labels: readonly string[] = []): SslPolicy {
  let out: SslPolicy = {}
  const ruleSources: Record<string, string[]> = {}
  policies.forEach((p, i) => {
    for (const [key, value] of Object.entries(p)) {
      if (value === undefined || key === 'ruleSources') continue
      const rules =
        key === 'tls' || key === 'certificateExpiry' ? Object.keys(value as object).map((k) => `${key}.${k}`) : [key]
      for (const rule of rules) {
        ruleSources[rule] ??= []
        ruleSources[rule].push(labels[i] ?? 'policy')
      }
    }
  })
  for (const p of policies) {
    const tls = {
      minVersion: maxBy(out.tls?.minVersion, p.tls?.minVersion, tlsRank),
      maxVersion: minBy(out.tls?.maxVersion, p.tls?.maxVersion, tlsRank),
      ciphers: intersect(out.tls?.ciphers, p.tls?.ciphers),
    }
    const expiry = {
      warnWithinDays: maxBy(out.certificateExpiry?.warnWithinDays, p.certificateExpiry?.warnWithinDays, (n) => n),
      rejectWithinDays: maxBy(out.certificateExpiry?.rejectWithinDays, p.certificateExpiry?.rejectWithinDays, (n) => n),
    }
    out = dropUndefined({
      minimumMode: maxBy(out.minimumMode, p.minimumMode, sslModeRank),
      onWeakerMode:
        out.onWeakerMode === 'reject' || p.onWeakerMode === 'reject' ? 'reject' : (out.onWeakerMode ?? p.onWeakerMode),
      requireClientCertificate: out.requireClientCertificate || p.requireClientCertificate || undefined,
      allowPlaintextFallback:
        out.allowPlaintextFallback === false || p.allowPlaintextFallback === false
          ? false
          : (out.allowPlaintextFallback ?? p.allowPlaintextFallback),
      tls: Object.values(tls).some((v) => v !== undefined) ? dropUndefined(tls) : undefined,
      filePermissions: maxBy(out.filePermissions, p.filePermissions, (r) => PERMISSION_ORDER.indexOf(r)),
      certificateExpiry: Object.values(expiry).some((v) => v !== undefined) ? dropUndefined(expiry) : undefined,
      requireCrl: out.requireCrl || p.requireCrl || undefined,
      pinnedServerFingerprints: intersect(
        out.pinnedServerFingerprints,
        p.pinnedServerFingerprints,
        (x, y) => normalizeFingerprint(x) === normalizeFingerprint(y),
      ),
      forbiddenModes:
        out.forbiddenModes || p.forbiddenModes
          ? [...new Set([...(out.forbiddenModes ?? []), ...(p.forbiddenModes ?? [])])]
          : undefined,
      allowedDialects: intersect(out.allowedDialects, p.allowedDialects),
      channelBinding: out.channelBinding === 'require' || p.channelBinding === 'require' ? 'require' : undefined,
      allowedAuthMethods: intersect(out.allowedAuthMethods, p.allowedAuthMethods),
      allowKeyLog: out.allowKeyLog === false || p.allowKeyLog === false ? false : (out.allowKeyLog ?? p.allowKeyLog),
      tokensRequireVerifyFull: out.tokensRequireVerifyFull || p.tokensRequireVerifyFull || undefined,
    })
  }
  if (out.tls?.minVersion && out.tls.maxVersion && tlsRank(out.tls.minVersion) > tlsRank(out.tls.maxVersion)) {
    throw invalid(
      'combined',
      `tls.minVersion ${out.tls.minVersion} is above tls.maxVersion ${out.tls.maxVersion}: no ` +
        `connection could satisfy both`,
    )
  }
  return labels.length > 0 && Object.keys(ruleSources).length > 0 ? { ...out, ruleSources } : out
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

export function fingerprintMatches(pins: readonly string[], fingerprint256: string): boolean {
  const wanted = normalizeFingerprint(fingerprint256)
  return pins.some((p) => normalizeFingerprint(p) === wanted)
}

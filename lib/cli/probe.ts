/**
 * `pg-sslmode probe`: connects to one live server once per sslmode (with the certificates the
 * settings name) and shows what each mode yields — the seed table's row for that server — plus
 * the TLS versions it accepts, its certificate, and whether it can satisfy a policy. It sends no
 * query but `select 1`.
 */
import { connect } from '../postgres/client.js'
import { ERROR_CODES, isPgSslError, PgSslError, sslCodeOf, type PgSslServerError } from '../engine/errors.js'
import type { ConnectOptions } from '../postgres/options.js'
import { loadPolicy, type SslPolicy } from '../engine/policy/policy.js'
import type { CertificateSummary, Outcome, SecurityReport } from '../engine/report.js'
import { SSL_MODES, type SslMode } from '../postgres/settings/keywords.js'
import { connectionSettings } from '../postgres/connection-settings.js'
import { settingValue } from '../postgres/settings/merge.js'
import { tlsFacts } from './tls-facts.js'

export interface ModeResult {
  readonly mode: SslMode
  readonly outcome: Outcome | 'failed'
  /** The seed manuals' wording of the result. */
  readonly result: string
  readonly protocol: string | null
  readonly cipher: string | null
  readonly fallback: string
  /** How the server authenticated the client in this mode (and whether SCRAM was channel-bound). */
  readonly authentication?: string
  readonly code?: string
  readonly message?: string
  /** Where a failed mode stopped: connect, ssl-request, tls-handshake, verification, authentication, ... */
  readonly step?: string
}

export interface ProbeReport {
  readonly host: string | undefined
  readonly port: number | undefined
  /** The server could be reached at all (TCP); false: nothing else in the report is the server's. */
  readonly reachable: boolean
  /** Why it could not be reached (the socket error), when it could not. */
  readonly unreachable?: string
  /** What the answers say about the server: the server columns of the client × server table (README). */
  readonly server: { readonly ssl: boolean | 'unknown'; readonly requireSsl: boolean | 'unknown' }
  readonly modes: readonly ModeResult[]
  readonly tlsVersions: Readonly<Record<'TLSv1.2' | 'TLSv1.3', boolean>>
  readonly certificate: CertificateSummary | null
  /** The chain the server presents, leaf first, read without verifying it (tls-facts.ts). */
  readonly chain: readonly CertificateSummary[]
  readonly policy?: { readonly satisfied: boolean; readonly detail: string }
}

const WORDING: Record<Outcome, string> = {
  unencrypted: 'connected, not encrypted',
  encrypted: 'connected, encrypted',
  'encrypted-verified': 'connected, encrypted, server certificate verified',
}

async function tryConnect(
  options: ConnectOptions,
): Promise<{ report?: Awaited<ReturnType<typeof connect>>['security']; error?: PgSslError | PgSslServerError }> {
  try {
    const client = await connect(options)
    try {
      await client.query('select 1')
    } finally {
      await client.end()
    }
    return { report: client.security }
  } catch (error) {
    // Both forms: our own errors, and server refusals (pg's DatabaseError with sslCode).
    if (isPgSslError(error)) return { error }
    return { error: new PgSslError('CONNECTION_FAILED', String((error as Error)?.message ?? error)) }
  }
}

export async function probe(base: ConnectOptions, policy?: string | SslPolicy): Promise<ProbeReport> {
  // The probe's connections are connections like any other: the environment's policy (PGSSLPOLICY)
  // applies to each and refuses the modes it forbids, and PGSSLAUDITLOG records them.
  const envPolicy = (base.env ?? process.env).PGSSLPOLICY
  const target = targetOf(base)
  // The server's TLS first, read without verifying or logging in: it is shown whatever the modes say.
  const tls = target ? await tlsFacts(target.host, target.port) : undefined
  const modes: ModeResult[] = []
  let certificate: CertificateSummary | null = tls?.chain[0] ?? null
  let host = target?.host
  let port = target?.port
  for (const mode of SSL_MODES) {
    const { report, error } = await tryConnect({ ...base, sslmode: mode })
    if (report) {
      host ??= report.host
      port ??= report.port
      certificate ??= report.serverCertificate
    }
    modes.push(modeResult(mode, report, error))
  }
  const reachable = (tls?.reachable ?? false) || modes.some((m) => m.outcome !== 'failed')
  const server = serverFacts(modes, tls?.ssl)
  const wanted = policy ?? envPolicy
  const policyResult = wanted === undefined || !reachable ? undefined : await underPolicy(base, wanted)
  return {
    host,
    port,
    reachable,
    ...(!reachable && tls?.error ? { unreachable: tls.error } : {}),
    server,
    modes,
    tlsVersions: tls?.versions ?? { 'TLSv1.2': false, 'TLSv1.3': false },
    certificate,
    chain: tls?.chain ?? [],
    ...(policyResult ? { policy: policyResult } : {}),
  }
}

/** The first host and port of the settings (a Unix socket has no TLS to read: undefined). */
function targetOf(base: ConnectOptions): { host: string; port: number } | undefined {
  try {
    const settings = connectionSettings(base)
    const host = (settingValue(settings, 'hostaddr') ?? settingValue(settings, 'host') ?? 'localhost').split(',')[0]!
    const port = Number((settingValue(settings, 'port') ?? '5432').split(',')[0] || 5432)
    return host.startsWith('/') ? undefined : { host: host || 'localhost', port }
  } catch {
    return undefined // the modes report the settings' error
  }
}

/** Where a mode that failed stopped, by its code. */
const STEPS: Readonly<Record<string, string>> = {
  CONNECTION_FAILED: 'connect',
  CONNECT_TIMEOUT: 'connect',
  SSL_DISABLED_ON_SERVER: 'ssl-request',
  SSL_HANDSHAKE_FAILED: 'tls-handshake',
  PROTOCOL_VIOLATION: 'protocol',
  ROOT_CERT_MISSING: 'settings',
  INVALID_SETTING: 'settings',
  FILE_NOT_FOUND: 'settings',
  CERT_VERIFY_FAILED: 'verification',
  HOSTNAME_MISMATCH: 'verification',
  POLICY_VIOLATION: 'policy',
  SSL_REQUIRED_BY_SERVER: 'startup: the server refuses plaintext',
  PASSWORD_REQUIRED: 'authentication',
  AUTH_METHOD_NOT_ALLOWED: 'authentication',
  CHANNEL_BINDING_REQUIRED: 'authentication',
  OAUTH_FAILED: 'authentication',
  CLIENT_CERT_REQUIRED: 'authentication',
  UNSUPPORTED_AUTH: 'authentication',
}

function stepOf(code: string, error: PgSslError | PgSslServerError | undefined): string {
  // A server refusal before the session: pg_hba.conf or the password (SQLSTATE 28xxx), else the start-up.
  if (code !== 'SERVER_REJECTED') return STEPS[code] ?? 'startup'
  return (error as { sqlstate?: string })?.sqlstate?.startsWith('28') ? 'authentication' : 'startup'
}

/** One mode's row: what the connection was, or which code refused it. */
function modeResult(
  mode: SslMode,
  report: SecurityReport | undefined,
  error: PgSslError | PgSslServerError | undefined,
): ModeResult {
  if (report) {
    return {
      mode,
      outcome: report.outcome,
      result: WORDING[report.outcome] + (report.hostnameVerified ? ', host name verified' : ''),
      protocol: report.protocol,
      cipher: report.cipher,
      fallback: report.fallback,
      authentication: report.authentication,
    }
  }
  const code = sslCodeOf(error) ?? 'CONNECTION_FAILED'
  return {
    mode,
    outcome: 'failed',
    result: ERROR_CODES[code].summary,
    protocol: null,
    cipher: null,
    fallback: 'none',
    code,
    message: error!.message,
    step: stepOf(code, error),
  }
}

/**
 * What the answers tell of the server: ssl on or off (the SSLRequest's answer, else the modes),
 * and whether it refuses plaintext (require_ssl / hostssl): a plaintext start-up that got as far
 * as authentication was accepted.
 */
function serverFacts(modes: readonly ModeResult[], sslAnswer: boolean | 'unknown' | undefined): ProbeReport['server'] {
  const byMode = (m: SslMode) => modes.find((r) => r.mode === m)!
  const require = byMode('require')
  const fromModes = require.code === 'SSL_DISABLED_ON_SERVER' ? false : require.outcome === 'failed' ? 'unknown' : true
  const ssl = sslAnswer === true || sslAnswer === false ? sslAnswer : fromModes
  const disable = byMode('disable')
  // require_ssl only means something when ssl is on (docs/modes.md: the ssl=off rows hold for both).
  const requireSsl =
    ssl !== true
      ? 'unknown'
      : disable.code === 'SSL_REQUIRED_BY_SERVER'
        ? true
        : disable.outcome === 'unencrypted' || disable.step === 'authentication'
          ? false
          : 'unknown'
  return { ssl, requireSsl }
}

/** Can this server be reached under the policy? The mode may be raised to its minimum. */
async function underPolicy(base: ConnectOptions, wanted: string | SslPolicy): Promise<ProbeReport['policy']> {
  const rules = loadPolicy(wanted, '--policy')
  const { report, error } = await tryConnect({
    ...base,
    policy: { ...rules, onWeakerMode: rules.onWeakerMode ?? 'upgrade' },
  })
  return report
    ? {
        satisfied: true,
        detail:
          `connected with ${report.effectiveMode}, ` +
          `${report.protocol ?? 'no TLS'}${report.cipher ? ` ${report.cipher}` : ''}`,
      }
    : { satisfied: false, detail: error!.message }
}

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
}

export interface ProbeReport {
  readonly host: string | undefined
  readonly port: number | undefined
  /** What the answers say about the server: the server columns of the client × server table (README). */
  readonly server: { readonly ssl: boolean | 'unknown'; readonly requireSsl: boolean | 'unknown' }
  readonly modes: readonly ModeResult[]
  readonly tlsVersions: Readonly<Record<'TLSv1.2' | 'TLSv1.3', boolean>>
  readonly certificate: CertificateSummary | null
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
  const modes: ModeResult[] = []
  let certificate: CertificateSummary | null = null
  let host: string | undefined
  let port: number | undefined
  for (const mode of SSL_MODES) {
    const { report, error } = await tryConnect({ ...base, sslmode: mode })
    if (report) {
      host ??= report.host
      port ??= report.port
      certificate ??= report.serverCertificate
    }
    modes.push(modeResult(mode, report, error))
  }
  const server = serverFacts(modes)
  const tlsVersions = server.ssl === true ? await tlsVersionsOf(base) : { 'TLSv1.2': false, 'TLSv1.3': false }
  const wanted = policy ?? envPolicy
  const policyResult = wanted === undefined ? undefined : await underPolicy(base, wanted)
  return {
    host,
    port,
    server,
    modes,
    tlsVersions,
    certificate,
    ...(policyResult ? { policy: policyResult } : {}),
  }
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
  }
}

/** What the modes tell of the server: ssl on or off, and whether it refuses plaintext (require_ssl). */
function serverFacts(modes: readonly ModeResult[]): ProbeReport['server'] {
  const byMode = (m: SslMode) => modes.find((r) => r.mode === m)!
  const ssl =
    byMode('require').code === 'SSL_DISABLED_ON_SERVER'
      ? false
      : byMode('require').outcome === 'failed'
        ? 'unknown'
        : true
  // require_ssl only means something when ssl is on (docs/modes.md: the ssl=off rows hold for both).
  const requireSsl =
    ssl !== true
      ? 'unknown'
      : byMode('disable').code === 'SSL_REQUIRED_BY_SERVER'
        ? true
        : byMode('disable').outcome === 'unencrypted'
          ? false
          : 'unknown'
  return { ssl, requireSsl }
}

/** Which TLS versions the server accepts: require, pinned to each version in turn. */
async function tlsVersionsOf(base: ConnectOptions): Promise<ProbeReport['tlsVersions']> {
  const tlsVersions = { 'TLSv1.2': false, 'TLSv1.3': false }
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const { report } = await tryConnect({
      ...base,
      sslmode: 'require',
      ssl_min_protocol_version: version,
      ssl_max_protocol_version: version,
    })
    tlsVersions[version] = report?.protocol === version
  }
  return tlsVersions
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

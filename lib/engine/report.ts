/**
 * SecurityReport: what a connection really negotiated, read from the live socket — not from the
 * settings. It holds no secrets (no password, passphrase or key), so it can be logged as is.
 */
import type { X509Certificate } from 'node:crypto'
import type { PgSslErrorCode, VerifyFailureReason } from './errors.js'
import type { ServerFamily, SslMode } from './terms.js'

/** How the client reached the server: TCP, or a Unix-domain socket (never encrypted). */
export type Transport = 'tcp' | 'unix'

export type Outcome = 'unencrypted' | 'encrypted' | 'encrypted-verified'
export type Fallback = 'none' | 'plaintext-after-ssl' | 'ssl-after-plaintext'

export interface CertificateSummary {
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
  readonly validFrom: string
  readonly validTo: string
  readonly fingerprint256: string
  readonly subjectAltName: string | null
}

export interface AttemptRecord {
  readonly host: string
  readonly port: number
  readonly ssl: boolean
  readonly verifyChain: boolean
  readonly verifyHostname: boolean
  /** Whether this attempt reused the socket of the one before (prefer after 'N'). */
  readonly sameSocket: boolean
  readonly result: 'connected' | 'failed'
  readonly failure?: {
    readonly code: PgSslErrorCode
    readonly message: string
    readonly sqlstate?: string
    readonly reason?: VerifyFailureReason
  }
}

/**
 * The same report for both protocols: `Mode` and `Family` are libpq's sslmode and the PostgreSQL
 * dialect by default, MySQL's ssl-mode and 'mysql' for pg-sslmode/mysql connections.
 */
export interface SecurityReport<Mode extends string = SslMode, Family extends string = ServerFamily> {
  readonly requestedMode: Mode
  readonly effectiveMode: Mode
  readonly dialect: Family
  readonly transport: Transport
  readonly host: string
  readonly port: number
  readonly encrypted: boolean
  readonly serverCertificateVerified: boolean
  readonly hostnameVerified: boolean
  readonly protocol: string | null
  /**
   * How TLS was started: after an SSLRequest (postgres), at once with ALPN (direct, PG17+), or after MySQL's SSL
   * request (mysql).
   */
  readonly negotiation: 'postgres' | 'direct' | 'mysql' | null
  /** OpenSSL's name of the cipher suite, as libpq's PQsslAttribute and pg_stat_ssl show it. */
  readonly cipher: string | null
  /** The IANA/RFC name of the same suite (e.g. TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384). */
  readonly cipherStandardName: string | null
  /**
   * A client certificate was loaded for the TLS session that connected. OpenSSL presents it when
   * the server asks (PostgreSQL asks whenever ssl_ca_file is set); Node does not expose whether
   * the server asked, so `serverSawClientCertificate` in pg_stat_ssl is the server-side proof.
   */
  readonly clientCertificateSent: boolean
  readonly fallback: Fallback
  readonly outcome: Outcome
  readonly attempts: readonly AttemptRecord[]
  readonly serverCertificate: CertificateSummary | null
  /** Where the root CA came from: a file path, "system", or null when none was used. */
  readonly rootCertificate: string | null
  /** Why the connection is not what the mode's name suggests (require→verify-ca, Unix socket...). */
  readonly notes: readonly string[]
  /** The SSL policy that applied: where it came from, and whether it raised the mode. */
  readonly policy: { readonly sources: readonly string[]; readonly upgradedFrom: Mode | null }
  /**
   * How the server authenticated the client: none (trust, or a certificate alone), password,
   * md5, scram-sha-256, scram-sha-256-plus (bound to this TLS session), or openGauss's sha256,
   * md5_sha256, sm3.
   */
  readonly authentication: string
  /**
   * Which kind of credential the client logged in with — never its value: none, password,
   * password-file, password-function, token (tokenPassword), aws-rds-iam-token, scram-keys,
   * oauth-bearer-token.
   */
  readonly credential: string
  /** SCRAM channel binding (tls-server-end-point) tied the authentication to this TLS session. */
  readonly channelBinding: boolean
  /** sslkeylogfile: the file this session's TLS secrets are written to — encryption is void for whoever reads it. */
  readonly keyLogFile: string | null
  /**
   * The frontend/backend protocol version of the session: 3.0 (pg's start-up); in the openGauss
   * dialects 3.51 unless max_protocol_version asked for another, or the version a PostgreSQL
   * server named when it declined 3.51 (3.2 for PostgreSQL 18, whose longer cancel key is kept).
   */
  readonly protocolVersion: string
  /**
   * Where the connection's time went, phase by phase (docs/benchmarks.md); null for a report built without a
   * connection.
   */
  readonly timings: ConnectTimings | null
  /**
   * Rounds of attempts this connection waited for and repeated because the server was not up yet (connectRetry, pools).
   */
  readonly connectRetries: number
  /**
   * Where pg-sslmode's own certificate walk disagreed with OpenSSL, which accepted the chain
   * (OpenSSL decides; such a disagreement is recorded, never a refusal). Usually empty.
   */
  readonly diagnostics: readonly string[]
}

export function summarizeCertificate(cert: X509Certificate | undefined): CertificateSummary | null {
  if (!cert) return null
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    subjectAltName: cert.subjectAltName ?? null,
  }
}

export function outcomeOf(encrypted: boolean, verified: boolean): Outcome {
  if (!encrypted) return 'unencrypted'
  return verified ? 'encrypted-verified' : 'encrypted'
}

/** One line for logs and the demo: "encrypted-verified TLSv1.3 TLS_AES_256_GCM_SHA384 (verify-ca)". */
export function describeReport(report: SecurityReport<string, string>): string {
  const tls = report.encrypted ? ` ${report.protocol} ${report.cipher}` : ''
  const fallback = report.fallback === 'none' ? '' : `, fallback ${report.fallback}`
  return `${report.outcome}${tls} (${report.effectiveMode}${fallback})`
}

/**
 * Where the connection's time went, in milliseconds, for the attempt that connected: settings,
 * files and plan (prepare), TCP connect, the SSLRequest round trip, the TLS handshake (with
 * OpenSSL's verification), pg-sslmode's own checks of the peer (explanation, host name, policy),
 * and the start-up (authentication until ReadyForQuery). null where the phase did not happen.
 */
export interface ConnectTimings {
  readonly prepareMs: number
  readonly tcpConnectMs: number
  readonly sslRequestMs: number | null
  readonly tlsHandshakeMs: number | null
  readonly peerCheckMs: number | null
  readonly startupMs: number
}

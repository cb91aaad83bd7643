/**
 * The PostgreSQL side's SecurityReport, built from the plan, the attempts and the live TLS session.
 */
import type { AttemptRecord, ConnectTimings, Fallback, SecurityReport } from '../engine/report.js'
import { outcomeOf, summarizeCertificate } from '../engine/report.js'
import type { AttemptSpec, Plan } from './plan.js'
import type { Endpoint } from './settings/endpoints.js'
import type { TlsSessionFacts } from '../engine/tls/session.js'

export interface ReportInput {
  readonly plan: Plan
  readonly endpoint: Endpoint
  /** The attempt that connected. */
  readonly spec: AttemptSpec
  /** What the report shows of the TLS session of that attempt; undefined in plaintext. */
  readonly session: ReportedSession | undefined
  /** The attempts made against this endpoint, then against every endpoint tried. */
  readonly endpointRecords: readonly AttemptRecord[]
  readonly allRecords: readonly AttemptRecord[]
  readonly clientCertificateLoaded: boolean
  readonly rootCertificateFile: string | undefined
  /** The .key.cipher file the client key's passphrase came from (openGauss/GaussDB bundles). */
  readonly keyPassphraseFile?: string | undefined
  readonly policySources: readonly string[]
  readonly diagnostics?: readonly string[]
  readonly authentication?: { readonly method: string; readonly channelBinding: boolean }
  /** connect/credential.ts: what the client logged in with. */
  readonly credential?: string
  readonly keyLogFile?: string | undefined
  readonly connectRetries?: number
  readonly startup?: { readonly protocolVersion: string; readonly serverSignatureVerified: boolean }
  readonly timings?: ConnectTimings
}

/** The facts of a TLS session the report shows (not the chain: the report does not keep it alive). */
export type ReportedSession = Pick<TlsSessionFacts, 'protocol' | 'cipher' | 'cipherStandardName' | 'peerCertificate'>

/**
 * The report as a function: it is built and frozen when first asked for (SslClient's `security`, a listener of
 * security events), and the same report is returned after — a pool's connections that no one asks about do not
 * pay for the certificate's summary. Until then only what the report shows of the TLS session is kept, not the
 * chain.
 */
export function reportWhenAsked(
  input: ReportInput & { readonly session: TlsSessionFacts | undefined },
): () => SecurityReport {
  const { session } = input
  let pending: ReportInput | undefined = {
    ...input,
    session: session && {
      protocol: session.protocol,
      cipher: session.cipher,
      cipherStandardName: session.cipherStandardName,
      peerCertificate: session.peerCertificate,
    },
  }
  let report: SecurityReport | undefined
  return () => {
    if (!report) {
      report = deepFreeze(buildReport(pending!))
      pending = undefined
    }
    return report
  }
}

export function buildReport(input: ReportInput): SecurityReport {
  const { plan, endpoint, spec, session, endpointRecords, allRecords } = input
  const encrypted = session !== undefined
  const verified = encrypted && spec.verifyChain
  const firstSsl = endpointRecords[0]?.ssl
  let fallback: Fallback = 'none'
  if (endpointRecords.length > 1)
    fallback = firstSsl && !encrypted ? 'plaintext-after-ssl' : !firstSsl && encrypted ? 'ssl-after-plaintext' : 'none'
  return {
    requestedMode: plan.policyUpgradedFrom ?? plan.requestedMode,
    effectiveMode: plan.effectiveMode,
    dialect: plan.dialect,
    transport: plan.transport,
    host: endpoint.host,
    port: endpoint.port,
    encrypted,
    serverCertificateVerified: verified,
    hostnameVerified: encrypted && spec.verifyHostname,
    protocol: session?.protocol ?? null,
    negotiation: encrypted ? (spec.direct ? 'direct' : 'postgres') : null,
    cipher: session?.cipher ?? null,
    cipherStandardName: session?.cipherStandardName ?? null,
    clientCertificateSent: encrypted && input.clientCertificateLoaded,
    fallback,
    outcome: outcomeOf(encrypted, verified),
    attempts: [...allRecords],
    serverCertificate: summarizeCertificate(session?.peerCertificate),
    rootCertificate: spec.verifyChain ? (input.rootCertificateFile ?? null) : null,
    notes: [
      ...fallbackNotes(plan, fallback, endpointRecords),
      ...(encrypted && input.keyPassphraseFile
        ? [`the client key passphrase was read from ${input.keyPassphraseFile} and its .rand pair`]
        : []),
      ...(input.startup?.serverSignatureVerified
        ? [
            `the server proved it knows the password (openGauss SHA256 server signature, protocol ` +
              `${input.startup.protocolVersion})`,
          ]
        : []),
    ],
    policy: { sources: [...input.policySources], upgradedFrom: plan.policyUpgradedFrom ?? null },
    diagnostics: [...(input.diagnostics ?? [])],
    authentication: input.authentication?.method ?? 'none',
    credential: input.credential ?? 'none',
    channelBinding: input.authentication?.channelBinding ?? false,
    keyLogFile: input.keyLogFile ?? null,
    connectRetries: input.connectRetries ?? 0,
    protocolVersion: input.startup?.protocolVersion ?? '3.0',
    timings: input.timings ?? null,
  }
}

function fallbackNotes(plan: Plan, fallback: Fallback, records: readonly AttemptRecord[]): string[] {
  const notes = [...plan.notes]
  const first = records[0]?.failure
  if (fallback === 'plaintext-after-ssl' && first)
    notes.push(`fell back to plaintext after the SSL attempt failed: ${first.message}`)
  if (fallback === 'ssl-after-plaintext' && first)
    notes.push(`retried with SSL after the server rejected plaintext: ${first.message}`)
  return notes
}

/** The report as the client shows it: frozen all the way down, so no one can change what was proved. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    // for...in rather than Object.values(): no array per object (once per connection, all of the report).
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/** The MySQL connection's security report, built at the server's OK from the connection's state. */
import { type ConnectTimings, outcomeOf, summarizeCertificate } from '../engine/report.js'
import { verifiesChain } from './modes.js'
import type { ConnectionState, MysqlSecurityReport } from './state.js'

export function buildMysqlReport(state: ConnectionState): MysqlSecurityReport {
  const prepared = state.prepared!
  const session = state.useTls ? state.session : undefined
  const encrypted = session !== undefined
  const verified = encrypted && verifiesChain(prepared.mode)
  const t = state.times
  const timings: ConnectTimings = {
    prepareMs: prepared.prepareMs,
    tcpConnectMs: (t.tcp ?? t.start) - t.start,
    sslRequestMs: null,
    tlsHandshakeMs: encrypted ? t.tlsEnd! - t.tlsStart! : null,
    peerCheckMs: encrypted ? t.checked! - t.tlsEnd! : null,
    startupMs: (t.authEnd ?? t.start) - (t.hello ?? t.start) - (encrypted ? t.checked! - t.tlsStart! : 0),
  }
  const notes = [...prepared.notes]
  if (state.fallback)
    notes.push(
      "fell back to plaintext: the server's handshake does not offer SSL and ssl-mode PREFERRED continues without it",
    )
  return {
    requestedMode: prepared.upgradedFrom ?? prepared.settings.sslMode,
    effectiveMode: prepared.mode,
    dialect: 'mysql',
    transport: 'tcp',
    host: prepared.host,
    port: prepared.port,
    encrypted,
    serverCertificateVerified: verified,
    hostnameVerified: encrypted && prepared.mode === 'VERIFY_IDENTITY',
    protocol: session?.protocol ?? null,
    negotiation: encrypted ? 'mysql' : null,
    cipher: session?.cipher ?? null,
    cipherStandardName: session?.cipherStandardName ?? null,
    clientCertificateSent: encrypted && prepared.material.cert !== undefined,
    fallback: state.fallback ? 'plaintext-after-ssl' : 'none',
    outcome: outcomeOf(encrypted, verified),
    attempts: [...state.records],
    serverCertificate: summarizeCertificate(session?.peerCertificate),
    rootCertificate: verified
      ? (prepared.material.files.sslrootcert ?? prepared.material.files.sslrootcertdir ?? null)
      : null,
    notes,
    policy: { sources: [...prepared.settings.policySources], upgradedFrom: prepared.upgradedFrom },
    authentication: state.authMethod ?? 'none',
    credential: state.authMethod && prepared.settings.values.has('password') ? 'password' : 'none',
    channelBinding: false,
    keyLogFile: null,
    protocolVersion: String(state.hello!.protocolVersion),
    timings,
    connectRetries: 0,
    diagnostics: [...(state.peer?.diagnostics ?? [])],
    serverVersion: state.hello!.serverVersion,
  }
}

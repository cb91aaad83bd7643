/**
 * What a verifying mode and the SSL policy demand of a finished TLS handshake, checked before any
 * byte of the protocol's start-up (PostgreSQL) or credentials (MySQL) is sent: OpenSSL's verdict,
 * explained by our own walk; libpq's host-name rule (verify-full); the policy's rules on the
 * negotiated session.
 */
import { checkNegotiated, type ExpiryWarning } from './policy/enforce.js'
import type { SslPolicy } from './policy/policy.js'
import type { TlsMaterial } from './tls/material.js'
import type { TlsSessionFacts } from './tls/session.js'

// The chain walk and the host-name rule (peer-verification.ts) load at the first attempt that verifies.
let verification: Promise<typeof import('./peer-verification.js')> | undefined
const loadVerification = () => (verification ??= import('./peer-verification.js'))

/**
 * What the attempt and the SSL policy demand of the finished handshake, checked before any byte
 * of the start-up is sent. Returns the policy's expiry warnings for the server certificate.
 */
export async function checkPeer(
  session: TlsSessionFacts,
  spec: { readonly verifyChain: boolean; readonly verifyHostname: boolean },
  endpoint: { readonly hostName?: string | undefined },
  material: TlsMaterial,
  policy: SslPolicy,
): Promise<PeerCheck> {
  const diagnostics: string[] = []
  if (spec.verifyChain || spec.verifyHostname) {
    const { explainChain, checkHostname } = await loadVerification()
    const disagreement = spec.verifyChain ? explainChain(session, material) : undefined
    if (disagreement) diagnostics.push(disagreement)
    if (spec.verifyHostname) checkHostname(session.peerCertificate, endpoint.hostName)
  }
  return { warnings: checkNegotiated(policy, session, new Date()), diagnostics }
}

export interface PeerCheck {
  /** The policy's expiry warnings for the server certificate. */
  readonly warnings: ExpiryWarning[]
  /** Where our own chain walk disagreed with OpenSSL's acceptance (never a refusal). */
  readonly diagnostics: string[]
}

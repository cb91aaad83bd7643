/** The facts of one TLS session, read when its handshake completes (connect/transport.ts). */
import type { X509Certificate } from 'node:crypto'
import type { CertificateRequestSeen } from './certificate-request.js'

/**
 * What the handshake established, read the moment it completes: Node (OpenSSL) may drop the peer
 * certificate from the socket once a TLS 1.3 session ticket arrives, so it is not read later.
 */
export interface TlsSessionFacts {
  readonly protocol: string | null
  readonly cipher: string | null
  readonly cipherStandardName: string | null
  readonly peerCertificate: X509Certificate | undefined
  /** The ALPN protocol the server chose ("postgresql" for direct negotiation), or null. */
  readonly alpn: string | null
  /** The certificates the server presented, leaf first (as OpenSSL linked them). */
  readonly presented: readonly X509Certificate[]
  /**
   * False when only the leaf was read: the mode does not verify the chain, or OpenSSL accepted the
   * handshake but the server's certificate changed since its chain was last read (handshake.ts),
   * so there is no chain to explain.
   */
  readonly chainComplete?: boolean
  /** OpenSSL's own verdict on the chain against the configured roots (the second line). */
  readonly opensslAuthorized: boolean
  readonly opensslError: string | undefined
  /** With sslcertmode=require: whether the server sent a CertificateRequest. */
  readonly certificateRequest?: CertificateRequestSeen
}

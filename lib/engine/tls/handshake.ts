/**
 * The TLS handshake on a socket whose protocol has agreed to it (PostgreSQL's 'S', MySQL's SSL
 * request), and the facts of the session read from it — the same for both protocols. Nothing is
 * verified here: OpenSSL's verdict is read into the facts and checked afterwards (peer-check.ts).
 */
import { X509Certificate } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls'
import { PgSslError, warnOnce } from '../errors.js'
import { closeQuietly } from '../sockets.js'
import type { TlsSessionFacts } from './session.js'

export interface HandshakeOptions {
  /** sslcertmode=require: watch the handshake for a CertificateRequest. */
  readonly watchCertificateRequest?: boolean
  /** Told the TLS socket as soon as it exists (pg shows it as client.connection.stream). */
  readonly onTlsSocket?: (tls: TLSSocket) => void
  /** sslkeylogfile (PostgreSQL 18): append the session's NSS key-log lines to this file. */
  readonly keyLogFile?: string | undefined
  /**
   * The mode verifies the chain (verify-ca, verify-full, VERIFY_CA, VERIFY_IDENTITY): the whole
   * chain is read, for the walk that explains OpenSSL's verdict. Otherwise nothing looks past the
   * leaf (the host name, pins and expiry are the leaf's), and only the leaf is read. Default true.
   */
  readonly verifiesChain?: boolean
}

export interface TlsHandshake {
  readonly socket: TLSSocket
  readonly session: TlsSessionFacts
}

/** Runs the handshake; a failure rejects with SSL_HANDSHAKE_FAILED and the socket is destroyed. */
export async function runTlsHandshake(
  socket: Socket,
  tlsOptions: ConnectionOptions,
  options: HandshakeOptions = {},
): Promise<TlsHandshake> {
  // sslcertmode=require: watch the handshake for a CertificateRequest (tls/certificate-request.ts,
  // loaded for such connections only; nothing arrives before our ClientHello goes out).
  const watch = options.watchCertificateRequest
    ? (await import('./certificate-request.js')).watchHandshake(socket)
    : undefined
  const tls = tlsConnect({ ...tlsOptions, socket: (watch?.stream ?? socket) as Socket })
  options.onTlsSocket?.(tls)
  if (watch) tls.on('keylog', (line) => watch.keylog(line))
  if (options.keyLogFile) tls.on('keylog', (line) => appendKeyLog(options.keyLogFile!, line))
  const session = await new Promise<TlsSessionFacts>((resolve, reject) => {
    const done = (): void => {
      tls.off('error', onError)
      tls.off('close', onClose)
      tls.off('secureConnect', onSecure)
    }
    const onError = (error: NodeJS.ErrnoException): void => {
      done()
      closeQuietly(tls)
      reject(handshakeError(error))
    }
    // Closed during the handshake without an error — a timeout or end() destroyed the socket (a
    // peer's close arrives as an error): the handshake is over, and so is the wait for it.
    const onClose = (): void => {
      done()
      reject(
        new PgSslError(
          'SSL_HANDSHAKE_FAILED',
          'SSL handshake failed: the connection was closed before the handshake completed',
        ),
      )
    }
    const onSecure = (): void => {
      done()
      // Read synchronously here: a tick later Node may already have dropped the peer certificate.
      resolve({
        ...(options.verifiesChain === false
          ? leafFacts(tls)
          : sessionFacts(tls, tlsOptions.secureContext, `${socket.remoteAddress}:${socket.remotePort}`)),
        ...(watch ? { certificateRequest: watch.verdict() } : {}),
      })
    }
    tls.once('error', onError)
    tls.once('close', onClose)
    tls.once('secureConnect', onSecure)
  })
  return { socket: tls, session }
}

/**
 * The chains OpenSSL accepted, per TLS context (the root CAs and CRLs in effect) and server
 * address: a server presents the same certificates on every connection, and reading the whole
 * chain from Node (getPeerCertificate(true), ~0.4 ms) costs more than the rest of the handshake
 * bookkeeping together. Node hands the peer certificate out once per socket, so the choice between
 * the leaf alone and the whole chain is made before reading it.
 */
const acceptedChains = new WeakMap<object, Map<string, X509Certificate[]>>()
const MAX_SERVERS = 64

function sessionFacts(tls: TLSSocket, context: object | undefined, server: string): TlsSessionFacts {
  const chains = context ? (acceptedChains.get(context) ?? new Map<string, X509Certificate[]>()) : undefined
  const known = tls.authorized ? chains?.get(server) : undefined
  let presented: X509Certificate[]
  let chainComplete = true
  if (known) {
    // OpenSSL verified this handshake; only the leaf is read from it (host name, pins, expiry).
    const leaf = tls.getPeerX509Certificate()
    if (leaf && leaf.fingerprint256 === known[0]!.fingerprint256) presented = known
    else {
      presented = leaf ? [leaf] : []
      chainComplete = false
      chains!.delete(server) // new certificates: the next connection reads the whole chain again
    }
  } else {
    presented = presentedChain(tls.getPeerCertificate(true))
    if (tls.authorized && chains && presented.length > 0) {
      if (chains.size >= MAX_SERVERS) chains.delete(chains.keys().next().value!)
      chains.set(server, presented)
      acceptedChains.set(context!, chains)
    }
  }
  return factsOf(tls, presented, chainComplete)
}

/** A mode that does not verify the chain: the leaf alone, read without the chain (~0.2 ms less). */
function leafFacts(tls: TLSSocket): TlsSessionFacts {
  const leaf = tls.getPeerX509Certificate()
  return factsOf(tls, leaf ? [leaf] : [], false)
}

function factsOf(tls: TLSSocket, presented: X509Certificate[], chainComplete: boolean): TlsSessionFacts {
  const cipher = tls.getCipher()
  // pg's SCRAM channel binding (tls-server-end-point) asks the socket again during
  // authentication: answer from what was seen at the handshake.
  const leaf = presented[0]
  if (leaf) {
    const live = tls.getPeerCertificate.bind(tls)
    const seen = { raw: leaf.raw, fingerprint256: leaf.fingerprint256 }
    tls.getPeerCertificate = ((full?: boolean) => {
      const now = live(full as true)
      return now?.raw ? now : seen
    }) as TLSSocket['getPeerCertificate']
  }
  return {
    protocol: tls.getProtocol(),
    cipher: cipher?.name ?? null,
    cipherStandardName: cipher?.standardName ?? null,
    peerCertificate: leaf,
    presented,
    chainComplete,
    alpn: typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : null,
    opensslAuthorized: tls.authorized,
    opensslError:
      tls.authorizationError === undefined || tls.authorizationError === null
        ? undefined
        : String(tls.authorizationError),
  }
}

/**
 * Parsed certificates by SHA-256 fingerprint (Node has already computed it): a server presents the
 * same certificates on every connection, so they are parsed once.
 */
const parsedCertificates = new Map<string, X509Certificate>()
const MAX_PARSED = 256

function parsedCertificate(detail: DetailedPeerCertificate): X509Certificate {
  let cert = parsedCertificates.get(detail.fingerprint256)
  if (!cert) {
    cert = new X509Certificate(detail.raw)
    if (parsedCertificates.size >= MAX_PARSED) parsedCertificates.delete(parsedCertificates.keys().next().value!)
    parsedCertificates.set(detail.fingerprint256, cert)
  }
  return cert
}

/** Follow Node's issuerCertificate links from the leaf; they end at a self-reference. */
function presentedChain(leaf: DetailedPeerCertificate | undefined): X509Certificate[] {
  const out: X509Certificate[] = []
  const seen = new Set<string>()
  for (let c = leaf; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256)
    out.push(parsedCertificate(c))
  }
  return out
}

function handshakeError(error: NodeJS.ErrnoException): PgSslError {
  const detail = error.message.replace(/\s+/g, ' ').trim()
  return new PgSslError('SSL_HANDSHAKE_FAILED', `SSL handshake failed: ${detail}`, { cause: error })
}

/** As libpq's SSL_CTX_keylog_cb: append, creating the file private (0600); a failure is a warning, not an error. */
function appendKeyLog(file: string, line: Buffer): void {
  try {
    appendFileSync(file, line, { mode: 0o600 })
  } catch (error) {
    warnOnce(
      `keylog:${file}`,
      `could not write SSL key logging file "${file}": ${(error as NodeJS.ErrnoException).code ?? error}`,
    )
  }
}

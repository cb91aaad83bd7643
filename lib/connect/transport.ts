/**
 * The socket end of one attempt: open TCP (or a Unix socket), and for an SSL attempt send
 * SSLRequest, read the one-byte answer and run the TLS handshake — all before `pg` sees the
 * stream. Owning this step is what lets prefer continue in plaintext on the same socket after 'N'
 * (as libpq does) and lets the report describe the real TLS session.
 */
import { X509Certificate } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { isIP, Socket as NetSocket, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls'
import { lookup } from 'node:dns/promises'
import { PgSslError, warnOnce } from '../errors.js'
import { shuffledOrder } from './session-attrs.js'
import { closeQuietly } from './exposed-stream.js'
import { watchHandshake } from '../tls/certificate-request.js'
import type { TlsSessionFacts } from '../tls/session.js'
import type { Endpoint } from '../settings/endpoints.js'

export type { Endpoint, TlsSessionFacts }



/** The outcome of asking the server for SSL. */
export type SslAnswer =
  | { readonly kind: 'tls'; readonly socket: TLSSocket; readonly session: TlsSessionFacts }
  /** Server answered 'N': the plain socket is still usable for a plaintext start-up. */
  | { readonly kind: 'refused'; readonly socket: Socket }

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]) // length 8, code 80877103

/**
 * Opens the TCP or Unix socket — on `socket` when given (pg's own, shown as client.connection.stream).
 * Rejects with CONNECTION_FAILED; never leaves a socket open.
 */
export function openSocket(endpoint: Endpoint, keepAlive: { enable: boolean; initialDelayMs: number }, socket: Socket = new NetSocket()): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (endpoint.socketPath) socket.connect({ path: endpoint.socketPath })
    else socket.connect({ host: endpoint.address, port: endpoint.port })
    const onError = (error: NodeJS.ErrnoException): void => {
      closeQuietly(socket)
      const where = endpoint.socketPath ? `socket "${endpoint.socketPath}"` : `${endpoint.address}:${endpoint.port}`
      reject(
        new PgSslError('CONNECTION_FAILED', `could not connect to ${where}: ${error.code ?? error.message}`, {
          setting: 'host',
          cause: error,
        }),
      )
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      socket.setNoDelay(true)
      if (keepAlive.enable && !endpoint.socketPath) socket.setKeepAlive(true, keepAlive.initialDelayMs)
      resolve(socket)
    })
  })
}

/**
 * load_balance_hosts=random: libpq 16 shuffles the addresses a host name resolves to as well, and
 * tries them in turn (try_next_addr). A literal address or a Unix socket is just opened.
 */
export async function openSocketShuffled(endpoint: Endpoint, keepAlive: { enable: boolean; initialDelayMs: number }, nextSocket: () => Socket): Promise<Socket> {
  if (endpoint.socketPath || isIP(endpoint.address)) return openSocket(endpoint, keepAlive, nextSocket())
  let addresses: Array<{ address: string }>
  try {
    addresses = await lookup(endpoint.address, { all: true })
  } catch (error) {
    throw new PgSslError('CONNECTION_FAILED', `could not translate host name "${endpoint.address}" to address: ${(error as NodeJS.ErrnoException).code ?? error}`, { setting: 'host', cause: error })
  }
  let last: unknown
  for (const i of shuffledOrder(addresses.length)) {
    try {
      return await openSocket({ ...endpoint, address: addresses[i]!.address }, keepAlive, nextSocket())
    } catch (error) {
      last = error
    }
  }
  throw last
}

/** Reads the first chunk the server sends, without consuming later ones. */
function firstChunk(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      cleanup()
      socket.pause()
      resolve(chunk)
    }
    const onError = (error: Error): void => {
      cleanup()
      reject(new PgSslError('CONNECTION_FAILED', `connection lost during SSL negotiation: ${error.message}`, { cause: error }))
    }
    const onClose = (): void => {
      cleanup()
      reject(new PgSslError('CONNECTION_FAILED', 'server closed the connection during SSL negotiation', {
        hint: 'the server may have crashed or refused the connection; check its log',
      }))
    }
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
  })
}

/**
 * SSLRequest on an open socket. 'S' → TLS handshake with `tlsOptions`; 'N' → refused (socket kept);
 * anything else → PROTOCOL_VIOLATION. A failed handshake rejects with SSL_HANDSHAKE_FAILED and the
 * socket is destroyed; the certificate checks happen afterwards (tls-options.ts checkPeer).
 */
export interface NegotiateOptions {
  /** sslnegotiation=direct: TLS at once with ALPN, no SSLRequest. */
  readonly direct?: boolean
  /** sslcertmode=require: watch the handshake for a CertificateRequest. */
  readonly watchCertificateRequest?: boolean
  /** Told the TLS socket as soon as it exists (it becomes client.connection.stream, as in pg). */
  readonly onTlsSocket?: (tls: TLSSocket) => void
  /** sslkeylogfile (PostgreSQL 18): append the session's NSS key-log lines to this file. */
  readonly keyLogFile?: string | undefined
  /** Told when the server's one-byte answer to the SSLRequest arrived (for the report's timings). */
  readonly onAnswer?: () => void
}

export async function negotiateSsl(socket: Socket, tlsOptions: ConnectionOptions, options: NegotiateOptions = {}): Promise<SslAnswer> {
  const { direct = false } = options
  if (direct) return startTls(socket, { ...tlsOptions, ALPNProtocols: ['postgresql'] }, true, options)
  socket.write(SSL_REQUEST)
  const chunk = await firstChunk(socket)
  options.onAnswer?.()
  const answer = String.fromCharCode(chunk[0]!)
  if (answer === 'N') {
    if (chunk.length > 1) throw protocolViolation('received unencrypted data after the SSL refusal')
    return { kind: 'refused', socket }
  }
  if (answer === 'E') {
    // libpq does not trust (or show) this message: the server is not authenticated yet.
    throw protocolViolation('server sent an error response during SSL exchange')
  }
  if (answer !== 'S') throw protocolViolation(`received invalid response to SSL negotiation: ${JSON.stringify(answer)}`)
  // Bytes after 'S' would be unencrypted data injected before the handshake (CVE-2021-23222).
  if (chunk.length > 1) throw protocolViolation('received unencrypted data after SSL response')
  return startTls(socket, tlsOptions, false, options)
}

/** A TLS handshake on a socket whose protocol already agreed to it (MySQL's SSL request). */
export function handshakeOn(socket: Socket, tlsOptions: ConnectionOptions, options: NegotiateOptions = {}): Promise<Extract<SslAnswer, { kind: 'tls' }>> {
  return startTls(socket, tlsOptions, false, options) as Promise<Extract<SslAnswer, { kind: 'tls' }>>
}

async function startTls(socket: Socket, tlsOptions: ConnectionOptions, direct: boolean, options: NegotiateOptions): Promise<SslAnswer> {
  // sslcertmode=require: watch the handshake for a CertificateRequest (tls/certificate-request.ts).
  const watch = options.watchCertificateRequest ? watchHandshake(socket) : undefined
  const tls = tlsConnect({ ...tlsOptions, socket: (watch?.stream ?? socket) as Socket })
  options.onTlsSocket?.(tls)
  if (watch) tls.on('keylog', (line) => watch.keylog(line))
  if (options.keyLogFile) tls.on('keylog', (line) => appendKeyLog(options.keyLogFile!, line))
  const session = await new Promise<TlsSessionFacts>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      tls.off('secureConnect', onSecure)
      closeQuietly(tls)
      reject(handshakeError(error))
    }
    const onSecure = (): void => {
      tls.off('error', onError)
      // Read synchronously here: a tick later Node may already have dropped the peer certificate.
      resolve({ ...sessionFacts(tls, tlsOptions.secureContext, `${socket.remoteAddress}:${socket.remotePort}`), ...(watch ? { certificateRequest: watch.verdict() } : {}) })
    }
    tls.once('error', onError)
    tls.once('secureConnect', onSecure)
  })
  // libpq 17: a direct connection is only PostgreSQL if the server chose ALPN "postgresql".
  if (direct && tls.alpnProtocol !== 'postgresql') {
    closeQuietly(tls)
    throw protocolViolation('direct SSL connection was established without ALPN protocol negotiation extension')
  }
  return { kind: 'tls', socket: tls, session }
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
  const cipher = tls.getCipher()
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
  // pg's SCRAM channel binding (tls-server-end-point) asks the socket again during
  // authentication: answer from what was seen at the handshake.
  const leaf = presented[0]
  if (leaf) {
    const live = tls.getPeerCertificate.bind(tls)
    const seen = { raw: leaf.raw, fingerprint256: leaf.fingerprint256 }
    tls.getPeerCertificate = ((full?: boolean) => {
      const now = live(full as true)
      return now && now.raw ? now : seen
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
    opensslError: tls.authorizationError === undefined || tls.authorizationError === null ? undefined : String(tls.authorizationError),
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

function protocolViolation(message: string): PgSslError {
  return new PgSslError('PROTOCOL_VIOLATION', message)
}

function handshakeError(error: NodeJS.ErrnoException): PgSslError {
  const detail = error.message.replace(/\s+/g, ' ').trim()
  return new PgSslError('SSL_HANDSHAKE_FAILED', `SSL handshake failed: ${detail}`, { cause: error })
}

export function serverNameForSni(host: string | undefined, sslsni: boolean): string | undefined {
  // libpq (initialize_SSL) sends SNI unless the host is all digits and dots or holds a colon: an
  // IP literal must not be sent (RFC 6066). Node refuses IP literals as servername too.
  if (!sslsni || !host || host.startsWith('/')) return undefined
  if (/^[0-9.]*$/.test(host) || host.includes(':') || isIP(host) !== 0) return undefined
  return host
}

/** As libpq's SSL_CTX_keylog_cb: append, creating the file private (0600); a failure is a warning, not an error. */
function appendKeyLog(file: string, line: Buffer): void {
  try {
    appendFileSync(file, line, { mode: 0o600 })
  } catch (error) {
    warnOnce(`keylog:${file}`, `could not write SSL key logging file "${file}": ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}

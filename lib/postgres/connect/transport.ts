/**
 * The socket end of one attempt: open TCP (or a Unix socket), and for an SSL attempt send
 * SSLRequest, read the one-byte answer and run the TLS handshake — all before `pg` sees the
 * stream. Owning this step is what lets prefer continue in plaintext on the same socket after 'N'
 * (as libpq does) and lets the report describe the real TLS session.
 */
import { isIP, Socket as NetSocket, type Socket } from 'node:net'
import type { ConnectionOptions, TLSSocket } from 'node:tls'
import { lookup } from 'node:dns/promises'
import { PgSslError } from '../../engine/errors.js'
import { shuffledOrder } from '../host-order.js'
import { closeQuietly } from '../../engine/sockets.js'
import { runTlsHandshake, type HandshakeOptions } from '../../engine/tls/handshake.js'
import type { TlsSessionFacts } from '../../engine/tls/session.js'
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
export function openSocket(
  endpoint: Endpoint,
  keepAlive: { enable: boolean; initialDelayMs: number },
  socket: Socket = new NetSocket(),
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (endpoint.socketPath) socket.connect({ path: endpoint.socketPath })
    else socket.connect({ host: endpoint.address, port: endpoint.port })
    const where = endpoint.socketPath ? `socket "${endpoint.socketPath}"` : `${endpoint.address}:${endpoint.port}`
    const settle = (error: PgSslError | undefined): void => {
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.off('connect', onConnect)
      if (error) {
        closeQuietly(socket)
        reject(error)
      } else resolve(socket)
    }
    const onError = (error: NodeJS.ErrnoException): void =>
      settle(
        new PgSslError('CONNECTION_FAILED', `could not connect to ${where}: ${error.code ?? error.message}`, {
          setting: 'host',
          cause: error,
        }),
      )
    // Closed while connecting without an error: connect_timeout, end(), or pg-pool's
    // connectionTimeoutMillis destroyed the socket. The wait ends with it.
    const onClose = (): void =>
      settle(
        new PgSslError(
          'CONNECTION_FAILED',
          `could not connect to ${where}: the connection attempt was closed before it completed`,
          { setting: 'host' },
        ),
      )
    const onConnect = (): void => {
      socket.setNoDelay(true)
      if (keepAlive.enable && !endpoint.socketPath) socket.setKeepAlive(true, keepAlive.initialDelayMs)
      settle(undefined)
    }
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.once('connect', onConnect)
  })
}

/**
 * load_balance_hosts=random: libpq 16 shuffles the addresses a host name resolves to as well, and
 * tries them in turn (try_next_addr). A literal address or a Unix socket is just opened.
 */
export async function openSocketShuffled(
  endpoint: Endpoint,
  keepAlive: { enable: boolean; initialDelayMs: number },
  nextSocket: () => Socket,
): Promise<Socket> {
  if (endpoint.socketPath || isIP(endpoint.address)) return openSocket(endpoint, keepAlive, nextSocket())
  let addresses: Array<{ address: string }>
  try {
    addresses = await lookup(endpoint.address, { all: true })
  } catch (error) {
    throw new PgSslError(
      'CONNECTION_FAILED',
      `could not translate host name "${endpoint.address}" to address: ` +
        `${(error as NodeJS.ErrnoException).code ?? error}`,
      { setting: 'host', cause: error },
    )
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
      reject(
        new PgSslError('CONNECTION_FAILED', `connection lost during SSL negotiation: ${error.message}`, {
          cause: error,
        }),
      )
    }
    const onClose = (): void => {
      cleanup()
      reject(
        new PgSslError('CONNECTION_FAILED', 'server closed the connection during SSL negotiation', {
          hint: 'the server may have crashed or refused the connection; check its log',
        }),
      )
    }
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
  })
}

/**
 * SSLRequest on an open socket. 'S' → TLS handshake with `tlsOptions`; 'N' → refused (socket kept);
 * anything else → PROTOCOL_VIOLATION. A failed handshake rejects with SSL_HANDSHAKE_FAILED and the
 * socket is destroyed; the certificate checks happen afterwards (engine/peer-check.ts).
 */
export interface NegotiateOptions extends HandshakeOptions {
  /** sslnegotiation=direct: TLS at once with ALPN, no SSLRequest. */
  readonly direct?: boolean
  /** Told when the server's one-byte answer to the SSLRequest arrived (for the report's timings). */
  readonly onAnswer?: () => void
}

export async function negotiateSsl(
  socket: Socket,
  tlsOptions: ConnectionOptions,
  options: NegotiateOptions = {},
): Promise<SslAnswer> {
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

async function startTls(
  socket: Socket,
  tlsOptions: ConnectionOptions,
  direct: boolean,
  options: NegotiateOptions,
): Promise<SslAnswer> {
  const { socket: tls, session } = await runTlsHandshake(socket, tlsOptions, options)
  // libpq 17: a direct connection is only PostgreSQL if the server chose ALPN "postgresql".
  if (direct && tls.alpnProtocol !== 'postgresql') {
    closeQuietly(tls)
    throw protocolViolation('direct SSL connection was established without ALPN protocol negotiation extension')
  }
  return { kind: 'tls', socket: tls, session }
}

function protocolViolation(message: string): PgSslError {
  return new PgSslError('PROTOCOL_VIOLATION', message)
}

export function serverNameForSni(host: string | undefined, sslsni: boolean): string | undefined {
  // libpq (initialize_SSL) sends SNI unless the host is all digits and dots or holds a colon: an
  // IP literal must not be sent (RFC 6066). Node refuses IP literals as servername too.
  if (!sslsni || !host || host.startsWith('/')) return undefined
  if (/^[0-9.]*$/.test(host) || host.includes(':') || isIP(host) !== 0) return undefined
  return host
}

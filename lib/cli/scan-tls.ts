/**
 * The TLS half of `pg-sslmode scan`: handshakes that verify nothing and send nothing after the
 * handshake, over a connection `open()` readies for TLS (PostgreSQL: TCP and an SSLRequest
 * answered 'S'; direct SSL: TCP alone). OpenSSL is set to permit every protocol version and cipher
 * (security level 0) so that what a server still accepts is seen, which a connection of this
 * library never permits. Cipher suites are found the way testssl.sh finds a server's preference:
 * offer all, note the one chosen, offer the rest again, until the handshake fails. The suites
 * Node's OpenSSL cannot offer at all (RC4, DES, 3DES, IDEA, SEED, export) go in a ClientHello
 * of the scan's own (scan-hello.ts).
 */
import { X509Certificate } from 'node:crypto'
import net, { type Socket } from 'node:net'
import tls, { type SecureVersion } from 'node:tls'
import { watchHandshake } from '../engine/tls/certificate-request.js'
import { legacySuitesAt } from './scan-hello.js'

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

export const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const
export type TlsVersionName = (typeof VERSIONS)[number]
const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
]
const GROUPS = ['X25519', 'P-256', 'P-384', 'P-521', 'X448', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096']

/** Opens a connection ready for a TLS handshake, or throws why it cannot. */
export type TlsOpener = () => Promise<Socket>

export interface HandshakeResult {
  readonly protocol: string
  readonly cipher: string
  readonly standardName: string
  readonly chain: readonly X509Certificate[]
  readonly certificateRequested: 'requested' | 'not-requested' | 'unknown'
}

export interface HandshakeOffer {
  readonly version: TlsVersionName
  readonly ciphers?: string
  readonly groups?: string
  readonly alpn?: readonly string[]
  readonly servername?: string
  readonly watchCertificateRequest?: boolean
}

/** One handshake with what `offer` allows: its result, or undefined when the server refused it. */
export async function handshake(
  open: TlsOpener,
  offer: HandshakeOffer,
  timeoutMs: number,
): Promise<HandshakeResult | undefined> {
  const socket = await open()
  const watch = offer.watchCertificateRequest ? watchHandshake(socket) : undefined
  return new Promise((resolve) => {
    const tls13 = offer.version === 'TLSv1.3'
    const secure = tls.connect({
      socket: (watch?.stream ?? socket) as Socket,
      rejectUnauthorized: false,
      minVersion: offer.version as SecureVersion,
      maxVersion: offer.version as SecureVersion,
      ciphers: offer.ciphers ?? (tls13 ? TLS13_SUITES.join(':') : 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'),
      ...(offer.groups ? { ecdhCurve: offer.groups } : {}),
      ...(offer.alpn ? { ALPNProtocols: [...offer.alpn] } : {}),
      ...(offer.servername ? { servername: offer.servername } : {}),
    })
    if (watch) secure.on('keylog', (line) => watch.keylog(line))
    const done = (result: HandshakeResult | undefined): void => {
      secure.destroy()
      socket.destroy()
      resolve(result)
    }
    secure.setTimeout(timeoutMs, () => done(undefined))
    secure.once('error', () => done(undefined))
    secure.once('secureConnect', () => {
      const cipher = secure.getCipher()
      done({
        protocol: secure.getProtocol() ?? '',
        cipher: cipher.name,
        standardName: cipher.standardName,
        chain: chainOf(secure),
        certificateRequested: watch?.verdict() ?? 'unknown',
      })
    })
  })
}

function chainOf(secure: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = []
  let cert = secure.getPeerCertificate(true)
  while (cert?.raw && chain.length < 10) {
    chain.push(new X509Certificate(cert.raw))
    if (!cert.issuerCertificate || cert.issuerCertificate === cert) break
    cert = cert.issuerCertificate
  }
  return chain
}

/**
 * The cipher suites the server accepts at `version`, in the order it chose them (its preference);
 * below TLS 1.3 the legacy suites Node's OpenSSL lacks follow, in the server's order among them.
 */
export async function ciphersAt(open: TlsOpener, version: TlsVersionName, timeoutMs: number): Promise<string[]> {
  const found: string[] = []
  const tls13 = version === 'TLSv1.3'
  for (let round = 0; round < 200; round++) {
    const ciphers = tls13
      ? TLS13_SUITES.filter((s) => !found.includes(s)).join(':')
      : `ALL:COMPLEMENTOFALL${found.map((c) => `:!${c}`).join('')}:@SECLEVEL=0`
    if (!ciphers) break
    const result = await handshake(open, { version, ciphers }, timeoutMs)
    const name = result && (tls13 ? result.standardName : result.cipher)
    if (!name || found.includes(name)) break
    found.push(name)
  }
  // What Node's OpenSSL cannot offer, offered by a hello of our own; listed after the rest, in
  // the server's order among themselves.
  if (!tls13) found.push(...(await legacySuitesAt(open, version, timeoutMs, found)))
  return found
}

/**
 * The key-exchange groups the server accepts at `version`, each offered alone. Below TLS 1.3 only
 * ECDHE suites are offered, so that a handshake that needs no group does not count for one.
 */
export async function groupsAt(open: TlsOpener, version: TlsVersionName, timeoutMs: number): Promise<string[]> {
  const tls13 = version === 'TLSv1.3'
  const candidates = tls13 ? GROUPS : GROUPS.filter((g) => !g.startsWith('ffdhe'))
  const accepted: string[] = []
  for (const group of candidates) {
    try {
      const offer = { version, groups: group, ...(tls13 ? {} : { ciphers: 'ECDHE:@SECLEVEL=0' }) }
      if (await handshake(open, offer, timeoutMs)) accepted.push(group)
    } catch {
      // a group this OpenSSL cannot offer
    }
  }
  return accepted
}

/** Run `tasks` at most `limit` at a time, keeping their order. */
export async function bounded<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

/** TCP and an SSLRequest: true for 'S', false for 'N'; the socket is closed. */
export async function sslAnswer(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const { socket, byte } = await requestSsl(host, port, timeoutMs)
  socket.destroy()
  if (byte !== 'S' && byte !== 'N') throw new Error(`not a PostgreSQL server (answered ${JSON.stringify(byte)})`)
  return byte === 'S'
}

/** A socket whose SSLRequest was answered 'S': ready for the TLS handshake. */
export async function sslReady(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const { socket, byte } = await requestSsl(host, port, timeoutMs)
  if (byte === 'S') return socket
  socket.destroy()
  throw new Error(`the SSLRequest was answered ${JSON.stringify(byte)}`)
}

/**
 * A TCP connection whose error, or silence past `timeoutMs`, calls `reject` with a short reason
 * (the socket error's code) and closes it; `settle()` ends that watch once the answer came.
 */
export function boundedConnection(
  host: string,
  port: number,
  timeoutMs: number,
  reject: (error: Error) => void,
): { socket: Socket; fail(error: Error): void; settle(): void } {
  const socket = net.connect({ host, port })
  const fail = (error: Error): void => {
    socket.destroy()
    reject(error)
  }
  socket.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs / 1000} s`)))
  socket.once('error', (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)))
  const settle = (): void => {
    socket.setTimeout(0)
    socket.removeAllListeners('error')
  }
  return { socket, fail, settle }
}

function requestSsl(host: string, port: number, timeoutMs: number): Promise<{ socket: Socket; byte: string }> {
  return new Promise((resolve, reject) => {
    const { socket, fail, settle } = boundedConnection(host, port, timeoutMs, reject)
    socket.once('connect', () => socket.write(SSL_REQUEST))
    // One byte: the handshake starts right after it, so nothing else may be read here.
    socket.once('readable', () => {
      const byte = socket.read(1) as Buffer | null
      settle()
      if (byte) resolve({ socket, byte: byte.toString('latin1') })
      else fail(new Error('the server closed the connection'))
    })
  })
}

/**
 * A ClientHello the scan writes itself, for the cipher suites Node's OpenSSL cannot offer
 * (legacy-suites.ts). The server's answer is read up to its ServerHello — the suite it chose — or
 * its alert, and the connection is closed there: nothing is encrypted, verified or sent after
 * the hello. Suites are found as scan-tls.ts finds the others: offer all, note the one chosen,
 * offer the rest again, until the server refuses.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { LEGACY_SUITES } from './legacy-suites.js'

/** The versions these suites exist at, and how a hello names them. */
const WIRE_VERSION = {
  TLSv1: 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
} as const
const HANDSHAKE = 22
const SERVER_HELLO = 2
/** x25519, secp256r1, secp384r1, secp521r1, x448, ffdhe2048–4096. */
const GROUPS = [0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102]
/**
 * TLS 1.2 signature schemes, SHA-1 and DSA included: a server old enough for these suites may
 * hold a certificate only they can sign for.
 */
const SIGNATURE_SCHEMES = [
  0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601,
  0x0203, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202,
]

export type LegacyVersion = keyof typeof WIRE_VERSION
/** A connection ready for the handshake (scan-tls.ts's TlsOpener). */
type Opener = () => Promise<Socket>

function u16(value: number): Buffer {
  const out = Buffer.alloc(2)
  out.writeUInt16BE(value)
  return out
}

/** A length-prefixed vector: `bytes` after its length in `width` bytes. */
function vector(width: 1 | 2 | 3, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  const length = Buffer.alloc(width)
  length.writeUIntBE(body.length, 0, width)
  return Buffer.concat([length, body])
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vector(2, body)])
}

/** The ClientHello record offering `suites` at `version`, with the extensions such a server needs. */
export function clientHello(version: LegacyVersion, suites: readonly number[], servername?: string): Buffer {
  const extensions = [
    extension(0x000a, vector(2, ...GROUPS.map(u16))), // supported_groups, for the ECDHE suites
    extension(0x000b, vector(1, Buffer.from([0]))), // ec_point_formats: uncompressed
    extension(0xff01, vector(1)), // renegotiation_info: a first handshake
  ]
  if (servername) {
    const name = Buffer.concat([Buffer.from([0]), vector(2, Buffer.from(servername, 'ascii'))])
    extensions.unshift(extension(0x0000, vector(2, name)))
  }
  if (version === 'TLSv1.2') extensions.push(extension(0x000d, vector(2, ...SIGNATURE_SCHEMES.map(u16))))
  const body = Buffer.concat([
    u16(WIRE_VERSION[version]),
    randomBytes(32),
    vector(1), // no session to resume
    vector(2, ...suites.map(u16)),
    vector(1, Buffer.from([0])), // compression: null only
    vector(2, ...extensions),
  ])
  const message = Buffer.concat([Buffer.from([1]), vector(3, body)])
  // The record says TLS 1.0 whatever the hello asks for, as OpenSSL and browsers write it.
  return Buffer.concat([Buffer.from([HANDSHAKE]), u16(0x0301), vector(2, message)])
}

/**
 * What the server answered to `hello`: the suite its ServerHello chose and the version it named,
 * or undefined for an alert, a close, silence past `timeoutMs`, or anything but a ServerHello.
 */
export function serverChoice(
  socket: Socket,
  hello: Buffer,
  timeoutMs: number,
): Promise<{ version: number; suite: number } | undefined> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    const done = (answer: { version: number; suite: number } | undefined): void => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(timeoutMs, () => done(undefined))
    socket.on('error', () => done(undefined))
    socket.on('close', () => done(undefined))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const answer = serverHelloOf(received)
      if (answer !== 'more') done(answer)
    })
    socket.write(hello)
  })
}

/**
 * The ServerHello at the start of `bytes` (version and suite), undefined when the server sent
 * something else (an alert), or 'more' while the bytes that tell are still to come. The handshake
 * records' fragments are joined first: a server may split its ServerHello across records.
 */
export function serverHelloOf(bytes: Buffer): { version: number; suite: number } | undefined | 'more' {
  const fragments: Buffer[] = []
  for (let at = 0; at < bytes.length; ) {
    if (bytes[at] !== HANDSHAKE) return undefined // an alert: no suite in common
    if (bytes.length < at + 5) break
    const end = at + 5 + bytes.readUInt16BE(at + 3)
    fragments.push(bytes.subarray(at + 5, Math.min(end, bytes.length)))
    at = end
  }
  const message = Buffer.concat(fragments)
  // handshake header 4, version 2, random 32, session id length 1
  if (message.length < 4 + 2 + 32 + 1) return 'more'
  if (message[0] !== SERVER_HELLO) return undefined
  const suiteAt = 4 + 2 + 32 + 1 + message[4 + 2 + 32]!
  if (message.length < suiteAt + 2) return 'more'
  return { version: message.readUInt16BE(4), suite: message.readUInt16BE(suiteAt) }
}

/**
 * The legacy suites the server accepts at `version`, in the order it chose them, leaving out
 * `known` (those OpenSSL already found: a Node built with them finds them the ordinary way).
 */
export async function legacySuitesAt(
  open: Opener,
  version: LegacyVersion,
  timeoutMs: number,
  known: readonly string[] = [],
): Promise<string[]> {
  const names = new Map(LEGACY_SUITES.filter(([, name]) => !known.includes(name)))
  const found: string[] = []
  while (names.size > 0) {
    const socket = await open()
    const answer = await serverChoice(socket, clientHello(version, [...names.keys()]), timeoutMs)
    const name = answer?.version === WIRE_VERSION[version] ? names.get(answer.suite) : undefined
    if (!name) break
    found.push(name)
    names.delete(answer!.suite)
  }
  return found
}

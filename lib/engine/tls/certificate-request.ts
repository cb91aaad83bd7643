/**
 * sslcertmode=require needs to know whether the server asked for a client certificate
 * (a CertificateRequest handshake message). libpq learns it from OpenSSL's certificate callback;
 * Node has no such hook, so for this mode only, the handshake is watched on its way in:
 * - the TLS socket runs over a small Duplex that copies what the server sends (a JS stream
 *   instead of the socket handle: slower, which is why only this mode uses it);
 * - TLS 1.2 sends CertificateRequest in clear, after ServerHello;
 * - TLS 1.3 encrypts it with the server handshake traffic key, which OpenSSL hands out through
 *   the keylog callback (Node's 'keylog' event): the records are decrypted here
 *   (RFC 8446 §5.2, §7.1, §7.3) until the server's Finished.
 * A handshake this cannot read (an unknown TLS 1.3 cipher suite, a broken record) is reported as
 * "unknown", which sslcertmode=require refuses: never a guess.
 */
import { createDecipheriv, createHmac } from 'node:crypto'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'

const HANDSHAKE = 22
const APPLICATION_DATA = 23
const SERVER_HELLO = 2
const CERTIFICATE_REQUEST = 13
const SERVER_HELLO_DONE = 14
const FINISHED = 20
const SUPPORTED_VERSIONS = 43
const TLS13 = 0x0304

/** TLS 1.3 suites: AEAD, key length, hash. */
const SUITES: Readonly<Record<number, { cipher: string; keyLength: number; hash: string }>> = {
  4865: { cipher: 'aes-128-gcm', keyLength: 16, hash: 'sha256' },
  4866: { cipher: 'aes-256-gcm', keyLength: 32, hash: 'sha384' },
  4867: { cipher: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' },
}

export type CertificateRequestSeen = 'requested' | 'not-requested' | 'unknown'

export interface HandshakeWatch {
  /** Give this to tls.connect as `socket`. */
  readonly stream: Duplex
  /** Node's 'keylog' lines of the TLS socket. */
  keylog(line: Buffer): void
  /** After the handshake: did the server ask for a certificate? Stops recording. */
  verdict(): CertificateRequestSeen
}

export function watchHandshake(socket: Socket): HandshakeWatch {
  const received: Buffer[] = []
  let recording = true
  let serverHandshakeSecret: Buffer | undefined
  const stream = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback)
    },
    final(callback) {
      if (socket.writableEnded || socket.destroyed) callback()
      else socket.end(() => callback())
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined)
      callback(error)
    },
  })
  socket.on('data', (chunk: Buffer) => {
    if (recording) received.push(chunk)
    if (!stream.push(chunk)) socket.pause()
  })
  socket.once('end', () => stream.push(null))
  socket.once('error', (error) => stream.destroy(error))
  socket.once('close', () => stream.destroy())
  return {
    stream,
    keylog(line) {
      const [label, , secret] = line.toString('latin1').trim().split(' ')
      if (label === 'SERVER_HANDSHAKE_TRAFFIC_SECRET' && secret) serverHandshakeSecret = Buffer.from(secret, 'hex')
    },
    verdict() {
      recording = false
      try {
        return certificateRequestIn(Buffer.concat(received), serverHandshakeSecret)
      } catch {
        return 'unknown'
      } finally {
        received.length = 0
      }
    },
  }
}

/** Reads the server's side of a handshake (TLS records as received) for a CertificateRequest. */
export function certificateRequestIn(bytes: Buffer, serverHandshakeSecret: Buffer | undefined): CertificateRequestSeen {
  const messages = new HandshakeMessages()
  let tls13: { decipher: (record: Buffer, header: Buffer) => Buffer } | undefined
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const type = bytes[offset]!
    const length = bytes.readUInt16BE(offset + 3)
    const header = bytes.subarray(offset, offset + 5)
    const fragment = bytes.subarray(offset + 5, offset + 5 + length)
    offset += 5 + length
    if (fragment.length < length) return 'unknown' // the handshake ended before its records did
    let content: Buffer
    let contentType = type
    if (tls13 && type === APPLICATION_DATA) {
      const inner = tls13.decipher(fragment, header)
      let end = inner.length - 1
      while (end >= 0 && inner[end] === 0) end--
      contentType = inner[end]!
      content = inner.subarray(0, end)
    } else content = fragment
    if (contentType !== HANDSHAKE) continue
    for (const message of messages.add(content)) {
      if (message.type === SERVER_HELLO) {
        const hello = serverHello(message.body)
        if (hello.version === TLS13) {
          const suite = SUITES[hello.suite]
          if (!suite || !serverHandshakeSecret) return 'unknown'
          tls13 = recordDecipher(suite, serverHandshakeSecret)
        }
      } else if (message.type === CERTIFICATE_REQUEST) return 'requested'
      else if (message.type === SERVER_HELLO_DONE || message.type === FINISHED) return 'not-requested'
    }
  }
  return 'unknown'
}

/** Handshake messages may span records and records may hold several. */
class HandshakeMessages {
  #pending = Buffer.alloc(0)
  add(content: Buffer): Array<{ type: number; body: Buffer }> {
    this.#pending = Buffer.concat([this.#pending, content])
    const out: Array<{ type: number; body: Buffer }> = []
    while (this.#pending.length >= 4) {
      const length = this.#pending.readUIntBE(1, 3)
      if (this.#pending.length < 4 + length) break
      out.push({ type: this.#pending[0]!, body: this.#pending.subarray(4, 4 + length) })
      this.#pending = this.#pending.subarray(4 + length)
    }
    return out
  }
}

/** ServerHello: legacy_version, random, session id, cipher suite, compression, extensions (supported_versions). */
function serverHello(body: Buffer): { version: number; suite: number } {
  let i = 2 + 32
  i += 1 + body[i]!
  const suite = body.readUInt16BE(i)
  i += 3
  let version = body.readUInt16BE(0)
  if (i + 2 <= body.length) {
    const end = i + 2 + body.readUInt16BE(i)
    for (i += 2; i + 4 <= end; ) {
      const type = body.readUInt16BE(i)
      const length = body.readUInt16BE(i + 2)
      if (type === SUPPORTED_VERSIONS && length === 2) version = body.readUInt16BE(i + 4)
      i += 4 + length
    }
  }
  return { version, suite }
}

/** RFC 8446 §7.1 HKDF-Expand-Label with an empty context. */
function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1')
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])])
  const blocks: Buffer[] = []
  let previous = Buffer.alloc(0)
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, secret)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest()
    blocks.push(previous)
  }
  return Buffer.concat(blocks).subarray(0, length)
}

function recordDecipher(
  suite: { cipher: string; keyLength: number; hash: string },
  secret: Buffer,
): { decipher: (record: Buffer, header: Buffer) => Buffer } {
  const key = expandLabel(suite.hash, secret, 'key', suite.keyLength)
  const iv = expandLabel(suite.hash, secret, 'iv', 12)
  let sequence = 0n
  return {
    decipher(record, header) {
      const nonce = Buffer.from(iv)
      const seq = Buffer.alloc(8)
      seq.writeBigUInt64BE(sequence++)
      for (let k = 0; k < 8; k++) nonce[4 + k] = nonce[4 + k]! ^ seq[k]!
      const decipher = createDecipheriv(suite.cipher as 'aes-128-gcm', key, nonce, { authTagLength: 16 })
      decipher.setAAD(header)
      decipher.setAuthTag(record.subarray(record.length - 16))
      return Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
    },
  }
}

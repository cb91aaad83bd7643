/**
 * Hostile protocol test peers on 127.0.0.1 (test helpers, not test files): what a man in the
 * middle would answer, and what it would learn. Each records the credentials that reached it, so
 * a test can say the password never did.
 *
 * - PostgreSQL: answers the SSLRequest with 'N' (stripping TLS), with 'S' and a certificate the
 *   client does not trust, or not at all (a stalled handshake); then asks for a cleartext password.
 * - MySQL: a handshake without CLIENT_SSL (stripped) or with it and an untrusted certificate; asks
 *   caching_sha2_password for full authentication and offers its own RSA key, decrypting what
 *   comes back; optionally sends its OK before the client has answered.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fixture } from '../scripts/harness.js'
import { fatalError, pgMessage } from '../scripts/peer-support.js'

export interface HostilePeer {
  readonly port: number
  /** Start-up messages received (a plaintext start-up, or one inside the peer's TLS). */
  readonly startups: number
  /** Passwords received, in clear or decrypted. */
  readonly passwords: readonly string[]
  close(): Promise<void>
}

async function listen(onSocket: (socket: Socket, record: Recorder) => void): Promise<HostilePeer> {
  const record: Recorder = { startups: 0, passwords: [] }
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    onSocket(socket, record)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    get startups() {
      return record.startups
    },
    get passwords() {
      return record.passwords
    },
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Recorder {
  startups: number
  passwords: string[]
}

const SERVER_TLS = { key: readFileSync(fixture('server.key')), cert: readFileSync(fixture('server.crt')) }

/** Reads length-prefixed messages: the start-up (no type byte) first, then typed ones. */
function pgReader(stream: Socket | TLSSocket, onMessage: (type: string, body: Buffer) => void, startup = true): void {
  let pending = Buffer.alloc(0)
  let expectStartup = startup
  stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      const head = expectStartup ? 4 : 5
      if (pending.length < head) return
      const length = pending.readInt32BE(head - 4)
      if (pending.length < head - 4 + length) return
      const type = expectStartup ? '' : String.fromCharCode(pending[0]!)
      const body = pending.subarray(head, head - 4 + length)
      pending = pending.subarray(head - 4 + length)
      expectStartup = false
      onMessage(type, body)
    }
  })
}

/** After the start-up: ask for a cleartext password, record it, refuse. */
function askForPassword(stream: Socket | TLSSocket, record: Recorder): void {
  pgReader(stream, (type, body) => {
    if (type === '') {
      if (body.readInt32BE(0) === 80877103) return // a second SSLRequest: not expected here
      record.startups++
      const code = Buffer.alloc(4)
      code.writeInt32BE(3) // AuthenticationCleartextPassword
      stream.write(pgMessage('R', code))
    } else if (type === 'p') {
      record.passwords.push(body.subarray(0, body.indexOf(0)).toString('utf8'))
      stream.end(fatalError('28P01', 'password authentication failed'))
    }
  })
}

/**
 * A PostgreSQL man in the middle: 'strip' answers N, 'untrusted' runs TLS with a certificate the client does not trust,
 * 'stall' answers S and then nothing.
 */
export function hostilePostgres(kind: 'strip' | 'untrusted' | 'stall'): Promise<HostilePeer> {
  return listen((socket, record) => {
    socket.once('data', (first: Buffer) => {
      const isSslRequest = first.length >= 8 && first.readInt32BE(4) === 80877103
      if (!isSslRequest) {
        // The client skipped SSL altogether (sslmode=disable): its start-up is in this chunk.
        socket.unshift(first)
        askForPassword(socket, record)
        return
      }
      if (kind === 'strip') {
        socket.write('N')
        askForPassword(socket, record)
      } else if (kind === 'untrusted') {
        socket.write('S')
        const tls = new TLSSocket(socket, { isServer: true, ...SERVER_TLS })
        tls.on('error', () => socket.destroy())
        askForPassword(tls, record)
      } else {
        socket.write('S') // and never a TLS record
      }
    })
  })
}

function mysqlPacket(seq: number, body: Buffer): Buffer {
  const head = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, (body.length >> 16) & 0xff, seq])
  return Buffer.concat([head, body])
}

const SCRAMBLE = Buffer.concat([Buffer.alloc(8, 0x61), Buffer.alloc(12, 0x62)])

function mysqlHello(ssl: boolean, plugin: string): Buffer {
  const caps = 0x0000a20f | 0x80000 | (ssl ? 0x800 : 0)
  return mysqlPacket(
    0,
    Buffer.concat([
      Buffer.from([10]),
      Buffer.from('8.0.40-hostile\0'),
      Buffer.from([1, 0, 0, 0]),
      SCRAMBLE.subarray(0, 8),
      Buffer.from([0]),
      Buffer.from([caps & 0xff, (caps >> 8) & 0xff, 0xff, 2, 0, (caps >> 16) & 0xff, (caps >> 24) & 0xff, 21]),
      Buffer.alloc(10),
      SCRAMBLE.subarray(8),
      Buffer.from([0]),
      Buffer.from(`${plugin}\0`),
    ]),
  )
}

const OK = (seq: number): Buffer => mysqlPacket(seq, Buffer.from([0, 0, 0, 2, 0, 0, 0]))

/**
 * A MySQL man in the middle. `tls`: offer CLIENT_SSL and run TLS with a certificate the client does
 * not trust (false: strip it). The login that follows is caching_sha2_password with full
 * authentication and the peer's own RSA key; `okFirst` sends an OK right behind the handshake.
 */
export function hostileMysql(options: { tls: boolean; okFirst?: boolean }): Promise<HostilePeer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string)
  return listen((socket, record) => {
    const hello = mysqlHello(options.tls, 'caching_sha2_password')
    socket.write(options.okFirst ? Buffer.concat([hello, OK(2)]) : hello)
    let stream: Socket | TLSSocket = socket
    let pending = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readUIntLE(0, 3)) {
        const length = pending.readUIntLE(0, 3)
        const seq = pending[3]!
        const body = pending.subarray(4, 4 + length)
        pending = pending.subarray(4 + length)
        if (length === 32 && stream === socket && options.tls) {
          // The SSL request: TLS from here on. The client's ClientHello may be in the same chunk,
          // so TLS runs over a stream that starts with what is left of it.
          socket.off('data', onData)
          const rest = pending
          pending = Buffer.alloc(0)
          const carrier = new Duplex({
            read() {},
            write(chunk, _encoding, callback) {
              socket.write(chunk, callback)
            },
          })
          if (rest.length > 0) carrier.push(rest)
          socket.on('data', (chunk: Buffer) => carrier.push(chunk))
          socket.on('close', () => carrier.destroy())
          const tls = new TLSSocket(carrier as unknown as Socket, { isServer: true, ...SERVER_TLS })
          tls.on('error', () => socket.destroy())
          tls.on('data', onData)
          stream = tls
          return
        }
        if (seq === 1 || (options.tls && seq === 2)) {
          record.startups++ // the handshake response, with the caching_sha2 token
          stream.write(mysqlPacket(seq + 1, Buffer.from([0x01, 0x04]))) // perform full authentication
        } else if (length === 1 && body[0] === 0x02) {
          stream.write(mysqlPacket(seq + 1, Buffer.concat([Buffer.from([0x01]), pem]))) // "the server's" key
        } else if (length === 256) {
          const xored = privateDecrypt(
            { key: privateKey, oaepHash: 'sha1', padding: constants.RSA_PKCS1_OAEP_PADDING },
            body,
          )
          const plain = Buffer.from(xored.map((b, i) => b ^ SCRAMBLE[i % SCRAMBLE.length]!))
          record.passwords.push(plain.subarray(0, plain.indexOf(0)).toString('utf8'))
          stream.end(
            mysqlPacket(seq + 1, Buffer.concat([Buffer.from([0xff, 0x15, 0x04]), Buffer.from('#28000Access denied')])),
          )
        } else if (body[0] !== 0x01 || length > 1) {
          // A cleartext password (over TLS), NUL-terminated.
          record.passwords.push(body.subarray(0, body.indexOf(0) < 0 ? body.length : body.indexOf(0)).toString('utf8'))
          stream.end(
            mysqlPacket(seq + 1, Buffer.concat([Buffer.from([0xff, 0x15, 0x04]), Buffer.from('#28000Access denied')])),
          )
        }
      }
    }
    socket.on('data', onData)
  })
}

/**
 * `pg-sslmode scan mysql://HOST[:PORT]`: the MySQL protocol's half of a scan. A connection is
 * readied for TLS as the MySQL client readies it — the server's handshake packet (its version and
 * whether it offers CLIENT_SSL), then an SSL request packet — and the plaintext question is asked
 * with a handshake response that names a user no server has and carries no password: MySQL 8
 * answers require_secure_transport (ER_SECURE_TRANSPORT_REQUIRED, 3159) before any account is
 * looked up; MariaDB checks it only after a successful login and answers "access denied" (1045)
 * either way, so for MariaDB the answer is "unknown" — finding it out would need credentials.
 */
import type { Socket } from 'node:net'
import { boundedConnection } from './scan-tls.js'

const CLIENT_LONG_PASSWORD = 0x1
const CLIENT_PROTOCOL_41 = 0x200
const CLIENT_SSL = 0x800
const CLIENT_SECURE_CONNECTION = 0x8000
const CLIENT_PLUGIN_AUTH = 0x80000
const ER_SECURE_TRANSPORT_REQUIRED = 3159

export interface MysqlGreeting {
  readonly serverVersion: string
  readonly ssl: boolean
}

function packet(sequence: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUIntLE(payload.length, 0, 3)
  head[3] = sequence
  return Buffer.concat([head, payload])
}

/** TCP and the server's handshake packet: the socket (nothing read beyond the packet) and what it says. */
function greeting(host: string, port: number, timeoutMs: number): Promise<{ socket: Socket } & MysqlGreeting> {
  return new Promise((resolve, reject) => {
    const { socket, fail, settle } = boundedConnection(host, port, timeoutMs, reject)
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk])
      if (received.length < 4 || received.length < 4 + received.readUIntLE(0, 3)) return
      socket.removeListener('data', onData)
      socket.pause()
      settle()
      const payload = received.subarray(4, 4 + received.readUIntLE(0, 3))
      if (payload[0] !== 10) {
        fail(new Error('not a MySQL server (no protocol 10 handshake)'))
        return
      }
      const versionEnd = payload.indexOf(0, 1)
      const capabilities = payload.readUInt16LE(versionEnd + 1 + 4 + 8 + 1)
      resolve({
        socket,
        serverVersion: payload.subarray(1, versionEnd).toString('latin1'),
        ssl: (capabilities & CLIENT_SSL) !== 0,
      })
    }
    socket.on('data', onData)
  })
}

export async function mysqlGreeting(host: string, port: number, timeoutMs: number): Promise<MysqlGreeting> {
  const { socket, ...facts } = await greeting(host, port, timeoutMs)
  socket.destroy()
  return facts
}

/** A connection after the SSL request packet: ready for the TLS handshake. */
export async function mysqlSslReady(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const { socket, ssl } = await greeting(host, port, timeoutMs)
  if (!ssl) {
    socket.destroy()
    throw new Error('the server does not offer CLIENT_SSL')
  }
  const request = Buffer.alloc(32)
  request.writeUInt32LE(CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION, 0)
  request.writeUInt32LE(1 << 24, 4)
  request[8] = 45 // utf8mb4
  socket.write(packet(1, request))
  socket.resume()
  return socket
}

/** The plaintext question (see the top of this file): false, true, or 'unknown'. */
export async function mysqlPlaintextAccepted(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<boolean | 'unknown'> {
  const { socket } = await greeting(host, port, timeoutMs).catch(() => ({ socket: undefined }))
  if (!socket) return 'unknown'
  return new Promise((resolve) => {
    const done = (verdict: boolean | 'unknown'): void => {
      socket.destroy()
      resolve(verdict)
    }
    const head = Buffer.alloc(32)
    head.writeUInt32LE(CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH, 0)
    head.writeUInt32LE(1 << 24, 4)
    head[8] = 45
    const rest = Buffer.from('pg_sslmode_scan\0\0mysql_native_password\0', 'latin1')
    socket.setTimeout(timeoutMs, () => done('unknown'))
    socket.once('error', () => done('unknown'))
    let received = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.length < 7) return
      const first = received[4]
      // OK, or the server asking for an authentication step: it went on in plaintext.
      if (first === 0x00 || first === 0xfe || first === 0x01) return done(true)
      if (first !== 0xff) return done('unknown')
      done(received.readUInt16LE(5) === ER_SECURE_TRANSPORT_REQUIRED ? false : 'unknown')
    })
    socket.resume()
    socket.write(packet(1, Buffer.concat([head, rest])))
  })
}

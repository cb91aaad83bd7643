/**
 * A protocol TEST PEER (not openGauss): it plays the server side of openGauss's password exchange
 * (SHA256, MD5_SHA256, or an SM3 request) towards the client, checks the client's proof against
 * the known test password, and then hands the session to a real PostgreSQL (trust authentication),
 * relaying PostgreSQL's AuthenticationOk and everything after it. With `tls` it answers an
 * SSLRequest with 'S' and runs TLS itself (the fixture server certificate, TLS 1.2 at most, as an
 * openGauss server would), else with 'N'. Used where no openGauss server is available;
 * scripts/opengauss/ runs the same client code against a real openGauss.
 *
 * What it sends follows the server's sendAuthRequest (openGauss auth.cpp) for the protocol minor
 * version the client asked for: the SHA256 request carries the server signature when the minor
 * version is below 50 and the iteration count when it is above 50; MD5_SHA256 carries the salt and
 * an md5 salt. The password is "stored" as the server stores it — a verifier made with
 * `storedIterations` — and the proof is checked against that, as crypt_verify does. A CancelRequest
 * (after SSL when the client asked for it) is passed on to PostgreSQL and counted.
 */
import { readFileSync } from 'node:fs'
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { fixture } from './harness.js'
import { fatalError, pgMessage, relayToBackend } from './peer-support.js'
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { sameHex, sha256Response, sha256ServerSignature } from '../lib/postgres/opengauss/auth.js'

/**
 * What crypt_verify expects for MD5_SHA256: md5 over the stored verifier (salt, server key and
 * stored key, in hex) and the md5 salt. Computed here from the server's side — the verifier made
 * with the stored iteration count — not with the client's function.
 */
function storedMd5Sha256(password: string, salt: string, iterations: number, md5Salt: Buffer): string {
  const k = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'hex'), iterations, 32, 'sha1')
  const serverKey = createHmac('sha256', k).update('Sever Key').digest('hex')
  const storedKey = createHash('sha256').update(createHmac('sha256', k).update('Client Key').digest()).digest('hex')
  return `md5${createHash('md5')
    .update(salt + serverKey + storedKey)
    .update(md5Salt)
    .digest('hex')}`
}

export type PeerMethod = 'sha256' | 'md5_sha256' | 'sm3'

export interface AuthPeer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** What the peer saw of each client: protocol version asked for, and whether the proof was right. */
  readonly seen: Array<{ protocol: number; accepted: boolean; answered: boolean }>
  /** Cancel requests received, and whether each came over TLS. */
  readonly cancels: Array<{ tls: boolean }>
  close(): Promise<void>
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** Reads whole messages from a socket: startup-style (no type byte) first, typed after. */
function reader(socket: Socket): { next(typed: boolean): Promise<{ type: string; body: Buffer }> } {
  let buffer = Buffer.alloc(0)
  let waiting: (() => void) | undefined
  let closed = false
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    waiting?.()
  })
  socket.on('close', () => {
    closed = true
    waiting?.()
  })
  return {
    async next(typed) {
      for (;;) {
        const offset = typed ? 1 : 0
        if (buffer.length >= offset + 4) {
          const length = buffer.readInt32BE(offset)
          if (buffer.length >= offset + length) {
            const type = typed ? String.fromCharCode(buffer[0]!) : ''
            const body = buffer.subarray(offset + 4, offset + length)
            buffer = buffer.subarray(offset + length)
            return { type, body }
          }
        }
        if (closed) throw new Error('the client closed the connection')
        await new Promise<void>((resolve) => (waiting = resolve))
      }
    },
  }
}

/** The first 8 bytes: an SSLRequest, or the start of a startup message (returned to the socket). */
function firstEight(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length < 8) return
      socket.off('data', onData)
      socket.pause()
      resolve(got)
    }
    socket.on('data', onData)
  })
}

export interface PeerOptions {
  readonly tls?: boolean
  /** The iteration count the "stored" password verifier was made with (auth_iteration_count). */
  readonly storedIterations?: number
  /** Send a server signature made from another password (a server that does not know it). */
  readonly wrongSignature?: boolean
}

export async function startOpenGaussAuthPeer(
  upstream: { host: string; port: number },
  method: PeerMethod,
  password: string,
  options: PeerOptions = {},
): Promise<AuthPeer> {
  const open = new Set<Socket>()
  const seen: AuthPeer['seen'] = []
  const cancels: AuthPeer['cancels'] = []
  const storedIterations = options.storedIterations ?? 4096
  const server: Server = createServer(async (raw) => {
    open.add(raw)
    raw.on('close', () => open.delete(raw))
    raw.on('error', () => {})
    let client: Socket = raw
    const first = await firstEight(raw)
    if (first.readInt32BE(0) === 8 && first.readInt32BE(4) === 80877103) {
      if (options.tls) {
        raw.write('S')
        client = new TLSSocket(raw, {
          isServer: true,
          cert: readFileSync(fixture('server.crt')),
          key: readFileSync(fixture('server.key')),
          maxVersion: 'TLSv1.2',
        })
        client.on('error', () => {})
      } else {
        raw.write('N')
      }
      if (first.length > 8) raw.unshift(first.subarray(8))
    } else {
      raw.unshift(first)
    }
    raw.resume()
    const read = reader(client)
    const startup = await read.next(false)
    const protocol = startup.body.readInt32BE(0)
    if (protocol === 80877102) {
      // CancelRequest: pass it on to PostgreSQL, which holds the session.
      cancels.push({ tls: client !== raw })
      const backend = connectTcp(upstream.port, upstream.host, () =>
        backend.end(Buffer.concat([int32(startup.body.length + 4), startup.body])),
      )
      backend.on('error', () => {})
      backend.on('close', () => client.end())
      return
    }
    const minor = protocol & 0xffff
    const params = startup.body.subarray(4)
    const salt = randomBytes(32).toString('hex')
    const token = randomBytes(4).toString('hex')
    let expected: string | undefined
    if (method === 'sha256') {
      // auth.cpp: signature only below PG_PROTOCOL_GAUSS_BASE (50), iteration count only above it.
      const signature = sha256ServerSignature(
        options.wrongSignature ? `not-${password}` : password,
        salt,
        token,
        storedIterations,
      )
      const fields = [
        int32(10),
        int32(2),
        Buffer.from(salt + token, 'latin1'),
        ...(minor < 50 ? [Buffer.from(signature, 'latin1')] : []),
        ...(minor > 50 ? [int32(storedIterations)] : []),
      ]
      client.write(pgMessage('R', Buffer.concat(fields)))
      expected = sha256Response(password, salt, token, storedIterations)
    } else if (method === 'md5_sha256') {
      // auth.cpp: code 11, the sha256 salt, then the md5 salt; crypt_verify: md5 over the stored verifier.
      const md5Salt = randomBytes(4)
      client.write(pgMessage('R', Buffer.concat([int32(11), Buffer.from(salt, 'latin1'), md5Salt])))
      expected = storedMd5Sha256(password, salt, storedIterations, md5Salt)
    } else {
      client.write(
        pgMessage(
          'R',
          Buffer.concat([int32(13), int32(4), Buffer.from(salt + token, 'latin1'), int32(storedIterations)]),
        ),
      )
    }
    const answer = await read.next(true).catch(() => undefined)
    const proof = answer?.body.subarray(0, answer.body.length - 1).toString('utf8') ?? ''
    const accepted = expected !== undefined && answer?.type === 'p' && sameHex(proof, expected)
    seen.push({ protocol, accepted, answered: answer?.type === 'p' })
    if (!accepted) {
      client.end(fatalError('28P01', 'Invalid username/password,login denied.'))
      return
    }
    // Hand over to PostgreSQL: a 3.0 start-up with the client's parameters, then relay both ways.
    const body = Buffer.concat([int32(3 << 16), params])
    relayToBackend(client, upstream, Buffer.concat([int32(body.length + 4), body]), open)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    seen,
    cancels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * The MySQL protocol's first steps, seen by pg-sslmode before mysql2 sees them: the server's
 * initial handshake (protocol 10: version, capabilities — CLIENT_SSL says whether it offers TLS —
 * and the authentication plugin), and the authentication packets that follow the client's answer
 * (AuthSwitchRequest names a plugin, OK or ERR ends the exchange). A byte stream that is not a
 * MySQL handshake is refused at once instead of waiting for a timeout.
 */
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { PgSslError } from '../engine/errors.js'

export const CLIENT_SSL = 0x800
const CLIENT_PLUGIN_AUTH = 0x80000

export interface ServerHello {
  readonly protocolVersion: number
  readonly serverVersion: string
  readonly connectionId: number
  readonly capabilities: number
  readonly offersSsl: boolean
  readonly authPlugin: string | undefined
}

/** The first packet: a handshake, or an ERR packet (too many connections, host blocked...). */
export type FirstPacket =
  | { readonly kind: 'hello'; readonly hello: ServerHello }
  | { readonly kind: 'error'; readonly errno: number; readonly message: string }

/** Length of the first complete packet in `data` (header included), or undefined if incomplete. */
export function completePacketLength(data: Buffer): number | undefined {
  if (data.length < 4) return undefined
  const length = data.readUIntLE(0, 3) + 4
  return data.length >= length ? length : undefined
}

export function parseFirstPacket(packet: Buffer, where: string): FirstPacket {
  const notMysql = (why: string): PgSslError =>
    new PgSslError('PROTOCOL_VIOLATION', `the server at ${where} did not send a MySQL handshake: ${why}`, {
      setting: 'host',
      hint: 'check that host:port is a MySQL or MariaDB server and that nothing sits in between',
    })
  const length = packet.readUIntLE(0, 3)
  if (packet[3] !== 0 || length === 0 || length > 1024)
    throw notMysql(`the first bytes (${packet.subarray(0, 8).toString('hex')}) are not a handshake packet`)
  const body = packet.subarray(4, 4 + length)
  if (body[0] === 0xff) {
    return {
      kind: 'error',
      errno: body.length >= 3 ? body.readUInt16LE(1) : 0,
      message: body
        .subarray(3)
        .toString('utf8')
        .replace(/^#[0-9A-Z]{5}/, ''),
    }
  }
  if (body[0] !== 10) throw notMysql(`protocol version ${body[0]} (MySQL sends 10)`)
  const versionEnd = body.indexOf(0, 1)
  if (versionEnd < 0 || body.length < versionEnd + 1 + 4 + 8 + 1 + 2)
    throw notMysql('the handshake packet is too short')
  let at = versionEnd + 1
  const connectionId = body.readUInt32LE(at)
  at += 4 + 8 + 1 // connection id, auth-plugin-data part 1, filler
  let capabilities = body.readUInt16LE(at)
  at += 2
  let authPlugin: string | undefined
  if (body.length >= at + 16) {
    at += 1 + 2 // character set, status flags
    capabilities |= body.readUInt16LE(at) << 16
    at += 2
    const authDataLength = body[at]!
    at += 1 + 10 // reserved (MariaDB keeps its extended capabilities in the last four)
    at += Math.max(13, authDataLength - 8)
    if (capabilities & CLIENT_PLUGIN_AUTH && at < body.length) {
      const end = body.indexOf(0, at)
      authPlugin = body.subarray(at, end < 0 ? body.length : end).toString('latin1')
    }
  }
  capabilities >>>= 0
  return {
    kind: 'hello',
    hello: {
      protocolVersion: 10,
      serverVersion: body.subarray(1, versionEnd).toString('latin1'),
      connectionId,
      capabilities,
      offersSsl: (capabilities & CLIENT_SSL) !== 0,
      authPlugin,
    },
  }
}

/** What an AuthWatch tells (see below). */
export interface AuthWatchHooks {
  onSwitch(plugin: string): void
  onMoreData?(data: Buffer): void
  onEnd(ok: boolean): void
}

/**
 * Watches the server's packets from the client's answer to the handshake until authentication
 * ends: `onSwitch` hears every plugin the server asks for and `onMoreData` each AuthMoreData (both
 * may refuse by throwing), `onEnd` hears OK or ERR. Passes every byte on unchanged.
 */
export class AuthWatch {
  #pending: Buffer = Buffer.alloc(0)
  #done = false
  readonly #hooks: AuthWatchHooks

  constructor(hooks: AuthWatchHooks) {
    this.#hooks = hooks
  }

  get finished(): boolean {
    return this.#done
  }

  see(chunk: Buffer): void {
    if (this.#done) return
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    for (
      let length = completePacketLength(this.#pending);
      length !== undefined && !this.#done;
      length = completePacketLength(this.#pending)
    ) {
      const marker = this.#pending[4]
      if (marker === 0xfe && length > 5) {
        const end = this.#pending.indexOf(0, 5)
        this.#hooks.onSwitch(this.#pending.subarray(5, end < 0 || end > length ? length : end).toString('latin1'))
      } else if (marker === 0x01 && length > 5) {
        // AuthMoreData: the plugin's next step (caching_sha2_password: 3 fast auth done, 4 full authentication).
        this.#hooks.onMoreData?.(this.#pending.subarray(5, length))
      } else if (marker === 0x00 || marker === 0xff) {
        this.#done = true
        this.#hooks.onEnd(marker === 0x00)
      }
      this.#pending = this.#pending.subarray(length)
    }
    if (this.#done) this.#pending = Buffer.alloc(0)
  }
}

/**
 * What mysql2 reads and writes until TLS starts: the TCP socket, with the server's first packet
 * held back until `decide` has judged it (a refusal destroys the stream with its error, before
 * mysql2 could answer in plaintext). After `detach()` the socket belongs to the TLS session, and
 * the gate only carries the end of the connection to mysql2.
 */
export class HelloGate extends Duplex {
  #held: Buffer = Buffer.alloc(0)
  #decided = false
  #attached = true
  /** Undefined until the TCP connection is opened (after the settings and files are ready). */
  #raw: Socket | undefined
  readonly #decide: (first: Buffer) => void
  readonly #watch: ((chunk: Buffer) => void) | undefined
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk)
  readonly #onEnd = (): void => void this.push(null)
  readonly #onClose = (): void => void this.destroy()
  readonly #onError = (error: Error): void => void this.destroy(error)

  constructor(raw: Socket | undefined, decide: (first: Buffer) => void, watch?: (chunk: Buffer) => void) {
    super()
    this.#decide = decide
    this.#watch = watch
    if (raw) this.attach(raw)
  }

  attach(raw: Socket): void {
    this.#raw = raw
    raw.on('data', this.#onData)
    raw.on('end', this.#onEnd)
    raw.on('close', this.#onClose)
    raw.on('error', this.#onError)
  }

  get socket(): Socket | undefined {
    return this.#raw
  }

  /** Hands the socket over (to the TLS session); the gate keeps only end and close. */
  detach(): Socket {
    const raw = this.#raw!
    raw.off('data', this.#onData)
    raw.off('error', this.#onError)
    this.#attached = false
    return raw
  }

  #receive(chunk: Buffer): void {
    if (this.#decided) {
      try {
        this.#watch?.(chunk)
      } catch (error) {
        this.destroy(error as Error) // refused before mysql2 could answer
        return
      }
      this.push(chunk)
      return
    }
    this.#held = Buffer.concat([this.#held, chunk])
    const length = completePacketLength(this.#held)
    if (length === undefined) {
      if (this.#held.length >= 4 && (this.#held.readUIntLE(0, 3) > 1024 || this.#held[3] !== 0)) this.#judge(this.#held)
      return
    }
    this.#judge(this.#held)
  }

  #judge(data: Buffer): void {
    this.#decided = true
    this.#held = Buffer.alloc(0)
    try {
      this.#decide(data)
    } catch (error) {
      this.destroy(error as Error)
      return
    }
    this.push(data)
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#raw || !this.#attached) {
      callback(new Error('the connection is not open'))
      return
    }
    this.#raw.write(chunk, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#raw && this.#attached) this.#raw.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#raw?.destroy()
    callback(error)
  }
}

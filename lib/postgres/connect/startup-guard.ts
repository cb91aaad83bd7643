/**
 * A server that is not PostgreSQL, or misbehaves, is refused at once — not waited for. From the
 * start-up packet until ReadyForQuery every message the server sends is checked as libpq checks it
 * (fe-connect.c, CONNECTION_AWAITING_RESPONSE; fe-protocol3.c), before any of it is buffered:
 * - before AuthenticationOk only an authentication request ('R'), an error ('E') or
 *   NegotiateProtocolVersion ('v') may come ("expected authentication request from server, but
 *   received H" is what an HTTP server gets);
 * - 'R' and 'v' are 8 to 2000 bytes long, 'E' 8 to 30000;
 * - after AuthenticationOk, start-up messages (S, K, Z, E, N, A, v) of at most 30000 bytes.
 * An HTTP responder, garbage after a valid message, or a 2 GB length fails with
 * PROTOCOL_VIOLATION within the same event-loop turn the bytes arrive in.
 *
 * It sits in front of pg's own 'data' listener (the stream's emit), so pg never sees a rejected
 * chunk, and removes itself at ReadyForQuery: the session itself pays nothing.
 */
import type { Socket } from 'node:net'
import { PgSslError } from '../../engine/errors.js'

const AUTH_REQUEST = 0x52 // R
const ERROR_RESPONSE = 0x45 // E
const NEGOTIATE_PROTOCOL = 0x76 // v
const READY_FOR_QUERY = 0x5a // Z
const BACKEND_KEY = 0x4b // K
const PARAMETER_STATUS = 0x53 // S
// S K Z E N A v
const AFTER_AUTH = new Set([0x53, 0x4b, READY_FOR_QUERY, ERROR_RESPONSE, 0x4e, 0x41, NEGOTIATE_PROTOCOL])

const printable = (type: number): string =>
  type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : `0x${type.toString(16).padStart(2, '0')}`

export interface GuardOptions {
  /**
   * Where the conversation stands: before authentication, or after AuthenticationOk (openGauss's
   * own start-up did that part).
   */
  readonly phase: 'auth' | 'after-auth'
  /**
   * Stop at the end of the chunk that holds AuthenticationOk (openGauss reads the authentication
   * itself, then hands the rest back).
   */
  readonly untilAuthenticated?: boolean
  /**
   * Called with every authentication request (its code and whole body, AuthenticationOk
   * included) before pg sees it: an error returned ends the connection there, before any answer
   * is sent — libpq's checks on authentication requests (connect/auth-guard.ts).
   */
  readonly onAuthenticationRequest?: (code: number, body: Buffer) => PgSslError | undefined
  /**
   * Called with BackendKeyData: the process ID and the whole cancel key. Protocol 3.2 (a
   * PostgreSQL 18 server that negotiated it) sends up to 256 key bytes where pg reads 4.
   */
  readonly onBackendKey?: (processId: number, key: Buffer) => void
  /** Called with every ParameterStatus of the start-up (in_hot_standby, default_transaction_read_only, ...). */
  readonly onParameterStatus?: (name: string, value: string) => void
}

/** The incremental check: feed it what the server sends; it says what is wrong, or 'done' at ReadyForQuery. */
export class StartupChecker {
  #phase: 'auth' | 'after-auth'
  #header = Buffer.alloc(0)
  #bodyLeft = 0
  #type = 0
  /** The message being read is an authentication request: its body (at most 2000 bytes) is kept. */
  #inRequest = false
  #requestBody: Buffer[] = []
  authenticated = false
  /** Authentication requests completed by the last feed(), code and body, in order. */
  readonly requests: Array<{ code: number; body: Buffer }> = []
  /** The message being read is BackendKeyData: kept whole (at most 260 bytes). */
  #inKey = false
  #keyBody: Buffer[] = []
  /** BackendKeyData, once read. */
  backendKey: { processId: number; key: Buffer } | undefined
  #inParameter = false
  #parameterBody: Buffer[] = []
  /** ParameterStatus messages completed by the last feed(). */
  readonly parameters: Array<[name: string, value: string]> = []

  constructor(phase: 'auth' | 'after-auth') {
    this.#phase = phase
  }

  /** Returns a problem, 'done' once ReadyForQuery is complete, or undefined to go on. */
  feed(chunk: Buffer): string | 'done' | undefined {
    let i = 0
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i)
        if (this.#inRequest) this.#requestBody.push(chunk.subarray(i, i + take))
        if (this.#inKey) this.#keyBody.push(chunk.subarray(i, i + take))
        if (this.#inParameter) this.#parameterBody.push(chunk.subarray(i, i + take))
        this.#bodyLeft -= take
        i += take
        if (this.#bodyLeft === 0 && this.#messageEnded()) return 'done'
        continue
      }
      const need = 5 - this.#header.length
      this.#header = Buffer.concat([this.#header, chunk.subarray(i, i + need)])
      i += Math.min(need, chunk.length - i)
      if (this.#header.length < 1) continue
      const problem = this.#checkType(this.#header[0]!)
      if (problem) return problem
      if (this.#header.length < 5) continue
      const length = this.#header.readUInt32BE(1)
      const lengthProblem = this.#checkLength(this.#type, length)
      if (lengthProblem) return lengthProblem
      this.#bodyLeft = length - 4
      this.#inRequest = this.#type === AUTH_REQUEST && this.#phase === 'auth'
      this.#requestBody = []
      this.#inKey = this.#type === BACKEND_KEY && this.#phase === 'after-auth'
      this.#keyBody = []
      this.#inParameter = this.#type === PARAMETER_STATUS && this.#phase === 'after-auth'
      this.#parameterBody = []
      this.#header = Buffer.alloc(0)
      if (this.#bodyLeft === 0 && this.#messageEnded()) return 'done'
    }
    return undefined
  }

  #checkType(type: number): string | undefined {
    this.#type = type
    if (this.#phase === 'auth') {
      if (type !== AUTH_REQUEST && type !== ERROR_RESPONSE && type !== NEGOTIATE_PROTOCOL)
        return `expected authentication request from server, but received ${printable(type)}`
    } else if (!AFTER_AUTH.has(type)) {
      return `unexpected message type "${printable(type)}" from the server during start-up`
    }
    return undefined
  }

  #checkLength(type: number, length: number): string | undefined {
    if (this.#phase === 'auth') {
      if (type === AUTH_REQUEST && (length < 8 || length > 2000))
        return `received invalid authentication request (length ${length})`
      if (type === NEGOTIATE_PROTOCOL && (length < 8 || length > 2000))
        return `received invalid protocol negotiation message (length ${length})`
      if (type === ERROR_RESPONSE && (length < 8 || length > 30000))
        return `received invalid error message (length ${length})`
      return undefined
    }
    if (length < 4 || (length > 30000 && type !== ERROR_RESPONSE && type !== 0x4e && type !== 0x41))
      return `lost synchronization with server: got message type "${printable(type)}", length ${length}`
    // A cancel key is 4 bytes (protocol 3.0) up to 256 bytes (3.2): libpq 18 refuses anything else.
    if (type === BACKEND_KEY && (length < 12 || length > 8 + 256))
      return `received invalid BackendKeyData message (length ${length})`
    return undefined
  }

  /** A whole message was read: an AuthenticationOk moves on; ReadyForQuery ends the start-up. */
  #messageEnded(): boolean {
    if (this.#inParameter) {
      this.#inParameter = false
      const [name = '', value = ''] = Buffer.concat(this.#parameterBody).toString('utf8').split('\0')
      this.parameters.push([name, value])
    }
    if (this.#inKey) {
      this.#inKey = false
      const body = Buffer.concat(this.#keyBody)
      this.backendKey = { processId: body.readUInt32BE(0), key: Buffer.from(body.subarray(4)) }
    }
    if (this.#inRequest) {
      this.#inRequest = false
      const body = Buffer.concat(this.#requestBody) // 4 to 1996 bytes: the length was checked
      const code = body.readUInt32BE(0)
      this.requests.push({ code, body })
      if (code === 0) {
        this.#phase = 'after-auth'
        this.authenticated = true
      }
    }
    return this.#phase === 'after-auth' && this.#type === READY_FOR_QUERY
  }
}

/**
 * Check what the server sends on `stream` until ReadyForQuery; destroy it with PROTOCOL_VIOLATION
 * on the first offence.
 */
export function guardStartup(stream: Socket, options: GuardOptions): void {
  const checker = new StartupChecker(options.phase)
  const originalEmit = stream.emit
  const detach = (): void => {
    // Assigned, never deleted: a deleted property sends the socket to V8's slow dictionary mode.
    stream.emit = originalEmit
  }
  stream.emit = function guardedEmit(this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') {
      checker.requests.length = 0
      checker.parameters.length = 0
      const verdict = checker.feed(args[0] as Buffer)
      for (const [name, value] of checker.parameters) options.onParameterStatus?.(name, value)
      if (verdict !== undefined && verdict !== 'done') {
        detach()
        stream.destroy(
          new PgSslError('PROTOCOL_VIOLATION', verdict, {
            hint: 'check that host:port is a PostgreSQL/openGauss server and that nothing sits in between',
          }),
        )
        return true
      }
      if (checker.backendKey && options.onBackendKey) {
        options.onBackendKey(checker.backendKey.processId, checker.backendKey.key)
        checker.backendKey = undefined
      }
      for (const request of checker.requests) {
        const refused = options.onAuthenticationRequest?.(request.code, request.body)
        if (refused) {
          detach()
          stream.destroy(refused)
          return true
        }
      }
      if (verdict === 'done' || (options.untilAuthenticated && checker.authenticated)) detach()
    } else if (event === 'close') {
      detach()
    }
    return (originalEmit as (event: string | symbol, ...args: unknown[]) => boolean).call(this, event, ...args)
  } as Socket['emit']
}

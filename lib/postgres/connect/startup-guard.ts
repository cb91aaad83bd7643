/**
 * A server that is not PostgreSQL, or misbehaves, is refused at once — not waited for. From the
 * start-up packet until ReadyForQuery every message the server sends on pg's socket goes through
 * the start-up framer (protocol/framer.ts) with libpq's rules (protocol/startup-rules.ts) before
 * pg sees it: an HTTP responder, garbage after a valid message, or a 2 GB length fails with
 * PROTOCOL_VIOLATION within the same event-loop turn the bytes arrive in. On the way it hands
 * each authentication request to the auth guard (auth-guard.ts) before pg can answer it, answers
 * a SASL exchange pg cannot run itself (SCRAM keys, sasl.ts) without pg seeing it, reads
 * NegotiateProtocolVersion as libpq 18 does (protocol/version.ts) and keeps it from pg, which does
 * not know it, and reports the whole BackendKeyData and, when asked (target_session_attrs), ParameterStatus.
 *
 * This is the driver of the framer over pg's socket: it sits in front of pg's own 'data' listener
 * (the stream's emit), so pg never sees a rejected chunk, and removes itself at ReadyForQuery:
 * the session itself pays nothing. Until AuthenticationOk pg is given whole messages (all but
 * NegotiateProtocolVersion, a refused authentication request and the SASL messages answered
 * here), as the chunk's own bytes when a message came in one; from there on, the bytes as they came.
 */
import type { Socket } from 'node:net'
import { PgSslError } from '../../engine/errors.js'
import { BackendFramer, type FramedMessage } from '../protocol/framer.js'
import {
  AUTHENTICATION,
  authenticationCode,
  BACKEND_KEY_DATA,
  backendKeyData,
  PARAMETER_STATUS,
  parameterStatus,
  NEGOTIATE_PROTOCOL_VERSION,
  READY_FOR_QUERY,
} from '../protocol/messages.js'
import { AFTER_AUTHENTICATION, BEFORE_AUTHENTICATION } from '../protocol/startup-rules.js'
import { SASL, SASL_FINAL, type SaslAnswerer, type SaslReply } from './sasl.js'
import {
  checkCancelKey,
  duplicateNegotiation,
  negotiatedMinor,
  PROTOCOL_3_0,
  type ProtocolRange,
} from '../protocol/version.js'

export interface GuardOptions {
  /**
   * Where the conversation stands: before authentication, or after AuthenticationOk (openGauss's
   * own start-up, opengauss/startup.ts, did that part).
   */
  readonly phase: 'auth' | 'after-auth'
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
  /**
   * The `postgres` dialect: the protocol versions asked for and allowed (3.0 only when not given).
   * Read at NegotiateProtocolVersion and at BackendKeyData.
   */
  readonly protocol?: ProtocolRange
  /** The `postgres` dialect: the minor version the session runs in, told at ReadyForQuery. */
  readonly onProtocolVersion?: (minor: number) => void
  /**
   * A SASL exchange pg cannot run (connect/sasl.ts): its requests go here, not to pg, and what it
   * answers goes to `send` (the socket).
   */
  readonly sasl?: { readonly answerer: SaslAnswerer; readonly send: (bytes: Buffer) => void }
}

/**
 * An answer that takes time (a token being fetched): the reader stopped after the request; `rest`
 * is what followed it in the chunk. The server says nothing until it has the answer, so the
 * driver holds back what still comes until `answered` settles (with a refusal, or none).
 */
export interface Waiting {
  readonly answered: Promise<PgSslError | undefined>
  readonly rest: Buffer
}

/**
 * Read one chunk of what the server sent: an error (the connection ends there), 'done' once
 * ReadyForQuery has come, a wait for an answer, or undefined to go on.
 */
type ChunkReader = (chunk: Buffer) => PgSslError | 'done' | Waiting | undefined

/** One message as it came: the chunk's own bytes when it came in one, else its header and body joined. */
function asItCame(chunk: Buffer, message: FramedMessage): Buffer {
  if (message.start >= 0) return chunk.subarray(message.start, message.end)
  const { body } = message
  const head = Buffer.alloc(5)
  head[0] = message.type
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

/**
 * The checks of the start-up, over a framer: the part of the guard that knows no socket. What pg
 * is to see of each chunk goes to `forward` (kept back by the driver when the chunk is refused).
 */
export function startupReader(options: GuardOptions, forward: (bytes: Buffer) => void = () => {}): ChunkReader {
  const framer = new BackendFramer(options.phase === 'auth' ? BEFORE_AUTHENTICATION : AFTER_AUTHENTICATION)
  const range = options.protocol ?? PROTOCOL_3_0
  let minor = range.max
  let negotiated = false
  let saslHere = false
  return (chunk) => {
    // Where this chunk's bytes are passed on as they came (after AuthenticationOk), or -1.
    let rawFrom = framer.rules === AFTER_AUTHENTICATION ? 0 : -1
    try {
      for (const message of framer.messages(chunk)) {
        // The body is read only where it is needed (FramedMessage makes it on demand).
        const { type, end } = message
        if (framer.rules === BEFORE_AUTHENTICATION) {
          if (type === NEGOTIATE_PROTOCOL_VERSION) {
            if (negotiated) return duplicateNegotiation()
            negotiated = true
            minor = negotiatedMinor(message.body, range)
            continue
          }
          if (type !== AUTHENTICATION) {
            forward(asItCame(chunk, message))
            continue
          }
          const code = authenticationCode(message.body)
          const refused = options.onAuthenticationRequest?.(code, message.body)
          if (refused) return refused
          const { sasl } = options
          if (sasl && code >= SASL && code <= SASL_FINAL) {
            if (code === SASL) saslHere = sasl.answerer.takes(message.body)
            if (saslHere) {
              const reply = sasl.answerer.answer(code, message.body)
              if (!(reply instanceof Promise)) {
                const ended = deliver(reply, sasl.send)
                if (ended) return ended
                continue
              }
              const answered = reply.then(
                (settled) => deliver(settled, sasl.send),
                (error: PgSslError) => error,
              )
              return { answered, rest: chunk.subarray(end) }
            }
          }
          forward(asItCame(chunk, message))
          if (code === 0) {
            framer.rules = AFTER_AUTHENTICATION
            rawFrom = end
          }
        } else if (type === PARAMETER_STATUS) options.onParameterStatus?.(...parameterStatus(message.body))
        else if (type === BACKEND_KEY_DATA) {
          const { processId, key } = backendKeyData(message.body)
          const refused = options.phase === 'auth' ? checkCancelKey(key.length, minor) : undefined
          if (refused) return refused
          options.onBackendKey?.(processId, key)
        } else if (type === READY_FOR_QUERY) {
          forward(chunk.subarray(rawFrom))
          if (options.phase === 'auth') options.onProtocolVersion?.(minor)
          return 'done'
        }
      }
    } catch (error) {
      return error as PgSslError // the framer's PROTOCOL_VIOLATION, or a refused negotiation
    }
    if (rawFrom >= 0 && rawFrom < chunk.length) forward(chunk.subarray(rawFrom))
    return undefined
  }
}

/** Send a SASL answer; what ends the attempt, if anything. */
function deliver(reply: SaslReply, send: (bytes: Buffer) => void): PgSslError | undefined {
  if (reply.send) send(reply.send)
  return reply.end
}

/** Check what the server sends on `stream` until ReadyForQuery; destroy it with the first refusal. */
export function guardStartup(stream: Socket, options: GuardOptions): void {
  let passOn: Buffer[] = []
  const read = startupReader(options, (bytes) => passOn.push(bytes))
  const originalEmit = stream.emit as (event: string | symbol, ...args: unknown[]) => boolean
  // Chunks held back while an answer is being made (a token fetched); undefined when none is.
  let held: Buffer[] | undefined
  const detach = (): void => {
    // Assigned, never deleted: a deleted property sends the socket to V8's slow dictionary mode.
    stream.emit = originalEmit as Socket['emit']
  }
  const refuse = (error: PgSslError): void => {
    detach()
    stream.destroy(error)
  }
  const take = (chunk: Buffer): void => {
    passOn = []
    const verdict = read(chunk)
    // A refused chunk reaches no listener: pg sees nothing of it.
    if (verdict instanceof PgSslError) {
      refuse(verdict)
      return
    }
    if (verdict === 'done') detach()
    for (const bytes of passOn) originalEmit.call(stream, 'data', bytes)
    if (verdict !== undefined && verdict !== 'done') wait(verdict)
  }
  const wait = ({ answered, rest }: Waiting): void => {
    held = rest.length > 0 ? [rest] : []
    void answered.then((problem) => {
      const chunks = held ?? []
      held = undefined
      if (stream.destroyed) return
      if (problem) refuse(problem)
      else resume(chunks)
    })
  }
  // What came while waiting, in order: read on, held again by a further wait, or pg's once done.
  const resume = (chunks: readonly Buffer[]): void => {
    for (const chunk of chunks) {
      const holding: Buffer[] | undefined = held
      if (stream.destroyed) return
      if (holding) holding.push(chunk)
      else if (stream.emit === (originalEmit as Socket['emit'])) originalEmit.call(stream, 'data', chunk)
      else take(chunk)
    }
  }
  stream.emit = function guardedEmit(this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') {
      if (held !== undefined) held.push(args[0] as Buffer)
      else take(args[0] as Buffer)
      return true
    }
    if (event === 'close') detach()
    return originalEmit.call(this, event, ...args)
  } as Socket['emit']
}

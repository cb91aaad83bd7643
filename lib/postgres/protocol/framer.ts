/**
 * The one backend-message framer of the start-up (sans-I/O, in the manner of pg-protocol's
 * Parser): bytes in, whole messages out. Each message's type is checked at its first byte and
 * its length at the fifth, by the rules of where the conversation stands (startup-rules.ts:
 * libpq's bounds), before its body is waited for — so an HTTP server, garbage or a 2 GB length is
 * refused as soon as its first bytes arrive, never buffered.
 *
 * Used by the start-up guard (connect/startup-guard.ts, the driver over pg's socket) and by
 * openGauss's authentication (opengauss/startup.ts, the driver over the socket before pg has it).
 */
import { PgSslError } from '../../engine/errors.js'

/** What may come where the conversation stands: each answer is a problem, or undefined. */
export interface FrameRules {
  /** Checked at a message's first byte. */
  checkType(type: number): string | undefined
  /** Checked at its fifth: `length` is the header's, which counts its own four bytes. */
  checkLength(type: number, length: number): string | undefined
}

export interface FramedMessage {
  readonly type: number
  /** The body after the 5-byte header (made when first read). It may share memory with the chunk: copy what is kept. */
  readonly body: Buffer
  /**
   * Where in the chunk given to messages() this message began (its type byte), or -1 when it
   * began in an earlier chunk: chunk.subarray(start, end) is then the message as it came.
   */
  readonly start: number
  /** Where in the chunk given to messages() this message ended: what follows is not read yet. */
  readonly end: number
}

/**
 * A message whose bytes lie in one chunk: its body is made (a view of the chunk) only when read,
 * since most start-up messages are only checked and passed on.
 */
class InChunk implements FramedMessage {
  readonly #chunk: Buffer
  readonly #bodyFrom: number
  #body: Buffer | undefined

  constructor(
    readonly type: number,
    chunk: Buffer,
    bodyFrom: number,
    readonly start: number,
    readonly end: number,
  ) {
    this.#chunk = chunk
    this.#bodyFrom = bodyFrom
  }

  get body(): Buffer {
    this.#body ??= this.#chunk.subarray(this.#bodyFrom, this.end)
    return this.#body
  }
}

const HINT = 'check that host:port is a PostgreSQL/openGauss server and that nothing sits in between'

/** PROTOCOL_VIOLATION: the server sent what a PostgreSQL server does not send here. */
export function protocolViolation(problem: string): PgSslError {
  return new PgSslError('PROTOCOL_VIOLATION', problem, { hint: HINT })
}

export class BackendFramer {
  /** The rules for the next message; changing them between messages is how a phase moves on. */
  rules: FrameRules
  readonly #header = Buffer.alloc(5)
  #headerBytes = 0
  /** Body bytes still to come, or -1 while a header is being read. */
  #bodyLeft = -1
  #parts: Buffer[] = []
  #failed: PgSslError | undefined

  constructor(rules: FrameRules) {
    this.rules = rules
  }

  /** Between two messages: nothing of a next one has arrived. */
  get atBoundary(): boolean {
    return this.#headerBytes === 0 && this.#bodyLeft < 0
  }

  /**
   * The whole messages `chunk` completes, in order. They are read as they are asked for: a caller
   * that stops after one (AuthenticationOk, ReadyForQuery) leaves the rest of the chunk unread, and
   * the framer at the boundary after that message. Throws PROTOCOL_VIOLATION (and again on every
   * later call) when the rules refuse a type or a length.
   */
  *messages(chunk: Buffer): Generator<FramedMessage, void, undefined> {
    if (this.#failed) throw this.#failed
    let i = 0
    // Where the message being read began in this chunk; -1 while it is one an earlier chunk began.
    let start = -1
    while (i < chunk.length) {
      if (this.#bodyLeft < 0 && this.#headerBytes === 0 && chunk.length - i >= 5) {
        // The whole header is in this chunk (the usual case): read in place, nothing copied.
        start = i
        this.#header[0] = chunk[i]!
        this.#check(this.rules.checkType(chunk[i]!))
        this.#beginBody(chunk.readUInt32BE(i + 1))
        i += 5
      } else if (this.#bodyLeft < 0) {
        if (this.#headerBytes === 0) start = i
        const take = Math.min(5 - this.#headerBytes, chunk.length - i)
        chunk.copy(this.#header, this.#headerBytes, i, i + take)
        if (this.#headerBytes === 0) this.#check(this.rules.checkType(this.#header[0]!))
        this.#headerBytes += take
        i += take
        if (this.#headerBytes < 5) return
        this.#beginBody(this.#header.readUInt32BE(1))
      }
      const take = Math.min(this.#bodyLeft, chunk.length - i)
      const from = i
      this.#bodyLeft -= take
      i += take
      if (this.#bodyLeft === 0) {
        // Most bodies arrive whole in one chunk: then no list of parts is kept for them.
        const parts = this.#parts
        const type = this.#header[0]!
        this.#headerBytes = 0
        this.#bodyLeft = -1
        if (parts.length === 0) yield new InChunk(type, chunk, from, start, i)
        else {
          this.#parts = []
          yield { type, body: Buffer.concat([...parts, chunk.subarray(from, i)]), start, end: i }
        }
      } else if (take > 0) this.#parts.push(chunk.subarray(from, i))
    }
  }

  /** The header is read (its type in #header[0], already checked): check the length, then read the body. */
  #beginBody(length: number): void {
    this.#check(this.rules.checkLength(this.#header[0]!, length))
    this.#bodyLeft = length - 4
  }

  #check(problem: string | undefined): void {
    if (problem === undefined) return
    this.#failed = protocolViolation(problem)
    throw this.#failed
  }
}

/**
 * openGauss's start-up and password exchange as a state machine, with no socket: a message in,
 * what to send back out, and what was learnt (the protocol version, whether the server proved it
 * knows the password). opengauss/startup.ts drives it over the socket.
 *
 * Like gsql it asks for protocol 3.51 by default, so an openGauss server sends its iteration
 * count; `max_protocol_version` may ask for 3.50 or 3.0 instead. What the server sends depends on
 * that version, and is read exactly as openGauss's libpq reads it (fe-connect.cpp,
 * CONNECTION_AWAITING_RESPONSE; the server side is sendAuthRequest in auth.cpp):
 *
 *   SHA256 (10):     int32 stored method; for SHA256 (2): salt[64] token[8],
 *                    then server signature[64] when minor < 50, iteration int32 when minor > 50;
 *                    for MD5 (1): md5 salt[4]
 *   MD5_SHA256 (11): salt[64] md5 salt[4] (no iteration count: 2048 is assumed)
 *
 * With minor < 50 the server proves it knows the password before the client answers; a wrong
 * signature ends the connection with SERVER_SIGNATURE_MISMATCH and no proof is sent. A PostgreSQL
 * server answers 3.51 with NegotiateProtocolVersion and goes on in the version it names.
 */
import pg from '../pg.js'
import { PgSslError } from '../../engine/errors.js'
import { type FramedMessage, protocolViolation } from '../protocol/framer.js'
import {
  AUTHENTICATION,
  ERROR_RESPONSE,
  NEGOTIATE_PROTOCOL_VERSION,
  printableType,
  responseFields,
  startupPacket,
} from '../protocol/messages.js'
import {
  DEFAULT_ITERATIONS,
  md5Sha256Response,
  postgresMd5Response,
  sameHex,
  sha256ForMd5Response,
  sha256Response,
  sha256ServerSignature,
} from './auth.js'

/** PG_PROTOCOL_GAUSS_BASE: below it the server sends its signature; above it the iteration count. */
const GAUSS_BASE = 50

const AUTH_OK = 0
const AUTH_CLEARTEXT = 3
const AUTH_MD5 = 5
const AUTH_SHA256 = 10
const AUTH_MD5_SHA256 = 11
const AUTH_SM3 = 13
const PLAIN_PASSWORD = 0
const MD5_PASSWORD = 1
const SHA256_PASSWORD = 2

/**
 * What the exchange wants after a message: nothing (read on), the password (`answer` turns it into
 * the bytes to send), or nothing more (AuthenticationOk: the rest is pg's).
 */
export type ExchangeStep =
  | { readonly kind: 'read-on' }
  | { readonly kind: 'password'; readonly answer: (password: string) => Buffer }
  | { readonly kind: 'authenticated' }

const READ_ON: ExchangeStep = { kind: 'read-on' }

/**
 * The fewest body bytes each request's layout needs (see above), so a short one is refused by name
 * rather than read past its end. SHA256's stored method decides the rest (checked in #sha256).
 */
const REQUEST_LENGTHS = new Map([
  [AUTH_MD5, 8],
  [AUTH_SHA256, 8],
  [AUTH_MD5_SHA256, 72],
])

export class OpenGaussExchange {
  readonly #user: string
  /** The protocol minor version asked for. */
  readonly #minor: number
  #sessionMinor: number
  #serverSignatureVerified = false

  constructor(user: string, protocolMinor: number) {
    this.#user = user
    this.#minor = protocolMinor
    this.#sessionMinor = protocolMinor
  }

  /** The protocol version the session runs in: the one asked for, or the one a PostgreSQL server named. */
  get protocolVersion(): string {
    return `3.${this.#sessionMinor}`
  }

  /** With protocol minor < 50 and a SHA256 exchange: the server proved it knows the password. */
  get serverSignatureVerified(): boolean {
    return this.#serverSignatureVerified
  }

  /** The start-up packet: the protocol version asked for, then the parameters. */
  startupMessage(params: Record<string, string>): Buffer {
    return startupPacket(this.#minor, params)
  }

  /** One message from the server. Throws the server's error as pg's DatabaseError, or a coded error. */
  receive({ type, body }: Pick<FramedMessage, 'type' | 'body'>): ExchangeStep {
    if (type === ERROR_RESPONSE) throw databaseError(body)
    if (type === NEGOTIATE_PROTOCOL_VERSION) {
      // A PostgreSQL server: it goes on in the newest version it has (3.0, or 3.2 for PostgreSQL 18).
      // PostgreSQL sends a whole version word (major << 16 | minor): its low half is the minor.
      if (body.length >= 4) this.#sessionMinor = Math.min(this.#minor, body.readInt32BE(0) & 0xffff)
      return READ_ON
    }
    if (type !== AUTHENTICATION) {
      throw new PgSslError(
        'PROTOCOL_VIOLATION',
        `expected an authentication request from the server, but received "${printableType(type)}"`,
      )
    }
    return this.#request(body)
  }

  #request(body: Buffer): ExchangeStep {
    // The framer saw to it that a request has its code (8 bytes or more with the header).
    const code = body.readInt32BE(0)
    const needed = REQUEST_LENGTHS.get(code)
    if (needed !== undefined && body.length < needed) throw shortRequest(`request ${code}`)
    switch (code) {
      case AUTH_OK:
        return { kind: 'authenticated' }
      case AUTH_CLEARTEXT:
        return password((p) => p)
      case AUTH_MD5:
        return password((p) => postgresMd5Response(this.#user, p, body.subarray(4, 8)))
      case AUTH_SHA256:
        return this.#sha256(body)
      case AUTH_MD5_SHA256: {
        const salt = body.subarray(4, 68).toString('latin1')
        return password((p) => md5Sha256Response(p, salt, body.subarray(68, 72)))
      }
      case AUTH_SM3:
        throw new PgSslError(
          'UNSUPPORTED_AUTH',
          'the server asks for SM3 password authentication, which is not supported',
          { hint: 'store the password as sha256 (password_encryption_type=2) for this user' },
        )
      default:
        throw new PgSslError(
          'UNSUPPORTED_AUTH',
          `authentication method ${code} is not supported in the openGauss dialects`,
        )
    }
  }

  #sha256(body: Buffer): ExchangeStep {
    const stored = body.readInt32BE(4)
    if (stored === MD5_PASSWORD) {
      if (body.length < 12) throw shortRequest('SHA256 for an MD5 password')
      // A password stored as MD5 (openGauss's libpq still answers this layout).
      return password((p) => sha256ForMd5Response(this.#user, p, body.subarray(8, 12)))
    }
    if (stored !== PLAIN_PASSWORD && stored !== SHA256_PASSWORD) {
      throw new PgSslError(
        'UNSUPPORTED_AUTH',
        `the server stores this password with method ${stored}, which is not supported (sha256 and md5 are)`,
        { hint: 'store the password with password_encryption_type=2 (sha256)' },
      )
    }
    const minor = this.#sessionMinor
    // salt[64] token[8], then the signature[64] below 3.50 (the iteration count above it is optional).
    if (body.length < 80 + (minor < GAUSS_BASE ? 64 : 0)) throw shortRequest(`SHA256, protocol 3.${minor}`)
    const salt = body.subarray(8, 72).toString('latin1')
    const token = body.subarray(72, 80).toString('latin1')
    const serverSignature = minor < GAUSS_BASE ? body.subarray(80, 144).toString('latin1') : undefined
    const iterations = minor > GAUSS_BASE && body.length >= 84 ? body.readInt32BE(80) : DEFAULT_ITERATIONS
    return password((p) => {
      if (serverSignature !== undefined) {
        if (!sameHex(serverSignature, sha256ServerSignature(p, salt, token, iterations))) {
          throw new PgSslError(
            'SERVER_SIGNATURE_MISMATCH',
            `the server's SHA256 signature does not match the password (protocol 3.${minor}): ` +
              'it does not know the password, so it is not the server it claims to be',
            { setting: 'password' },
          )
        }
        this.#serverSignatureVerified = true
      }
      return sha256Response(p, salt, token, iterations)
    })
  }
}

/** A request shorter than its layout: where gsql's pqGetnchar would run past the message's end. */
function shortRequest(layout: string): PgSslError {
  return protocolViolation(`message contents do not agree with length in message type "R" (${layout})`)
}

/** The step that asks for the password; the answer is a PasswordMessage. */
function password(response: (password: string) => string): ExchangeStep {
  return { kind: 'password', answer: (p) => passwordMessage(response(p)) }
}

function passwordMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8')
  const head = Buffer.alloc(5)
  head.write('p', 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

/** ErrorResponse fields → pg's DatabaseError, so failures are classified as for pg's own start-up. */
function databaseError(body: Buffer): InstanceType<typeof pg.DatabaseError> {
  const fields = responseFields(body)
  const error = new pg.DatabaseError(fields.M ?? 'server error', body.length, 'error')
  error.severity = fields.S
  error.code = fields.C
  error.detail = fields.D
  error.hint = fields.H
  return error
}

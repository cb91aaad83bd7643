/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as libpq 18 runs it (fe-auth-scram.c),
 * for the case pg cannot run: scram_client_key and scram_server_key, the keys in place of the
 * password (postgres_fdw's and dblink's pass-through). Pure: strings in, strings out.
 *
 *   SaltedPassword  = PBKDF2-HMAC-SHA-256(password, salt, iterations)   (only without a client key)
 *   ClientKey       = scram_client_key, or HMAC(SaltedPassword, "Client Key")
 *   ServerKey       = scram_server_key, or HMAC(SaltedPassword, "Server Key")
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(SHA-256(ClientKey), AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage), compared in constant time
 *
 * As in libpq, a client key without a server key leaves nothing to check the server's signature
 * with (libpq does not compute SaltedPassword then), so such an exchange ends in "incorrect server
 * signature" after the server accepted the proof.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { PgSslError } from '../../engine/errors.js'

/** SCRAM_MAX_KEY_LEN: the length of a SHA-256 key. */
export const SCRAM_KEY_LENGTH = 32
const RAW_NONCE_LENGTH = 18 // SCRAM_RAW_NONCE_LEN

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS'

export interface ScramInput {
  readonly mechanism: ScramMechanism
  /**
   * tls-server-end-point data (the hash of the server's certificate) for SCRAM-SHA-256-PLUS; for
   * the plain mechanism, whether the client could have bound (TLS in use, channel_binding not
   * disable): libpq's "y" flag then, "n" otherwise.
   */
  readonly binding: { readonly data: Buffer } | { readonly couldBind: boolean }
  readonly clientKey?: Buffer | undefined
  readonly serverKey?: Buffer | undefined
  /** The password, used only for a key not given. */
  readonly password?: string | undefined
  /** For the RFC's test vectors: the nonce and user name libpq leaves random and empty. */
  readonly nonce?: string
  readonly user?: string
}

const malformed = (what: string): PgSslError =>
  new PgSslError('PROTOCOL_VIOLATION', `malformed SCRAM message (${what})`, {
    hint: 'the server broke the SCRAM exchange: check that nothing sits between client and server',
  })

/** One SCRAM exchange: client-first, then client-final for the server-first, then the server-final check. */
export class ScramExchange {
  readonly #input: ScramInput
  readonly #nonce: string
  readonly #clientFirstBare: string
  #authMessage = ''
  #serverKey: Buffer | undefined

  constructor(input: ScramInput) {
    this.#input = input
    this.#nonce = input.nonce ?? randomBytes(RAW_NONCE_LENGTH).toString('base64')
    this.#clientFirstBare = `n=${input.user ?? ''},r=${this.#nonce}`
  }

  get #gs2Header(): string {
    const { binding } = this.#input
    if ('data' in binding) return 'p=tls-server-end-point,,'
    return binding.couldBind ? 'y,,' : 'n,,'
  }

  /** client-first-message. */
  clientFirst(): string {
    return this.#gs2Header + this.#clientFirstBare
  }

  /** client-final-message, for the server-first-message (AuthenticationSASLContinue). */
  clientFinal(serverFirst: string): string {
    checkText(serverFirst)
    const attributes = attributeReader(serverFirst)
    const nonce = attributes.next('r')
    if (!nonce.startsWith(this.#nonce)) {
      throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SCRAM response (nonce mismatch)', {
        hint: 'the server did not answer this exchange: check that nothing sits between client and server',
      })
    }
    const salt = pgBase64Decode(attributes.next('s'))
    if (salt === undefined) throw malformed('invalid salt')
    const iterationsText = attributes.next('i')
    const iterations = /^\s*[+-]?\d+$/.test(iterationsText) ? Number(iterationsText) : Number.NaN
    if (!(iterations >= 1) || iterations > 0x7fffffff) throw malformed('invalid iteration count')
    // libpq only notes garbage after the iteration count, and goes on.
    const { binding } = this.#input
    const bound = 'data' in binding ? Buffer.concat([Buffer.from(this.#gs2Header), binding.data]) : this.#gs2Header
    const withoutProof = `c=${Buffer.from(bound).toString('base64')},r=${nonce}`
    this.#authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`
    const { clientKey, serverKey } = this.#keys(salt, iterations)
    this.#serverKey = serverKey
    const signature = hmac(createHash('sha256').update(clientKey).digest(), this.#authMessage)
    for (let i = 0; i < signature.length; i++) signature[i]! ^= clientKey[i]!
    return `${withoutProof},p=${signature.toString('base64')}`
  }

  /** Check the server-final-message (AuthenticationSASLFinal): the server proves it knew the keys. */
  verifyServerFinal(serverFinal: string): void {
    checkText(serverFinal)
    const attributes = attributeReader(serverFinal)
    if (serverFinal.startsWith('e')) {
      const error = attributes.next('e')
      throw new PgSslError('SERVER_REJECTED', `error received from server in SCRAM exchange: ${error}`)
    }
    const signature = pgBase64Decode(attributes.next('v'))
    if (signature?.length !== SCRAM_KEY_LENGTH || this.#serverKey === undefined)
      throw malformed('invalid server signature')
    const expected = hmac(this.#serverKey, this.#authMessage)
    if (!timingSafeEqual(expected, signature)) {
      throw new PgSslError('SERVER_SIGNATURE_MISMATCH', 'incorrect server signature', {
        hint: this.#input.serverKey
          ? 'scram_server_key is not the key the server stores for this role'
          : this.#input.clientKey
            ? 'scram_client_key needs scram_server_key: as in libpq 18, the server key is not derived from a password'
            : 'the server does not know this password: something may be impersonating it',
      })
    }
  }

  #keys(salt: Buffer, iterations: number): { clientKey: Buffer; serverKey: Buffer } {
    const { clientKey, serverKey, password } = this.#input
    // libpq computes SaltedPassword only when there is no client key; its server key is then all zeros'.
    let salted = Buffer.alloc(SCRAM_KEY_LENGTH)
    if (!clientKey) {
      salted = pbkdf2Sync(Buffer.from(saslPrep(password ?? ''), 'utf8'), salt, iterations, SCRAM_KEY_LENGTH, 'sha256')
    }
    return {
      clientKey: clientKey ?? hmac(salted, 'Client Key'),
      serverKey: serverKey ?? hmac(salted, 'Server Key'),
    }
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest()
}

/** libpq's checks on every server message after the first: not empty, no NUL inside. */
function checkText(text: string): void {
  if (text.length === 0) throw malformed('empty message')
  if (text.includes('\0')) throw malformed('length mismatch')
}

/** libpq's read_attr_value over a message: each call reads the next "x=value," and names what it expected. */
function attributeReader(text: string): { next(attribute: string): string } {
  let at = 0
  return {
    next(attribute) {
      if (text[at] !== attribute) throw malformed(`attribute "${attribute}" expected`)
      if (text[at + 1] !== '=') throw malformed(`expected character "=" for attribute "${attribute}"`)
      const end = text.indexOf(',', at + 2)
      const value = text.slice(at + 2, end < 0 ? text.length : end)
      at = end < 0 ? text.length : end + 1
      return value
    },
  }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/**
 * PostgreSQL's pg_b64_decode (src/common/base64.c), whose quirks libpq's key settings inherit:
 * white space is refused, "=" may end a group after two or three symbols and then counts as a
 * zero symbol, groups after an end still decode, and an unfinished group is refused. Undefined
 * for what it refuses.
 */
export function pgBase64Decode(text: string): Buffer | undefined {
  const out: number[] = []
  let buffer = 0
  let position = 0
  let end = 0
  for (const c of text) {
    let bits = 0
    if (c === '=') {
      if (!end) {
        if (position === 2) end = 1
        else if (position === 3) end = 2
        else return undefined
      }
    } else {
      bits = BASE64.indexOf(c)
      if (bits < 0) return undefined
    }
    buffer = (buffer << 6) | bits
    if (++position === 4) {
      out.push((buffer >> 16) & 255)
      if (end === 0 || end > 1) out.push((buffer >> 8) & 255)
      if (end === 0 || end > 2) out.push(buffer & 255)
      buffer = 0
      position = 0
    }
  }
  return position === 0 ? Buffer.from(out) : undefined
}

// SASLprep (RFC 4013) for the password, as pg_saslprep: an ASCII password is used as it is;
// otherwise non-ASCII spaces become a space, the "mapped to nothing" characters go and NFKC
// applies, and a result with a prohibited character (controls, private use, surrogates,
// non-characters, tagging) falls back to the password as given, as libpq does. The bidirectional
// rules of RFC 3454 section 6 are not checked: such a password is used normalized.
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/gu
// biome-ignore lint/suspicious/noMisleadingCharacterClass: the combining characters are each to be removed
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200c\u200d\u2060\ufe00-\ufe0f\ufeff]/gu
const PROHIBITED = new RegExp(
  `[${[
    '\\u0000-\\u001f\\u007f-\\u009f', // controls (C.2)
    '\\u0340\\u0341\\u200e\\u200f\\u202a-\\u202e\\u206a-\\u206f', // display (C.8)
    '\\u06dd\\u070f\\u180e\\u2061-\\u2064\\u{1d173}-\\u{1d17a}\\ufeff', // other controls (C.2.2)
    '\\ue000-\\uf8ff\\u{f0000}-\\u{10ffff}', // private use (C.3)
    '\\ud800-\\udfff\\ufdd0-\\ufdef\\ufffe\\uffff', // surrogates, non-characters (C.4, C.5)
    '\\ufff9-\\ufffd\\u{e0001}\\u{e0020}-\\u{e007f}', // inappropriate, tagging (C.6, C.9)
  ].join('')}]`,
  'u',
)

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

function saslPrep(password: string): string {
  if (isAscii(password)) return password
  const prepared = password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC')
  return PROHIBITED.test(prepared) ? password : prepared
}

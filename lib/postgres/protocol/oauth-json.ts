/**
 * The server's OAUTHBEARER error result (RFC 7628 section 3.2.2) read as libpq 18 reads it
 * (fe-auth-oauth.c handle_oauth_sasl_error and its JSON callbacks): an object whose top-level
 * "status", "scope" and "openid-configuration" must be strings, given once, nested at most 8 deep.
 * A hand-written reader because JSON.parse keeps the last of two duplicated fields silently, where
 * libpq refuses them. Errors are the detail of "failed to parse server's error response: …".
 */
const MAX_NESTING = 8 // MAX_SASL_NESTING_LEVEL
const FIELDS: Readonly<Record<string, keyof OAuthErrorResult>> = {
  status: 'status',
  scope: 'scope',
  'openid-configuration': 'discoveryUri',
}

export interface OAuthErrorResult {
  status?: string
  scope?: string
  /** "openid-configuration": the discovery document's URI. */
  discoveryUri?: string
}

export class OAuthJsonError extends Error {}

export function parseOAuthError(text: string): OAuthErrorResult {
  return new ErrorResultReader(text).read()
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}
const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/

/** One pass over the text, with libpq's semantic checks made as each value starts (as its callbacks are). */
class ErrorResultReader {
  readonly #text: string
  readonly #result: OAuthErrorResult = {}
  #i = 0
  #nested = 0
  /** The top-level field whose value comes next, when it is one libpq reads. */
  #target: string | undefined

  constructor(text: string) {
    this.#text = text
  }

  read(): OAuthErrorResult {
    this.#value()
    this.#skipSpace()
    if (this.#i < this.#text.length) this.#expected('end of input')
    return this.#result
  }

  #value(): void {
    this.#skipSpace()
    const c = this.#text[this.#i]
    if (c === '{') this.#container('}', () => this.#member())
    else if (c === '[') {
      if (!this.#nested) fail('top-level element must be an object')
      this.#container(']', () => this.#value())
    } else if (c === '"') {
      if (!this.#nested) fail('top-level element must be an object')
      this.#scalar(this.#string())
    } else {
      const literal = LITERAL.exec(this.#text.slice(this.#i))?.[0]
      if (!literal) {
        if (this.#i >= this.#text.length) fail('The input string ended unexpectedly.')
        fail(`Token "${/^[^\s,:{}[\]"]+/.exec(this.#text.slice(this.#i))?.[0] ?? this.#found()}" is invalid.`)
      }
      this.#i += literal!.length
      this.#scalar(undefined)
    }
  }

  /** An object or an array: `item` for each element, separated by commas, up to `close`. */
  #container(close: '}' | ']', item: () => void): void {
    if (this.#target) fail(`field "${this.#target}" must be a string`)
    if (++this.#nested > MAX_NESTING) fail('JSON is too deeply nested')
    this.#i++
    this.#skipSpace()
    if (this.#text[this.#i] === close) this.#i++
    else {
      for (;;) {
        item()
        this.#skipSpace()
        const c = this.#text[this.#i]
        this.#i++
        if (c === close) break
        if (c !== ',') {
          this.#i--
          this.#expected(`"," or "${close}"`)
        }
      }
    }
    this.#nested--
  }

  #member(): void {
    this.#skipSpace()
    if (this.#text[this.#i] !== '"') this.#expected('string')
    const name = this.#string()
    this.#target = this.#nested === 1 && name in FIELDS ? name : undefined
    this.#skipSpace()
    if (this.#text[this.#i] !== ':') this.#expected('":"')
    this.#i++
    this.#value()
  }

  #scalar(value: string | undefined): void {
    if (!this.#nested) fail('top-level element must be an object')
    const name = this.#target
    if (!name) return
    const field = FIELDS[name]!
    if (this.#result[field] !== undefined) fail(`field "${name}" is duplicated`)
    if (value === undefined) fail(`field "${name}" must be a string`)
    this.#result[field] = value
    this.#target = undefined
  }

  #string(): string {
    const text = this.#text
    let out = ''
    this.#i++ // the opening quote
    for (;;) {
      if (this.#i >= text.length) fail('The input string ended unexpectedly.')
      const c = text[this.#i++]!
      if (c === '"') return out
      if (c < ' ') fail(`Character with value 0x${c.charCodeAt(0).toString(16).padStart(2, '0')} must be escaped.`)
      if (c !== '\\') {
        out += c
        continue
      }
      const e = text[this.#i++] ?? ''
      const hex = text.slice(this.#i, this.#i + 4)
      if (e in ESCAPES) out += ESCAPES[e]
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(hex)) {
        if (Number.parseInt(hex, 16) === 0) fail('\\u0000 cannot be converted to text.')
        out += String.fromCharCode(Number.parseInt(hex, 16))
        this.#i += 4
      } else fail(`Escape sequence "\\${e}" is invalid.`)
    }
  }

  #skipSpace(): void {
    while (this.#i < this.#text.length && ' \t\n\r'.includes(this.#text[this.#i]!)) this.#i++
  }

  #found(): string {
    return this.#text.slice(this.#i, this.#i + 1)
  }

  #expected(what: string): never {
    if (this.#i >= this.#text.length) fail('The input string ended unexpectedly.')
    return fail(`Expected ${what}, but found "${this.#found()}".`)
  }
}

function fail(message: string): never {
  throw new OAuthJsonError(message)
}

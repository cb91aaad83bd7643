/**
 * libpq connection strings: `key=value` conninfo and `postgresql://` URIs, parsed with libpq's
 * rules (fe-connect.c conninfo_parse / conninfo_uri_parse_options). The result is a plain map of
 * keyword → string; nothing is read from disk here (unlike pg-connection-string, which reads the
 * certificate files itself and maps sslmode to node's TLS options its own way).
 */
import { PgSslError } from '../../engine/errors.js'
import { KEYWORDS, keyword } from './keywords.js'
import { closest } from './suggest.js'

export type KeywordValues = Record<string, string>

const URI_PREFIXES = ['postgresql://', 'postgres://']

export function isConnectionUri(text: string): boolean {
  return URI_PREFIXES.some((p) => text.startsWith(p))
}

export function parseConnectionString(text: string): KeywordValues {
  return isConnectionUri(text) ? parseUri(text) : parseConninfo(text)
}

/**
 * libpq's conninfo_storeval: requiressl=1 is stored as sslmode=require and requiressl=0 as
 * sslmode=prefer, in order with the other keywords (the later of the two wins).
 */
export function storeKeyword(out: KeywordValues, name: string, value: string): void {
  if (name === 'requiressl') out.sslmode = value.startsWith('1') ? 'require' : 'prefer'
  else out[name] = value
}

function checkKeyword(name: string, where: string): void {
  if (!keyword(name)) {
    throw new PgSslError('INVALID_SETTING', `invalid connection option "${name}" in ${where}`, {
      setting: name,
      hint: didYouMean(name) ?? 'use libpq keyword names (sslmode, sslrootcert, dbname, ...)',
    })
  }
}

/** "did you mean ...?" for a misspelt keyword, as connect({ ... }) and ini files say it. */
function didYouMean(name: string): string | undefined {
  const suggestion = closest(
    name,
    KEYWORDS.map((k) => k.name),
  )
  return suggestion ? `did you mean "${suggestion}"?` : undefined
}

/**
 * libpq separates conninfo words with C's isspace() in the C locale: space, \t, \n, \v, \f, \r.
 * Unicode spaces (U+00A0, U+2028, U+3000, U+FEFF, ...) are part of a value, as in libpq — read as
 * separators they would let `host=db\u00A0sslmode=disable` turn one value into a second keyword.
 */
export const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r'

/** `host=db port=5432 sslmode='verify-ca'` — whitespace-separated, optional single quotes. */
export function parseConninfo(text: string): KeywordValues {
  const out: KeywordValues = {}
  // A word right after a secret's value is most likely the rest of an unquoted secret
  // ("password=my secret"): such words are never echoed in errors.
  let afterSecret = false
  let i = 0
  const n = text.length
  while (i < n) {
    while (isSpace(text[i])) i++
    if (i >= n) break
    const nameStart = i
    while (i < n && text[i] !== '=' && !isSpace(text[i])) i++
    const name = text.slice(nameStart, i)
    while (isSpace(text[i])) i++
    if (text[i] !== '=') {
      throw new PgSslError(
        'INVALID_SETTING',
        `missing "=" after "${afterSecret ? '***' : name}" in connection info string`,
        {
          ...(afterSecret ? {} : { setting: name }),
          hint: afterSecret
            ? "quote values that contain spaces: password='two words'"
            : 'write key=value pairs separated by spaces',
        },
      )
    }
    i++
    while (isSpace(text[i])) i++
    let value = ''
    if (text[i] === "'") {
      i++
      let closed = false
      while (i < n) {
        const c = text[i]
        if (c === '\\') {
          // A backslash takes the next character literally; a final one is dropped (libpq).
          if (i + 1 < n) value += text[i + 1]
          i += 2
        } else if (c === "'") {
          closed = true
          i++
          break
        } else {
          value += c
          i++
        }
      }
      if (!closed) {
        throw new PgSslError('INVALID_SETTING', 'unterminated quoted string in connection info string', {
          setting: name,
          hint: "close the quote; write \\' for a quote inside a quoted value",
        })
      }
    } else {
      while (i < n && !isSpace(text[i])) {
        if (text[i] === '\\') {
          if (i + 1 < n) value += text[i + 1]
          i += 2
        } else {
          value += text[i]
          i++
        }
      }
    }
    if (afterSecret && !keyword(name)) {
      throw new PgSslError(
        'INVALID_SETTING',
        'invalid connection option "***" after a password in connection info string',
        {
          hint: "quote values that contain spaces: password='two words'",
        },
      )
    }
    checkKeyword(name, 'connection info string')
    storeKeyword(out, name, value)
    afterSecret = keyword(name)?.secret === true
  }
  return out
}

function percentDecode(text: string, what: string): string {
  if (!text.includes('%')) return text
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new PgSslError('INVALID_SETTING', `invalid percent-encoded token in URI ${what}`, {
          hint: 'percent signs in URIs must be followed by two hexadecimal digits (%25 for "%")',
        })
      }
      const byte = parseInt(hex, 16)
      if (byte === 0) {
        throw new PgSslError('INVALID_SETTING', `forbidden value %00 in percent-encoded URI ${what}`)
      }
      bytes.push(byte)
      i += 2
    } else {
      bytes.push(...Buffer.from(c, 'utf8'))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/**
 * `postgresql://user:secret@host1:5432,[::1]:5433/db?sslmode=verify-ca&application_name=x`.
 * Several hosts become comma-separated `host` and `port` values, as in libpq.
 *
 * The parts are found in libpq's order (conninfo_uri_parse_options): the user part ends at the
 * first '@' met before any '/', so a password may hold '?' or ':'; then host[:port] up to '/',
 * '?' or ','; then the database name up to '?'. A '/' or '@' inside a password must be
 * percent-encoded: unencoded, libpq reads part of the password as a host, port or database
 * name and may print it. Here such a URI is refused before it is read that way, and no message
 * repeats any part of it (README, "Differences from libpq").
 */
export function parseUri(uri: string): KeywordValues {
  const prefix = URI_PREFIXES.find((p) => uri.startsWith(p))
  if (!prefix) throw new PgSslError('INVALID_SETTING', 'connection URI must start with postgresql:// or postgres://')
  const out: KeywordValues = {}
  const rest = uri.slice(prefix.length)
  const hostStart = readUserInfo(rest, out)
  const { end: i, terminator } = readHosts(rest, hostStart, out)
  let query: string | undefined
  if (terminator === '/') {
    const queryAt = rest.indexOf('?', i + 1)
    const dbname = queryAt >= 0 ? rest.slice(i + 1, queryAt) : rest.slice(i + 1)
    // No user part was found because a '/' came first: an '@' after it is most likely a password's.
    if (hostStart === 0 && dbname.includes('@')) throw unencodedInUri('database name')
    if (dbname) out.dbname = percentDecode(dbname, 'database name')
    if (queryAt >= 0) query = rest.slice(queryAt + 1)
  } else if (terminator === '?') {
    query = rest.slice(i + 1)
  }
  if (query) readQuery(query, out)
  return out
}

/** user[:password]@, found as libpq finds it: the first '@' or '/' decides. Returns where the hosts start. */
function readUserInfo(rest: string, out: KeywordValues): number {
  let at = 0
  while (at < rest.length && rest[at] !== '@' && rest[at] !== '/') at++
  if (rest[at] !== '@') return 0
  const userInfo = rest.slice(0, at)
  const colon = userInfo.indexOf(':')
  const user = colon >= 0 ? userInfo.slice(0, colon) : userInfo
  const password = colon >= 0 ? userInfo.slice(colon + 1) : ''
  if (user) out.user = percentDecode(user, 'user name')
  if (password) out.password = percentDecode(password, 'password')
  return at + 1
}

/** A '/' or '@' of a password that was not percent-encoded, met where libpq would read it as something else. */
function unencodedInUri(part: string): PgSslError {
  return new PgSslError(
    'INVALID_SETTING',
    `the connection URI's ${part} contains an unencoded "@": a "/" or "@" in the user name or ` +
      `password must be percent-encoded`,
    {
      setting: part === 'host' ? 'host' : part === 'port' ? 'port' : 'dbname',
      hint:
        'write "/" as %2F and "@" as %40 in the user name, password and database name (the URI ' +
        'is not shown: it may hold a password)',
    },
  )
}

/** host[:port] pairs, comma-separated, up to '/' or '?': where they end and what ended them. */
function readHosts(rest: string, start: number, out: KeywordValues): { end: number; terminator: string } {
  let i = start
  const hosts: string[] = []
  const ports: string[] = []
  let terminator = ''
  for (;;) {
    let host: string
    if (rest[i] === '[') {
      const close = rest.indexOf(']', i)
      if (close < 0)
        throw new PgSslError(
          'INVALID_SETTING',
          'end of string reached when looking for matching "]" in IPv6 host address in URI',
          { setting: 'host' },
        )
      host = rest.slice(i + 1, close)
      if (!host)
        throw new PgSslError('INVALID_SETTING', 'IPv6 host address may not be empty in URI', { setting: 'host' })
      i = close + 1
      if (i < rest.length && !':/?,'.includes(rest[i]!))
        throw new PgSslError('INVALID_SETTING', `unexpected character "${rest[i]}" after IPv6 host address in URI`, {
          setting: 'host',
        })
    } else {
      const from = i
      while (i < rest.length && !':/?,'.includes(rest[i]!)) i++
      host = rest.slice(from, i)
    }
    let port = ''
    if (rest[i] === ':') {
      const from = ++i
      while (i < rest.length && !'/?,'.includes(rest[i]!)) i++
      port = rest.slice(from, i)
    }
    // A host name never holds '@': one here is the rest of a password that held an '@'.
    if (host.includes('@')) throw unencodedInUri('host')
    if (port.includes('@') || (port !== '' && !/^\d+$/.test(port) && rest.includes('@'))) throw unencodedInUri('port')
    hosts.push(percentDecode(host, 'host'))
    ports.push(percentDecode(port, 'port'))
    terminator = rest[i] ?? ''
    if (terminator !== ',') break
    i++
  }
  // Joined as libpq joins them: one entry per host, empty entries kept ("h1,h2" → port ",").
  if (hosts.join(',') !== '') out.host = hosts.join(',')
  if (ports.join(',') !== '') out.port = ports.join(',')
  return { end: i, terminator }
}

/**
 * A query parameter without its "=" as libpq prints it, unless it begins with a secret keyword's
 * name: "passwordhunter2" is most likely a password whose "=" was lost, and is shown as "password…".
 */
function withoutSecret(pair: string): string {
  const secret = KEYWORDS.find((k) => k.secret && pair.startsWith(k.name) && pair.length > k.name.length)
  return secret ? `${secret.name}…` : pair
}

/** The query parameters: every name a keyword (JDBC's ssl=true read as sslmode=require, as libpq does). */
function readQuery(query: string, out: KeywordValues): void {
  const pairs = query.split('&')
  for (const [i, pair] of pairs.entries()) {
    // As libpq's conninfo_uri_parse_params: only a trailing '&' may leave an empty parameter.
    if (!pair && i === pairs.length - 1) continue
    const eq = pair.indexOf('=')
    if (eq < 0)
      throw new PgSslError(
        'INVALID_SETTING',
        `missing key/value separator "=" in URI query parameter: "${withoutSecret(pair)}"`,
        { hint: 'each URI query parameter is keyword=value, joined by one "&"' },
      )
    if (pair.includes('=', eq + 1))
      throw new PgSslError(
        'INVALID_SETTING',
        `extra key/value separator "=" in URI query parameter: "${pair.slice(0, eq)}"`,
        { hint: 'percent-encode an "=" inside a value as %3D' },
      )
    let name = percentDecode(pair.slice(0, eq), 'query parameter')
    let value = percentDecode(pair.slice(eq + 1), 'query parameter')
    if (name === 'ssl' && value === 'true') {
      name = 'sslmode'
      value = 'require'
    }
    if (!keyword(name)) {
      throw new PgSslError('INVALID_SETTING', `invalid URI query parameter: "${name}"`, {
        setting: name,
        hint: didYouMean(name) ?? 'URI query parameters are libpq keywords (sslmode, sslrootcert, ...)',
      })
    }
    storeKeyword(out, name, value)
  }
}

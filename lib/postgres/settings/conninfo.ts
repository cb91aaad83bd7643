/**
 * libpq connection strings: `key=value` conninfo and `postgresql://` URIs, parsed with libpq's
 * rules (fe-connect.c conninfo_parse / conninfo_uri_parse_options). The result is a plain map of
 * keyword → string; nothing is read from disk here (unlike pg-connection-string, which reads the
 * certificate files itself and maps sslmode to node's TLS options its own way).
 */
import { PgSslError } from '../../engine/errors.js'
import { keyword } from './keywords.js'

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
      hint: 'use libpq keyword names (sslmode, sslrootcert, dbname, ...)',
    })
  }
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c)

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
      throw new PgSslError('INVALID_SETTING', `missing "=" after "${afterSecret ? '***' : name}" in connection info string`, {
        ...(afterSecret ? {} : { setting: name }),
        hint: afterSecret ? "quote values that contain spaces: password='two words'" : 'write key=value pairs separated by spaces',
      })
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
      throw new PgSslError('INVALID_SETTING', 'invalid connection option "***" after a password in connection info string', {
        hint: "quote values that contain spaces: password='two words'",
      })
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
 */
export function parseUri(uri: string): KeywordValues {
  const prefix = URI_PREFIXES.find((p) => uri.startsWith(p))
  if (!prefix) throw new PgSslError('INVALID_SETTING', 'connection URI must start with postgresql:// or postgres://')
  const out: KeywordValues = {}
  let rest = uri.slice(prefix.length)

  const queryAt = rest.indexOf('?')
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : undefined
  if (queryAt >= 0) rest = rest.slice(0, queryAt)

  const slashAt = rest.indexOf('/')
  const authority = slashAt >= 0 ? rest.slice(0, slashAt) : rest
  if (slashAt >= 0 && slashAt + 1 < rest.length) out.dbname = percentDecode(rest.slice(slashAt + 1), 'database name')

  // The user part ends at the first '@' (a '@' in a password must be percent-encoded); an empty
  // user or password is not stored (libpq).
  const atAt = authority.indexOf('@')
  const hostList = atAt >= 0 ? authority.slice(atAt + 1) : authority
  if (atAt >= 0) {
    const userInfo = authority.slice(0, atAt)
    const colon = userInfo.indexOf(':')
    const user = colon >= 0 ? userInfo.slice(0, colon) : userInfo
    const password = colon >= 0 ? userInfo.slice(colon + 1) : ''
    if (user) out.user = percentDecode(user, 'user name')
    if (password) out.password = percentDecode(password, 'password')
  }

  if (hostList) {
    const hosts: string[] = []
    const ports: string[] = []
    for (const spec of hostList.split(',')) {
      let host: string
      let port = ''
      if (spec.startsWith('[')) {
        const close = spec.indexOf(']')
        if (close < 0) throw new PgSslError('INVALID_SETTING', `end of string reached when looking for matching "]" in IPv6 host address in URI: "${spec}"`, { setting: 'host' })
        host = spec.slice(1, close)
        if (!host) throw new PgSslError('INVALID_SETTING', 'IPv6 host address may not be empty in URI', { setting: 'host' })
        const after = spec.slice(close + 1)
        if (after.startsWith(':')) port = after.slice(1)
        else if (after) throw new PgSslError('INVALID_SETTING', `unexpected character "${after[0]}" after IPv6 host address in URI`, { setting: 'host' })
      } else {
        const colon = spec.indexOf(':')
        host = colon >= 0 ? spec.slice(0, colon) : spec
        if (colon >= 0) port = spec.slice(colon + 1)
      }
      hosts.push(percentDecode(host, 'host'))
      ports.push(percentDecode(port, 'port'))
    }
    // Joined as libpq joins them: one entry per host, empty entries kept ("h1,h2" → port ",").
    if (hosts.join(',') !== '') out.host = hosts.join(',')
    if (ports.join(',') !== '') out.port = ports.join(',')
  }

  if (query !== undefined && query !== '') {
    for (const pair of query.split('&')) {
      if (!pair) continue
      const eq = pair.indexOf('=')
      if (eq < 0) throw new PgSslError('INVALID_SETTING', `missing key/value separator "=" in URI query parameter: "${pair}"`)
      let name = percentDecode(pair.slice(0, eq), 'query parameter')
      let value = percentDecode(pair.slice(eq + 1), 'query parameter')
      // libpq accepts JDBC's ssl=true as sslmode=require.
      if (name === 'ssl' && value === 'true') {
        name = 'sslmode'
        value = 'require'
      }
      if (!keyword(name)) {
        throw new PgSslError('INVALID_SETTING', `invalid URI query parameter: "${name}"`, { setting: name })
      }
      storeKeyword(out, name, value)
    }
  }
  return out
}

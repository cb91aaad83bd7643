/**
 * `mysql://user:password@host:port/database?ssl-mode=VERIFY_CA&ssl-ca=/path/ca.pem` — the URI form
 * MySQL Shell and the connectors accept. Query keys are matched without regard to case, `-` or
 * `_` (ssl-mode, ssl_mode and Connector/J's sslMode are one key); values are percent-decoded, and
 * a path may be written in parentheses as MySQL Shell allows (`ssl-ca=(/etc/ca.pem)`). An unknown
 * key is an error: a misspelt ssl-mode must not be ignored.
 */
import { PgSslError } from '../engine/errors.js'
import { canonicalOptionName, URI_KEYS } from './option-names.js'

export interface ParsedMysqlUri {
  readonly values: ReadonlyMap<string, string>
}

export function parseMysqlUri(uri: string): ParsedMysqlUri {
  const invalid = (why: string): PgSslError =>
    new PgSslError('INVALID_SETTING', `invalid MySQL URI: ${why}`, {
      setting: 'uri',
      hint:
        'write mysql://user:password@host:port/database?ssl-mode=VERIFY_CA&ssl-ca=/path/ca.pem ' +
        '(percent-encode special characters)',
    })
  // The host stops at '@' too: a password with an unencoded '@' or '/' must make the URI invalid,
  // not leave part of the password in the host or port (and so in error messages).
  const match = /^mysql:\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#@]*)(?::([^/?#@]*))?(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(
    uri,
  )
  if (!match)
    throw invalid(
      uri.startsWith('mysql://')
        ? 'it cannot be split into user, host, port, database and options'
        : 'it must start with mysql://',
    )
  const values = new Map<string, string>()
  const decode = (text: string, what: string): string => {
    try {
      return decodeURIComponent(text)
    } catch {
      throw invalid(`${what} holds a malformed percent-encoding`)
    }
  }
  const [, userInfo, host, port, database, query] = match
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':')
    const user = decode(colon < 0 ? userInfo : userInfo.slice(0, colon), 'the user')
    if (user) values.set('user', user)
    if (colon >= 0) values.set('password', decode(userInfo.slice(colon + 1), 'the password'))
  }
  if (host) {
    if (host.includes(',')) throw invalid('several hosts are not supported; give one host')
    values.set('host', decode(host.startsWith('[') ? host.slice(1, -1) : host, 'the host'))
  }
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port))
      throw invalid('the port is not a number (an unencoded "/" in the password also reads as one: percent-encode it)')
    values.set('port', port)
  }
  if (database) values.set('database', decode(database, 'the database'))
  for (const pair of (query ?? '').split('&').filter((p) => p !== '')) {
    const eq = pair.indexOf('=')
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), 'an option name')
    const name = URI_KEYS.get(canonicalOptionName(key).replace(/-/g, ''))
    if (!name) throw invalid(`unknown option "${key}" (known: ${[...new Set(URI_KEYS.values())].join(', ')})`)
    let value = eq < 0 ? '' : decode(pair.slice(eq + 1), `the value of ${key}`)
    if (value.startsWith('(') && value.endsWith(')')) value = value.slice(1, -1)
    values.set(name, value)
  }
  return { values }
}

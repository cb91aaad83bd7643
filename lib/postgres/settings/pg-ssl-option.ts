/**
 * pg's `ssl` option, translated into the libpq settings with the same meaning, so that code and
 * libraries written for pg (`ssl: true`, `ssl: { ca, rejectUnauthorized: false }`, ...) work
 * unchanged. What has no libpq equivalent is refused by name, never ignored.
 *
 * | pg                                   | pg-sslmode                                            |
 * |--------------------------------------|-------------------------------------------------------|
 * | `false`                              | sslmode=disable                                       |
 * | `true`, `{}`                         | sslmode=verify-full, sslrootcert=system (2)           |
 * | `{ ca }`                             | sslmode=verify-full against those roots               |
 * | `{ rejectUnauthorized: false }`      | sslmode=no-verify (3): encrypted, nothing verified (ca not used as a root) |
 * | `{ cert, key, passphrase }`          | client certificate, key, sslpassword                  |
 * | `{ crl }`                            | sslcrl                                                |
 * | `{ servername }`                     | the name SNI carries and verify-full checks           |
 * | `{ minVersion, maxVersion }`         | ssl_min_protocol_version, ssl_max_protocol_version    |
 * | `'disable'`…`'verify-full'`          | that sslmode, with libpq's meaning (1)                |
 * | `'no-verify'`                        | sslmode=no-verify (3)                                 |
 *
 * (1) pg 8 reads `require` and `verify-ca` as verify-full; pg 9 and libpq do not.
 * (2) what pg does with them: Node's CA list and its host-name check.
 * (3) libpq's require without a default root certificate (~/.postgresql/root.crt would make libpq's
 *     require verify-ca; pg never reads it): encrypted, the server not verified (tls-spellings.ts).
 *
 * Where `ssl` (or pg.defaults.ssl) and libpq's sslmode disagree the stricter mode applies
 * (tls-spellings.ts); libpq keywords for files (sslrootcert, ...) win over what `ssl` implies.
 */
import { PgSslError } from '../../engine/errors.js'
import { SSL_MODES } from './keywords.js'
import type { KeywordValues } from './conninfo.js'

/** Certificate material given as contents (pg's ssl object), not as files. */
import type { InlineMaterial } from '../../engine/tls/material.js'

export type { InlineMaterial }

const SUPPORTED = new Set([
  'rejectUnauthorized',
  'ca',
  'cert',
  'key',
  'passphrase',
  'servername',
  'minVersion',
  'maxVersion',
  'crl',
])
const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

/** `label` names the setting in errors: `ssl` for the option, `pg.defaults.ssl` for pg's defaults. */
export function translatePgSsl(ssl: unknown, label = 'ssl'): { keywords: KeywordValues; inline: InlineMaterial } {
  if (ssl === false) return { keywords: { sslmode: 'disable' }, inline: {} }
  if (ssl === true) return { keywords: { sslmode: 'verify-full', sslrootcert: 'system' }, inline: {} }
  if (typeof ssl === 'string') {
    if (ssl === 'no-verify') return { keywords: { sslmode: 'no-verify' }, inline: {} }
    if ((SSL_MODES as readonly string[]).includes(ssl)) return { keywords: { sslmode: ssl }, inline: {} }
    throw invalid(
      label,
      `pg's ${label} "${ssl}" is not an sslmode`,
      `use true, false, an object, or one of ${[...SSL_MODES, 'no-verify'].join(', ')}`,
    )
  }
  if (typeof ssl !== 'object' || ssl === null)
    throw invalid(
      label,
      `pg's ${label} must be a boolean, an sslmode or an object`,
      'see the README table "pg\'s ssl option"',
    )
  const o = ssl as Record<string, unknown>
  for (const [name, value] of Object.entries(o)) {
    if (value === undefined || SUPPORTED.has(name)) continue
    throw invalid(
      `${label}.${name}`,
      `pg's ${label}.${name} has no libpq equivalent and would change how the server is verified or how TLS is set up`,
      `state SSL with libpq keywords (sslmode, sslrootcert, sslcert, sslkey, sslcrl, sslpassword) or ` +
        `the supported ssl fields: ${[...SUPPORTED].join(', ')}`,
    )
  }
  const keywords: KeywordValues = {}
  const verify = o.rejectUnauthorized !== false
  const ca = verify ? pems(o.ca, `${label}.ca`) : undefined
  keywords.sslmode = verify ? 'verify-full' : 'no-verify'
  if (verify && !ca) keywords.sslrootcert = 'system'
  if (o.passphrase !== undefined) keywords.sslpassword = text(o.passphrase, `${label}.passphrase`)
  for (const [field, keyword] of [
    ['minVersion', 'ssl_min_protocol_version'],
    ['maxVersion', 'ssl_max_protocol_version'],
  ] as const) {
    if (o[field] === undefined) continue
    const version = text(o[field], `${label}.${field}`)
    if (!TLS_VERSIONS.includes(version))
      throw invalid(
        `${label}.${field}`,
        `${label}.${field} "${version}" is not a TLS version`,
        `use one of ${TLS_VERSIONS.join(', ')}`,
      )
    keywords[keyword] = version
  }
  const cert = pems(o.cert, `${label}.cert`)
  const key = pems(o.key, `${label}.key`)
  const crl = pems(o.crl, `${label}.crl`)
  const inline: InlineMaterial = {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert: Buffer.concat(cert.map((c) => Buffer.concat([c, Buffer.from('\n')]))) } : {}),
    ...(crl ? { crl } : {}),
    ...(o.servername !== undefined ? { servername: text(o.servername, `${label}.servername`) } : {}),
  }
  if (key) Object.defineProperty(inline, 'key', { value: key[0], enumerable: false })
  return { keywords, inline }
}

function pems(value: unknown, name: string): Buffer[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  return list.map((item) => {
    if (typeof item === 'string') return Buffer.from(item)
    if (Buffer.isBuffer(item)) return item
    throw invalid(
      name,
      `${name} must be a string or a Buffer (or an array of them)`,
      'pass the PEM contents, as pg takes them',
    )
  })
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string')
    throw invalid(name, `${name} must be a string`, 'see the README table "pg\'s ssl option"')
  return value
}

function invalid(setting: string, message: string, hint: string): PgSslError {
  return new PgSslError('INVALID_SETTING', message, { setting, hint })
}

/**
 * TLS is stated in two spellings that rank their sources differently: libpq's `sslmode` (options,
 * connection string, ini file, service file, PGSSLMODE; libpq's precedence decides among them)
 * and pg's `ssl` (the `ssl` option, `pg.defaults.ssl`; in pg a connection string's sslmode beats
 * both, and the ssl option beats PGSSLMODE). Following either ranking alone lets one source weaken
 * what another asked for in silence — `ssl: false` would turn a connection string's verify-full
 * into plaintext. So when the spellings disagree the stricter applies, and the report says so;
 * among libpq's own sources libpq's precedence is kept (it is the reference), but a winner weaker
 * than a source it overrode is named in the report too.
 */
import { PgSslError, warnOnce } from '../../engine/errors.js'
import { sslModeRank, type SslMode } from './keywords.js'
import type { KeywordValues } from './conninfo.js'
import type { InlineMaterial } from './pg-ssl-option.js'

/** Where a setting came from (resolve.ts documents each). */
export type SettingSource =
  | 'option'
  | 'conninfo'
  | `ini:${string}`
  | `service:${string}`
  | `env:${string}`
  | 'default'
  | `default-file:${string}`
  | `sslcertdir:${string}`
  | 'requiressl'
  | 'pg.defaults'
  | 'pg.ssl'
  | 'pg.defaults.ssl'

export interface Setting {
  readonly value: string
  readonly source: SettingSource
  /**
   * pg's spelling the value was written in: sslmode=no-verify (pg-connection-string, PGSSLMODE and
   * `ssl: 'no-verify'` in pg), kept as require — encrypted, the server not verified, and no
   * default root certificate that would make it verify-ca (merge.ts).
   */
  readonly spelling?: 'no-verify'
}

/** Where pg reads sslmode=no-verify: its connection strings, PGSSLMODE, its options (not libpq's files). */
const PG_SPELLING_SOURCES = (source: SettingSource): boolean =>
  source === 'conninfo' || source === 'option' || source === 'env:PGSSLMODE' || source.startsWith('pg.')

/** sslmode=no-verify, pg's spelling, as the setting it means: require without verification. */
export function withPgSpelling(name: string, setting: Setting): Setting {
  if (name !== 'sslmode' || setting.value !== 'no-verify' || !PG_SPELLING_SOURCES(setting.source)) return setting
  return { ...setting, value: 'require', spelling: 'no-verify' }
}

/**
 * pg's spellings in force. uselibpqcompat=true (pg-connection-string's switch to libpq's meanings,
 * which are the only ones here) is noted. sslmode=no-verify: the note for the report (and a
 * warning, once), or a refusal when a root certificate or CRL is named that could not be used — a
 * TLS setting that does nothing. True when the default root certificate and CRL are not to be
 * looked up.
 */
export function settlePgSpellings(
  values: Readonly<Record<string, Setting>>,
  notes: string[],
  describe: (source: SettingSource) => string,
): boolean {
  const compat = values.uselibpqcompat
  if (compat) {
    notes.push(
      `uselibpqcompat=${compat.value} (${describe(compat.source)}) is pg-connection-string's: sslmode has ` +
        "libpq's meaning here whether or not it is given",
    )
  }
  const mode = values.sslmode
  if (mode?.spelling !== 'no-verify') return false
  if (compat?.value === 'true') {
    throw new PgSslError(
      'INVALID_SETTING',
      `sslmode=no-verify (${describe(mode.source)}) is not one of libpq's sslmodes, and uselibpqcompat=true ` +
        `(${describe(compat.source)}) asks for libpq's`,
      { setting: 'sslmode', hint: 'write sslmode=require for encryption without verification, or verify-full' },
    )
  }
  for (const name of ['sslrootcert', 'sslcrl', 'sslcrldir']) {
    const named = values[name]
    if (!named) continue
    throw new PgSslError(
      'INVALID_SETTING',
      `sslmode=no-verify (${describe(mode.source)}) verifies nothing, so ${name} (${describe(named.source)}) ` +
        'would not be used',
      { setting: name, hint: 'use sslmode=verify-ca or verify-full to verify with it, or remove it' },
    )
  }
  const written = mode.source.startsWith('pg.')
    ? `${describe(mode.source)} without verification (rejectUnauthorized: false, or 'no-verify')`
    : `sslmode=no-verify (${describe(mode.source)})`
  const note =
    `${written} is pg's spelling, not libpq's: encrypted, the server ` +
    "not verified, as pg does — a root certificate in ~/.postgresql is not used (libpq's require would verify " +
    'with it); write sslmode=require, or verify-full to verify the server'
  notes.push(note)
  warnOnce(`no-verify:${mode.source}`, note, 'PgSslSettingsWarning')
  return true
}

/** What one of pg's spellings (the ssl option, pg.defaults.ssl) asks for, translated to libpq's terms. */
export interface PgSslClaim {
  readonly source: 'pg.ssl' | 'pg.defaults.ssl'
  readonly keywords: KeywordValues
  readonly inline: InlineMaterial
}

const TLS_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

/**
 * Settles sslmode and the protocol bounds in `values` (merged from libpq's sources, defaults not
 * yet applied) against pg's spellings; returns the notes for the report and the certificate
 * material pg's ssl gave as contents.
 *
 * - sslmode: the strictest of libpq's answer and each pg spelling (a tie keeps libpq's answer);
 * - ssl_min_protocol_version / ssl_max_protocol_version: the higher minimum, the lower maximum;
 * - what else pg's ssl implies (sslrootcert=system for `ssl: true`, sslpassword) fills only what
 *   no libpq source set;
 * - root certificates named by both (pg's ssl.ca and sslrootcert) are refused, naming both: which
 *   of two trust anchors the author meant cannot be guessed.
 */
export function reconcileTlsSpellings(
  values: Record<string, Setting>,
  libpqModes: readonly Setting[],
  claims: readonly PgSslClaim[],
  describe: (source: SettingSource) => string,
): { notes: string[]; inline: InlineMaterial } {
  const notes: string[] = []
  const libpqAnswer = values.sslmode
  if (libpqAnswer) {
    const overridden = libpqModes.filter(
      (s) => s !== libpqAnswer && sslModeRank(s.value as SslMode) > sslModeRank(libpqAnswer.value as SslMode),
    )
    for (const weaker of overridden) {
      const note =
        `sslmode=${libpqAnswer.value} (${describe(libpqAnswer.source)}) overrides the ` +
        `stricter sslmode=${weaker.value} (${describe(weaker.source)}), by libpq's precedence`
      notes.push(note)
      warnOnce(`sslmode-overridden:${note}`, note, 'PgSslSettingsWarning')
    }
  }
  let chosen = libpqAnswer
  for (const claim of claims) {
    const claimed = withPgSpelling('sslmode', { value: claim.keywords.sslmode!, source: claim.source })
    if (chosen === undefined) {
      chosen = claimed
      continue
    }
    const a = sslModeRank(claimed.value as SslMode)
    const b = sslModeRank(chosen.value as SslMode)
    if (a === b) continue
    const [strict, weak] = a > b ? [claimed, chosen] : [chosen, claimed]
    notes.push(
      `${describe(strict.source)} asks for sslmode ${strict.value} and ${describe(weak.source)} for ` +
        `${weak.value}: the stricter, ${strict.value}, applies`,
    )
    chosen = strict
  }
  if (chosen) values.sslmode = chosen

  for (const claim of claims) {
    for (const [name, value] of Object.entries(claim.keywords)) {
      if (name === 'sslmode') continue
      const current = values[name]
      if (current === undefined) {
        values[name] = { value, source: claim.source }
        continue
      }
      const stricter =
        name === 'ssl_min_protocol_version'
          ? TLS_ORDER.indexOf(value) > TLS_ORDER.indexOf(current.value)
          : name === 'ssl_max_protocol_version'
            ? TLS_ORDER.indexOf(value) < TLS_ORDER.indexOf(current.value)
            : false
      if (stricter) {
        notes.push(
          `${name} ${value} (${describe(claim.source)}) is stricter than ${current.value} ` +
            `(${describe(current.source)}) and applies`,
        )
        values[name] = { value, source: claim.source }
      }
    }
  }

  // pg replaces pg.defaults.ssl with the ssl option whole: contents come from the first that has any.
  const inline = claims.map((c) => c.inline).find((m) => Object.keys(m).length > 0 || m.key !== undefined) ?? {}
  return { notes, inline }
}

/** pg's ssl.ca and a root certificate named by a libpq source cannot both be meant. */
export function refuseTwoRootSources(
  values: Readonly<Record<string, Setting>>,
  inline: InlineMaterial,
  describe: (source: SettingSource) => string,
): void {
  const root = values.sslrootcert
  if (!inline.ca || !root || root.source.startsWith('default-file:')) return
  throw new PgSslError(
    'INVALID_SETTING',
    `two sources name the trusted root certificates: pg's ssl.ca and sslrootcert=${root.value} ` +
      `(${describe(root.source)})`,
    {
      setting: 'sslrootcert',
      hint:
        'keep one of them: which trust anchors were meant cannot be guessed, and the wrong one ' +
        'could trust servers nobody meant to trust',
    },
  )
}

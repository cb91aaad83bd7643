/**
 * Merge the sources of connection settings with libpq's precedence:
 * explicit options > connection string > environment (PG*) > libpq defaults,
 * and remember where every value came from. Not pure: it reads the environment it is given,
 * pg.defaults, the current user, and the files the settings name (database.ini, the service
 * file); where ~/.postgresql's files exist and the home directory come through `io`, which tests
 * replace.
 */
import { existsSync } from 'node:fs'
import pg from '../pg.js'
import { homedir, userInfo } from 'node:os'
import { PgSslError } from '../../engine/errors.js'
import { type Dialect, DIALECT_NAMES, DIALECTS, isDialect } from '../dialects.js'
import { parseConnectionString, storeKeyword, type KeywordValues } from './conninfo.js'
import { KEYWORDS, keyword, type SslMode } from './keywords.js'
import { closest } from './suggest.js'
import { describeSource, refuseUnsupported, validate } from './validate.js'
import { translatePgSsl, type InlineMaterial } from './pg-ssl-option.js'
import {
  reconcileTlsSpellings,
  refuseTwoRootSources,
  settlePgSpellings,
  withPgSpelling,
  type PgSslClaim,
  type Setting,
  type SettingSource,
} from './tls-spellings.js'
import { readIniSettings } from './database-ini.js'
import { DEFAULT_SYSCONFDIR, readService } from './service.js'
import type { Environment, SettingsOptions } from './options.js'
import { connectRetryOf, type ConnectRetrySettings } from './connect-retry.js'
import { putBundleFiles, putDefaultFiles } from './default-files.js'

export type { Setting, SettingSource }

export type { Environment }

/** The sources merged by precedence (no policy yet: connection-settings.ts adds it). */
export interface MergedSettings {
  /** Every keyword that has a value, with its source. Secrets are included: never print this. */
  readonly values: Readonly<Record<string, Setting>>
  readonly dialect: Dialect
  readonly dialectSource: 'option' | 'default'
  readonly sslmode: SslMode
  /** `pg` options that are not libpq keywords (types, statement_timeout, ...), passed through. */
  readonly passThrough: Readonly<Record<string, unknown>>
  /** A password given as a function (pg allows it); never resolved here. */
  readonly passwordFunction?: () => string | Promise<string>
  /** Certificate material pg's ssl option gave as contents (ca, cert, key, crl) and its servername. */
  readonly inline: InlineMaterial
  /** Connection-establishment retry (createPool's default); undefined: one round of attempts, as libpq. */
  readonly connectRetry?: ConnectRetrySettings
  /** SSL_CERT_FILE / SSL_CERT_DIR from the environment: where sslrootcert=system looks (as for OpenSSL). */
  readonly trustStoreEnv: { readonly SSL_CERT_FILE?: string; readonly SSL_CERT_DIR?: string }
  /** How sources that disagreed about TLS were settled (tls-spellings.ts), for the report. */
  readonly notes: readonly string[]
}

/** The keywords an environment variable sets, and those with a default: each connection reads both. */
const ENV_KEYWORDS = KEYWORDS.filter((k) => k.env !== undefined)
const DEFAULTED_KEYWORDS = KEYWORDS.filter((k) => k.default !== undefined)

/** pg.ClientConfig names that are libpq keywords under another name. */
const PG_OPTION_ALIASES: Readonly<Record<string, string>> = { database: 'dbname' }

/** Options that belong to this library, not to libpq or pg (the policy ones are read by connection-settings.ts). */
const OWN_OPTIONS = new Set([
  'connectionString',
  'env',
  'dialect',
  'ini',
  'filePermissions',
  'sslcertdir',
  'policy',
  'onSecurityEvent',
  'connectRetry',
  'oauthBearerToken',
])

/** pg.ClientConfig options whose meaning is taken over here (converted below). */
const PG_CONVERTED = new Set(['connectionTimeoutMillis', 'keepAlive', 'keepAliveInitialDelayMillis'])

export interface SettingsIo {
  fileExists(path: string): boolean
  homeDirectory(env: Environment): string
}

export const defaultIo: SettingsIo = {
  fileExists: (path) => existsSync(path),
  // libpq (15+) takes $HOME first, then the password database.
  homeDirectory: (env) => env.HOME || homedir(),
}

/**
 * `env` is where PG* variables are read (the env option, else the process's): settings-reuse.ts
 * passes a copy that notes each variable read.
 */
export function mergeSettings(
  input: SettingsOptions = {},
  io: SettingsIo = defaultIo,
  env: Environment = input.env ?? process.env,
): MergedSettings {
  const { explicit, pgSsl, passThrough, passwordFunction } = readOptions(input)
  const stated = new StatedValues()
  putLibpqSources(stated, input, env, explicit)
  putService(stated, env, io)
  const { values, libpqModes } = stated
  // PGREQUIRESSL=1 means sslmode=require when nothing else set sslmode (libpq's
  // conninfo_add_defaults; requiressl in a connection string or option became sslmode already).
  if (values.sslmode === undefined && values.requiressl?.value.startsWith('1'))
    stated.put('sslmode', { value: 'require', source: 'requiressl' })

  // pg's ssl option and pg.defaults.ssl against libpq's sslmode: the stricter applies.
  const claims: PgSslClaim[] = [...(pgSsl ? [pgSsl] : []), ...changedPgDefaultsSsl()]
  const { notes, inline } = reconcileTlsSpellings(values, libpqModes, claims, describeSource)
  putBundleFiles(values, input.sslcertdir ?? env.PGSSLCERTDIR)
  refuseTwoRootSources(values, inline, describeSource)
  const notVerified = settlePgSpellings(values, notes, describeSource)
  putDefaultFiles(values, io.homeDirectory(env), io, notVerified)

  const dialect = dialectOf(input)
  // pg.defaults the application changed come last, as in pg (options > environment > defaults).
  for (const [name, value] of changedPgDefaults()) {
    if (values[name] === undefined) values[name] = { value, source: 'pg.defaults' }
  }
  putDefaults(values, dialect)
  validate(values)

  const connectRetry = connectRetryOf(input.connectRetry, input.connectionTimeoutMillis)
  return {
    values,
    dialect,
    dialectSource: input.dialect === undefined ? 'default' : 'option',
    sslmode: values.sslmode!.value as SslMode,
    passThrough,
    ...(passwordFunction ? { passwordFunction } : {}),
    inline,
    ...(connectRetry ? { connectRetry } : {}),
    trustStoreEnv: {
      ...(env.SSL_CERT_FILE ? { SSL_CERT_FILE: env.SSL_CERT_FILE } : {}),
      ...(env.SSL_CERT_DIR ? { SSL_CERT_DIR: env.SSL_CERT_DIR } : {}),
    },
    notes,
  }
}

/** The values libpq's own sources state, and every sslmode among them (one may override another). */
class StatedValues {
  readonly values: Record<string, Setting> = {}
  /** Every sslmode a libpq source states, so that one libpq's precedence overrides can be named. */
  readonly libpqModes: Setting[] = []

  put(name: string, stated: Setting): void {
    const setting = withPgSpelling(name, stated)
    this.values[name] = setting
    if (name === 'sslmode') this.libpqModes.push(setting)
  }
}

/** Lowest precedence first; later sources overwrite: env < conninfo < ini < options. */
function putLibpqSources(
  stated: StatedValues,
  input: SettingsOptions,
  env: Environment,
  explicit: KeywordValues,
): void {
  // Indexed loops over the keyword tables here and in putDefaults: they run for every connection,
  // and for...of makes an iterator result per keyword until V8 optimizes the function.
  for (let i = 0; i < ENV_KEYWORDS.length; i++) {
    const k = ENV_KEYWORDS[i]!
    const value = env[k.env!]
    if (value !== undefined) stated.put(k.name, { value, source: `env:${k.env}` })
  }
  if (input.connectionString !== undefined) {
    if (typeof input.connectionString !== 'string') {
      throw new PgSslError('INVALID_SETTING', 'connectionString must be a string', { setting: 'connectionString' })
    }
    for (const [name, value] of Object.entries(parseConnectionString(input.connectionString)))
      stated.put(name, { value, source: 'conninfo' })
  }
  if (input.ini !== undefined) {
    const source = typeof input.ini === 'string' ? { file: input.ini } : input.ini
    for (const [name, { value, line }] of Object.entries(readIniSettings(source)))
      stated.put(name, { value, source: `ini:${source.file}:${line}` })
  }
  for (const [name, value] of Object.entries(explicit)) stated.put(name, { value, source: 'option' })
}

/**
 * A service fills what the options, ini and connection string left open, before the environment
 * does (libpq: parseServiceInfo runs before the environment fallbacks).
 */
function putService(stated: StatedValues, env: Environment, io: SettingsIo): void {
  const { values } = stated
  const service = values.service?.value
  if (!service) return
  // libpq 18 reads the file PGSERVICEFILE names; a servicefile keyword is refused before any file is read.
  if (values.servicefile) refuseUnsupported('servicefile', values.servicefile)
  const found = readService({
    service,
    serviceFile: values.servicefile?.value || undefined,
    home: io.homeDirectory(env),
    sysconfDir: env.PGSYSCONFDIR || DEFAULT_SYSCONFDIR,
  })
  for (const [name, { value, file, line }] of Object.entries(found)) {
    const setting: Setting = { value, source: `service:${file}:${line}` }
    if (values[name] === undefined || values[name]!.source.startsWith('env:')) stated.put(name, setting)
    else if (name === 'sslmode') stated.libpqModes.push(setting)
  }
}

function dialectOf(input: SettingsOptions): Dialect {
  if (input.dialect === undefined) return 'postgres'
  if (!isDialect(input.dialect)) {
    throw new PgSslError('INVALID_SETTING', `invalid dialect "${String(input.dialect)}"`, {
      setting: 'dialect',
      hint: `use one of: ${DIALECT_NAMES.join(', ')}`,
    })
  }
  return input.dialect
}

/** libpq's defaults for what no source set. */
function putDefaults(values: Record<string, Setting>, dialect: Dialect): void {
  // libpq 16+ (conninfo_add_defaults): with sslrootcert=system the default sslmode is verify-full.
  if (values.sslmode === undefined && values.sslrootcert?.value === 'system' && DIALECTS[dialect].knowsSystemRootCert) {
    values.sslmode = { value: 'verify-full', source: 'default' }
  }
  for (let i = 0; i < DEFAULTED_KEYWORDS.length; i++) {
    const k = DEFAULTED_KEYWORDS[i]!
    if (values[k.name] === undefined) values[k.name] = { value: k.default!, source: 'default' }
  }
}

/**
 * pg-pool hands a pool's options on with `password` made non-enumerable (out of logs): it is an
 * option all the same, wherever options are read or copied.
 */
export function hasHiddenPassword(options: object): boolean {
  return 'password' in options && !Object.prototype.propertyIsEnumerable.call(options, 'password')
}

/** Options given in code: libpq keywords, pg.ClientConfig names converted to keywords, the rest. */
function readOptions(input: SettingsOptions): {
  explicit: KeywordValues
  /** What pg's ssl option asks for (settled against sslmode in tls-spellings.ts). */
  pgSsl: PgSslClaim | undefined
  passThrough: Record<string, unknown>
  passwordFunction: (() => string | Promise<string>) | undefined
} {
  const explicit: KeywordValues = {}
  let pgSsl: PgSslClaim | undefined
  const passThrough: Record<string, unknown> = {}
  let passwordFunction: (() => string | Promise<string>) | undefined
  const entries = Object.entries(input)
  if (hasHiddenPassword(input)) entries.push(['password', input.password])
  for (const [name, raw] of entries) {
    // pg reads a null option as absent (its val() falls back to the environment and defaults); ORMs pass null for "not
    // set".
    if (raw === undefined || raw === null || OWN_OPTIONS.has(name)) continue
    if (name === 'stream') {
      throw new PgSslError(
        'INVALID_SETTING',
        `the pg option "${name}" cannot be used with pg-sslmode: it opens the sockets itself`,
        {
          setting: name,
          hint: "remove the stream option; state SSL with libpq keywords or pg's ssl option",
        },
      )
    }
    if (name === 'ssl') {
      pgSsl = { source: 'pg.ssl', ...translatePgSsl(raw) }
      continue
    }
    if (name === 'password' && typeof raw === 'function') {
      passwordFunction = raw as () => string | Promise<string>
      continue
    }
    if (PG_CONVERTED.has(name)) {
      convertPgOption(name, raw, explicit)
      continue
    }
    const kw = PG_OPTION_ALIASES[name] ?? name
    if (keyword(kw)) {
      storeKeyword(explicit, kw, optionToString(kw, raw))
    } else if (name.startsWith('ssl')) {
      // An unknown ssl* option is almost always a typo of a security setting: never ignore it.
      const suggestion = closest(
        name,
        KEYWORDS.map((k) => k.name),
      )
      throw new PgSslError('INVALID_SETTING', `unknown SSL option "${name}"`, {
        setting: name,
        hint: suggestion ? `did you mean "${suggestion}"?` : 'see the libpq keyword list in the README',
      })
    } else {
      passThrough[name] = raw
    }
  }
  return { explicit, pgSsl, passThrough, passwordFunction }
}

function optionToString(name: string, raw: unknown): string {
  if (typeof raw === 'string') return raw
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw)
  if (typeof raw === 'boolean') return raw ? '1' : '0'
  throw new PgSslError('INVALID_SETTING', `option "${name}" must be a string or a number`, { setting: name })
}

function convertPgOption(name: string, raw: unknown, into: KeywordValues): void {
  switch (name) {
    case 'connectionTimeoutMillis': {
      // pg counts milliseconds, libpq seconds; 0 means no limit in both.
      const ms = Number(raw)
      if (!Number.isFinite(ms) || ms < 0)
        throw new PgSslError('INVALID_SETTING', 'connectionTimeoutMillis must be a non-negative number', {
          setting: name,
        })
      into.connect_timeout = String(ms / 1000)
      return
    }
    case 'keepAlive':
      into.keepalives = raw ? '1' : '0'
      return
    case 'keepAliveInitialDelayMillis':
      into.keepalives_idle = String(Number(raw) / 1000)
      return
  }
}

/** pg.defaults entries that name libpq keywords (pg's name → keyword). */
const PG_DEFAULTS_KEYWORDS: Readonly<Record<string, string>> = {
  host: 'host',
  port: 'port',
  user: 'user',
  database: 'dbname',
  password: 'password',
  application_name: 'application_name',
  fallback_application_name: 'fallback_application_name',
  client_encoding: 'client_encoding',
  options: 'options',
  connect_timeout: 'connect_timeout',
}
/** The pg.defaults entries settings read (the keywords above and ssl): a reused resolution checks these. */
export const PG_DEFAULTS_READ: readonly string[] = [...Object.keys(PG_DEFAULTS_KEYWORDS), 'ssl']
const PG_DEFAULTS_PAIRS = Object.entries(PG_DEFAULTS_KEYWORDS)

/** pg.defaults as pg set them, before the application could change them. */
const PG_DEFAULTS_AT_LOAD: Readonly<Record<string, unknown>> = {
  ...(pg.defaults as unknown as Record<string, unknown>),
}

/** pg.defaults.ssl, when the application changed it from pg's default (false): pg applies it to every client. */
function changedPgDefaultsSsl(): PgSslClaim[] {
  const ssl = (pg.defaults as unknown as Record<string, unknown>).ssl
  if (ssl === undefined || ssl === null || ssl === PG_DEFAULTS_AT_LOAD.ssl) return []
  return [{ source: 'pg.defaults.ssl', ...translatePgSsl(ssl, 'pg.defaults.ssl') }]
}

/** [keyword, value] for each pg.defaults entry the application set to something else than pg did. */
function changedPgDefaults(): Array<[string, string]> {
  const defaults = pg.defaults as unknown as Record<string, unknown>
  const out: Array<[string, string]> = []
  for (const [pgName, keywordName] of PG_DEFAULTS_PAIRS) {
    const value = defaults[pgName]
    if (value === undefined || value === null || value === PG_DEFAULTS_AT_LOAD[pgName]) continue
    if (typeof value === 'string' || typeof value === 'number') out.push([keywordName, String(value)])
  }
  return out
}

/** The database user: the user setting, else the operating-system user (libpq's default). */
export function effectiveUser(settings: MergedSettings): string {
  return settingValue(settings, 'user') ?? userInfo().username
}

/** The value of a keyword, or undefined when unset or empty (libpq treats "" as unset for files). */
export function settingValue(settings: MergedSettings, name: string): string | undefined {
  const v = settings.values[name]?.value
  return v === undefined || v === '' ? undefined : v
}

/** A printable copy of the settings: secrets masked. */
export function describeSettings(settings: MergedSettings): Record<string, Setting> {
  const out: Record<string, Setting> = {}
  for (const [name, setting] of Object.entries(settings.values)) {
    out[name] = keyword(name)?.secret ? { value: '***', source: setting.source } : setting
  }
  return out
}

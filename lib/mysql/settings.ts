/**
 * MySQL connection settings from the sources users already have, merged as the MySQL client
 * merges them — built-in defaults, then MYSQL_HOST / MYSQL_TCP_PORT, then option files (read in
 * order, later wins), then a mysql:// URI, then options in code — each value remembering where it
 * came from. The SSL policy (PGSSLPOLICY and the policy option) is combined here too.
 */
import { userInfo } from 'node:os'
import { PgSslError, warnOnce } from '../engine/errors.js'
import { environmentControls, policiesInForce, type SslPolicy } from '../engine/policy/policy.js'
import { parseMysqlSslMode, type MysqlSslMode } from './modes.js'
import { defaultOptionFiles, readOptionFiles } from './option-files.js'
import {
  MARIADB_TLS_OPTIONS,
  MYSQL_SETTINGS,
  OTHER_CLIENT_OPTIONS,
  settingNamed,
  UNSUPPORTED_OPTIONS,
  type MysqlSettingName,
} from './option-names.js'
import { parseMysqlUri } from './uri.js'

/** Options of connectMysql() / createMysqlPool() that pg-sslmode reads; any other key goes to mysql2 as is. */
export interface MysqlSslOptions {
  host?: string
  port?: number | string
  user?: string
  password?: string
  database?: string
  /** DISABLED, PREFERRED (default), REQUIRED, VERIFY_CA, VERIFY_IDENTITY — in any case. */
  sslMode?: string
  /** Trusted CA file; without an explicit sslMode it means VERIFY_CA (the MySQL 8 client's rule). */
  sslCa?: string
  /** Directory of hashed CA files (openssl rehash); like sslCa, it makes the default VERIFY_CA. */
  sslCapath?: string
  sslCert?: string
  sslKey?: string
  sslCrl?: string
  sslCrlpath?: string
  /** OpenSSL cipher list for TLS 1.2 and below. */
  sslCipher?: string
  /** Comma-separated protocols, e.g. "TLSv1.2,TLSv1.3" (the default). */
  tlsVersion?: string
  /** TLS 1.3 suites, colon-separated. */
  tlsCiphersuites?: string
  /** The name sent as SNI (the MySQL 8 client sends none unless told). */
  tlsSniServername?: string
  /** Milliseconds, as mysql2 takes it (option files give seconds: connect-timeout=10). */
  connectTimeout?: number
  /** OFF (default), ON or STRICT: ON and STRICT need Node's OpenSSL in FIPS mode, else the connection is refused. */
  sslFipsMode?: string
  /**
   * Over an unencrypted connection, let caching_sha2_password / sha256_password fetch the server's
   * RSA key to encrypt the password to (the MySQL client's --get-server-public-key). Off by
   * default: a man in the middle can send its own key and decrypt the password.
   */
  getServerPublicKey?: boolean
  /** The server's RSA public key (PEM file) to encrypt the password to over an unencrypted connection. */
  serverPublicKeyPath?: string
  /** Allow mysql_clear_password, which sends the password as it is (the MySQL client's --enable-cleartext-plugin). */
  enableCleartextPlugin?: boolean
  /** mysql://user:password@host:port/database?ssl-mode=VERIFY_CA&ssl-ca=/path/ca.pem */
  uri?: string
  /**
   * MySQL option files. Default: the client's list (/etc/my.cnf, /etc/mysql/my.cnf,
   * $MYSQL_HOME/my.cnf, ~/.my.cnf), group [client]. `false` reads none (--no-defaults);
   * `defaultsFile` reads only that file (--defaults-file); `defaultsExtraFile` adds one before
   * ~/.my.cnf (--defaults-extra-file); `groups` replaces ['client'].
   */
  optionFiles?: false | { defaultsFile?: string; defaultsExtraFile?: string; groups?: string[] }
  /** An SSL policy object or preset name, combined with PGSSLPOLICY (stricter wins). */
  policy?: SslPolicy | string
  /** The environment to read (MYSQL_HOST, MYSQL_TCP_PORT, HOME, MYSQL_HOME, PGSSLPOLICY); default process.env. */
  env?: Readonly<Record<string, string | undefined>>
}

export interface MysqlSettingValue {
  readonly value: string
  /** "default", "env:MYSQL_HOST", "file:/home/me/.my.cnf:3", "uri", "option". */
  readonly source: string
}

export interface MysqlSettings {
  readonly values: ReadonlyMap<MysqlSettingName, MysqlSettingValue>
  readonly sslMode: MysqlSslMode
  /** Whether ssl-mode was given, or derived (PREFERRED, or VERIFY_CA because ssl-ca/ssl-capath was). */
  readonly sslModeExplicit: boolean
  readonly policy: SslPolicy
  readonly policySources: readonly string[]
  readonly notes: readonly string[]
}

export function mysqlSettingValue(settings: MysqlSettings, name: MysqlSettingName): string | undefined {
  return settings.values.get(name)?.value
}

const OPTION_KEYS = new Set([
  ...MYSQL_SETTINGS.map((s) => s.option),
  'uri',
  'optionFiles',
  'policy',
  'env',
  'onSecurityEvent',
])

/** Case, '-' and '_' folded away: sslMode, ssl-mode, ssl_mode, sslmode and SslMode are one name. */
const fold = (key: string): string => key.toLowerCase().replace(/[-_]/g, '')
const OWN_BY_FOLDED = new Map([...OPTION_KEYS].map((key) => [fold(key), key]))

/**
 * The options in code with pg-sslmode's own names in their canonical spelling. Any spelling of one
 * of them (ssl-mode, ssl_mode, sslmode, SslMode, ssl_ca, URI, ...) is that option — handed to
 * mysql2 it would be ignored, and the connection silently weaker than asked. Two spellings of one
 * option with different values are refused, naming both.
 */
export function canonicalMysqlOptions(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const spelledAs = new Map<string, string>()
  for (const [key, value] of Object.entries(options)) {
    const own = OWN_BY_FOLDED.get(fold(key))
    if (own === undefined) {
      out[key] = value
      continue
    }
    if (value === undefined || value === null) continue
    const earlier = spelledAs.get(own)
    if (earlier !== undefined && out[own] !== value) {
      throw new PgSslError('INVALID_SETTING', `the options "${earlier}" and "${key}" both set ${own} and disagree`, {
        setting: own,
        hint: `give ${own} once (any spelling names the same setting)`,
      })
    }
    spelledAs.set(own, key)
    out[own] = value
  }
  return out
}

/** The options that are mysql2's own (charset, timezone, namedPlaceholders...), passed through. */
export function mysql2Options(options: MysqlSslOptions & Record<string, unknown>): Record<string, unknown> {
  for (const refused of ['ssl', 'stream', 'socketPath']) {
    const spelled = Object.keys(options).find((key) => fold(key) === fold(refused) && options[key] !== undefined)
    if (spelled !== undefined) {
      throw new PgSslError(
        'INVALID_SETTING',
        `the mysql2 option "${spelled}" cannot be combined with pg-sslmode/mysql`,
        {
          setting: spelled,
          hint:
            refused === 'ssl'
              ? 'state TLS as MySQL does: sslMode, sslCa, sslCert, sslKey, sslCrl... (pg-sslmode ' +
                'runs and verifies the TLS session itself)'
              : 'pg-sslmode/mysql opens the TCP connection itself, so that it can run TLS; connect ' +
                'over TCP (host, port)',
        },
      )
    }
  }
  return Object.fromEntries(Object.entries(options).filter(([key]) => !OPTION_KEYS.has(key)))
}

export function mergeMysqlSettings(given: MysqlSslOptions = {}): MysqlSettings {
  const options = canonicalMysqlOptions(given as Record<string, unknown>) as MysqlSslOptions
  const env = options.env ?? process.env
  const values: MysqlValues = new Map()
  const set = setterFor(values)
  set('host', 'localhost', 'default')
  set('port', '3306', 'default')
  set('user', defaultUser(env), 'default')
  if (env.MYSQL_HOST) set('host', env.MYSQL_HOST, 'env:MYSQL_HOST')
  if (env.MYSQL_TCP_PORT) set('port', env.MYSQL_TCP_PORT, 'env:MYSQL_TCP_PORT')
  for (const entry of optionFileEntries(options, env)) putOptionFileEntry(entry, set)
  if (options.uri !== undefined) for (const [name, value] of parseMysqlUri(options.uri).values) set(name, value, 'uri')
  putCodeOptions(options, set)
  checkValues(values, set)
  const { sslMode, notes } = sslModeOf(values)
  const modeValue = values.get('ssl-mode')
  const { policy, sources: policySources } = policiesInForce(environmentControls(options.env).policies, options.policy)
  return { values, sslMode, sslModeExplicit: modeValue !== undefined, policy, policySources, notes }
}

type MysqlValues = Map<MysqlSettingName, MysqlSettingValue>
type Setter = (name: string, value: string, source: string) => void

function setterFor(values: MysqlValues): Setter {
  return (name, value, source) => {
    values.set(name as MysqlSettingName, { value, source })
  }
}

/** One [client] entry of an option file: honoured, or refused by name with the reason. */
function putOptionFileEntry(entry: ReturnType<typeof optionFileEntries>[number], set: Setter): void {
  const where = `file:${entry.file}:${entry.line}`
  const mariadb = MARIADB_TLS_OPTIONS.get(entry.name)
  if (mariadb) {
    throw new PgSslError(
      'OPTION_FILE_INVALID',
      `"${entry.name}" in ${entry.file} at line ${entry.line} is MariaDB's client option; ` +
        `pg-sslmode/mysql reads MySQL 8's ssl-mode`,
      {
        setting: entry.name,
        file: entry.file,
        hint:
          `write ${mariadb} instead: a TLS setting pg-sslmode cannot read the way its author ` +
          `meant is refused, never ignored`,
      },
    )
  }
  const unsupported = UNSUPPORTED_OPTIONS.get(entry.name)
  if (unsupported && !entry.loose) {
    throw new PgSslError(
      'OPTION_FILE_INVALID',
      `"${entry.name}" in ${entry.file} at line ${entry.line} is not supported by pg-sslmode/mysql: ${unsupported}`,
      {
        setting: entry.name,
        file: entry.file,
        hint: `remove ${entry.name} (or write loose-${entry.name} if only other programs should read it)`,
      },
    )
  }
  const setting = settingNamed(entry.name)
  if (setting) {
    if (entry.value === undefined && setting.flag) {
      set(setting.name, '1', where)
    } else if (entry.value === undefined) {
      throw new PgSslError(
        'OPTION_FILE_INVALID',
        `option '${entry.name}' requires an argument (${entry.file} at line ${entry.line})`,
        { setting: entry.name, file: entry.file },
      )
    } else set(setting.name, entry.value, where)
  } else if (!entry.loose && !OTHER_CLIENT_OPTIONS.has(entry.name)) {
    // Echo the value as the client does, unless it may be a secret.
    const shown = entry.value === undefined ? '' : /pass|secret|key/.test(entry.name) ? '=***' : `=${entry.value}`
    throw new PgSslError(
      'OPTION_FILE_INVALID',
      `unknown variable '${entry.name}${shown}' in ${entry.file} at line ${entry.line}`,
      {
        setting: entry.name,
        file: entry.file,
        hint:
          `the MySQL client refuses an unknown option in [client] too; prefix it with loose- ` +
          `if another program reads it (loose-${entry.name})`,
      },
    )
  }
}

/** The settings given in code (mysql2's option names): numbers and flags checked as they come. */
function putCodeOptions(options: MysqlSslOptions, set: Setter): void {
  for (const setting of MYSQL_SETTINGS) {
    const value = (options as Record<string, unknown>)[setting.option]
    if (value === undefined || value === null) continue
    if (setting.name === 'connect-timeout') {
      if (typeof value !== 'number' || !(value > 0))
        throw invalidOption('connectTimeout', value, 'milliseconds, a positive number')
      set(setting.name, String(value / 1000), 'option')
    } else if (setting.flag) {
      if (typeof value !== 'boolean') throw invalidOption(setting.option, value, 'true or false')
      set(setting.name, value ? '1' : '0', 'option')
    } else set(setting.name, String(value), 'option')
  }
}

/** Port, connect-timeout, flags and ssl-fips-mode, read as the MySQL 8 client reads them. */
function checkValues(values: MysqlValues, set: Setter): void {
  const port = values.get('port')!
  if (!/^\d+$/.test(port.value) || Number(port.value) < 1 || Number(port.value) > 65535) {
    throw new PgSslError('INVALID_SETTING', `invalid port "${port.value}" (${port.source})`, {
      setting: 'port',
      hint: 'a TCP port number, 1-65535',
    })
  }
  const timeout = values.get('connect-timeout')
  if (timeout && !(Number(timeout.value) > 0))
    throw new PgSslError('INVALID_SETTING', `invalid connect-timeout "${timeout.value}" (${timeout.source})`, {
      setting: 'connect-timeout',
      hint: 'seconds, a positive number',
    })

  for (const setting of MYSQL_SETTINGS.filter((s) => s.flag)) {
    const flag = values.get(setting.name)
    if (flag) set(setting.name, flagValue(flag.value, `${setting.name} (${flag.source})`) ? '1' : '0', flag.source)
  }
  const fips = values.get('ssl-fips-mode')
  if (fips && !['OFF', 'ON', 'STRICT'].includes(fips.value.toUpperCase())) {
    throw new PgSslError('INVALID_SETTING', `invalid ssl-fips-mode "${fips.value}" (${fips.source})`, {
      setting: 'ssl-fips-mode',
      hint: 'use OFF, ON or STRICT',
    })
  }
}

/**
 * The MySQL 8 client (include/sslopt-case.h): --ssl-ca or --ssl-capath without an explicit
 * --ssl-mode means VERIFY_CA. A mode given anywhere (file, URI, code) is explicit.
 */
function sslModeOf(values: MysqlValues): { sslMode: MysqlSslMode; notes: string[] } {
  const notes: string[] = []
  const modeValue = values.get('ssl-mode')
  let sslMode: MysqlSslMode
  if (modeValue) sslMode = parseMysqlSslMode(modeValue.value, `ssl-mode (${modeValue.source})`)
  else if (values.has('ssl-ca') || values.has('ssl-capath')) {
    sslMode = 'VERIFY_CA'
    notes.push(
      `ssl-mode VERIFY_CA because ${values.has('ssl-ca') ? 'ssl-ca' : 'ssl-capath'} is given without ` +
        `ssl-mode (as the MySQL 8 client decides)`,
    )
  } else sslMode = 'PREFERRED'
  if (sslMode === 'REQUIRED' && (values.has('ssl-ca') || values.has('ssl-capath'))) {
    // The MySQL client's own warning: the CA is loaded but not used.
    notes.push(
      'ssl-mode REQUIRED does not verify the server certificate: ssl-ca/ssl-capath are not used (use ' +
        'VERIFY_CA or VERIFY_IDENTITY)',
    )
    warnOnce(
      'mysql-required-with-ca',
      'no verification of server certificate will be done. Use --ssl-mode=VERIFY_CA or VERIFY_IDENTITY.',
    )
  }
  return { sslMode, notes }
}

function optionFileEntries(options: MysqlSslOptions, env: Readonly<Record<string, string | undefined>>) {
  const request = options.optionFiles
  if (request === false) return []
  const groups = request?.groups ?? ['client']
  const files = request?.defaultsFile
    ? [{ path: request.defaultsFile, required: true }]
    : defaultOptionFiles(env, request?.defaultsExtraFile).map((path) => ({
        path,
        required: path === request?.defaultsExtraFile,
      }))
  return readOptionFiles(files, { groups })
}

function defaultUser(env: Readonly<Record<string, string | undefined>>): string {
  // libmysql on Unix: the login name (getlogin, else USER / LOGNAME).
  if (env.USER) return env.USER
  if (env.LOGNAME) return env.LOGNAME
  try {
    return userInfo().username
  } catch {
    return 'root'
  }
}

/** A boolean as MySQL's option files write one (my_getopt: 1/0, ON/OFF, TRUE/FALSE; named alone, on). */
function flagValue(text: string, where: string): boolean {
  const v = text.trim().toUpperCase()
  if (['', '1', 'ON', 'TRUE'].includes(v)) return true
  if (['0', 'OFF', 'FALSE'].includes(v)) return false
  throw new PgSslError('INVALID_SETTING', `invalid ${where}: "${text}"`, {
    setting: where.split(' ')[0]!,
    hint: 'use 1 or 0 (ON/OFF, TRUE/FALSE)',
  })
}

function invalidOption(name: string, value: unknown, expected: string): PgSslError {
  return new PgSslError('INVALID_SETTING', `invalid ${name}: ${JSON.stringify(value)}`, {
    setting: name,
    hint: `expected ${expected}`,
  })
}

/** What resolveMysql() shows: every setting with its source, secrets masked. */
export function describeMysqlSettings(settings: MysqlSettings): Record<string, MysqlSettingValue> {
  const out: Record<string, MysqlSettingValue> = {}
  for (const setting of MYSQL_SETTINGS) {
    const value = settings.values.get(setting.name as MysqlSettingName)
    if (value) out[setting.name] = setting.secret ? { value: '********', source: value.source } : value
  }
  return out
}

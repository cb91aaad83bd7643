/**
 * pg-sslmode/mysql: MySQL's ssl-mode for mysql2, on pg-sslmode's engine — the same verification,
 * CRLs, file rules, policy, report and error codes as for PostgreSQL.
 *
 *   const conn = await connectMysql({ uri: 'mysql://app@db:3306/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem' })
 *   conn.security.outcome // 'encrypted-verified'
 */
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import type {
  Connection as PromiseConnection,
  Pool as PromisePool,
  PoolConnection as PromisePoolConnection,
  PoolOptions,
} from 'mysql2/promise'
import { isPgSslError, PgSslError, withAttempts } from '../engine/errors.js'
import type { SecurityEvent } from '../engine/policy/audit.js'
import { environmentControls } from '../engine/policy/policy.js'
import { annotate, mysqlStreamFactory } from './connect.js'
import type { MysqlSecurityReport } from './state.js'
import { auditRefusal } from '../engine/policy/audit.js'
import { stateOf } from './state.js'
import { LADDER, verifiesChain, type MysqlSslMode } from './modes.js'
import { prepareMysql, type PreparedMysql } from './prepare.js'
import {
  canonicalMysqlOptions,
  describeMysqlSettings,
  mysql2Options,
  mysqlSettingValue,
  mergeMysqlSettings,
  type MysqlSettings,
  type MysqlSettingValue,
  type MysqlSslOptions,
} from './settings.js'
import { streamOf } from './mysql2-internals.js'

export type { MysqlSecurityReport } from './state.js'
export type { MysqlSslMode } from './modes.js'
export { MYSQL_SSL_MODES } from './modes.js'
export type { MysqlSslOptions, MysqlSettingValue } from './settings.js'
export { PgSslError, isPgSslError }

export interface MysqlConnectOptions extends MysqlSslOptions {
  /**
   * Every security event (security, fallback, policy-violation, certificate-expiring); PGSSLAUDITLOG appends them as
   * JSON lines.
   */
  onSecurityEvent?: (event: SecurityEvent) => void
  /** Any other mysql2 option (charset, timezone, namedPlaceholders, pool options...) is passed on. */
  [mysql2Option: string]: unknown
}

/** A mysql2/promise connection that carries the proof of what was negotiated. */
export type MysqlConnection = PromiseConnection & { readonly security: MysqlSecurityReport }
export type MysqlPoolConnection = PromisePoolConnection & { readonly security: MysqlSecurityReport }
export type MysqlPool = Omit<PromisePool, 'getConnection'> & { getConnection(): Promise<MysqlPoolConnection> }

/**
 * Connects as the MySQL 8 client would with these settings, or fails with a coded error. A string
 * is a mysql:// URI, as mysql2's createConnection takes one.
 */
export async function connectMysql(given: MysqlConnectOptions | string = {}): Promise<MysqlConnection> {
  const options = optionsOf(given)
  const settings = mergeMysqlSettings(options)
  const extra = mysql2Options(options)
  const sinks = sinksOf(options)
  let prepared: PreparedMysql
  try {
    prepared = await prepareMysql(settings)
  } catch (error) {
    auditRefusal(error, sinks, mysqlSettingValue(settings, 'host'))
    throw error
  }
  let state: ReturnType<typeof stateOf>
  const stream = mysqlStreamFactory(
    () => Promise.resolve(prepared),
    sinks,
    (s) => (state = s),
  )
  try {
    return (await mysqlPromise.createConnection({
      ...mysql2Config(extra, settings),
      stream,
    } as never)) as unknown as MysqlConnection
  } catch (error) {
    throw explained(state?.failure ?? error, state?.records ?? [], state?.useTls ?? false)
  }
}

/** A mysql2/promise pool whose every connection is made as connectMysql makes one (files re-checked per connection). */
export function createMysqlPool(given: MysqlConnectOptions | string = {}): MysqlPool {
  const options = optionsOf(given)
  const settings = mergeMysqlSettings(options)
  const extra = mysql2Options(options)
  const stream = mysqlStreamFactory(() => prepareMysql(settings), sinksOf(options))
  return mysqlPromise.createPool({ ...mysql2Config(extra, settings), stream } as PoolOptions) as unknown as MysqlPool
}

/** Options with pg-sslmode's names in one spelling (settings.ts); a string is a URI. */
function optionsOf(given: MysqlConnectOptions | string | undefined): MysqlConnectOptions {
  if (typeof given === 'string') return { uri: given }
  return canonicalMysqlOptions(given ?? {}) as MysqlConnectOptions
}

export interface MysqlResolution {
  /** Every setting pg-sslmode read, with where it came from (password masked). */
  readonly settings: Readonly<Record<string, MysqlSettingValue>>
  readonly requestedMode: MysqlSslMode
  readonly effectiveMode: MysqlSslMode
  /** The libpq mode that promises the same (what a policy's minimumMode compares with). */
  readonly equivalentSslmode: string
  readonly verifyChain: boolean
  readonly verifyIdentity: boolean
  readonly plaintextFallback: boolean
  readonly notes: readonly string[]
  readonly policySources: readonly string[]
}

/** What a connection with these options would do — settings, files and policy checked — without connecting. */
export async function resolveMysql(given: MysqlConnectOptions | string = {}): Promise<MysqlResolution> {
  const settings = mergeMysqlSettings(optionsOf(given))
  const prepared = await prepareMysql(settings)
  return {
    settings: describeMysqlSettings(settings),
    requestedMode: settings.sslMode,
    effectiveMode: prepared.mode,
    equivalentSslmode: LADDER[prepared.mode],
    verifyChain: verifiesChain(prepared.mode),
    verifyIdentity: prepared.mode === 'VERIFY_IDENTITY',
    plaintextFallback: prepared.mode === 'PREFERRED' && settings.policy.allowPlaintextFallback !== false,
    notes: prepared.notes,
    policySources: settings.policySources,
  }
}

function mysql2Config(extra: Record<string, unknown>, settings: MysqlSettings): Record<string, unknown> {
  const value = (name: Parameters<typeof mysqlSettingValue>[1]): string | undefined => mysqlSettingValue(settings, name)
  const timeout = value('connect-timeout')
  return {
    ...extra,
    host: value('host'),
    port: Number(value('port')),
    user: value('user'),
    ...(value('password') !== undefined ? { password: value('password') } : {}),
    ...(value('database') !== undefined ? { database: value('database') } : {}),
    ...(timeout !== undefined ? { connectTimeout: Math.round(Number(timeout) * 1000) } : {}),
    ...(value('enable-cleartext-plugin') === '1' ? { enableCleartextPlugin: true } : {}),
    ...(value('server-public-key-path')
      ? { authPlugins: { ...(extra.authPlugins as object | undefined), ...withServerPublicKey() } }
      : {}),
  }
}

type AuthPluginFactory = (options: { serverPublicKey?: Buffer }) => (context: { connection: object }) => unknown
const MYSQL2_AUTH_PLUGINS = (
  mysql as unknown as { authPlugins: Record<'caching_sha2_password' | 'sha256_password', AuthPluginFactory> }
).authPlugins

/**
 * server-public-key-path: mysql2's own caching_sha2_password and sha256_password plugins (its
 * public authPlugins option), given the key the connection read from the file, so the password is
 * encrypted to it instead of to a key fetched over the unencrypted connection.
 */
function withServerPublicKey(): Record<string, unknown> {
  const plugin = (name: 'caching_sha2_password' | 'sha256_password') => (context: { connection: object }) => {
    const serverPublicKey = stateOf(streamOf(context.connection))?.prepared?.serverPublicKey
    return MYSQL2_AUTH_PLUGINS[name](serverPublicKey ? { serverPublicKey } : {})(context)
  }
  return { caching_sha2_password: plugin('caching_sha2_password'), sha256_password: plugin('sha256_password') }
}

function sinksOf(options: MysqlConnectOptions) {
  return { onSecurityEvent: options.onSecurityEvent, auditLogs: environmentControls(options.env).auditLogs }
}

/** The refusal, with every attempt made; a server's own error keeps mysql2's shape and gains pg-sslmode's code. */
function explained(error: unknown, attempts: readonly unknown[], encrypted: boolean): unknown {
  if (error instanceof PgSslError) return withAttempts(error, attempts)
  if (error instanceof Error) {
    const errno = (error as { errno?: unknown }).errno
    if (errno === 3159)
      annotate(
        error,
        'SSL_REQUIRED_BY_SERVER',
        'the server requires secure transport (require_secure_transport=ON): use ssl-mode PREFERRED or stronger',
      )
    else if (errno === 1045 && !encrypted)
      annotate(
        error,
        'SERVER_REJECTED',
        'check user and password; MariaDB also answers 1045 when require_secure_transport refuses a ' +
          'plaintext connection — try ssl-mode=REQUIRED or stronger',
      )
    else if (typeof errno === 'number' && errno >= 1000 && errno < 5000)
      annotate(error, 'SERVER_REJECTED', 'see the server message and error number')
    Object.defineProperty(error, 'attempts', { value: attempts, enumerable: false, configurable: true })
  }
  return error
}

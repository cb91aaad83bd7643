/**
 * What the MySQL side checks while mysql2 authenticates: the policy's methods, the password never
 * encrypted to a key that arrived over plaintext, and — at the server's OK — the report and its
 * events.
 */
import { PgSslError } from '../engine/errors.js'
import { publish } from '../engine/policy/audit.js'
import { violation } from '../engine/policy/enforce.js'
import { buildMysqlReport } from './report.js'
import { mysqlSettingValue } from './settings.js'
import { type ConnectionState, fail } from './state.js'

export function authMethodSeen(state: ConnectionState, plugin: string): void {
  checkAuthMethod(state, plugin)
  state.authMethod = plugin
  // mysql2's sha256_password asks for the server's key at once when the connection is not encrypted.
  if (plugin === 'sha256_password') checkPasswordEncryption(state, plugin)
}

export function authStepSeen(state: ConnectionState, data: Buffer): void {
  // caching_sha2_password's "perform full authentication": over plaintext mysql2 would fetch the key next.
  if (state.authMethod === 'caching_sha2_password' && data.length === 1 && data[0] === 0x04)
    checkPasswordEncryption(state, state.authMethod)
}

/**
 * Over an unencrypted connection caching_sha2_password (full authentication) and sha256_password
 * encrypt the password to an RSA key the server sends — the same connection a man in the middle
 * could answer with a key of its own. The MySQL 8 client refuses unless --get-server-public-key or
 * --server-public-key-path is given (sql-common/client_authentication.cc); so does pg-sslmode,
 * before mysql2 asks for the key. Over TLS the password goes on the session, as the client sends it.
 */
function checkPasswordEncryption(state: ConnectionState, plugin: string): void {
  const prepared = state.prepared
  if (
    state.useTls ||
    !prepared ||
    prepared.serverPublicKey ||
    mysqlSettingValue(prepared.settings, 'get-server-public-key') === '1'
  )
    return
  throw fail(
    state,
    new PgSslError(
      'INSECURE_PASSWORD_EXCHANGE',
      `Authentication plugin '${plugin}' reported error: Authentication requires secure connection ` +
        `(the server would send the RSA key to encrypt the password to over an unencrypted connection)`,
      {
        setting: 'ssl-mode',
        hint:
          "use ssl-mode=REQUIRED or stronger, or give server-public-key-path (the server's RSA " +
          'public key); get-server-public-key=1 trusts whatever key arrives',
      },
    ),
  )
}

export function checkAuthMethod(state: ConnectionState, plugin: string | undefined): void {
  const allowed = state.prepared?.settings.policy.allowedAuthMethods
  if (!allowed || plugin === undefined) return
  if (!(allowed as readonly string[]).includes(plugin)) {
    throw fail(
      state,
      violation(
        state.prepared!.settings.policy,
        'allowedAuthMethods',
        `one of ${allowed.join(', ')}`,
        `the server asks for ${plugin}`,
      ),
    )
  }
}

export function authEnded(state: ConnectionState, ok: boolean): void {
  state.times.authEnd = performance.now()
  if (!ok || !state.prepared || !state.hello) return
  const report = buildMysqlReport(state)
  state.report = report
  const time = new Date().toISOString()
  publish({ type: 'security', time, report }, state.sinks)
  if (report.fallback !== 'none') publish({ type: 'fallback', time, report }, state.sinks)
  for (const warning of [...state.prepared.warnings, ...(state.peer?.warnings ?? [])])
    publish({ type: 'certificate-expiring', time, host: report.host, ...warning }, state.sinks)
}

/**
 * The options connect(), SslClient and createPool() take: the settings' options (libpq keywords,
 * pg's options, the sources) and the SSL policy's.
 */
import type { SettingsOptions } from './settings/options.js'
import type { FilePermissionRule } from '../engine/tls/permissions.js'
import type { PresetName, SslPolicy } from '../engine/policy/policy.js'
import type { SecurityEvent } from '../engine/policy/audit.js'
import type { OAuthBearerTokenProvider } from './protocol/oauthbearer.js'

export type { LibpqKeywordOptions, PgSslObject, SettingsOptions } from './settings/options.js'

export interface ConnectOptions extends SettingsOptions {
  /** Which files must be private: the dialect's rule by default (libpq / openGauss-600), or 'off'. */
  filePermissions?: FilePermissionRule
  /**
   * The application's SSL policy: a preset name ('libpq', 'recommended', 'gaussdb', 'strict') or
   * rules. Combined with PGSSLPOLICY by the stricter value of every rule.
   */
  policy?: PresetName | SslPolicy
  /** Called with every security event (security, fallback, policy-violation, certificate-expiring, connect-retry). */
  onSecurityEvent?: (event: SecurityEvent) => void
  /**
   * OAuth (PostgreSQL 18's `oauth` method): returns a bearer token for the issuer's discovery URI
   * and scope it is asked for — libpq's PQAUTHDATA_OAUTH_BEARER_TOKEN hook. Called only when the
   * server asks for OAUTHBEARER, at most once per connection (a pool asks for each new connection).
   */
  oauthBearerToken?: OAuthBearerTokenProvider
}

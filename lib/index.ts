/** pg-sslmode public API. */
export { cancelQuery } from './postgres/cancel-query.js'
export { connect } from './postgres/client.js'
export type { CancelOutcome } from './postgres/connect/cancel.js'
export { createPool, pgDriver, SslPgPool } from './postgres/pool.js'
export type { ConnectRetryStats } from './postgres/connect/retry.js'
export type { ConnectRetryOptions } from './postgres/settings/connect-retry.js'
export type { PoolOptions, SslPool, SslPoolClient } from './postgres/pool.js'
export { resolve } from './postgres/resolve.js'
export type { Resolution, ResolvedEndpoint } from './postgres/resolve.js'
export { loadIni } from './postgres/settings/database-ini.js'
export type { IniSource } from './postgres/settings/database-ini.js'
export { planAttempts } from './postgres/plan.js'
export type { AttemptSpec, AttemptTrigger, Plan, PlanInput, RootCertSource, Transport } from './postgres/plan.js'
export { SslClient } from './postgres/client.js'
export type { ConnectOptions, LibpqKeywordOptions, PgSslObject } from './postgres/options.js'
export type { OAuthBearerRequest, OAuthBearerTokenProvider } from './postgres/protocol/oauthbearer.js'
export { tokenPassword } from './postgres/connect/credential.js'
export type { CredentialKind, TokenEndpoint, TokenFunction, TokenPassword } from './postgres/connect/credential.js'
export { rdsIamToken, type RdsIamOptions } from './postgres/connect/rds-iam.js'
export { PgSslError, isPgSslError, sslCodeOf, ERROR_CODES } from './engine/errors.js'
export type { PgSslErrorCode, PgSslServerError, VerifyFailureReason } from './engine/errors.js'
export { DIALECTS } from './postgres/dialects.js'
export type { Dialect, DialectRules } from './postgres/dialects.js'
export { KEYWORDS, SSL_MODES } from './postgres/settings/keywords.js'
export type { Keyword, SslMode } from './postgres/settings/keywords.js'
export { describeSettings } from './postgres/settings/merge.js'
export type { Setting, SettingSource, Environment } from './postgres/settings/merge.js'
export { connectionSettings } from './postgres/connection-settings.js'
export type { ConnectionSettings } from './postgres/connection-settings.js'
import { type ConnectionSettings, connectionSettings } from './postgres/connection-settings.js'
/** @deprecated The name before 0.2: use connectionSettings() ("resolve" is only resolve()). */
export const resolveSettings: typeof connectionSettings = connectionSettings
/** @deprecated The name before 0.2: use ConnectionSettings. */
export type ResolvedSettings = ConnectionSettings
export { parseConnectionString } from './postgres/settings/conninfo.js'
export { describeReport } from './engine/report.js'
// The operator tools and the MySQL Plus switch load when first called: an application that only
// connects does not pay for them at start-up (cold start, docs/benchmarks.md).
import type * as Check from './cli/check.js'
import type * as Probe from './cli/probe.js'
import type * as MysqlPlus from './mysqlplus/switch.js'
/** The checks of `pg-sslmode check`, without connecting (cli/check.ts). */
export async function checkMaterial(
  ...args: Parameters<typeof Check.checkMaterial>
): ReturnType<typeof Check.checkMaterial> {
  return (await import('./cli/check.js')).checkMaterial(...args)
}
/** One connection per sslmode, as `pg-sslmode probe` (cli/probe.ts). */
export async function probe(...args: Parameters<typeof Probe.probe>): ReturnType<typeof Probe.probe> {
  return (await import('./cli/probe.js')).probe(...args)
}
export type { ProbeReport, ModeResult } from './cli/probe.js'
export { PRESETS, combinePolicies, loadPolicy } from './engine/policy/policy.js'
export type { SslPolicy, PresetName } from './engine/policy/policy.js'
export type { SecurityEvent } from './engine/policy/audit.js'
export type { CheckReport, CheckStatus, Finding } from './cli/check.js'
export { encryptKeyPassphrase, readKeyPassphrase } from './engine/tls/gauss-cipher.js'
export type { FilePermissionRule } from './engine/tls/permissions.js'
export type {
  SecurityReport,
  AttemptRecord,
  CertificateSummary,
  ConnectTimings,
  Fallback,
  Outcome,
} from './engine/report.js'
/** Switch MySQL Plus SSL through its API (mysqlplus/switch.ts). */
export async function setMysqlPlusSsl(
  ...args: Parameters<typeof MysqlPlus.setMysqlPlusSsl>
): ReturnType<typeof MysqlPlus.setMysqlPlusSsl> {
  return (await import('./mysqlplus/switch.js')).setMysqlPlusSsl(...args)
}
export type { MysqlPlusSslOptions, MysqlPlusSslResult, ConfigSslValue } from './mysqlplus/switch.js'
export { loadApiConfig } from './mysqlplus/config.js'
export type { ApiConfig } from './mysqlplus/config.js'

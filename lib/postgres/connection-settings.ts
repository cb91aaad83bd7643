/**
 * The settings a connection runs with: the sources merged by precedence (settings/) and the SSL
 * policy (policy/), combined here — the one layer that sits above both.
 */
import { PgSslError } from '../engine/errors.js'
import { defaultIo, type Environment, mergeSettings, type MergedSettings, type SettingsIo } from './settings/merge.js'
import type { ConnectOptions } from './options.js'
import { FILE_PERMISSION_RULES } from '../engine/tls/permissions.js'
import { environmentControls, policiesInForce, type SslPolicy } from '../engine/policy/policy.js'
import type { SecurityEvent } from '../engine/policy/audit.js'
import type { OAuthBearerTokenProvider } from './protocol/oauthbearer.js'

export interface ConnectionSettings extends MergedSettings {
  /** The combined SSL policy (PGSSLPOLICY, the policy option, filePermissions): stricter wins. */
  readonly policy: SslPolicy
  /** Where the policy came from, for the report: e.g. "env:PGSSLPOLICY=recommended", "option". */
  readonly policySources: readonly string[]
  /** JSON-lines audit files (PGSSLAUDITLOG: the process environment's, and the env option's). */
  readonly auditLogs: readonly string[]
  readonly onSecurityEvent?: (event: SecurityEvent) => void
  /** The oauthBearerToken option (OAuth, PostgreSQL 18). */
  readonly oauthBearerToken?: OAuthBearerTokenProvider
  /** PGOAUTHDEBUG=UNSAFE in the settings' environment: libpq then accepts http:// discovery URIs. */
  readonly oauthUnsafeDebugging: boolean
}

/** Where a resolution reads variables: the settings' environment (env option, else the process's) and the process's. */
export interface Environments {
  readonly env: Environment
  readonly processEnv: Environment
}

/** Every source merged with libpq's precedence, and the policy that applies to the connection. */
export function connectionSettings(
  input: ConnectOptions = {},
  io: SettingsIo = defaultIo,
  { env, processEnv }: Environments = { env: input.env ?? process.env, processEnv: process.env },
): ConnectionSettings {
  const merged = mergeSettings(input, io, env)
  // The process environment's PGSSLPOLICY and PGSSLAUDITLOG apply whatever env option is given.
  const controls = environmentControls(input.env === undefined ? undefined : env, processEnv)
  if (input.filePermissions !== undefined && !FILE_PERMISSION_RULES.includes(input.filePermissions)) {
    throw new PgSslError('INVALID_SETTING', `invalid filePermissions "${String(input.filePermissions)}"`, {
      setting: 'filePermissions',
      hint: `use one of: ${FILE_PERMISSION_RULES.join(', ')}`,
    })
  }
  // Policies combine by the stricter value of each rule: the environment's cannot be weakened.
  const { policy, sources: policySources } = policiesInForce(
    controls.policies,
    input.policy,
    input.filePermissions !== undefined ? [[{ filePermissions: input.filePermissions }, 'option:filePermissions']] : [],
  )
  for (const name of ['onSecurityEvent', 'oauthBearerToken'] as const) {
    if (input[name] !== undefined && typeof input[name] !== 'function')
      throw new PgSslError('INVALID_SETTING', `${name} must be a function`, { setting: name })
  }

  return {
    ...merged,
    policy,
    policySources,
    auditLogs: controls.auditLogs,
    ...(input.onSecurityEvent ? { onSecurityEvent: input.onSecurityEvent } : {}),
    ...(input.oauthBearerToken ? { oauthBearerToken: input.oauthBearerToken } : {}),
    oauthUnsafeDebugging: env.PGOAUTHDEBUG === 'UNSAFE',
  }
}

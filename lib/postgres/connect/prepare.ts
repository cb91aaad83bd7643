/**
 * Everything that can fail before any network traffic — settings, dialect rules, certificate
 * files — done once per connect() and turned into the data the executor needs.
 */
import { DIALECTS } from '../dialects.js'
import { warnOnce } from '../../engine/errors.js'
import {
  checkDialectAndMode,
  checkMaterial,
  modeForPolicy,
  violation,
  withoutPlaintextFallback,
  type ExpiryWarning,
} from '../../engine/policy/enforce.js'
import { passwordFromFile } from '../settings/passfile.js'
import { type ConnectionConfig, connectionConfig } from './connection-config.js'
import { effectiveUser, settingValue } from '../settings/merge.js'
import type { ConnectionSettings } from '../connection-settings.js'
import { loadTlsMaterial, type TlsMaterial } from '../../engine/tls/material.js'
import { endpointsOf } from '../settings/endpoints.js'
import { checkModeSupported, planAttempts, type Plan } from '../plan.js'
import type { Endpoint } from './transport.js'

export interface Prepared {
  readonly settings: ConnectionSettings
  /** The settings the connection runs with, read once, typed and frozen. */
  readonly config: ConnectionConfig
  readonly endpoints: readonly Endpoint[]
  readonly material: TlsMaterial
  readonly plans: readonly Plan[]
  /** Certificates the policy warns about before connecting (client certificate expiry). */
  readonly warnings: readonly ExpiryWarning[]
}

/**
 * What prepare() derives from the settings alone: the config, the hosts (before the password file) and their plans.
 * A reused resolution (settings-reuse.ts: a pool's) is one frozen settings object while everything it read still
 * holds, so this is kept with it and a pool's connections share it. What libpq reads at every connection still is
 * read at every connection here: the password file and the certificate files.
 */
interface FromSettings {
  readonly config: ConnectionConfig
  readonly hosts: readonly Endpoint[]
  /** A plan by transport and root certificate source (all a plan takes from the material), made on first need. */
  readonly plans: Map<string, Plan>
}

const fromSettings = new WeakMap<ConnectionSettings, FromSettings>()

/** Everything that can fail before network traffic: settings, files, the plan. */
export async function prepare(settings: ConnectionSettings): Promise<Prepared> {
  const rules = DIALECTS[settings.dialect]
  const known = fromSettings.get(settings)
  // require_auth and openGauss's max_protocol_version are checked here, before any traffic.
  const config = known?.config ?? checkedConfig(settings)
  const hosts = known?.hosts ?? endpointsOf(settings)
  let endpoints = config.passwordGiven ? hosts : withPasswordFile(hosts, settings)
  const sendClientCertificate = config.sslCertMode !== 'disable'
  const { policy } = settings
  // Dialect and policy rules on the mode first: they fail before any file is read.
  if (!known) {
    checkModeSupported(settings.sslmode, settings.dialect)
    checkDialectAndMode(policy, settings.dialect, settings.sslmode)
  }
  const policyMayNeedTls =
    policy.minimumMode !== undefined || policy.requireClientCertificate === true || policy.requireCrl === true
  const usesTls = endpoints.some((e) => !e.socketPath) && (settings.sslmode !== 'disable' || policyMayNeedTls)
  // pg's ssl.servername: the name SNI carries and verify-full checks, as Node uses it (the password file was
  // matched against the host's own name, as before).
  const servername = settings.inline.servername
  if (servername !== undefined) endpoints = endpoints.map((e) => ({ ...e, hostName: servername }))
  const material: TlsMaterial = usesTls
    ? await loadTlsMaterial({
        ...optional('sslrootcert', settingValue(settings, 'sslrootcert')),
        ...optional('sslcrl', settingValue(settings, 'sslcrl')),
        ...optional('sslcrldir', settingValue(settings, 'sslcrldir')),
        ...optional('sslcert', settingValue(settings, 'sslcert')),
        ...optional('sslkey', settingValue(settings, 'sslkey')),
        ...optional('sslpassword', settings.values.sslpassword?.value),
        sendClientCertificate,
        systemRootCert: rules.knowsSystemRootCert,
        trustStoreEnv: settings.trustStoreEnv,
        inline: settings.inline,
        filePermissions: policy.filePermissions ?? rules.filePermissions,
        ...(rules.keyPassphraseFromCipherFiles ? { cipherFilesFor: { user: effectiveUser(settings) } } : {}),
      })
    : { rootCert: 'none', files: {} }
  const warnings = checkMaterial(
    policy,
    { clientCertificate: material.clientChain?.[0], crlCount: material.crlList?.length ?? 0 },
    new Date(),
  )
  const derived = known ?? { config, hosts, plans: new Map<string, Plan>() }
  const plans = endpoints.map((endpoint) => {
    const transport = endpoint.socketPath ? 'unix' : 'tcp'
    const key = `${transport} ${material.rootCert}`
    const made = derived.plans.get(key)
    if (made) return made
    const plan = planWithPolicy(settings, config, material.rootCert, transport)
    derived.plans.set(key, plan)
    return plan
  })
  // Only a reused resolution is frozen (settings-reuse.ts): any other is made for one connection.
  if (!known && Object.isFrozen(settings)) fromSettings.set(settings, derived)
  return { settings, config, endpoints, material, plans, warnings }
}

/** The settings' config, refused here when the policy forbids a key log it names. */
function checkedConfig(settings: ConnectionSettings): ConnectionConfig {
  const config = connectionConfig(settings)
  if (settings.policy.allowKeyLog === false && config.sslKeyLogFile !== undefined) {
    throw violation(
      settings.policy,
      'allowKeyLog',
      'no TLS key log',
      `sslkeylogfile is set (${config.sslKeyLogFile})`,
      'a key log lets whoever reads it decrypt the session',
    )
  }
  return config
}

/** libpq reads the password file per host (prepare() calls this only when no password was given). */
function withPasswordFile(endpoints: readonly Endpoint[], settings: ConnectionSettings): readonly Endpoint[] {
  const file = settingValue(settings, 'passfile')
  if (!file) return endpoints
  const user = effectiveUser(settings)
  return endpoints.map((endpoint) => {
    const found = passwordFromFile(
      file,
      {
        host: endpoint.hostName ?? endpoint.host,
        port: String(endpoint.port),
        dbname: settingValue(settings, 'dbname') ?? user,
        user,
      },
      (message) => warnOnce(message, message),
    )
    if (!found) return endpoint
    const withPassword = { ...endpoint }
    Object.defineProperty(withPassword, 'passfile', { value: found, enumerable: false })
    return withPassword
  })
}

/** The plan for the mode, raised to the policy's minimum (or refused), without forbidden fallbacks. */
function planWithPolicy(
  settings: ConnectionSettings,
  config: ConnectionConfig,
  rootCert: TlsMaterial['rootCert'],
  transport: 'tcp' | 'unix',
): Plan {
  const { policy } = settings
  const input = {
    dialect: settings.dialect,
    rootCert,
    transport,
    negotiation: config.sslNegotiation,
  }
  let plan = planAttempts({ ...input, sslmode: settings.sslmode })
  const { mode, upgradedFrom } = modeForPolicy(policy, plan)
  if (upgradedFrom) {
    checkDialectAndMode(policy, settings.dialect, mode)
    const upgraded = planAttempts({ ...input, sslmode: mode })
    plan = {
      ...upgraded,
      policyUpgradedFrom: upgradedFrom,
      notes: [`the SSL policy raised sslmode ${upgradedFrom} to ${mode} (minimumMode)`, ...upgraded.notes],
    }
  }
  const attempts = withoutPlaintextFallback(policy, plan.attempts)
  if (attempts.length !== plan.attempts.length) {
    const forbiddenFallback = plan.attempts.find((a) => !attempts.includes(a))!
    plan = {
      ...plan,
      attempts,
      forbiddenFallback,
      notes: [...plan.notes, 'the SSL policy forbids the plaintext fallback of prefer (allowPlaintextFallback: false)'],
    }
  }
  // How sources that disagreed about TLS were settled comes first: it is why the mode is what it is.
  return settings.notes.length > 0 ? { ...plan, notes: [...settings.notes, ...plan.notes] } : plan
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string }
}

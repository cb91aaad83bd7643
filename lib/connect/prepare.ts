/**
 * Everything that can fail before any network traffic — settings, dialect rules, certificate
 * files — done once per connect() and turned into the data the executor needs.
 */
import { DIALECTS } from '../dialects.js'
import { effectiveUser, settingValue, type ResolvedSettings } from '../settings/resolve.js'
import { loadTlsMaterial, type TlsMaterial } from '../tls/material.js'
import { endpointsOf } from './endpoints.js'
import { checkModeSupported, planAttempts, type Plan } from './plan.js'
import type { Endpoint } from './transport.js'

export interface Prepared {
  readonly settings: ResolvedSettings
  readonly endpoints: readonly Endpoint[]
  readonly material: TlsMaterial
  readonly plans: readonly Plan[]
}

/** Everything that can fail before network traffic: settings, files, the plan. */
export async function prepare(settings: ResolvedSettings): Promise<Prepared> {
  const endpoints = endpointsOf(settings)
  const rules = DIALECTS[settings.dialect]
  const sendClientCertificate = settingValue(settings, 'sslcertmode') !== 'disable'
  // Dialect rules first: verify-full under openGauss fails before any file is read.
  checkModeSupported(settings.sslmode, settings.dialect)
  const usesTls = settings.sslmode !== 'disable' && endpoints.some((e) => !e.socketPath)
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
        filePermissions: settings.filePermissions ?? rules.filePermissions,
        ...(rules.keyPassphraseFromCipherFiles ? { cipherFilesFor: { user: effectiveUser(settings) } } : {}),
      })
    : { rootCert: 'none', files: {} }
  const plans = endpoints.map((endpoint) =>
    planAttempts({
      sslmode: settings.sslmode,
      dialect: settings.dialect,
      rootCert: material.rootCert,
      transport: endpoint.socketPath ? 'unix' : 'tcp',
    }),
  )
  return { settings, endpoints, material, plans }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string }
}

export function connectTimeoutMs(settings: ResolvedSettings): number {
  const raw = settingValue(settings, 'connect_timeout')
  if (raw === undefined) return 0
  const seconds = Number(raw)
  if (seconds <= 0) return 0
  // libpq rounds up small integer timeouts to 2 s; a pg-style millisecond option is kept exact.
  return settings.values.connect_timeout!.source === 'option' ? seconds * 1000 : Math.max(2, Math.floor(seconds)) * 1000
}

export function keepAliveOf(settings: ResolvedSettings): { enable: boolean; initialDelayMs: number } {
  const idle = settingValue(settings, 'keepalives_idle')
  return { enable: settingValue(settings, 'keepalives') !== '0', initialDelayMs: idle ? Number(idle) * 1000 : 0 }
}


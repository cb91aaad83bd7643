/**
 * The node:tls options of one SSL attempt, and the verify-full host-name check on what the
 * handshake presented.
 */
import type { X509Certificate } from 'node:crypto'
import type { ConnectionOptions, SecureVersion } from 'node:tls'
import { DIALECTS } from '../dialects.js'
import { PgSslError } from '../errors.js'
import { settingValue } from '../settings/resolve.js'
import { secureContextFor } from '../tls/context.js'
import { certificateNames, matchHostname } from '../tls/hostname.js'
import type { AttemptSpec } from './plan.js'
import type { Prepared } from './prepare.js'
import { serverNameForSni, type Endpoint } from './transport.js'

export function tlsOptionsFor(spec: AttemptSpec, endpoint: Endpoint, prepared: Prepared): ConnectionOptions {
  const { settings, material } = prepared
  const rules = DIALECTS[settings.dialect]
  const min = settings.values.ssl_min_protocol_version
  const max = settingValue(settings, 'ssl_max_protocol_version') as SecureVersion | undefined
  const servername = serverNameForSni(endpoint.host, settingValue(settings, 'sslsni') !== '0')
  const secureContext = secureContextFor(material, {
    verifyChain: spec.verifyChain,
    // The dialect's bounds apply unless the user set one (gsql pins TLS 1.2).
    minVersion: min && min.source !== 'default' ? (min.value as SecureVersion) : rules.defaultMinTls,
    maxVersion: max ?? rules.defaultMaxTls,
  })
  return {
    secureContext,
    ...(servername ? { servername } : {}),
    // Chain verification by OpenSSL against our roots only; the host name is checked by libpq's rules.
    rejectUnauthorized: spec.verifyChain,
    checkServerIdentity: () => undefined,
  }
}

export function checkHostname(cert: X509Certificate | undefined, host: string): void {
  const names = certificateNames(cert?.subjectAltName, cert?.subject)
  const check = matchHostname(host, names)
  if (!check.matched) {
    const shown = check.examined.length > 0 ? check.examined.map((n) => `"${n}"`).join(', ') : 'no names'
    throw new PgSslError('HOSTNAME_MISMATCH', `server certificate for ${shown} does not match host name "${host}"`, { setting: 'host' })
  }
}


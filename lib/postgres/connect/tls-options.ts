/**
 * The node:tls options of one SSL attempt: the dialect's TLS bounds and ciphers, the policy's
 * maximum, SNI as libpq sends it. What is then checked on the handshake is in peer-check.ts.
 */
import type { ConnectionOptions, SecureVersion } from 'node:tls'
import { DIALECTS } from '../dialects.js'
import { secureContextFor } from '../../engine/tls/context.js'
import { tlsRank } from '../../engine/policy/policy.js'
import type { AttemptSpec } from '../plan.js'
import type { Prepared } from './prepare.js'
import { serverNameForSni, type Endpoint } from './transport.js'

export function tlsOptionsFor(spec: AttemptSpec, endpoint: Endpoint, prepared: Prepared): ConnectionOptions {
  const { settings, material, config } = prepared
  const rules = DIALECTS[config.dialect]
  const { minVersion: min, minVersionStated, maxVersion: max, sni } = config.tls
  const servername = serverNameForSni(endpoint.hostName, sni)
  const policyTls = settings.policy.tls ?? {}
  const maxVersion = lowerOf(max ?? rules.defaultMaxTls, policyTls.maxVersion)
  const secureContext = secureContextFor(material, {
    verifyChain: spec.verifyChain,
    // The dialect's bounds apply unless the user set one (gsql pins TLS 1.2). The policy's
    // minimum is not offered to OpenSSL but checked on the result (checkNegotiated), so that a
    // server below it is reported with the version it offered; its maximum and ciphers are
    // offered, so that a capable server simply negotiates within them.
    minVersion: minVersionStated && min ? min : rules.defaultMinTls,
    maxVersion,
    ...(policyTls.ciphers
      ? { ciphers: policyTls.ciphers.join(':') }
      : rules.defaultCiphers
        ? { ciphers: rules.defaultCiphers }
        : {}),
  })
  return {
    secureContext,
    ...(servername ? { servername } : {}),
    // The handshake completes and checkPeer() decides before any byte is sent: OpenSSL's verdict
    // (against the same roots and CRLs) decides, our walk gives the reason.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  }
}

function lowerOf(a: SecureVersion | undefined, b: SecureVersion | undefined): SecureVersion | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return tlsRank(a) <= tlsRank(b) ? a : b
}

/**
 * The node:tls options of one SSL attempt, and the verify-full host-name check on what the
 * handshake presented.
 */
import type { X509Certificate } from 'node:crypto'
import type { ConnectionOptions, SecureVersion } from 'node:tls'
import { DIALECTS } from '../dialects.js'
import { PgSslError, type VerifyFailureReason } from '../errors.js'
import { settingValue } from '../settings/resolve.js'
import { secureContextFor } from '../tls/context.js'
import { certificateNames, matchHostname } from '../tls/hostname.js'
import type { TlsMaterial } from '../tls/material.js'
import { checkNegotiated, type ExpiryWarning } from '../policy/enforce.js'
import { tlsRank, type SslPolicy } from '../policy/policy.js'
import { verifyServerCertificate } from '../tls/server-verification.js'
import type { AttemptSpec } from './plan.js'
import type { Prepared } from './prepare.js'
import { serverNameForSni, type Endpoint, type TlsSessionFacts } from './transport.js'

export function tlsOptionsFor(spec: AttemptSpec, endpoint: Endpoint, prepared: Prepared): ConnectionOptions {
  const { settings, material } = prepared
  const rules = DIALECTS[settings.dialect]
  const min = settings.values.ssl_min_protocol_version
  const max = settingValue(settings, 'ssl_max_protocol_version') as SecureVersion | undefined
  const servername = serverNameForSni(endpoint.host, settingValue(settings, 'sslsni') !== '0')
  const policyTls = settings.policy.tls ?? {}
  const maxVersion = lowerOf(max ?? rules.defaultMaxTls, policyTls.maxVersion)
  const secureContext = secureContextFor(material, {
    verifyChain: spec.verifyChain,
    // The dialect's bounds apply unless the user set one (gsql pins TLS 1.2). The policy's
    // minimum is not offered to OpenSSL but checked on the result (checkNegotiated), so that a
    // server below it is reported with the version it offered; its maximum and ciphers are
    // offered, so that a capable server simply negotiates within them.
    minVersion: min && min.source !== 'default' ? (min.value as SecureVersion) : rules.defaultMinTls,
    maxVersion,
    ...(policyTls.ciphers ? { ciphers: policyTls.ciphers.join(':') } : rules.defaultCiphers ? { ciphers: rules.defaultCiphers } : {}),
  })
  return {
    secureContext,
    ...(servername ? { servername } : {}),
    // The handshake completes and checkPeer() decides before any byte is sent: our verification
    // gives the reasons, OpenSSL's (against the same roots) is the second line.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  }
}

function lowerOf(a: SecureVersion | undefined, b: SecureVersion | undefined): SecureVersion | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return tlsRank(a) <= tlsRank(b) ? a : b
}

/**
 * What the attempt and the SSL policy demand of the finished handshake, checked before any byte
 * of the start-up is sent. Returns the policy's expiry warnings for the server certificate.
 */
export function checkPeer(session: TlsSessionFacts, spec: AttemptSpec, endpoint: Endpoint, material: TlsMaterial, policy: SslPolicy): ExpiryWarning[] {
  if (spec.verifyChain) {
    const result = verifyServerCertificate(session.presented, material)
    if (!result.ok) {
      throw new PgSslError('CERT_VERIFY_FAILED', `server certificate verification failed (${result.reason}): ${result.message}`, {
        setting: result.reason === 'revoked' || result.reason === 'crl-problem' ? 'sslcrl' : 'sslrootcert',
        reason: result.reason,
        hint: HINTS[result.reason],
        ...(result.serial ? { serial: result.serial } : {}),
        ...(result.crlIssuer ? { crlIssuer: result.crlIssuer } : {}),
      })
    }
    if (!session.opensslAuthorized) {
      throw new PgSslError('CERT_VERIFY_FAILED', `server certificate verification failed: OpenSSL refused the chain (${session.opensslError ?? 'unknown reason'})`, {
        setting: 'sslrootcert',
        reason: 'other',
      })
    }
  }
  if (spec.verifyHostname) checkHostname(session.peerCertificate, endpoint.host)
  return checkNegotiated(policy, session, new Date())
}

const HINTS: Readonly<Record<VerifyFailureReason, string>> = {
  'untrusted-root': 'point sslrootcert at the CA that signed the server certificate (or add the missing intermediate CA to it)',
  'chain-incomplete': 'the server must send its intermediate CA certificates (ssl_cert_file with the chain), or add them to sslrootcert',
  expired: 'the server needs a renewed certificate (or a CA certificate in the chain has expired)',
  'not-yet-valid': "the certificate's validity starts in the future: check the clocks of client and server",
  'bad-signature': 'the certificate was not signed by the CA it names: it may be forged or damaged',
  'not-a-ca': 'a certificate that is not a CA signed another one: the server certificate chain is wrong',
  revoked: 'the certificate is listed in the CRL (sslcrl/sslcrldir): the server needs a new certificate',
  'crl-problem': 'libpq needs a current CRL from the issuer of every certificate in the chain: update sslcrl/sslcrldir',
  other: 'check sslrootcert and the server certificate with openssl verify',
}

export function checkHostname(cert: X509Certificate | undefined, host: string): void {
  const names = certificateNames(cert?.subjectAltName, cert?.subject)
  const check = matchHostname(host, names)
  if (!check.matched) {
    const shown = check.examined.length > 0 ? check.examined.map((n) => `"${n}"`).join(', ') : 'no names'
    throw new PgSslError('HOSTNAME_MISMATCH', `server certificate for ${shown} does not match host name "${host}"`, { setting: 'host' })
  }
}


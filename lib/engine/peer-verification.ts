/**
 * The checks of the verifying modes (verify-ca, verify-full; MySQL's VERIFY_CA): OpenSSL's verdict on
 * the chain explained by our own walk (tls/chain.ts), and libpq's host-name rule (tls/hostname.ts).
 * Loaded by peer-check.ts for a verifying attempt only: a connection that verifies nothing does not
 * load the walk, the CRL reader or the DER parser.
 */
import type { X509Certificate } from 'node:crypto'
import { PgSslError, type VerifyFailureReason } from './errors.js'
import type { ChainResult } from './tls/chain.js'
import { certificateNames, matchHostname, type CertificateNames } from './tls/hostname.js'
import type { TlsMaterial } from './tls/material.js'
import { verifyServerCertificate } from './tls/server-verification.js'
import type { TlsSessionFacts } from './tls/session.js'

/**
 * OpenSSL, configured as libpq configures it (same roots, same CRLs, CRL_CHECK_ALL), decides; our
 * walk explains its refusal (thrown), and a walk that would refuse what OpenSSL accepts is returned
 * as a diagnostic.
 */
export function explainChain(session: TlsSessionFacts, material: TlsMaterial): string | undefined {
  if (!session.opensslAuthorized)
    throw verificationFailure(verifyServerCertificate(session.presented, material), session.opensslError)
  const explained =
    session.chainComplete === false ? { ok: true as const } : verifyServerCertificate(session.presented, material)
  if (explained.ok) return undefined
  return (
    `OpenSSL accepted the server certificate chain; pg-sslmode's own chain walk would have ` +
    `refused it (${explained.reason}: ${explained.message}). OpenSSL's verdict stands.`
  )
}

/** OpenSSL's verify error codes (as Node reports them) → our reasons. */
const OPENSSL_REASONS: Readonly<Record<string, VerifyFailureReason>> = {
  UNABLE_TO_GET_ISSUER_CERT: 'chain-incomplete',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-root',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-root',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-root',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-root',
  CERT_UNTRUSTED: 'untrusted-root',
  CERT_CHAIN_TOO_LONG: 'chain-incomplete',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_SIGNATURE_FAILURE: 'bad-signature',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'bad-signature',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'bad-signature',
  INVALID_CA: 'not-a-ca',
  PATH_LENGTH_EXCEEDED: 'not-a-ca',
  CERT_REVOKED: 'revoked',
  UNABLE_TO_GET_CRL: 'crl-problem',
  UNABLE_TO_GET_CRL_ISSUER: 'crl-problem',
  CRL_HAS_EXPIRED: 'crl-problem',
  CRL_NOT_YET_VALID: 'crl-problem',
  CRL_SIGNATURE_FAILURE: 'crl-problem',
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 'crl-problem',
  ERROR_IN_CRL_LAST_UPDATE_FIELD: 'crl-problem',
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: 'crl-problem',
  KEYUSAGE_NO_CRL_SIGN: 'crl-problem',
  DIFFERENT_CRL_SCOPE: 'crl-problem',
}

function verificationFailure(explained: ChainResult, opensslCode: string | undefined): PgSslError {
  const code = opensslCode ?? 'unknown'
  const byOpenSsl = OPENSSL_REASONS[code] ?? 'other'
  const walk = explained.ok ? undefined : explained
  // Our reason and message when they explain the same failure OpenSSL names (or OpenSSL's is one we cannot name).
  const ours = walk && (walk.reason === byOpenSsl || byOpenSsl === 'other') ? walk : undefined
  const reason = ours?.reason ?? byOpenSsl
  const message = ours
    ? `server certificate verification failed (${reason}): ${ours.message} [OpenSSL: ${code}]`
    : `server certificate verification failed (${reason}): OpenSSL refused the chain ` +
      `(${code})${walk ? `; pg-sslmode's walk found: ${walk.message}` : ''}`
  return new PgSslError('CERT_VERIFY_FAILED', message, {
    setting: reason === 'revoked' || reason === 'crl-problem' ? 'sslcrl' : 'sslrootcert',
    reason,
    hint: HINTS[reason],
    ...(ours?.serial ? { serial: ours.serial } : {}),
    ...(ours?.crlIssuer ? { crlIssuer: ours.crlIssuer } : {}),
  })
}

const HINTS: Readonly<Record<VerifyFailureReason, string>> = {
  'untrusted-root':
    'point sslrootcert at the CA that signed the server certificate (or add the missing intermediate CA to it)',
  'chain-incomplete':
    'the server must send its intermediate CA certificates (ssl_cert_file with the chain), or add them to sslrootcert',
  expired: 'the server needs a renewed certificate (or a CA certificate in the chain has expired)',
  'not-yet-valid': "the certificate's validity starts in the future: check the clocks of client and server",
  'bad-signature': 'the certificate was not signed by the CA it names: it may be forged or damaged',
  'not-a-ca': 'a certificate that is not a CA signed another one: the server certificate chain is wrong',
  revoked: 'the certificate is listed in the CRL (sslcrl/sslcrldir): the server needs a new certificate',
  'crl-problem': 'libpq needs a current CRL from the issuer of every certificate in the chain: update sslcrl/sslcrldir',
  other: 'check sslrootcert and the server certificate with openssl verify',
}

/** The names of a certificate, read once per parsed certificate (tls/handshake.ts keeps those by fingerprint). */
const certificateNamesCache = new WeakMap<X509Certificate, CertificateNames>()
function namesOf(cert: X509Certificate): CertificateNames {
  let names = certificateNamesCache.get(cert)
  if (!names) {
    names = certificateNames(Buffer.from(cert.raw))
    certificateNamesCache.set(cert, names)
  }
  return names
}

/** verify-full: libpq's host-name check on the server certificate (tls/hostname.ts). */
export function checkHostname(cert: X509Certificate | undefined, hostName: string | undefined): void {
  if (!hostName) {
    throw new PgSslError('HOSTNAME_MISMATCH', 'host name must be specified for a verified SSL connection', {
      setting: 'host',
      hint: 'give host= (the name in the server certificate) next to hostaddr=, or use sslmode=verify-ca',
    })
  }
  const check = matchHostname(hostName, cert ? namesOf(cert) : { altNames: [], commonName: undefined })
  if (check.result === 'match') return
  if (check.result === 'error') throw new PgSslError('HOSTNAME_MISMATCH', check.error!, { setting: 'host' })
  const message =
    check.examined === 0
      ? "could not get server's host name from server certificate"
      : check.examined === 1
        ? `server certificate for "${check.firstName}" does not match host name "${hostName}"`
        : `server certificate for "${check.firstName}" (and ${check.examined - 1} other ` +
          `name${check.examined === 2 ? '' : 's'}) does not match host name "${hostName}"`
  throw new PgSslError('HOSTNAME_MISMATCH', message, { setting: 'host' })
}

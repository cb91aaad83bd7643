/**
 * What `pg-sslmode scan` says about a certificate, and its findings: each a stable id, a severity
 * and a sentence — old protocols, weak ciphers, a plaintext start-up accepted, expiring or weak
 * certificates, no revocation information. The severities follow testssl.sh's ratings where both
 * rate the same thing.
 */
import type { X509Certificate } from 'node:crypto'
import { type CertificateSummary, summarizeCertificate } from '../engine/report.js'
import { certificateSignatureAlgorithm } from '../engine/tls/der.js'

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info'

export interface ScanFinding {
  readonly id: string
  readonly severity: Severity
  readonly message: string
}

export interface ScanCertificate extends CertificateSummary {
  readonly fingerprint1: string
  readonly keyType: string
  /** RSA/DSA modulus bits, or the EC curve's size. */
  readonly keyBits: number | null
  readonly curve: string | null
  readonly signatureAlgorithm: string
  readonly selfSigned: boolean
  /** A CRL distribution point or an OCSP responder is named. */
  readonly revocationInfo: boolean
}

const SIGNATURE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
}
const CURVE_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 }
/** id-ce-cRLDistributionPoints (2.5.29.31) as DER: 06 03 55 1D 1F. */
const CRL_DP = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x1f])

export function describeCertificate(cert: X509Certificate): ScanCertificate {
  const key = cert.publicKey
  const details = key.asymmetricKeyDetails ?? {}
  const oid = safe(() => certificateSignatureAlgorithm(Buffer.from(cert.raw)).oid) ?? ''
  return {
    ...summarizeCertificate(cert)!,
    fingerprint1: cert.fingerprint,
    keyType: key.asymmetricKeyType ?? 'unknown',
    keyBits: details.modulusLength ?? (details.namedCurve ? (CURVE_BITS[details.namedCurve] ?? null) : null),
    curve: details.namedCurve ?? null,
    signatureAlgorithm: SIGNATURE_NAMES[oid] ?? oid,
    selfSigned: cert.subject === cert.issuer && safe(() => cert.verify(cert.publicKey)) === true,
    revocationInfo: Buffer.from(cert.raw).includes(CRL_DP) || /OCSP/.test(cert.infoAccess ?? ''),
  }
}

function safe<T>(run: () => T): T | undefined {
  try {
    return run()
  } catch {
    return undefined
  }
}

/** Cipher names that no server should accept, and how bad each is. */
const WEAK: ReadonlyArray<[RegExp, Severity, string]> = [
  [/NULL|EXP|ADH|AECDH|anon/, 'critical', 'without authentication, encryption, or with export-grade keys'],
  [/RC4|(^|-)DES-|MD5|IDEA|SEED|RC2/, 'high', 'with a broken or obsolete algorithm'],
  [/DES-CBC3|3DES/, 'medium', 'with 3DES (64-bit blocks: Sweet32)'],
]

/** What the findings are made from (scan.ts's report, but its findings). */
export interface ScanFacts {
  readonly kind: 'postgres' | 'mysql'
  readonly ssl: boolean
  readonly protocols: Readonly<Record<string, boolean>>
  readonly ciphers: Readonly<Record<string, readonly string[] | undefined>>
  readonly plaintext: boolean | 'unknown'
  readonly certificate: ScanCertificate | null
  readonly clientCertificate: 'requested' | 'not-requested' | 'unknown'
}

export function findingsOf(report: ScanFacts, chain: readonly X509Certificate[]): ScanFinding[] {
  const out: ScanFinding[] = []
  const add = (id: string, severity: Severity, message: string) => out.push({ id, severity, message })
  if (!report.ssl) {
    const how = report.kind === 'mysql' ? 'does not offer CLIENT_SSL' : 'answers the SSLRequest with N'
    add('no-tls', 'critical', `the server ${how}: it has no TLS at all`)
  }
  if (report.protocols.TLSv1) add('protocol-tlsv1', 'high', 'TLS 1.0 is accepted (deprecated, RFC 8996)')
  if (report.protocols['TLSv1.1']) add('protocol-tlsv1.1', 'high', 'TLS 1.1 is accepted (deprecated, RFC 8996)')
  if (report.ssl && !report.protocols['TLSv1.3']) add('no-tlsv1.3', 'low', 'TLS 1.3 is not offered')
  for (const [version, names] of Object.entries(report.ciphers)) {
    for (const name of names ?? []) {
      const weak = WEAK.find(([pattern]) => pattern.test(name))
      if (weak) add(`weak-cipher:${version}:${name}`, weak[1], `${version} accepts ${name}, a suite ${weak[2]}`)
      else if (version !== 'TLSv1.3' && !/GCM|CHACHA20|CCM/.test(name))
        add(`cbc-cipher:${version}:${name}`, 'low', `${version} accepts ${name} (CBC: no AEAD)`)
    }
  }
  if (report.plaintext === true) {
    const where =
      report.kind === 'mysql'
        ? 'require_secure_transport is off: a client with ssl-mode DISABLED or PREFERRED'
        : 'pg_hba.conf host, not hostssl: a client with sslmode disable, allow or prefer'
    add(
      'plaintext-startup',
      'high',
      `a plaintext start-up is accepted (${where} sends its credentials in clear if TLS is stripped)`,
    )
  }
  if (report.plaintext === 'unknown' && report.kind === 'mysql') {
    add(
      'plaintext-unknown',
      'info',
      'whether plaintext logins are refused cannot be told without credentials here (MariaDB checks ' +
        'require_secure_transport only after a successful login)',
    )
  }
  certificateFindings(report.certificate, chain, add)
  if (report.ssl) {
    add(
      'cipher-coverage',
      'info',
      "suites that neither Node's OpenSSL nor the scan's table of legacy suites knows (PSK, SRP, GOST, " +
        'fixed-DH and -ECDH, Kerberos) are not tested: use testssl.sh for those',
    )
  }
  if (report.ssl && report.clientCertificate === 'not-requested')
    add('no-client-certificate', 'info', 'the server does not ask for a client certificate (ssl_ca_file is not set)')
  return out
}

function certificateFindings(
  leaf: ScanCertificate | null,
  chain: readonly X509Certificate[],
  add: (id: string, severity: Severity, message: string) => void,
): void {
  if (!leaf) return
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000
  if (days < 0) add('certificate-expired', 'critical', `the server certificate expired on ${leaf.validTo}`)
  else if (days < 30)
    add('certificate-expiring', 'medium', `the server certificate expires in ${Math.floor(days)} day(s)`)
  if (Date.parse(leaf.validFrom) > Date.now())
    add('certificate-not-yet-valid', 'critical', 'the server certificate is not valid yet')
  if ((leaf.keyType === 'rsa' || leaf.keyType === 'dsa') && (leaf.keyBits ?? 0) < 2048)
    add('weak-key', 'high', `the server key is ${leaf.keyType.toUpperCase()} ${leaf.keyBits} bits (under 2048)`)
  if (/md5|sha1/i.test(leaf.signatureAlgorithm))
    add('weak-signature', 'high', `the server certificate is signed with ${leaf.signatureAlgorithm}`)
  if (leaf.selfSigned)
    add('self-signed', 'medium', 'the server certificate is self-signed: clients must pin it as their root')
  if (!leaf.revocationInfo)
    add('no-revocation-info', 'low', 'the server certificate names no CRL distribution point and no OCSP responder')
  if (chain.length === 1 && !leaf.selfSigned)
    add(
      'chain-incomplete',
      'info',
      'the server sends its certificate alone: clients need the issuing CA in their root file',
    )
}

/**
 * SCRAM channel binding's tls-server-end-point data (RFC 5929 section 4.1), as libpq's
 * pgtls_get_peer_certificate_hash computes it: the server certificate hashed with the hash of its
 * own signature algorithm — for RSASSA-PSS the hash its parameters name, as OpenSSL's
 * X509_get_signature_info reads it — SHA-256 in place of MD5 and SHA-1. A certificate whose
 * algorithm names no such hash (Ed25519, Ed448) cannot be bound to, and the exchange is refused
 * with libpq's words.
 */
import { createHash } from 'node:crypto'
import { PgSslError } from '../errors.js'
import { SIGNATURE_HASHES } from './crl.js'
import { certificateSignatureAlgorithm } from './der.js'

/** Digest OIDs an RSASSA-PSS certificate's parameters may name. */
const DIGESTS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}

/** md5WithRSAEncryption: not a signature a CRL may carry here, but libpq binds to it (with SHA-256). */
const MD5: Readonly<Record<string, string>> = { '1.2.840.113549.1.1.4': 'md5' }

export function serverEndPointHash(certificateDer: Buffer): Buffer {
  let algorithm: { oid: string; pssHashOid?: string }
  try {
    algorithm = certificateSignatureAlgorithm(certificateDer)
  } catch {
    throw refusal('could not determine server certificate signature algorithm', 'unreadable')
  }
  const { oid, pssHashOid } = algorithm
  const hash =
    pssHashOid !== undefined ? DIGESTS[pssHashOid] : oid in SIGNATURE_HASHES ? SIGNATURE_HASHES[oid] : MD5[oid]
  // libpq names the digest OpenSSL found: none at all (NID UNDEF) for Ed25519 and Ed448.
  if (!hash) throw refusal(`could not find digest for NID ${hash === null ? 'UNDEF' : (pssHashOid ?? oid)}`, oid)
  return createHash(hash === 'md5' || hash === 'sha1' ? 'sha256' : hash)
    .update(certificateDer)
    .digest()
}

const refusal = (message: string, oid: string): PgSslError =>
  new PgSslError('UNSUPPORTED_AUTH', message, {
    hint:
      `the server certificate's signature algorithm (${oid}) names no hash for SCRAM channel binding; ` +
      'use channel_binding=disable or a certificate signed with RSA or ECDSA',
  })

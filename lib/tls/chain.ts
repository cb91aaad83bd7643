/**
 * Server certificate chain verification, done here so that errors and reports carry a precise
 * reason whatever Node version or OpenSSL build runs underneath (OpenSSL still verifies too, as a
 * second line). The chain is built from what the server presented (leaf + intermediates) up to a
 * trusted root; every certificate's dates, every issuer's signature and CA flag are checked, and,
 * when CRLs are given, every certificate of the chain needs a current CRL from its issuer that
 * does not list it (libpq's X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL).
 *
 * What "presented" holds is what Node exposes: the leaf and the certificates OpenSSL could link to
 * it as issuers (X509_check_issued), so a sent certificate that cannot be an issuer at all (not a
 * CA, no keyCertSign) is not seen, and such a chain fails as untrusted-root rather than not-a-ca.
 *
 * node:crypto's X509Certificate does the certificate work (it handles RSA and EC keys alike;
 * node-forge's pki parses RSA only); node-forge's ASN.1 reader parses CRLs (crl.ts).
 */
import type { X509Certificate } from 'node:crypto'
import type { VerifyFailureReason } from '../errors.js'
import { crlSignedBy, normalizeSerial, type ParsedCrl } from './crl.js'
import { certificateIssuerDer } from './der.js'

export interface ChainInput {
  /** What the server sent, leaf first. */
  readonly presented: readonly X509Certificate[]
  readonly roots: readonly X509Certificate[]
  /** CRLs to check against; undefined when none were configured. */
  readonly crls?: readonly ParsedCrl[]
  readonly now?: Date
}

export type ChainResult =
  | { readonly ok: true; readonly chain: readonly X509Certificate[] }
  | {
      readonly ok: false
      readonly reason: VerifyFailureReason
      readonly message: string
      /** The certificate the failure is about. */
      readonly subject: string
      readonly serial?: string
      readonly crlIssuer?: string
    }

const MAX_DEPTH = 10
const oneLine = (name: string): string => name.replace(/\n/g, ', ')

function fail(reason: VerifyFailureReason, cert: X509Certificate, message: string, extra: { serial?: string; crlIssuer?: string } = {}): ChainResult {
  return { ok: false, reason, message, subject: oneLine(cert.subject), ...extra }
}

function dateProblem(cert: X509Certificate, now: Date): ChainResult | undefined {
  if (now < new Date(cert.validFrom)) return fail('not-yet-valid', cert, `certificate "${oneLine(cert.subject)}" is not valid before ${new Date(cert.validFrom).toISOString()}`)
  if (now > new Date(cert.validTo)) return fail('expired', cert, `certificate "${oneLine(cert.subject)}" expired on ${new Date(cert.validTo).toISOString()}`)
  return undefined
}

// By name only: OpenSSL's checkIssued also refuses issuers without keyCertSign, which would hide
// the precise "not a CA" reason behind a generic one.
const issued = (issuer: X509Certificate, cert: X509Certificate): boolean => issuer.subject === cert.issuer
const signedBy = (issuer: X509Certificate, cert: X509Certificate): boolean => {
  try {
    return cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}
const selfSigned = (cert: X509Certificate): boolean => issued(cert, cert) && signedBy(cert, cert)

export function verifyChain(input: ChainInput): ChainResult {
  const now = input.now ?? new Date()
  const leaf = input.presented[0]
  if (!leaf) return { ok: false, reason: 'other', message: 'the server presented no certificate', subject: '' }
  const pool = input.presented.slice(1).filter((c) => !input.roots.some((r) => r.fingerprint256 === c.fingerprint256))
  const chain: X509Certificate[] = [leaf]
  let current = leaf
  let anchored = input.roots.some((r) => r.fingerprint256 === leaf.fingerprint256) && selfSigned(leaf)

  while (!anchored) {
    if (chain.length > MAX_DEPTH) return fail('chain-incomplete', current, `certificate chain is longer than ${MAX_DEPTH}`)
    const named = [...input.roots, ...pool].filter((c) => !chain.includes(c) && issued(c, current))
    const root = input.roots.find((r) => named.includes(r) && signedBy(r, current))
    if (root) {
      chain.push(root)
      anchored = true
      break
    }
    const intermediate = pool.find((c) => named.includes(c) && signedBy(c, current))
    if (intermediate) {
      chain.push(intermediate)
      current = intermediate
      continue
    }
    const issuerName = oneLine(current.issuer)
    if (named.length > 0) return fail('bad-signature', current, `the signature on "${oneLine(current.subject)}" does not verify with the key of "${issuerName}"`)
    if (selfSigned(current)) return fail('untrusted-root', current, `the chain ends at "${oneLine(current.subject)}", a self-signed certificate that is not in sslrootcert`)
    if (pool.length > 0) {
      return fail('chain-incomplete', current, `the certificates the server sent do not reach a trusted root: the issuer "${issuerName}" of "${oneLine(current.subject)}" was neither sent nor is in sslrootcert`)
    }
    return fail('untrusted-root', current, `"${oneLine(current.subject)}" is issued by "${issuerName}", which is not in sslrootcert, and the server presented no certificate that can act as its issuer`)
  }

  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!
    const dates = dateProblem(cert, now)
    if (dates) return dates
    const issuer = chain[i + 1]
    if (issuer && !issuer.ca) return fail('not-a-ca', issuer, `"${oneLine(issuer.subject)}" signed "${oneLine(cert.subject)}" but is not a CA certificate (basicConstraints)`)
  }

  if (input.crls) {
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i]!
      const issuer = chain[i + 1] ?? cert
      const issuerDer = certificateIssuerDer(Buffer.from(cert.raw))
      const crl = input.crls.find((c) => c.issuerDer.equals(issuerDer) && crlSignedBy(c, issuer))
      if (!crl) return fail('crl-problem', cert, `no CRL from "${oneLine(cert.issuer)}" to check "${oneLine(cert.subject)}" against (libpq checks every certificate of the chain)`)
      if (now < crl.thisUpdate) return fail('crl-problem', cert, `the CRL of "${crl.issuer}" is not valid before ${crl.thisUpdate.toISOString()}`)
      if (crl.nextUpdate && now > crl.nextUpdate) return fail('crl-problem', cert, `the CRL of "${crl.issuer}" expired on ${crl.nextUpdate.toISOString()}`)
      const serial = normalizeSerial(cert.serialNumber)
      if (crl.revoked.has(serial)) {
        return fail('revoked', cert, `certificate "${oneLine(cert.subject)}" (serial ${serial}) is revoked by the CRL of "${crl.issuer}"`, { serial, crlIssuer: crl.issuer })
      }
    }
  }
  return { ok: true, chain }
}

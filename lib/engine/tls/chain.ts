/**
 * Our explanation of a server certificate chain. OpenSSL, configured as libpq configures it,
 * decides whether the chain and its CRLs are acceptable (engine/peer-verification.ts); this walk
 * names the reason when OpenSSL refuses, and is compared with OpenSSL's verdict in the tests so
 * that the reason given is the right one.
 *
 * It builds the chain as OpenSSL's X509_verify_cert does without X509_V_FLAG_PARTIAL_CHAIN (libpq
 * never sets it): from the leaf, each issuer is looked up first among the trusted roots, then among
 * what the server sent, by name (compared as OpenSSL compares names), until a self-signed
 * certificate is reached; the chain is good only if that certificate is a trusted root. A CA
 * certificate from sslrootcert that is not self-signed is not an anchor: its own issuer must be in
 * sslrootcert too ("the root file must contain the whole chain up to the root CA"). Then, in
 * OpenSSL's order: every issuer's CA flag; with CRLs, every certificate of the chain against its
 * issuer's CRL (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL); signatures and dates.
 *
 * What "presented" holds is what Node exposes: the leaf and the certificates OpenSSL could link to
 * it as issuers, so a sent certificate that cannot be an issuer at all is not seen.
 */
import type { X509Certificate } from 'node:crypto'
import type { VerifyFailureReason } from '../errors.js'
import { crlFor, normalizeSerial, type ParsedCrl } from './crl.js'
import { canonicalName, certificateIssuerDer, certificateSubjectDer } from './der.js'

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

const MAX_DEPTH = 100 // OpenSSL's default verify depth
const oneLine = (name: string): string => name.replace(/\n/g, ', ')

function fail(
  reason: VerifyFailureReason,
  cert: X509Certificate,
  message: string,
  extra: { serial?: string; crlIssuer?: string } = {},
): ChainResult {
  return { ok: false, reason, message, subject: oneLine(cert.subject), ...extra }
}

/** Canonical subject and issuer names, once per certificate object. */
const namesOf = new WeakMap<X509Certificate, { subject: string; issuer: string }>()
function names(cert: X509Certificate): { subject: string; issuer: string } {
  let n = namesOf.get(cert)
  if (!n) {
    const der = Buffer.from(cert.raw)
    n = { subject: canonicalName(certificateSubjectDer(der)), issuer: canonicalName(certificateIssuerDer(der)) }
    namesOf.set(cert, n)
  }
  return n
}

const namesIssuer = (issuer: X509Certificate, cert: X509Certificate): boolean =>
  names(issuer).subject === names(cert).issuer
const signedBy = (issuer: X509Certificate, cert: X509Certificate): boolean => {
  try {
    return cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}
const selfIssued = (cert: X509Certificate): boolean => namesIssuer(cert, cert)
const sameCertificate = (a: X509Certificate, b: X509Certificate): boolean => a.fingerprint256 === b.fingerprint256

/** The issuer OpenSSL would pick from `candidates`: by name, one whose key verifies the signature first. */
function issuerAmong(
  candidates: readonly X509Certificate[],
  cert: X509Certificate,
  chain: readonly X509Certificate[],
): X509Certificate | undefined {
  const named = candidates.filter((c) => namesIssuer(c, cert) && !chain.some((x) => sameCertificate(x, c)))
  return named.find((c) => signedBy(c, cert)) ?? named[0]
}

export function verifyChain(input: ChainInput): ChainResult {
  const now = input.now ?? new Date()
  const leaf = input.presented[0]
  if (!leaf) return { ok: false, reason: 'other', message: 'the server presented no certificate', subject: '' }
  const built = buildChain(leaf, input)
  if (!Array.isArray(built)) return built
  const chain = built
  // In OpenSSL's order (verify_chain): the root, the CA flags, revocation, then signatures and dates from the root.
  return (
    rootProblem(chain, input) ??
    caProblem(chain) ??
    (input.crls ? revocationProblem(chain, input.crls, now) : undefined) ??
    signatureOrDateProblem(chain, now) ?? { ok: true, chain }
  )
}

/** The chain OpenSSL would build: from the leaf, issuers from the roots first, then from what was sent. */
function buildChain(leaf: X509Certificate, input: ChainInput): X509Certificate[] | ChainResult {
  const untrusted = input.presented.slice(1)
  const chain: X509Certificate[] = [leaf]
  for (let current = leaf; !selfIssued(current); ) {
    if (chain.length > MAX_DEPTH)
      return fail('chain-incomplete', current, `certificate chain is longer than ${MAX_DEPTH}`)
    const issuer = issuerAmong(input.roots, current, chain) ?? issuerAmong(untrusted, current, chain)
    if (!issuer) break
    chain.push(issuer)
    current = issuer
  }
  return chain
}

/** The chain must end at a self-signed root that is in sslrootcert. */
function rootProblem(chain: readonly X509Certificate[], input: ChainInput): ChainResult | undefined {
  const untrusted = input.presented.slice(1)
  const trusted = (c: X509Certificate): boolean => input.roots.some((r) => sameCertificate(r, c))
  const top = chain[chain.length - 1]!
  if (!selfIssued(top)) {
    const issuerName = oneLine(top.issuer)
    if (trusted(top)) {
      return fail(
        'chain-incomplete',
        top,
        `"${oneLine(top.subject)}" is in sslrootcert but is not a self-signed root, and its issuer ` +
          `"${issuerName}" is not in sslrootcert: libpq needs the whole chain up to the root CA there`,
      )
    }
    if (chain.length > 1 || untrusted.length > 0) {
      return fail(
        'chain-incomplete',
        top,
        `the certificates the server sent do not reach a trusted root: the issuer "${issuerName}" of ` +
          `"${oneLine(top.subject)}" was neither sent nor is in sslrootcert`,
      )
    }
    return fail(
      'untrusted-root',
      top,
      `"${oneLine(top.subject)}" is issued by "${issuerName}", which is not in sslrootcert, and the ` +
        `server presented no certificate that can act as its issuer`,
    )
  }
  if (!trusted(top)) {
    return fail(
      'untrusted-root',
      top,
      `the chain ends at "${oneLine(top.subject)}", a self-signed certificate that is not in sslrootcert`,
    )
  }
  return undefined
}

/** Every issuer in the chain must be a CA (basicConstraints). */
function caProblem(chain: readonly X509Certificate[]): ChainResult | undefined {
  for (let i = 1; i < chain.length; i++) {
    const cert = chain[i]!
    if (!cert.ca)
      return fail(
        'not-a-ca',
        cert,
        `"${oneLine(cert.subject)}" signed "${oneLine(chain[i - 1]!.subject)}" but is not a CA ` +
          `certificate (basicConstraints)`,
      )
  }
  return undefined
}

/** libpq checks every certificate of the chain against a CRL of its issuer. */
function revocationProblem(
  chain: readonly X509Certificate[],
  crls: readonly ParsedCrl[],
  now: Date,
): ChainResult | undefined {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!
    const issuer = chain[i + 1] ?? cert
    const crl = crlFor(crls, names(cert).issuer, issuer, now)
    if (!crl)
      return fail(
        'crl-problem',
        cert,
        `no CRL from "${oneLine(cert.issuer)}" (signed with its key) to check ` +
          `"${oneLine(cert.subject)}" against (libpq checks every certificate of the chain)`,
      )
    if (now < crl.thisUpdate)
      return fail('crl-problem', cert, `the CRL of "${crl.issuer}" is not valid before ${crl.thisUpdate.toISOString()}`)
    if (crl.nextUpdate && now > crl.nextUpdate)
      return fail('crl-problem', cert, `the CRL of "${crl.issuer}" expired on ${crl.nextUpdate.toISOString()}`)
    const serial = normalizeSerial(cert.serialNumber)
    if (crl.revoked.has(serial)) {
      return fail(
        'revoked',
        cert,
        `certificate "${oneLine(cert.subject)}" (serial ${serial}) is revoked by the CRL of "${crl.issuer}"`,
        { serial, crlIssuer: crl.issuer },
      )
    }
  }
  return undefined
}

/** From the root down: each signature verifies with its issuer's key, and each certificate is within its dates. */
function signatureOrDateProblem(chain: readonly X509Certificate[], now: Date): ChainResult | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const cert = chain[i]!
    const issuer = chain[i + 1]
    // A trusted self-signed root's own signature is not checked (X509_V_FLAG_CHECK_SS_SIGNATURE is off).
    if (issuer && !signedBy(issuer, cert)) {
      return fail(
        'bad-signature',
        cert,
        `the signature on "${oneLine(cert.subject)}" does not verify with the key of "${oneLine(issuer.subject)}"`,
      )
    }
    if (now < new Date(cert.validFrom))
      return fail(
        'not-yet-valid',
        cert,
        `certificate "${oneLine(cert.subject)}" is not valid before ${new Date(cert.validFrom).toISOString()}`,
      )
    if (now > new Date(cert.validTo))
      return fail(
        'expired',
        cert,
        `certificate "${oneLine(cert.subject)}" expired on ${new Date(cert.validTo).toISOString()}`,
      )
  }
  return undefined
}

/**
 * X.509 CRLs (RFC 5280 §5), parsed with node-forge's ASN.1 reader — node:crypto has no CRL API
 * and forge's pki has no CRL type — and verified with node:crypto against the issuer's key.
 */
import { constants, generateKeyPairSync, randomUUID, sign, verify, type X509Certificate } from 'node:crypto'
import type Forge from 'node-forge'
import { forge } from './forge.js'
import { asn1Of, bytesOf, canonicalName, children, element, tagOf } from './der.js'

export interface ParsedCrl {
  /** The issuer Name as DER. */
  readonly issuerDer: Buffer
  /** The issuer Name as OpenSSL compares names (der.ts canonicalName). */
  readonly issuerKey: string
  readonly issuer: string
  readonly thisUpdate: Date
  readonly nextUpdate: Date | undefined
  /** Revoked serial numbers, upper-case hex without leading zeros (as X509Certificate.serialNumber). */
  readonly revoked: ReadonlySet<string>
  readonly tbs: Buffer
  readonly signatureAlgorithm: string
  /** The DER of the AlgorithmIdentifier's parameters (RSASSA-PSS says its hash and salt there). */
  readonly signatureParameters: Buffer | undefined
  readonly signature: Buffer
}

const UTC_TIME = 0x17
const GENERALIZED_TIME = 0x18

/** Signature algorithms by OID: the hash node:crypto verifies with (null: the key type fixes it, as for EdDSA). */
export const SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha1', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
}
const RSASSA_PSS = '1.2.840.113549.1.1.10'
const HASH_OIDS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}

export function normalizeSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '')
}

function timeOf(der: Buffer, e: ReturnType<typeof element>): Date {
  const text = der.subarray(e.valueStart, e.end).toString('latin1')
  return tagOf(der, e) === UTC_TIME ? forge().asn1.utcTimeToDate(text) : forge().asn1.generalizedTimeToDate(text)
}

export function parseCrl(der: Buffer): ParsedCrl {
  const top = element(der, 0)
  const [tbsElement, algorithmElement, signatureElement] = children(der, top)
  if (!tbsElement || !algorithmElement || !signatureElement) throw new Error('not a CertificateList')
  const fields = children(der, tbsElement)
  let i = tagOf(der, fields[0]!) === 0x02 ? 1 : 0 // optional version
  i++ // signature AlgorithmIdentifier (repeated outside the TBS)
  const issuerElement = fields[i++]!
  const thisUpdate = timeOf(der, fields[i++]!)
  let nextUpdate: Date | undefined
  const maybeNext = fields[i]
  if (maybeNext && (tagOf(der, maybeNext) === UTC_TIME || tagOf(der, maybeNext) === GENERALIZED_TIME)) {
    nextUpdate = timeOf(der, maybeNext)
    i++
  }
  const revoked = new Set<string>()
  const maybeList = fields[i]
  if (maybeList && tagOf(der, maybeList) === 0x30) {
    for (const entry of children(der, maybeList)) {
      const serial = children(der, entry)[0]!
      revoked.add(normalizeSerial(der.subarray(serial.valueStart, serial.end).toString('hex')))
    }
  }
  const algorithm = asn1Of(bytesOf(der, algorithmElement)) as Forge.asn1.Asn1
  const oid = forge().asn1.derToOid(
    forge().util.createBuffer((algorithm.value as Forge.asn1.Asn1[])[0]!.value as string),
  )
  const parameters = children(der, algorithmElement)[1]
  const bits = der.subarray(signatureElement.valueStart, signatureElement.end)
  const issuerDer = bytesOf(der, issuerElement)
  return {
    issuerDer,
    issuerKey: canonicalName(issuerDer),
    issuer: nameText(issuerDer),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: bytesOf(der, tbsElement),
    signatureAlgorithm: oid,
    signatureParameters: parameters ? bytesOf(der, parameters) : undefined,
    signature: bits.subarray(1), // first byte: unused bits (0)
  }
}

/** "CN=..., O=..." for messages. */
function nameText(nameDer: Buffer): string {
  const name = asn1Of(nameDer)
  const parts: string[] = []
  for (const rdn of name.value as Forge.asn1.Asn1[]) {
    for (const attribute of rdn.value as Forge.asn1.Asn1[]) {
      const [type, value] = attribute.value as Forge.asn1.Asn1[]
      const oid = forge().asn1.derToOid(forge().util.createBuffer(type!.value as string))
      const short = (forge().pki.oids[oid] as string | undefined) ?? oid
      const label =
        {
          commonName: 'CN',
          organizationName: 'O',
          organizationalUnitName: 'OU',
          countryName: 'C',
          localityName: 'L',
          stateOrProvinceName: 'ST',
        }[short] ?? short
      parts.push(`${label}=${forge().util.decodeUtf8(value!.value as string)}`)
    }
  }
  return parts.join(', ')
}

/** Whether `issuer` signed this CRL. Unknown signature algorithms count as not verified. */
export function crlSignedBy(crl: ParsedCrl, issuer: X509Certificate): boolean {
  try {
    if (crl.signatureAlgorithm === RSASSA_PSS) {
      const pss = pssParameters(crl.signatureParameters)
      if (!pss) return false
      return verify(
        pss.hash,
        crl.tbs,
        { key: issuer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength },
        crl.signature,
      )
    }
    const hash = SIGNATURE_HASHES[crl.signatureAlgorithm]
    if (hash === undefined) return false
    return verify(hash, crl.tbs, issuer.publicKey, crl.signature)
  } catch {
    return false
  }
}

/** RSASSA-PSS-params (RFC 4055): hash [0], mask generation [1], salt length [2]; defaults SHA-1 and 20. */
function pssParameters(parameters: Buffer | undefined): { hash: string; saltLength: number } | undefined {
  let hash = 'sha1'
  let saltLength = 20
  if (parameters && parameters.length > 2) {
    for (const field of children(parameters, element(parameters, 0))) {
      const inner = children(parameters, field)[0]!
      if (tagOf(parameters, field) === 0xa0) {
        const oidElement = children(parameters, inner)[0]!
        const oid = forge().asn1.derToOid(
          forge().util.createBuffer(parameters.subarray(oidElement.valueStart, oidElement.end).toString('binary')),
        )
        const name = HASH_OIDS[oid]
        if (!name) return undefined
        hash = name
      } else if (tagOf(parameters, field) === 0xa2) {
        saltLength = parseInt(parameters.subarray(inner.valueStart, inner.end).toString('hex'), 16)
      }
    }
  }
  return { hash, saltLength }
}

/**
 * The CRL OpenSSL would use for a certificate (get_crl_sk): one from its issuer's name and signed
 * by its issuer's key, preferring one that is current, and of those the most recent.
 */
export function crlFor(
  crls: readonly ParsedCrl[],
  issuerKey: string,
  issuer: X509Certificate,
  now: Date,
): ParsedCrl | undefined {
  const current = (c: ParsedCrl): boolean => c.thisUpdate <= now && (c.nextUpdate === undefined || now <= c.nextUpdate)
  let best: ParsedCrl | undefined
  for (const crl of crls) {
    if (crl.issuerKey !== issuerKey || !crlSignedBy(crl, issuer)) continue
    if (
      !best ||
      (current(crl) && !current(best)) ||
      (current(crl) === current(best) && crl.thisUpdate > best.thisUpdate)
    )
      best = crl
  }
  return best
}

let marker: Buffer | undefined
/**
 * A CRL from an issuer no certificate has (a throwaway Ed25519 key, made once per process), in
 * PEM. Node turns on CRL checking (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) only when it
 * is given a CRL; libpq turns it on whenever sslcrl/sslcrldir loads, even from a directory that
 * holds no CRL for the chain, and then every verification fails for want of a CRL. Giving Node
 * this CRL makes it do the same.
 */
export function crlCheckingMarker(): Buffer {
  if (marker) return marker
  const { privateKey } = generateKeyPairSync('ed25519')
  const a = forge().asn1
  const der = (node: Forge.asn1.Asn1): Buffer => Buffer.from(a.toDer(node).getBytes(), 'binary')
  const ed25519 = a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
    a.create(a.Class.UNIVERSAL, a.Type.OID, false, a.oidToDer('1.3.101.112').getBytes()),
  ])
  const issuer = a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
    a.create(a.Class.UNIVERSAL, a.Type.SET, true, [
      a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
        a.create(a.Class.UNIVERSAL, a.Type.OID, false, a.oidToDer('2.5.4.3').getBytes()),
        a.create(a.Class.UNIVERSAL, a.Type.UTF8, false, `pg-sslmode CRL checking marker ${randomUUID()}`),
      ]),
    ]),
  ])
  const tbs = a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
    a.create(a.Class.UNIVERSAL, a.Type.INTEGER, false, String.fromCharCode(1)), // v2
    ed25519,
    issuer,
    a.create(a.Class.UNIVERSAL, a.Type.UTCTIME, false, a.dateToUtcTime(new Date(Date.now() - 60_000))),
  ])
  const tbsDer = der(tbs)
  const signature = sign(null, tbsDer, privateKey)
  const crl = a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
    tbs,
    ed25519,
    a.create(a.Class.UNIVERSAL, a.Type.BITSTRING, false, `\0${signature.toString('binary')}`),
  ])
  marker = Buffer.from(
    `-----BEGIN X509 CRL-----\n${der(crl)
      .toString('base64')
      .replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`,
  )
  return marker
}

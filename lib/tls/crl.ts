/**
 * X.509 CRLs (RFC 5280 §5), parsed with node-forge's ASN.1 reader — node:crypto has no CRL API
 * and forge's pki has no CRL type — and verified with node:crypto against the issuer's key.
 */
import { verify, type X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import { asn1Of, bytesOf, children, element, tagOf } from './der.js'

export interface ParsedCrl {
  /** The issuer Name as DER, compared byte for byte with certificates' issuer Names. */
  readonly issuerDer: Buffer
  readonly issuer: string
  readonly thisUpdate: Date
  readonly nextUpdate: Date | undefined
  /** Revoked serial numbers, upper-case hex without leading zeros (as X509Certificate.serialNumber). */
  readonly revoked: ReadonlySet<string>
  readonly tbs: Buffer
  readonly signatureAlgorithm: string
  readonly signature: Buffer
}

const UTC_TIME = 0x17
const GENERALIZED_TIME = 0x18

/** Hash names for the signature algorithms node:crypto verifies in one call. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
}

export function normalizeSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '')
}

function timeOf(der: Buffer, e: ReturnType<typeof element>): Date {
  const text = der.subarray(e.valueStart, e.end).toString('latin1')
  return tagOf(der, e) === UTC_TIME ? forge.asn1.utcTimeToDate(text) : forge.asn1.generalizedTimeToDate(text)
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
  const algorithm = asn1Of(bytesOf(der, algorithmElement)) as forge.asn1.Asn1
  const oid = forge.asn1.derToOid(forge.util.createBuffer((algorithm.value as forge.asn1.Asn1[])[0]!.value as string))
  const bits = der.subarray(signatureElement.valueStart, signatureElement.end)
  const issuerDer = bytesOf(der, issuerElement)
  return {
    issuerDer,
    issuer: nameText(issuerDer),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: bytesOf(der, tbsElement),
    signatureAlgorithm: oid,
    signature: bits.subarray(1), // first byte: unused bits (0)
  }
}

/** "CN=..., O=..." for messages. */
function nameText(nameDer: Buffer): string {
  const name = asn1Of(nameDer)
  const parts: string[] = []
  for (const rdn of name.value as forge.asn1.Asn1[]) {
    for (const attribute of rdn.value as forge.asn1.Asn1[]) {
      const [type, value] = attribute.value as forge.asn1.Asn1[]
      const oid = forge.asn1.derToOid(forge.util.createBuffer(type!.value as string))
      const short = (forge.pki.oids[oid] as string | undefined) ?? oid
      const label = { commonName: 'CN', organizationName: 'O', organizationalUnitName: 'OU', countryName: 'C', localityName: 'L', stateOrProvinceName: 'ST' }[short] ?? short
      parts.push(`${label}=${forge.util.decodeUtf8(value!.value as string)}`)
    }
  }
  return parts.join(', ')
}

/** Whether `issuer` signed this CRL. Unknown signature algorithms count as not verified. */
export function crlSignedBy(crl: ParsedCrl, issuer: X509Certificate): boolean {
  const hash = SIGNATURE_HASHES[crl.signatureAlgorithm]
  if (!hash) return false
  try {
    return verify(hash, crl.tbs, issuer.publicKey, crl.signature)
  } catch {
    return false
  }
}

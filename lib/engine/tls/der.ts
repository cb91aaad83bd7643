/**
 * The few DER operations the certificate checks need beyond node:crypto: the exact bytes of an
 * element (signed data must be verified over the bytes as sent, not a re-encoding) and the raw
 * issuer Name of a certificate, for matching CRLs to certificates by DER equality.
 */
import { createHash } from 'node:crypto'
import type Forge from 'node-forge'
import { forge } from './forge.js'

interface Element {
  /** Offset of the element's tag. */
  readonly start: number
  /** Offset just past its value. */
  readonly end: number
  readonly valueStart: number
}

/** The TLV element at `offset` (definite lengths only, as DER requires). */
export function element(der: Uint8Array, offset: number): Element {
  let i = offset + 1
  const first = der[i++]
  if (first === undefined) throw new Error('truncated DER')
  let length = first
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4) throw new Error('unsupported DER length')
    length = 0
    for (let k = 0; k < count; k++) length = length * 256 + der[i++]!
  }
  if (i + length > der.length) throw new Error('truncated DER')
  return { start: offset, end: i + length, valueStart: i }
}

/** The children of a constructed element. */
export function children(der: Uint8Array, parent: Element): Element[] {
  const out: Element[] = []
  for (let i = parent.valueStart; i < parent.end; ) {
    const child = element(der, i)
    out.push(child)
    i = child.end
  }
  return out
}

export const bytesOf = (der: Buffer, e: Element): Buffer => der.subarray(e.start, e.end)
export const tagOf = (der: Uint8Array, e: Element): number => der[e.start]!

/** A certificate's issuer Name, as DER (TBSCertificate: [0] version?, serial, signature, issuer). */
export function certificateIssuerDer(der: Buffer): Buffer {
  const tbs = children(der, element(der, 0))[0]!
  const fields = children(der, tbs)
  const skip = tagOf(der, fields[0]!) === 0xa0 ? 1 : 0
  return bytesOf(der, fields[skip + 2]!)
}

/** An OBJECT IDENTIFIER element's value, dotted ("1.2.840.113549.1.1.11"). */
export function oidOf(der: Uint8Array, e: Element): string {
  const arcs: number[] = []
  let arc = 0
  for (let i = e.valueStart; i < e.end; i++) {
    arc = arc * 128 + (der[i]! & 0x7f)
    if (der[i]! & 0x80) continue
    if (arcs.length === 0) arcs.push(arc < 80 ? Math.floor(arc / 40) : 2, arc < 80 ? arc % 40 : arc - 80)
    else arcs.push(arc)
    arc = 0
  }
  return arcs.join('.')
}

/**
 * A certificate's signatureAlgorithm (Certificate: tbsCertificate, signatureAlgorithm, signature):
 * its OID and, for RSASSA-PSS, the OID of the hash its parameters name (RFC 4055 section 3.1:
 * `[0] hashAlgorithm`, SHA-1 when absent).
 */
export function certificateSignatureAlgorithm(der: Buffer): { oid: string; pssHashOid?: string } {
  const [id, parameters] = children(der, children(der, element(der, 0))[1]!)
  const oid = oidOf(der, id!)
  if (oid !== RSASSA_PSS) return { oid }
  const hashField =
    parameters && tagOf(der, parameters) === 0x30
      ? children(der, parameters).find((field) => tagOf(der, field) === 0xa0)
      : undefined
  if (!hashField) return { oid, pssHashOid: SHA1 }
  const hashAlgorithm = children(der, hashField)[0]!
  return { oid, pssHashOid: oidOf(der, children(der, hashAlgorithm)[0]!) }
}

const RSASSA_PSS = '1.2.840.113549.1.1.10'
const SHA1 = '1.3.14.3.2.26'

/** forge's ASN.1 of DER bytes, for the fields node:crypto does not expose (CRLs). */
export function asn1Of(der: Buffer): Forge.asn1.Asn1 {
  return forge().asn1.fromDer(forge().util.createBuffer(der.toString('binary')), true)
}

/** A certificate's subject Name, as DER. */
export function certificateSubjectDer(der: Buffer): Buffer {
  const tbs = children(der, element(der, 0))[0]!
  const fields = children(der, tbs)
  const skip = tagOf(der, fields[0]!) === 0xa0 ? 1 : 0
  return bytesOf(der, fields[skip + 4]!)
}

const BMP_STRING = 0x1e
const UNIVERSAL_STRING = 0x1c
const UTF8_STRING = 0x0c

/**
 * A Name as OpenSSL compares names (x509_name_canon), as a string key: each attribute's string
 * value in UTF-8 with leading and trailing white space removed, inner runs of white space folded
 * to one space and ASCII upper case folded, so that PrintableString and UTF8String spellings, or
 * "Test CA" and "test  ca", are the same name. Non-string values compare as their bytes.
 */
export function canonicalName(nameDer: Buffer): string {
  return canonicalEncoding(nameDer).toString('hex')
}

/**
 * OpenSSL's canonical encoding of a Name (x509_name_canon): each RDN as a DER SET of
 * (type, value) with string values re-encoded as canonical UTF8String, the SETs concatenated
 * without the outer SEQUENCE. Its SHA-1 gives the subject/issuer hash of hashed directories.
 */
export function canonicalEncoding(nameDer: Buffer): Buffer {
  const sets: Buffer[] = []
  for (const rdn of children(nameDer, element(nameDer, 0))) {
    const attributes: Buffer[] = []
    for (const attribute of children(nameDer, rdn)) {
      const [type, value] = children(nameDer, attribute)
      if (!type || !value) continue
      attributes.push(tlv(0x30, Buffer.concat([bytesOf(nameDer, type), canonicalValue(nameDer, value)])))
    }
    attributes.sort(Buffer.compare) // DER orders a SET OF by encoding
    sets.push(tlv(0x31, Buffer.concat(attributes)))
  }
  return Buffer.concat(sets)
}

/** OpenSSL's X509_NAME_hash (as in "<hash>.r0" CRL file names and `openssl crl -hash`). */
export function nameHash(nameDer: Buffer): string {
  const digest = createHash('sha1').update(canonicalEncoding(nameDer)).digest()
  return digest.readUInt32LE(0).toString(16).padStart(8, '0')
}

function canonicalValue(der: Buffer, value: Element): Buffer {
  const tag = tagOf(der, value)
  const bytes = der.subarray(value.valueStart, value.end)
  let text: string
  if (tag === BMP_STRING) text = Buffer.from(bytes).swap16().toString('utf16le')
  else if (tag === UNIVERSAL_STRING)
    text = String.fromCodePoint(...Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readUInt32BE(i * 4)))
  else if (tag === UTF8_STRING) text = bytes.toString('utf8')
  else if (tag === 0x13 || tag === 0x16 || tag === 0x14 || tag === 0x1a)
    text = bytes.toString('latin1') // Printable, IA5, T61, Visible
  else return bytesOf(der, value)
  const canonical = text
    .replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '')
    .replace(/[ \t\n\v\f\r]+/g, ' ')
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
  return tlv(UTF8_STRING, Buffer.from(canonical, 'utf8'))
}

function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), length, value])
}

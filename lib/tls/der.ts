/**
 * The few DER operations the certificate checks need beyond node:crypto: the exact bytes of an
 * element (signed data must be verified over the bytes as sent, not a re-encoding) and the raw
 * issuer Name of a certificate, for matching CRLs to certificates by DER equality.
 */
import forge from 'node-forge'

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

/** forge's ASN.1 of DER bytes, for the fields node:crypto does not expose (CRLs). */
export function asn1Of(der: Buffer): forge.asn1.Asn1 {
  return forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), true)
}

/**
 * verify-full host-name matching with libpq's rules (fe-secure-common.c, fe-secure-openssl.c):
 * - subjectAltName entries of the host's type (dNSName for names, iPAddress for IP literals) are
 *   checked first; the Common Name is consulted only when the certificate has no SAN of that type;
 * - names compare case-insensitively; a name may start with one "*." wildcard that stands for
 *   exactly one non-empty leftmost label;
 * - IP literals compare as addresses (IPv4 and IPv6), and a dNSName that spells the IP also matches.
 */
import { isIP } from 'node:net'

export interface CertificateNames {
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly commonNames: readonly string[]
}

export interface HostnameCheck {
  readonly matched: boolean
  /** The certificate names that were compared, for the error message. */
  readonly examined: readonly string[]
}

export function matchHostname(host: string, names: CertificateNames): HostnameCheck {
  const hostIsIp = isIP(host) !== 0
  const examined: string[] = []
  let matched = false
  for (const dns of names.dnsNames) {
    examined.push(dns)
    if (dnsNameMatches(dns, host)) matched = true
  }
  for (const ip of names.ipAddresses) {
    examined.push(ip)
    if (hostIsIp && sameIp(ip, host)) matched = true
  }
  const sanOfHostType = hostIsIp ? names.ipAddresses.length > 0 : names.dnsNames.length > 0
  if (!matched && !sanOfHostType) {
    for (const cn of names.commonNames) {
      examined.push(cn)
      if (hostIsIp ? sameIp(cn, host) || cn.toLowerCase() === host.toLowerCase() : dnsNameMatches(cn, host)) matched = true
    }
  }
  return { matched, examined: [...new Set(examined)] }
}

function dnsNameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase()
  const h = host.toLowerCase()
  if (p.length > 2 && p.startsWith('*.')) {
    const suffix = p.slice(1) // ".example.com"
    if (!h.endsWith(suffix)) return false
    const label = h.slice(0, h.length - suffix.length)
    return label.length > 0 && !label.includes('.')
  }
  return p === h
}

function sameIp(a: string, b: string): boolean {
  const x = ipBytes(a)
  const y = ipBytes(b)
  return x !== undefined && y !== undefined && x.equals(y)
}

/** An IP literal as bytes (4 for IPv4, 16 for IPv6), or undefined if it is not one. */
export function ipBytes(text: string): Buffer | undefined {
  const ip = text.replace(/^\[|\]$/g, '')
  const family = isIP(ip)
  if (family === 4) return Buffer.from(ip.split('.').map(Number))
  if (family !== 6) return undefined
  let head = ip
  let tail4: number[] = []
  const lastColon = ip.lastIndexOf(':')
  if (ip.slice(lastColon + 1).includes('.')) {
    tail4 = ip.slice(lastColon + 1).split('.').map(Number)
    head = ip.slice(0, lastColon + 1) + '0:0'
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined]
  const leftGroups = left ? left.split(':') : []
  const rightGroups = right ? right.split(':') : []
  const missing = 8 - leftGroups.length - rightGroups.length
  const groups = right === undefined ? leftGroups : [...leftGroups, ...Array<string>(missing).fill('0'), ...rightGroups]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2))
  if (tail4.length === 4) Buffer.from(tail4).copy(out, 12)
  return out
}

/** Names from Node's X509Certificate / getPeerCertificate() strings. */
export function certificateNames(subjectAltName: string | undefined, subject: string | undefined): CertificateNames {
  const dnsNames: string[] = []
  const ipAddresses: string[] = []
  for (const entry of splitAltNames(subjectAltName ?? '')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4))
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11))
  }
  const commonNames = (subject ?? '')
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3))
  return { dnsNames, ipAddresses, commonNames }
}

/** Node separates entries with ", " and JSON-quotes values that contain separators. */
function splitAltNames(text: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < text.length) {
    const colon = text.indexOf(':', i)
    if (colon < 0) break
    const type = text.slice(i, colon + 1)
    let value: string
    let next: number
    if (text[colon + 1] === '"') {
      let j = colon + 2
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string
      next = j + 1
    } else {
      const comma = text.indexOf(', ', colon)
      next = comma < 0 ? text.length : comma
      value = text.slice(colon + 1, next)
    }
    out.push(type + value)
    i = next + 2
  }
  return out
}

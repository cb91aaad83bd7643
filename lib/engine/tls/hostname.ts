/**
 * verify-full host-name matching, exactly as libpq does it (fe-secure-common.c and
 * pgtls_verify_peer_name_matches_certificate_guts in fe-secure-openssl.c):
 * - the host is an IP address when glibc's inet_aton() (which takes "192.000.002.001", "0xC0.0.2.1"
 *   and "3221225985" too) or inet_pton(AF_INET6) accepts it;
 * - subjectAltName entries are walked in certificate order: a dNSName is compared as a name, an
 *   iPAddress as address bytes (the host parsed as above); the first match or error ends the walk;
 * - the Subject's first commonName (X509_NAME_get_index_by_NID(..., -1)) is consulted only when no
 *   SAN of the host's type (dNSName for names, iPAddress for addresses) exists, and is compared as
 *   a name even when the host is an address;
 * - names compare as the bytes the certificate holds, case folded for ASCII only (pg_strcasecmp),
 *   a name with an embedded NUL is an error, and "*." stands for exactly one leftmost label.
 * Names are read from the certificate's DER, so string types and multi-valued RDNs are seen as
 * OpenSSL sees them.
 */
import { children, element, tagOf } from './der.js'

export type AltName = { readonly type: 'dns'; readonly value: Buffer } | { readonly type: 'ip'; readonly value: Buffer }

export interface CertificateNames {
  /** subjectAltName dNSName and iPAddress entries, in certificate order (others are skipped, as libpq does). */
  readonly altNames: readonly AltName[]
  /** The value bytes of the Subject's first commonName attribute. */
  readonly commonName: Buffer | undefined
}

export interface HostnameCheck {
  readonly result: 'match' | 'mismatch' | 'error'
  /** How many certificate names were compared (libpq's names_examined). */
  readonly examined: number
  /** The first name compared, as libpq prints it in its error message. */
  readonly firstName: string | undefined
  /** For result 'error': libpq's message. */
  readonly error?: string
}

type Compared = { rc: 0 | 1 } | { rc: -1; error: string }

export function matchHostname(host: string, names: CertificateNames): HostnameCheck {
  const hostBytes = Buffer.from(host, 'utf8')
  const hostType = ipv4Aton(host) !== undefined || ipv6Pton(host) !== undefined ? 'ip' : 'dns'
  let examined = 0
  let firstName: string | undefined
  let checkCn = true
  let outcome: Compared = { rc: 0 }
  for (const alt of names.altNames) {
    if (alt.type === hostType) checkCn = false
    examined++
    const [compared, shown] = alt.type === 'dns' ? compareName(alt.value, hostBytes) : compareIp(alt.value, host)
    firstName ??= shown
    outcome = compared
    if (compared.rc !== 0) {
      checkCn = false
      break
    }
  }
  if (checkCn && names.commonName) {
    examined++
    const [compared, shown] = compareName(names.commonName, hostBytes)
    firstName ??= shown
    outcome = compared
  }
  if (outcome.rc === -1) return { result: 'error', examined, firstName, error: outcome.error }
  return { result: outcome.rc === 1 ? 'match' : 'mismatch', examined, firstName }
}

/** pq_verify_peer_name_matches_certificate_name: the bytes as the certificate holds them. */
function compareName(name: Buffer, host: Buffer): [Compared, string | undefined] {
  if (name.includes(0)) return [{ rc: -1, error: "SSL certificate's name contains embedded null" }, undefined]
  const shown = name.toString('latin1')
  return [{ rc: asciiCaseEqual(name, host) || wildcardMatch(name, host) ? 1 : 0 }, shown]
}

/**
 * pq_verify_peer_name_matches_certificate_ip: 4 or 16 bytes, compared with the host parsed as inet_aton/inet_pton do.
 */
function compareIp(address: Buffer, host: string): [Compared, string | undefined] {
  if (address.length === 4) {
    const parsed = ipv4Aton(host)
    return [{ rc: parsed?.equals(address) ? 1 : 0 }, formatIp(address)]
  }
  if (address.length === 16) {
    const parsed = ipv6Pton(host)
    return [{ rc: parsed?.equals(address) ? 1 : 0 }, formatIp(address)]
  }
  return [{ rc: -1, error: `certificate contains IP address with invalid length ${address.length}` }, undefined]
}

/** pg_strcasecmp() == 0: only A-Z are folded (bytes above 127 are not, in the C and UTF-8 locales). */
function asciiCaseEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (lowerAscii(a[i]!) !== lowerAscii(b[i]!)) return false
  return true
}
const lowerAscii = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)

/** wildcard_certificate_match(): "*.rest" matches one leftmost label followed by ".rest". */
function wildcardMatch(pattern: Buffer, host: Buffer): boolean {
  if (pattern.length < 3 || pattern[0] !== 0x2a || pattern[1] !== 0x2e) return false
  if (pattern.length > host.length) return false
  const start = host.length - pattern.length + 1
  if (!asciiCaseEqual(pattern.subarray(1), host.subarray(start))) return false
  const firstDot = host.indexOf(0x2e)
  return !(firstDot >= 0 && firstDot < start - 1)
}

// ---------------------------------------------------------------------------------------------
// Address parsing as glibc does it

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'
const isCSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r')

/** strtoul(s, &end, 0) from a digit: hex after 0x, octal after 0, else decimal. */
function strtoulBase0(text: string, start: number): { value: number; end: number } {
  let base = 10
  let i = start
  if (text[i] === '0') {
    if ((text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
      base = 16
      i += 2
    } else base = 8
  }
  const digits = base === 16 ? /[0-9a-fA-F]/ : base === 8 ? /[0-7]/ : /[0-9]/
  let value = 0
  const from = i
  while (i < text.length && digits.test(text[i]!)) {
    value = value * base + parseInt(text[i]!, base)
    if (value > 0xffffffff) value = Infinity
    i++
  }
  if (i === from) return { value: 0, end: start + 1 } // just "0"
  return { value, end: i }
}

/** glibc inet_aton(): a, a.b, a.b.c or a.b.c.d, each part decimal, octal or hex; trailing white space ends it. */
export function ipv4Aton(text: string): Buffer | undefined {
  const bytes: number[] = []
  let i = 0
  let value = 0
  for (;;) {
    if (!isDigit(text[i])) return undefined
    const parsed = strtoulBase0(text, i)
    if (parsed.value > 0xffffffff) return undefined
    value = parsed.value
    i = parsed.end
    if (text[i] === '.') {
      if (bytes.length > 2 || value > 0xff) return undefined
      bytes.push(value)
      i++
    } else break
  }
  const c = text[i]
  if (c !== undefined && !isCSpace(c)) return undefined
  const max = [0xffffffff, 0xffffff, 0xffff, 0xff][bytes.length]!
  if (value > max) return undefined
  const out = Buffer.alloc(4)
  out.set(bytes)
  const word = out.readUInt32BE(0) | value
  out.writeUInt32BE(word >>> 0, 0)
  return out
}

/** glibc inet_pton(AF_INET6): hex groups of 1-4 digits, one "::", an optional dotted IPv4 tail. */
export function ipv6Pton(text: string): Buffer | undefined {
  const out = Buffer.alloc(16)
  let tp = 0
  let colonp = -1
  let i = 0
  if (text[0] === ':' && text[1] !== ':') return undefined
  if (text[0] === ':') i = 1
  let curtok = i
  let sawXdigit = false
  let val = 0
  let digits = 0
  while (i < text.length) {
    const ch = text[i++]!
    const hex = /[0-9a-fA-F]/.test(ch) ? parseInt(ch, 16) : -1
    if (hex >= 0) {
      if (digits >= 4) return undefined
      val = (val << 4) | hex
      digits++
      sawXdigit = true
      continue
    }
    if (ch === ':') {
      curtok = i
      if (!sawXdigit) {
        if (colonp >= 0) return undefined
        colonp = tp
        continue
      }
      if (i >= text.length) return undefined
      if (tp + 2 > 16) return undefined
      out.writeUInt16BE(val, tp)
      tp += 2
      sawXdigit = false
      val = 0
      digits = 0
      continue
    }
    if (ch === '.' && tp + 4 <= 16) {
      const v4 = inetPton4(text.slice(curtok))
      if (!v4) return undefined
      v4.copy(out, tp)
      tp += 4
      sawXdigit = false
      break
    }
    return undefined
  }
  if (sawXdigit) {
    if (tp + 2 > 16) return undefined
    out.writeUInt16BE(val, tp)
    tp += 2
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined
    const moved = out.subarray(colonp, tp)
    const tail = Buffer.from(moved)
    out.fill(0, colonp, 16)
    tail.copy(out, 16 - tail.length)
    tp = 16
  }
  return tp === 16 ? out : undefined
}

/** inet_pton(AF_INET): exactly four decimal parts 0-255, no leading zeros. */
function inetPton4(text: string): Buffer | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes: number[] = []
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined
    bytes.push(Number(part))
  }
  return Buffer.from(bytes)
}

/** An IP literal in any spelling libpq accepts, as bytes, or undefined. */
export function ipBytes(text: string): Buffer | undefined {
  return ipv4Aton(text) ?? ipv6Pton(text)
}

/** How libpq prints a certificate's address (pg_inet_net_ntop): dotted IPv4, compressed lower-case IPv6. */
function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.')
  const groups: number[] = []
  for (let k = 0; k < 16; k += 2) groups.push(bytes.readUInt16BE(k))
  let bestStart = -1
  let bestLength = 0
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++
      continue
    }
    let end = k
    while (end < 8 && groups[end] === 0) end++
    if (end - k > bestLength && end - k > 1) {
      bestStart = k
      bestLength = end - k
    }
    k = end
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

// ---------------------------------------------------------------------------------------------
// Reading the names from a certificate's DER

const OID_SUBJECT_ALT_NAME = Buffer.from([0x55, 0x1d, 0x11]) // 2.5.29.17
const OID_COMMON_NAME = Buffer.from([0x55, 0x04, 0x03]) // 2.5.4.3
const SAN_DNS = 0x82 // [2] IA5String, implicit
const SAN_IP = 0x87 // [7] OCTET STRING, implicit

/** The names libpq looks at, from a certificate in DER. */
export function certificateNames(der: Buffer): CertificateNames {
  const tbs = children(der, element(der, 0))[0]!
  const fields = children(der, tbs)
  const skip = tagOf(der, fields[0]!) === 0xa0 ? 1 : 0
  // version?, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [1]?, [2]?, [3] extensions
  const subject = fields[skip + 4]!
  let commonName: Buffer | undefined
  for (const rdn of children(der, subject)) {
    for (const attribute of children(der, rdn)) {
      const [type, value] = children(der, attribute)
      if (
        commonName === undefined &&
        type &&
        value &&
        der.subarray(type.valueStart, type.end).equals(OID_COMMON_NAME)
      ) {
        commonName = Buffer.from(der.subarray(value.valueStart, value.end))
      }
    }
  }
  return { altNames: subjectAltNames(der, fields), commonName }
}

/** X509_get_ext_d2i(NID_subject_alt_name): none when the extension is absent, repeated or unreadable. */
function subjectAltNames(der: Buffer, fields: ReturnType<typeof children>): AltName[] {
  const extensions = fields.find((f) => tagOf(der, f) === 0xa3)
  if (!extensions) return []
  const sans = children(der, children(der, extensions)[0]!)
    .map((extension) => children(der, extension))
    .filter((parts) => der.subarray(parts[0]!.valueStart, parts[0]!.end).equals(OID_SUBJECT_ALT_NAME))
  if (sans.length !== 1) return []
  const octets = sans[0]![sans[0]!.length - 1]!
  const inner = der.subarray(octets.valueStart, octets.end)
  const altNames: AltName[] = []
  try {
    for (const name of children(inner, element(inner, 0))) {
      const value = Buffer.from(inner.subarray(name.valueStart, name.end))
      if (tagOf(inner, name) === SAN_DNS) altNames.push({ type: 'dns', value })
      else if (tagOf(inner, name) === SAN_IP) altNames.push({ type: 'ip', value })
    }
  } catch {
    return []
  }
  return altNames
}

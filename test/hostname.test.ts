/**
 * libpq's host-name rules (fe-secure-common.c, fe-secure-openssl.c) on certificates made with the
 * openssl command line, so that subjects and SANs are encoded as OpenSSL encodes them (repeated
 * CNs, multi-valued RDNs, BMPString, IP SANs). The same rules are compared with libpq 18 on a live
 * server in test/differential/libpq-ssl-suite.test.ts.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { certificateNames, ipBytes, ipv4Aton, ipv6Pton, matchHostname } from '../lib/engine/tls/hostname.js'
import { checkHostname } from '../lib/engine/peer-verification.js'
import { fixture } from '../scripts/harness.js'
import forge from 'node-forge'
import { rawNamesCertificate, selfSigned } from './certificates.js'

const names = (subject: string, san?: string, extra: string[] = []) =>
  certificateNames(Buffer.from(selfSigned(subject, san, extra).raw))
const result = (host: string, subject: string, san?: string, extra?: string[]) =>
  matchHostname(host, names(subject, san, extra)).result

t.test('inet_aton spellings of IPv4, as glibc parses them', async (t) => {
  const v4 = (s: string) => ipv4Aton(s)?.join('.')
  t.equal(v4('192.0.2.1'), '192.0.2.1')
  t.equal(v4('192.000.002.001'), '192.0.2.1', 'leading zeros are octal')
  t.equal(v4('0xC0.0.2.1'), '192.0.2.1', 'hex parts')
  t.equal(v4('3221225985'), '192.0.2.1', 'one 32-bit number')
  t.equal(v4('192.0.513'), '192.0.2.1', 'a.b.c: c is 16 bits')
  t.equal(v4('192.131073'), '192.2.0.1', 'a.b: b is 24 bits')
  t.equal(v4('127.1'), '127.0.0.1')
  t.equal(v4('1.2.3.4 trailing'), '1.2.3.4', 'white space ends the address')
  for (const bad of [
    '',
    '256.0.0.1',
    '1.2.3.4.5',
    '08.0.0.1',
    '0x',
    'a.b.c.d',
    ' 1.2.3.4',
    '1.2.3.4x',
    '4294967296',
    '1.2.3.256',
  ]) {
    t.equal(ipv4Aton(bad), undefined, JSON.stringify(bad))
  }
})

t.test('inet_pton(AF_INET6) spellings', async (t) => {
  const hex = (s: string) => ipv6Pton(s)?.toString('hex')
  t.equal(hex('2001:db8::1'), '20010db8000000000000000000000001')
  t.equal(hex('2001:DB8:0:0:0:0:0:1'), '20010db8000000000000000000000001')
  t.equal(hex('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201')
  t.equal(hex('::'), '0'.repeat(32))
  t.equal(hex('::1'), `${'0'.repeat(31)}1`)
  for (const bad of [
    '',
    ':1',
    '1::2::3',
    '12345::1',
    '::1%eth0',
    '[::1]',
    '::192.000.2.1',
    '1:2:3:4:5:6:7:8:9',
    '2001:db8::1/128',
  ]) {
    t.equal(ipv6Pton(bad), undefined, JSON.stringify(bad))
  }
  t.same(ipBytes('192.000.002.001'), Buffer.from([192, 0, 2, 1]))
})

t.test('dNSName SANs: ASCII case folding, one leftmost wildcard label', async (t) => {
  t.equal(result('db.example.com', '/O=x', 'DNS:DB.Example.com'), 'match')
  t.equal(result('a.example.com', '/O=x', 'DNS:*.example.com'), 'match')
  t.equal(result('example.com', '/O=x', 'DNS:*.example.com'), 'mismatch', 'the wildcard needs a label')
  t.equal(result('a.b.example.com', '/O=x', 'DNS:*.example.com'), 'mismatch', 'the wildcard is one label only')
  t.equal(result('a.example.com', '/O=x', 'DNS:a*.example.com'), 'mismatch', 'only a leading "*." is a wildcard')
  t.equal(result('other.com', '/O=x', 'DNS:example.com'), 'mismatch')
})

t.test('the CN: only the first, only without a SAN of the host type, compared as a name', async (t) => {
  t.equal(result('localhost', '/CN=evil.example/CN=localhost'), 'mismatch', 'two CNs: libpq takes the first')
  t.equal(result('evil.example', '/CN=evil.example/CN=localhost'), 'match')
  t.equal(
    result('localhost', '/CN=localhost+O=x', undefined, ['-multivalue-rdn']),
    'match',
    'a CN inside a multi-valued RDN',
  )
  t.equal(result('db', '/CN=db', 'DNS:other'), 'mismatch', 'a dNSName SAN hides the CN')
  t.equal(result('db', '/CN=db', 'IP:10.0.0.1'), 'match', 'an IP SAN does not hide the CN for a name')
  t.equal(result('10.0.0.1', '/CN=10.0.0.1', 'DNS:x'), 'match', 'a DNS SAN does not hide the CN for an IP host')
  t.equal(result('10.0.0.1', '/CN=10.0.0.1', 'IP:10.0.0.2'), 'mismatch', 'an IP SAN hides the CN for an IP host')
  t.equal(
    result('010.0.0.1', '/CN=10.0.0.1'),
    'mismatch',
    'a CN is a name: another spelling of the address does not match',
  )
})

t.test('case folding is ASCII only (pg_strcasecmp)', async (t) => {
  // U+212A KELVIN SIGN lower-cases to "k" in JavaScript; libpq compares the bytes.
  t.equal(result('kafka.test', '/CN=\u212Aafka.test', undefined, ['-utf8']), 'mismatch')
  t.equal(result('KAFKA.test', '/CN=kafka.TEST'), 'match')
  t.equal(result('k\u00E9.test', '/CN=K\u00C9.test', undefined, ['-utf8']), 'mismatch', 'É is not folded to é')
})

t.test('iPAddress SANs compare as addresses in any spelling libpq parses', async (t) => {
  const san = 'IP:192.0.2.1,IP:2001:DB8::1'
  for (const host of [
    '192.0.2.1',
    '192.000.002.001',
    '0xC0.0.2.1',
    '3221225985',
    '2001:db8::1',
    '2001:DB8:0:0:0:0:0:1',
  ])
    t.equal(result(host, '/O=x', san), 'match', host)
  for (const host of ['192.0.2.2', '192.0.2.1/32', '::1', '2001:db8::1/128'])
    t.equal(result(host, '/O=x', san), 'mismatch', host)
  t.equal(result('192.0.2.1', '/O=x', 'DNS:192.0.2.1'), 'match', 'an address in a dNSName matches by name')
  t.equal(result('192.000.002.001', '/O=x', 'DNS:192.0.2.1'), 'mismatch', '... but only in the same spelling')
})

t.test('names examined and the first name, for libpq-worded messages', async (t) => {
  const check = matchHostname('wrong.test', names('/CN=cn.test', 'DNS:a.test,DNS:b.test,IP:192.0.2.1'))
  t.same(check, { result: 'mismatch', examined: 3, firstName: 'a.test' })
  const ip = matchHostname('wrong.test', names('/O=x', 'IP:2001:DB8::1'))
  t.equal(ip.firstName, '2001:db8::1')
  const none = matchHostname('wrong.test', names('/O=x'))
  t.same(none, { result: 'mismatch', examined: 0, firstName: undefined })
  const cert = selfSigned('/CN=cn.test', 'DNS:a.test,DNS:b.test,DNS:c.test')
  t.throws(() => checkHostname(cert, 'wrong.test'), {
    code: 'HOSTNAME_MISMATCH',
    message: 'server certificate for "a.test" (and 2 other names) does not match host name "wrong.test"',
  })
  t.throws(() => checkHostname(selfSigned('/CN=cn.test'), 'wrong.test'), {
    message: 'server certificate for "cn.test" does not match host name "wrong.test"',
  })
  t.throws(() => checkHostname(selfSigned('/O=x'), 'wrong.test'), {
    message: "could not get server's host name from server certificate",
  })
  t.throws(() => checkHostname(cert, undefined), {
    message: 'host name must be specified for a verified SSL connection',
  })
})

t.test('a name with an embedded NUL, or a BMPString CN, is refused as libpq refuses it', async (t) => {
  const nul = rawNamesCertificate({ dnsNames: ['localhost\u0000.evil.example'] })
  t.same(matchHostname('localhost', certificateNames(Buffer.from(nul.raw))), {
    result: 'error',
    examined: 1,
    firstName: undefined,
    error: "SSL certificate's name contains embedded null",
  })
  // A BMPString holds UCS-2, whose bytes contain NULs: libpq compares the raw bytes and refuses.
  const ucs2 = Buffer.from('localhost', 'utf16le').swap16().toString('binary')
  const bmp = rawNamesCertificate({ commonName: { value: ucs2, tag: forge.asn1.Type.BMPSTRING } })
  t.equal(matchHostname('localhost', certificateNames(Buffer.from(bmp.raw))).result, 'error')
})

t.test('names are read from the test fixtures', async (t) => {
  const cert = new X509Certificate(readFileSync(fixture('server.crt')))
  const n = certificateNames(Buffer.from(cert.raw))
  t.same(
    n.altNames.map((a) => a.type),
    ['dns', 'ip', 'ip'],
  )
  t.equal(n.commonName?.toString(), 'localhost')
  for (const host of ['localhost', '127.0.0.1', '::1', '0x7f.1']) t.equal(matchHostname(host, n).result, 'match', host)
  const other = new X509Certificate(readFileSync(fixture('server-otherhost.crt')))
  t.equal(matchHostname('localhost', certificateNames(Buffer.from(other.raw))).result, 'mismatch')
})

import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { certificateNames, ipBytes, matchHostname } from '../lib/tls/hostname.js'
import { fixture } from '../scripts/harness.js'

const names = (dns: string[], ips: string[] = [], cn: string[] = []) => ({ dnsNames: dns, ipAddresses: ips, commonNames: cn })

t.test('dNSName SANs, case-insensitive, one leading wildcard label', async (t) => {
  t.ok(matchHostname('db.example.com', names(['DB.Example.com'])).matched)
  t.ok(matchHostname('a.example.com', names(['*.example.com'])).matched)
  t.notOk(matchHostname('example.com', names(['*.example.com'])).matched, 'the wildcard needs a label')
  t.notOk(matchHostname('a.b.example.com', names(['*.example.com'])).matched, 'the wildcard is one label only')
  t.notOk(matchHostname('other.com', names(['example.com'])).matched)
})

t.test('the CN is consulted only without a SAN of the host type', async (t) => {
  t.ok(matchHostname('db', names([], [], ['db'])).matched, 'no SAN at all: CN')
  t.notOk(matchHostname('db', names(['other'], [], ['db'])).matched, 'a dNSName SAN hides the CN')
  t.ok(matchHostname('db', names([], ['10.0.0.1'], ['db'])).matched, 'an IP SAN does not hide the CN for a name')
  t.ok(matchHostname('10.0.0.1', names(['x'], [], ['10.0.0.1'])).matched, 'a DNS SAN does not hide the CN for an IP host')
  t.notOk(matchHostname('10.0.0.1', names([], ['10.0.0.2'], ['10.0.0.1'])).matched, 'an IP SAN hides the CN for an IP host')
})

t.test('IP literals compare as addresses', async (t) => {
  t.ok(matchHostname('::1', names([], ['0:0:0:0:0:0:0:1'])).matched)
  t.ok(matchHostname('127.0.0.1', names([], ['127.0.0.1'])).matched)
  t.notOk(matchHostname('127.0.0.2', names([], ['127.0.0.1'])).matched)
  t.ok(matchHostname('127.0.0.1', names(['127.0.0.1'])).matched, 'a dNSName spelling the IP matches (libpq compares names too)')
  t.same(ipBytes('::ffff:1.2.3.4'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]))
  t.equal(ipBytes('not-an-ip'), undefined)
})

t.test('names are read from real certificates', async (t) => {
  const cert = new X509Certificate(readFileSync(fixture('server.crt')))
  const n = certificateNames(cert.subjectAltName, cert.subject)
  t.same(n.dnsNames, ['localhost'])
  t.same(n.commonNames, ['localhost'])
  t.equal(n.ipAddresses.length, 2)
  t.ok(matchHostname('localhost', n).matched)
  t.ok(matchHostname('127.0.0.1', n).matched)
  t.ok(matchHostname('::1', n).matched)
  const other = new X509Certificate(readFileSync(fixture('server-otherhost.crt')))
  t.notOk(matchHostname('localhost', certificateNames(other.subjectAltName, other.subject)).matched)
})

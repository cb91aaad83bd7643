/**
 * Chain verification without a server, on the committed PKI: every failure reason, and OpenSSL's
 * own verdict (`openssl verify`, with -crl_check_all when CRLs are given, as libpq does) on the
 * same files must agree with ours on accept/reject.
 */
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyChain, type ChainResult } from '../lib/tls/chain.js'
import { parseCrl } from '../lib/tls/crl.js'
import { fixture } from '../scripts/harness.js'
import { testCertificate } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-chain-'))
const pemBlocks = (text: string, type: string) => [...text.matchAll(new RegExp(`-----BEGIN ${type}-----[\\s\\S]*?-----END ${type}-----\\n?`, 'g'))].map((m) => m[0])
const certs = (file: string) => pemBlocks(readFileSync(file, 'utf8'), 'CERTIFICATE').map((p) => new X509Certificate(p))
const crls = (file: string) => pemBlocks(readFileSync(file, 'utf8'), 'X509 CRL').map((p) => parseCrl(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64')))

/** A certificate that claims the test CA as issuer but is signed with another key. */
const forgedPath = join(dir, 'forged.crt')
writeFileSync(forgedPath, testCertificate({ cn: 'localhost', issuerCert: fixture('ca.crt'), signingKey: fixture('other-ca.key'), serial: '7777' }).certPem)

interface Case {
  name: string
  presented: string
  roots?: string
  crl?: string
  expect: ChainResult['ok'] | string
}

const CASES: Case[] = [
  { name: 'leaf signed by the root', presented: fixture('server.crt'), expect: true },
  { name: 'leaf + intermediate sent by the server', presented: fixture('server-chain-bundle.crt'), expect: true },
  { name: 'root CA not trusted', presented: fixture('server.crt'), roots: fixture('other-ca.crt'), expect: 'untrusted-root' },
  { name: 'intermediate missing', presented: fixture('server-chain.crt'), expect: 'untrusted-root' },
  { name: 'the wrong intermediate sent', presented: fixture('server-chain.crt') + '+' + fixture('revoked-intermediate-ca.crt'), expect: 'chain-incomplete' },
  { name: 'self-signed certificate', presented: fixture('other-ca.crt'), expect: 'untrusted-root' },
  { name: 'expired', presented: fixture('server-expired.crt'), expect: 'expired' },
  { name: 'not yet valid', presented: fixture('server-not-yet-valid.crt'), expect: 'not-yet-valid' },
  { name: 'forged signature', presented: forgedPath, expect: 'bad-signature' },
  { name: 'issued by a non-CA certificate', presented: fixture('server-by-leaf-bundle.crt'), expect: 'not-a-ca' },
  { name: 'revoked leaf', presented: fixture('server-revoked.crt'), crl: fixture('crl-bundle.crl'), expect: 'revoked' },
  { name: 'revoked intermediate', presented: fixture('server-bad-intermediate-bundle.crt'), crl: fixture('crl-bundle.crl'), expect: 'revoked' },
  { name: 'valid chain, all CRLs', presented: fixture('server-chain-bundle.crt'), crl: fixture('crl-bundle.crl'), expect: true },
  { name: 'valid leaf, root CRL', presented: fixture('server.crt'), crl: fixture('ca-empty.crl'), expect: true },
  { name: 'no CRL from the intermediate (CRL_CHECK_ALL)', presented: fixture('server-chain-bundle.crt'), crl: fixture('ca-revoking.crl'), expect: 'crl-problem' },
  { name: 'expired CRL', presented: fixture('server.crt'), crl: fixture('ca-expired.crl'), expect: 'crl-problem' },
]

const presentedOf = (spec: string) => spec.split('+').flatMap(certs)

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const result = verifyChain({
      presented: presentedOf(c.presented),
      roots: certs(c.roots ?? fixture('ca.crt')),
      ...(c.crl ? { crls: crls(c.crl) } : {}),
    })
    if (c.expect === true) t.ok(result.ok, JSON.stringify(result))
    else {
      t.notOk(result.ok)
      if (!result.ok) {
        t.equal(result.reason, c.expect, result.message)
        if (result.reason === 'revoked') {
          t.match(result.serial, /^[0-9A-F]+$/)
          t.match(result.crlIssuer, /CN=pg-sslmode test root CA/)
        }
      }
    }
  })
}

const openssl = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).stdout.trim()
t.test('OpenSSL agrees on every case (accept or reject)', { skip: openssl ? false : 'openssl CLI not found' }, async (t) => {
  for (const c of CASES) {
    const presented = presentedOf(c.presented)
    const leaf = join(dir, 'leaf.pem')
    const untrusted = join(dir, 'untrusted.pem')
    writeFileSync(leaf, presented[0]!.toString())
    writeFileSync(untrusted, presented.slice(1).map((x) => x.toString()).join('') || readFileSync(c.roots ?? fixture('ca.crt'), 'utf8'))
    const args = ['verify', '-CAfile', c.roots ?? fixture('ca.crt'), '-untrusted', untrusted, ...(c.crl ? ['-crl_check_all', '-CRLfile', c.crl] : []), leaf]
    const accepted = spawnSync(openssl, args, { encoding: 'utf8' }).status === 0
    t.equal(accepted, c.expect === true, `${c.name}: openssl ${accepted ? 'accepts' : 'rejects'}`)
  }
  t.ok(execFileSync(openssl, ['version'], { encoding: 'utf8' }))
})

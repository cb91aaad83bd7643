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
import { verifyChain, type ChainResult } from '../lib/engine/tls/chain.js'
import { parseCrl } from '../lib/engine/tls/crl.js'
import { loadForge } from '../lib/engine/tls/forge.js'
import { fixture } from '../scripts/harness.js'
import { testCertificate } from './support.js'
import { suitePki } from '../scripts/ssl-suite-pki.js'

// CRLs are read with node-forge, which pg-sslmode loads only when a CRL is read (lib/engine/tls/forge.ts).
await loadForge()

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-chain-'))
const pemBlocks = (text: string, type: string) =>
  [...text.matchAll(new RegExp(`-----BEGIN ${type}-----[\\s\\S]*?-----END ${type}-----\\n?`, 'g'))].map((m) => m[0])
const certs = (file: string) => pemBlocks(readFileSync(file, 'utf8'), 'CERTIFICATE').map((p) => new X509Certificate(p))
const crls = (file: string) =>
  pemBlocks(readFileSync(file, 'utf8'), 'X509 CRL').map((p) =>
    parseCrl(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64')),
  )

/** A certificate that claims the test CA as issuer but is signed with another key. */
const forgedPath = join(dir, 'forged.crt')
writeFileSync(
  forgedPath,
  testCertificate({
    cn: 'localhost',
    issuerCert: fixture('ca.crt'),
    signingKey: fixture('other-ca.key'),
    serial: '7777',
  }).certPem,
)

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
  {
    name: 'root CA not trusted',
    presented: fixture('server.crt'),
    roots: fixture('other-ca.crt'),
    expect: 'untrusted-root',
  },
  { name: 'intermediate missing', presented: fixture('server-chain.crt'), expect: 'untrusted-root' },
  {
    name: 'the wrong intermediate sent',
    presented: `${fixture('server-chain.crt')}|${fixture('revoked-intermediate-ca.crt')}`,
    expect: 'chain-incomplete',
  },
  { name: 'self-signed certificate', presented: fixture('other-ca.crt'), expect: 'untrusted-root' },
  { name: 'expired', presented: fixture('server-expired.crt'), expect: 'expired' },
  { name: 'not yet valid', presented: fixture('server-not-yet-valid.crt'), expect: 'not-yet-valid' },
  { name: 'forged signature', presented: forgedPath, expect: 'bad-signature' },
  { name: 'issued by a non-CA certificate', presented: fixture('server-by-leaf-bundle.crt'), expect: 'not-a-ca' },
  { name: 'revoked leaf', presented: fixture('server-revoked.crt'), crl: fixture('crl-bundle.crl'), expect: 'revoked' },
  {
    name: 'revoked intermediate',
    presented: fixture('server-bad-intermediate-bundle.crt'),
    crl: fixture('crl-bundle.crl'),
    expect: 'revoked',
  },
  {
    name: 'valid chain, all CRLs',
    presented: fixture('server-chain-bundle.crt'),
    crl: fixture('crl-bundle.crl'),
    expect: true,
  },
  { name: 'valid leaf, root CRL', presented: fixture('server.crt'), crl: fixture('ca-empty.crl'), expect: true },
  {
    name: 'no CRL from the intermediate (CRL_CHECK_ALL)',
    presented: fixture('server-chain-bundle.crt'),
    crl: fixture('ca-revoking.crl'),
    expect: 'crl-problem',
  },
  { name: 'expired CRL', presented: fixture('server.crt'), crl: fixture('ca-expired.crl'), expect: 'crl-problem' },
]

/** Several files: joined with '|' (suite file names contain '+'). */
const presentedOf = (spec: string) => spec.split('|').flatMap(certs)

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
t.test(
  'OpenSSL agrees on every case (accept or reject)',
  { skip: openssl ? false : 'openssl CLI not found' },
  async (t) => {
    for (const c of CASES) {
      const presented = presentedOf(c.presented)
      const leaf = join(dir, 'leaf.pem')
      const untrusted = join(dir, 'untrusted.pem')
      writeFileSync(leaf, presented[0]!.toString())
      writeFileSync(
        untrusted,
        presented
          .slice(1)
          .map((x) => x.toString())
          .join('') || readFileSync(c.roots ?? fixture('ca.crt'), 'utf8'),
      )
      const args = [
        'verify',
        '-CAfile',
        c.roots ?? fixture('ca.crt'),
        '-untrusted',
        untrusted,
        ...(c.crl ? ['-crl_check_all', '-CRLfile', c.crl] : []),
        leaf,
      ]
      const accepted = spawnSync(openssl, args, { encoding: 'utf8' }).status === 0
      t.equal(accepted, c.expect === true, `${c.name}: openssl ${accepted ? 'accepts' : 'rejects'}`)
    }
    t.ok(execFileSync(openssl, ['version'], { encoding: 'utf8' }))
  },
)

/**
 * The same on PostgreSQL's SSL suite hierarchy (scripts/ssl-suite-pki.ts): the root file holds the
 * root and the server CA, the server sends only its leaf, and CRLs come from both CAs — the setup
 * where an early walk stopped at the intermediate found in the root file. And the CRL cases the
 * suite lacks: a stale CRL before the current one, other signature algorithms, a respelled issuer.
 */
const suite = suitePki()
const S = (name: string) => suite.file(name)
const SUITE_CASES: Case[] = [
  {
    name: 'suite: root + server CA in the root file, leaf only',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    expect: true,
  },
  {
    name: 'suite: root file with only the server CA (not self-signed)',
    presented: S('server-cn-only.crt'),
    roots: S('server_ca.crt'),
    expect: 'chain-incomplete',
  },
  {
    name: 'suite: root file with only the root (intermediate not sent)',
    presented: S('server-cn-only.crt'),
    roots: S('root_ca.crt'),
    expect: 'untrusted-root',
  },
  {
    name: 'suite: root only, intermediate sent',
    presented: S('server-cn-only+server_ca.crt'),
    roots: S('root_ca.crt'),
    expect: true,
  },
  { name: 'suite: both CAs, order 1', presented: S('server-cn-only.crt'), roots: S('both-cas-1.crt'), expect: true },
  { name: 'suite: both CAs, order 2', presented: S('server-cn-only.crt'), roots: S('both-cas-2.crt'), expect: true },
  {
    name: 'suite: wrong root (client CA)',
    presented: S('server-cn-only.crt'),
    roots: S('client_ca.crt'),
    expect: 'untrusted-root',
  },
  {
    name: 'suite: CRLs for root and server CA, intermediate in the root file',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server.crl'),
    expect: true,
  },
  {
    name: 'suite: the same, revoked leaf',
    presented: S('server-revoked.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server.crl'),
    expect: 'revoked',
  },
  {
    name: 'suite: a CRL of another CA only',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('client.crl'),
    expect: 'crl-problem',
  },
  {
    name: 'a stale CRL before the current one',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-stale-first.crl'),
    expect: true,
  },
  {
    name: 'a stale CRL before the current one, revoked leaf',
    presented: S('server-revoked.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-stale-first.crl'),
    expect: 'revoked',
  },
  {
    name: 'only a stale CRL',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: `${S('root.crl')}|${S('server-stale.crl')}`,
    expect: 'crl-problem',
  },
  {
    name: 'CRL signed with RSA-PSS',
    presented: S('server-revoked.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-pss.crl'),
    expect: 'revoked',
  },
  {
    name: 'CRL signed with RSA-PSS, valid leaf',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-pss.crl'),
    expect: true,
  },
  {
    name: 'CRL signed with SHA-224',
    presented: S('server-revoked.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-sha224.crl'),
    expect: 'revoked',
  },
  {
    name: 'Ed25519 CA and CRL',
    presented: S('server-ed-chain.crt'),
    roots: S('root+ed_ca.crt'),
    crl: S('root+ed.crl'),
    expect: true,
  },
  {
    name: 'CRL whose issuer name is spelled differently',
    presented: S('server-revoked.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-respelled.crl'),
    expect: 'revoked',
  },
  {
    name: 'CRL whose issuer name is spelled differently, valid leaf',
    presented: S('server-cn-only.crt'),
    roots: S('root+server_ca.crt'),
    crl: S('root+server-respelled.crl'),
    expect: true,
  },
]

const crlsOf = (spec: string) => spec.split('|').flatMap(crls)
t.test('on the SSL suite hierarchy, our walk explains and OpenSSL agrees', async (t) => {
  for (const c of SUITE_CASES) {
    const result = verifyChain({
      presented: presentedOf(c.presented),
      roots: certs(c.roots!),
      ...(c.crl ? { crls: crlsOf(c.crl) } : {}),
    })
    t.equal(result.ok ? true : result.reason, c.expect, `${c.name}${result.ok ? '' : `: ${result.message}`}`)
    if (!openssl) continue
    const presented = presentedOf(c.presented)
    const leaf = join(dir, 'suite-leaf.pem')
    writeFileSync(leaf, presented[0]!.toString())
    const untrusted = presented.length > 1 ? ['-untrusted', c.presented] : []
    const crlArgs = c.crl ? ['-crl_check_all', ...c.crl.split('|').flatMap((f) => ['-CRLfile', f])] : []
    const accepted =
      spawnSync(openssl, ['verify', '-CAfile', c.roots!, ...untrusted, ...crlArgs, leaf], { encoding: 'utf8' })
        .status === 0
    t.equal(accepted, c.expect === true, `${c.name}: openssl ${accepted ? 'accepts' : 'rejects'}`)
  }
})

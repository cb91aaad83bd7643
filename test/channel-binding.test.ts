/**
 * tls-server-end-point data (RFC 5929) for certificates of each signature algorithm, made here by
 * the openssl command line: the certificate hashed with its signature's hash, SHA-256 for MD5 and
 * SHA-1, the hash in the parameters for RSASSA-PSS (SHA-1, so SHA-256, when they name none), and
 * libpq's refusal for Ed25519, which has no separate hash.
 */
import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import { serverEndPointHash } from '../lib/engine/tls/channel-binding.js'

const dir = mkdtempSync(join(tmpdir(), 'channel-binding-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** A self-signed certificate's DER: `keyArgs` make the key, `signArgs` choose how it is signed. */
function certificate(name: string, keyArgs: string[], signArgs: string[]): Buffer {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'pipe' })
  execFileSync(
    'openssl',
    ['req', '-new', '-x509', '-key', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '1', ...signArgs],
    {
      stdio: 'pipe',
    },
  )
  return Buffer.from(new X509Certificate(readFileSync(cert)).raw)
}

const rsa = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
const pss = (digest: string) => ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-1', `-${digest}`]

t.test('the hash of the signature, SHA-256 in place of MD5 and SHA-1', async (t) => {
  for (const [name, keyArgs, signArgs, hash] of [
    ['rsa-sha256', rsa, ['-sha256'], 'sha256'],
    ['rsa-sha512', rsa, ['-sha512'], 'sha512'],
    ['rsa-sha1', rsa, ['-sha1'], 'sha256'],
    ['ecdsa-sha384', ec, ['-sha384'], 'sha384'],
    ['rsa-pss-sha384', rsa, pss('sha384'), 'sha384'],
    ['rsa-pss-sha256', rsa, pss('sha256'), 'sha256'],
  ] as const) {
    const der = certificate(name, [...keyArgs], [...signArgs])
    t.same(serverEndPointHash(der), createHash(hash).update(der).digest(), `${name}: ${hash}`)
  }
})

t.test("Ed25519 and an unreadable certificate are refused with libpq's words", async (t) => {
  const ed = certificate('ed25519', ['-algorithm', 'ED25519'], [])
  for (const [der, message] of [
    [ed, 'could not find digest for NID UNDEF'],
    [Buffer.from('not a certificate'), 'could not determine server certificate signature algorithm'],
  ] as const) {
    try {
      serverEndPointHash(der)
      t.fail(`${message}: refused`)
    } catch (error) {
      t.ok(error instanceof PgSslError, 'a coded error')
      t.match(error, { code: 'UNSUPPORTED_AUTH', message, hint: /channel_binding=disable/ })
    }
  }
})

/**
 * Generates the test PKI under fixtures/pki with node-forge. The output is committed, so tests
 * do not depend on this script's randomness; run it again (`npm run fixtures`) only to renew.
 *
 *   ca.crt / ca.key                 root CA "pg-sslmode test root CA"
 *   server.crt / server.key         CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1 (by ca)
 *   server-otherhost.crt / .key     CN=db.example.com, SAN DNS:db.example.com (by ca)
 *   server-expired.crt / .key       like server.crt, validity ended in 2021 (by ca)
 *   client.crt / client.key         CN=app, the database user of the tests (by ca)
 *   client-encrypted.key            client.key as encrypted PKCS#8, passphrase in PASSPHRASE below
 *   other-ca.crt / other-ca.key     an unrelated root CA, for "wrong CA" tests
 *   other-client.crt / .key         CN=app signed by other-ca (a client certificate the server must refuse)
 */
import forge from 'node-forge'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const { pki } = forge
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pki')

/** The test passphrase of client-encrypted.key. A fixture, not a secret. */
export const PASSPHRASE = 'fixture-passphrase'

interface Issued {
  cert: forge.pki.Certificate
  keys: forge.pki.rsa.KeyPair
}

let serial = 0x1000

function makeCert(opts: {
  cn: string
  issuer?: Issued
  ca?: boolean
  san?: Array<{ type: 2 | 7; value?: string; ip?: string }>
  notBefore?: Date
  notAfter?: Date
  clientAuth?: boolean
}): Issued {
  const keys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 })
  const cert = pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = (serial++).toString(16).padStart(4, '0')
  cert.validity.notBefore = opts.notBefore ?? new Date('2025-01-01T00:00:00Z')
  cert.validity.notAfter = opts.notAfter ?? new Date('2125-01-01T00:00:00Z')
  const subject = [
    { name: 'commonName', value: opts.cn },
    { name: 'organizationName', value: 'pg-sslmode tests' },
  ]
  cert.setSubject(subject)
  cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : subject)
  const extensions: object[] = [{ name: 'subjectKeyIdentifier' }]
  if (opts.ca) {
    extensions.push({ name: 'basicConstraints', cA: true, critical: true })
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true })
  } else {
    extensions.push({ name: 'basicConstraints', cA: false })
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true })
    extensions.push({ name: 'extKeyUsage', serverAuth: !opts.clientAuth, clientAuth: !!opts.clientAuth })
  }
  if (opts.san) extensions.push({ name: 'subjectAltName', altNames: opts.san })
  if (opts.issuer) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: opts.issuer.cert.generateSubjectKeyIdentifier().getBytes() })
  cert.setExtensions(extensions)
  cert.sign((opts.issuer ?? { keys }).keys.privateKey, forge.md.sha256.create())
  return { cert, keys }
}

function write(name: string, issued: Issued): void {
  writeFileSync(join(OUT, `${name}.crt`), pki.certificateToPem(issued.cert))
  writeFileSync(join(OUT, `${name}.key`), pki.privateKeyToPem(issued.keys.privateKey), { mode: 0o600 })
}

function main(): void {
  mkdirSync(OUT, { recursive: true })
  const ca = makeCert({ cn: 'pg-sslmode test root CA', ca: true })
  const otherCa = makeCert({ cn: 'pg-sslmode unrelated CA', ca: true })
  const localSan: Array<{ type: 2 | 7; value?: string; ip?: string }> = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ]
  write('ca', ca)
  write('other-ca', otherCa)
  write('server', makeCert({ cn: 'localhost', issuer: ca, san: localSan }))
  write('server-otherhost', makeCert({ cn: 'db.example.com', issuer: ca, san: [{ type: 2, value: 'db.example.com' }] }))
  write(
    'server-expired',
    makeCert({ cn: 'localhost', issuer: ca, san: localSan, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') }),
  )
  const client = makeCert({ cn: 'app', issuer: ca, clientAuth: true })
  write('client', client)
  write('other-client', makeCert({ cn: 'app', issuer: otherCa, clientAuth: true }))

  const info = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(client.keys.privateKey))
  const encrypted = pki.encryptPrivateKeyInfo(info, PASSPHRASE, { algorithm: 'aes256' })
  writeFileSync(join(OUT, 'client-encrypted.key'), pki.encryptedPrivateKeyToPem(encrypted), { mode: 0o600 })
  console.log(`fixtures written to ${OUT}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()

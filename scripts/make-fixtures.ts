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
 *   server-revoked.crt / .key       like server.crt, but listed in ca-revoking.crl
 *   ca-revoking.crl                 CRL of ca revoking server-revoked.crt (valid until 2125)
 *   ca-empty.crl                    CRL of ca revoking nothing
 *   crl-dir/ca-revoking.crl         the revoking CRL alone in a directory, for sslcrldir
 *
 * node-forge writes certificates but not CRLs, so the (v1) CRLs are assembled from ASN.1 here.
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

/** A v1 X.509 CRL (RFC 5280 §5.1) issued by `issuer`, revoking the given certificates. */
function makeCrl(issuer: Issued, revoked: forge.pki.Certificate[]): string {
  const { asn1 } = forge
  // RFC 5280: UTCTime up to 2049, GeneralizedTime from 2050.
  const utc = (date: Date) =>
    date.getUTCFullYear() < 2050
      ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
      : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date))
  const algorithm = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.sha256WithRSAEncryption!).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ])
  const entries = revoked.map((cert) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(cert.serialNumber)),
      utc(new Date('2025-06-01T00:00:00Z')),
    ]),
  )
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    algorithm,
    pki.distinguishedNameToAsn1(issuer.cert.subject),
    utc(new Date('2025-06-01T00:00:00Z')),
    utc(new Date('2125-01-01T00:00:00Z')),
    ...(entries.length > 0 ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, entries)] : []),
  ])
  const md = forge.md.sha256.create()
  md.update(asn1.toDer(tbs).getBytes())
  const signature = issuer.keys.privateKey.sign(md)
  const crl = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ])
  return forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() })
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

  const revokedServer = makeCert({ cn: 'localhost', issuer: ca, san: localSan })
  write('server-revoked', revokedServer)
  writeFileSync(join(OUT, 'ca-revoking.crl'), makeCrl(ca, [revokedServer.cert]))
  writeFileSync(join(OUT, 'ca-empty.crl'), makeCrl(ca, []))
  mkdirSync(join(OUT, 'crl-dir'), { recursive: true })
  writeFileSync(join(OUT, 'crl-dir', 'ca-revoking.crl'), makeCrl(ca, [revokedServer.cert]))

  const info = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(client.keys.privateKey))
  const encrypted = pki.encryptPrivateKeyInfo(info, PASSPHRASE, { algorithm: 'aes256' })
  writeFileSync(join(OUT, 'client-encrypted.key'), pki.encryptedPrivateKeyToPem(encrypted), { mode: 0o600 })
  console.log(`fixtures written to ${OUT}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()

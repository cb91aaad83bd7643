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
 *   server-not-yet-valid.crt / .key like server.crt, valid from 2100
 *   server-wildcard.crt / .key      SAN DNS:*.pg-sslmode.test
 *   server-ip.crt / .key            SAN IP:127.0.0.1 only, CN=db.example.com
 *   intermediate-ca.crt / .key      CA signed by ca
 *   revoked-intermediate-ca.crt     CA signed by ca, listed in ca-revoking.crl
 *   server-chain.crt / .key         localhost leaf signed by intermediate-ca (the leaf alone)
 *   server-chain-bundle.crt / .key  the same leaf followed by intermediate-ca (what a server sends)
 *   server-bad-intermediate-bundle  localhost leaf by revoked-intermediate-ca, with that intermediate
 *   server-by-leaf-bundle           localhost leaf "issued" by client.crt, a non-CA certificate
 *   ca-revoking.crl                 CRL of ca revoking server-revoked.crt and revoked-intermediate-ca
 *   ca-empty.crl / ca-expired.crl   CRLs of ca revoking nothing; the second expired in 2024
 *   intermediate.crl, revoked-intermediate.crl   empty CRLs of the two intermediates
 *   crl-dir/                        ca-revoking.crl + both intermediate CRLs, for sslcrldir
 *   crl-bundle.crl                  the same three CRLs in one file
 *   client-legacy.key               client.key as a legacy encrypted PEM (Proc-Type: 4,ENCRYPTED)
 *   dws-sslcert/                    a GaussDB(DWS) console bundle: client.crt, client.key (legacy
 *                                   encrypted), cacert.pem, client.key.cipher, client.key.rand
 *
 * node-forge writes certificates but not CRLs, so the (v1) CRLs are assembled from ASN.1 here.
 */
import forge from 'node-forge'
import { encryptKeyPassphraseBytes } from '../lib/engine/tls/gauss-cipher.js'
import { nameHash } from '../lib/engine/tls/der.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const { pki } = forge
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pki')

/** The test passphrase of client-encrypted.key and client-legacy.key. A fixture, not a secret. */
export const PASSPHRASE = 'fixture-passphrase'
/** The passphrase of dws-sslcert/client.key, also held by its .cipher/.rand pair. */
export const DWS_PASSPHRASE = 'Gauss@123'

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
  if (opts.issuer)
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: opts.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    })
  cert.setExtensions(extensions)
  cert.sign((opts.issuer ?? { keys }).keys.privateKey, forge.md.sha256.create())
  return { cert, keys }
}

function writeBundle(name: string, leaf: Issued, chain: Issued[]): void {
  writeFileSync(join(OUT, `${name}.crt`), [leaf, ...chain].map((c) => pki.certificateToPem(c.cert)).join(''))
  writeFileSync(join(OUT, `${name}.key`), pki.privateKeyToPem(leaf.keys.privateKey), { mode: 0o600 })
}

function write(name: string, issued: Issued): void {
  writeFileSync(join(OUT, `${name}.crt`), pki.certificateToPem(issued.cert))
  writeFileSync(join(OUT, `${name}.key`), pki.privateKeyToPem(issued.keys.privateKey), { mode: 0o600 })
}

/** A v1 X.509 CRL (RFC 5280 §5.1) issued by `issuer`, revoking the given certificates. */
function makeCrl(
  issuer: Issued,
  revoked: forge.pki.Certificate[],
  nextUpdate = new Date('2125-01-01T00:00:00Z'),
  thisUpdate = new Date('2025-06-01T00:00:00Z'),
): string {
  const { asn1 } = forge
  // RFC 5280: UTCTime up to 2049, GeneralizedTime from 2050.
  const utc = (date: Date) =>
    date.getUTCFullYear() < 2050
      ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
      : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date))
  const algorithm = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(
      asn1.Class.UNIVERSAL,
      asn1.Type.OID,
      false,
      asn1.oidToDer(pki.oids.sha256WithRSAEncryption!).getBytes(),
    ),
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
    utc(thisUpdate),
    utc(nextUpdate),
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
    makeCert({
      cn: 'localhost',
      issuer: ca,
      san: localSan,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    }),
  )
  const client = makeCert({ cn: 'app', issuer: ca, clientAuth: true })
  write('client', client)
  writeBundle('server-by-leaf-bundle', makeCert({ cn: 'localhost', issuer: client, san: localSan }), [client])
  write('other-client', makeCert({ cn: 'app', issuer: otherCa, clientAuth: true }))

  const revokedServer = makeCert({ cn: 'localhost', issuer: ca, san: localSan })
  write('server-revoked', revokedServer)
  write(
    'server-not-yet-valid',
    makeCert({ cn: 'localhost', issuer: ca, san: localSan, notBefore: new Date('2100-01-01T00:00:00Z') }),
  )
  write(
    'server-wildcard',
    makeCert({ cn: '*.pg-sslmode.test', issuer: ca, san: [{ type: 2, value: '*.pg-sslmode.test' }] }),
  )
  write('server-ip', makeCert({ cn: 'db.example.com', issuer: ca, san: [{ type: 7, ip: '127.0.0.1' }] }))

  const intermediate = makeCert({ cn: 'pg-sslmode test intermediate CA', issuer: ca, ca: true })
  const revokedIntermediate = makeCert({ cn: 'pg-sslmode revoked intermediate CA', issuer: ca, ca: true })
  write('intermediate-ca', intermediate)
  write('revoked-intermediate-ca', revokedIntermediate)
  const chainLeaf = makeCert({ cn: 'localhost', issuer: intermediate, san: localSan })
  write('server-chain', chainLeaf)
  writeBundle('server-chain-bundle', chainLeaf, [intermediate])
  writeBundle(
    'server-bad-intermediate-bundle',
    makeCert({ cn: 'localhost', issuer: revokedIntermediate, san: localSan }),
    [revokedIntermediate],
  )

  const revoking = makeCrl(ca, [revokedServer.cert, revokedIntermediate.cert])
  const intermediateCrl = makeCrl(intermediate, [])
  const revokedIntermediateCrl = makeCrl(revokedIntermediate, [])
  writeFileSync(join(OUT, 'ca-revoking.crl'), revoking)
  writeFileSync(join(OUT, 'ca-empty.crl'), makeCrl(ca, []))
  writeFileSync(
    join(OUT, 'ca-expired.crl'),
    makeCrl(ca, [], new Date('2024-06-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z')),
  )
  writeFileSync(join(OUT, 'intermediate.crl'), intermediateCrl)
  writeFileSync(join(OUT, 'revoked-intermediate.crl'), revokedIntermediateCrl)
  writeFileSync(join(OUT, 'crl-bundle.crl'), revoking + intermediateCrl + revokedIntermediateCrl)
  // A hashed directory as `openssl rehash` makes it: <issuer name hash>.r0 (OpenSSL reads no other names).
  mkdirSync(join(OUT, 'crl-dir'), { recursive: true })
  for (const [issuer, crl] of [
    [ca, revoking],
    [intermediate, intermediateCrl],
    [revokedIntermediate, revokedIntermediateCrl],
  ] as const) {
    const subject = Buffer.from(forge.asn1.toDer(pki.distinguishedNameToAsn1(issuer.cert.subject)).getBytes(), 'binary')
    writeFileSync(join(OUT, 'crl-dir', `${nameHash(subject)}.r0`), crl)
  }

  const info = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(client.keys.privateKey))
  const encrypted = pki.encryptPrivateKeyInfo(info, PASSPHRASE, { algorithm: 'aes256' })
  writeFileSync(join(OUT, 'client-encrypted.key'), pki.encryptedPrivateKeyToPem(encrypted), { mode: 0o600 })
  writeFileSync(
    join(OUT, 'client-legacy.key'),
    pki.encryptRsaPrivateKey(client.keys.privateKey, PASSPHRASE, { legacy: true, algorithm: 'aes128' }),
    { mode: 0o600 },
  )

  // The DWS console bundle: client.key encrypted with a passphrase held by .cipher/.rand.
  const dws = join(OUT, '..', 'dws-sslcert')
  mkdirSync(dws, { recursive: true })
  writeFileSync(join(dws, 'client.crt'), pki.certificateToPem(client.cert))
  writeFileSync(
    join(dws, 'client.key'),
    pki.encryptRsaPrivateKey(client.keys.privateKey, DWS_PASSPHRASE, { legacy: true, algorithm: 'aes256' }),
    { mode: 0o600 },
  )
  writeFileSync(join(dws, 'cacert.pem'), pki.certificateToPem(ca.cert))
  const pair = encryptKeyPassphraseBytes(DWS_PASSPHRASE)
  writeFileSync(join(dws, 'client.key.cipher'), pair.cipher, { mode: 0o600 })
  writeFileSync(join(dws, 'client.key.rand'), pair.rand, { mode: 0o600 })
  console.log(`fixtures written to ${OUT}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()

/**
 * Certificates made at test time (not a test file itself): with the openssl command line, so that
 * names are encoded as OpenSSL encodes them, or with node-forge for encodings openssl will not
 * write (a name holding a NUL, a BMPString common name).
 */
import { X509Certificate } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import forge from 'node-forge'

let workDir: string | undefined
function work(): { dir: string; key: string } {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), 'pg-sslmode-certs-'))
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(workDir, 'key.pem')],
      { stdio: 'pipe' },
    )
  }
  return { dir: workDir, key: join(workDir, 'key.pem') }
}

let serial = 0
/**
 * A self-signed certificate with this subject ("/CN=a/O=b"), optional subjectAltName ("DNS:a,IP:1.2.3.4") and extra
 * `openssl req` arguments.
 */
export function selfSigned(subject: string, subjectAltName?: string, extraArgs: string[] = []): X509Certificate {
  const { dir, key } = work()
  const out = join(dir, `cert-${++serial}.pem`)
  const args = ['req', '-x509', '-key', key, '-out', out, '-days', '2', '-subj', subject, ...extraArgs]
  if (subjectAltName) args.push('-addext', `subjectAltName=${subjectAltName}`)
  execFileSync('openssl', args, { stdio: 'pipe' })
  return new X509Certificate(readFileSync(out))
}

/** A self-signed RSA certificate whose names are written byte for byte as given (forge does not re-encode). */
export function rawNamesCertificate(opts: {
  commonName?: { value: string; tag: number }
  dnsNames?: string[]
}): X509Certificate {
  const keys = forge.pki.rsa.generateKeyPair(1024)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '01'
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 86_400_000)
  const subject = opts.commonName
    ? [{ name: 'commonName', value: opts.commonName.value, valueTagClass: opts.commonName.tag }]
    : [{ name: 'organizationName', value: 'x' }]
  cert.setSubject(subject as forge.pki.CertificateField[])
  cert.setIssuer(subject as forge.pki.CertificateField[])
  if (opts.dnsNames)
    cert.setExtensions([{ name: 'subjectAltName', altNames: opts.dnsNames.map((value) => ({ type: 2, value })) }])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return new X509Certificate(forge.pki.certificateToPem(cert))
}

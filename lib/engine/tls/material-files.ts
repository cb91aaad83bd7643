/**
 * Loading the certificate material a connection names (material.ts says what is loaded and why):
 * root CA (a file, a CA directory, the system store, pg's ssl.ca), CRL(s), client certificate and
 * key, in that order as libpq loads them. Loaded only for a connection that names any of them.
 */
import type { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PgSslError } from '../errors.js'
import { loadCrlDirectory, loadRootCertDirectory } from './cert-directories.js'
import { crlCheckingMarker, type ParsedCrl } from './crl.js'
import { loadForge } from './forge.js'
import { fingerprintSecret, inlineEntry, parsedOnce, readCached } from './file-cache.js'
import { decryptKeyPassphrase } from './gauss-cipher.js'
import { checkPermissions, type FilePermissionRule } from './permissions.js'
import { certificates, crls, isEncryptedKey, privateKey, x509s } from './pem.js'
import { loadSystemStore, type TrustStoreEnvironment } from './system-store.js'

/** Where the root certificates for verification come from: a file, the system store, or none. */
export type RootCertSource = 'file' | 'system' | 'none'

/** Certificate material given as contents (pg's ssl option: ca, cert, key, crl) and its servername. */
export interface InlineMaterial {
  readonly ca?: readonly Buffer[]
  readonly cert?: Buffer
  /** Never enumerable on the settings: it must not be logged. */
  readonly key?: Buffer
  readonly crl?: readonly Buffer[]
  readonly servername?: string
}

export interface TlsMaterial {
  readonly rootCert: RootCertSource
  /** Trusted roots: PEM/DER buffers, or the system list. */
  readonly ca?: readonly (Buffer | string)[]
  /** The same roots, parsed, for our chain verification. */
  readonly roots?: readonly X509Certificate[]
  readonly crl?: readonly Buffer[]
  /** The same CRLs, parsed. */
  readonly crlList?: readonly ParsedCrl[]
  readonly cert?: Buffer
  /** The client certificate file, parsed (leaf first); the same objects while the file is unchanged. */
  readonly clientChain?: readonly X509Certificate[]
  /** The decrypted client key (PKCS#8 PEM), non-enumerable so it cannot be logged by accident. */
  readonly key?: Buffer
  /** Files, for the report and errors. */
  readonly files: Readonly<{
    sslrootcert?: string
    sslrootcertdir?: string
    sslcrl?: string
    sslcrldir?: string
    sslcert?: string
    sslkey?: string
    keyPassphrase?: string
  }>
}

export interface MaterialRequest {
  sslrootcert?: string
  /**
   * A directory of trusted CA certificates named by subject hash (`<hash>.N`, as `openssl rehash`
   * makes them) — MySQL's ssl-capath. Added to the roots of sslrootcert.
   */
  sslrootcertdir?: string
  sslcrl?: string
  sslcrldir?: string
  sslcert?: string
  sslkey?: string
  /** Never logged or put in a message. */
  sslpassword?: string
  /** sslcertmode=disable: never send a client certificate. */
  sendClientCertificate: boolean
  /** Whether `sslrootcert=system` means the system store (libpq 16+) or a file named "system". */
  systemRootCert: boolean
  /** SSL_CERT_FILE / SSL_CERT_DIR, which move the system store as they do for OpenSSL. */
  trustStoreEnv?: TrustStoreEnvironment
  /** Material given as contents (pg's ssl option): used instead of the files. */
  inline?: InlineMaterial
  /** Which files must be private (tls/permissions.ts). */
  filePermissions: FilePermissionRule
  /**
   * openGauss/GaussDB: when the key is encrypted and no sslpassword is given, take the passphrase
   * from <user>.key.cipher/.rand (else client.key.cipher/.rand) beside the client certificate.
   */
  cipherFilesFor?: { user: string }
}

/** The GaussDB bundle's passphrase files: <user>.key.cipher first, then client.key.cipher. */
async function passphraseFromCipherFiles(
  dir: string,
  user: string,
): Promise<{ passphrase: string; cipherFile: string } | undefined> {
  for (const prefix of [user, 'client']) {
    const cipherFile = join(dir, `${prefix}.key.cipher`)
    const randFile = join(dir, `${prefix}.key.rand`)
    let cipher: Buffer
    let rand: Buffer
    try {
      ;[cipher, rand] = await Promise.all([readFile(cipherFile), readFile(randFile)])
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw new PgSslError(
        'FILE_UNREADABLE',
        `could not read "${cipherFile}" / "${randFile}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        { setting: 'sslkey', file: cipherFile },
      )
    }
    return { passphrase: decryptKeyPassphrase(cipher, rand, { cipher: cipherFile, rand: randFile }), cipherFile }
  }
  return undefined
}

/** The material `request` names, loaded and checked. */
export async function loadMaterialFiles(request: MaterialRequest): Promise<TlsMaterial> {
  const files: Record<string, string> = {}
  const roots = await rootsFor(request, files)
  const crl = roots.rootCert === 'file' ? await crlsFor(request, files) : undefined
  const client = await clientCertificateFor(request, files)
  const material: TlsMaterial = {
    rootCert: roots.rootCert,
    ...(roots.ca ? { ca: roots.ca } : {}),
    ...(roots.x509 ? { roots: roots.x509 } : {}),
    // With CRL checking on but no CRL found, Node is given a marker CRL so that it checks (and fails) as libpq does.
    ...(crl
      ? { crl: crl.length > 0 ? crl.map((c) => c.raw) : [crlCheckingMarker()], crlList: crl.map((c) => c.parsed) }
      : {}),
    ...(client ? { cert: client.cert, clientChain: client.chain } : {}),
    files,
  }
  if (client) Object.defineProperty(material, 'key', { value: client.key, enumerable: false })
  return material
}

interface Roots {
  readonly rootCert: RootCertSource
  readonly ca?: (Buffer | string)[]
  readonly x509?: X509Certificate[]
}

/** The root certificates: pg's ssl.ca, the system store, or sslrootcert; and a CA directory's. */
async function rootsFor(request: MaterialRequest, files: Record<string, string>): Promise<Roots> {
  let roots: Roots = { rootCert: 'none' }
  if (request.inline?.ca) {
    const entry = inlineEntry(Buffer.concat(request.inline.ca.flatMap((pem) => [pem, Buffer.from('\n')])))
    roots = { rootCert: 'file', ca: certificates(entry, 'ssl.ca', 'ssl.ca'), x509: x509s(entry, 'ssl.ca', 'ssl.ca') }
    files.sslrootcert = "ssl.ca (pg's ssl option)"
  } else if (request.sslrootcert === 'system' && request.systemRootCert) {
    const store = loadSystemStore(request.trustStoreEnv ?? {})
    roots = { rootCert: 'system', ca: [...store.pems], x509: [...store.roots] }
    files.sslrootcert = store.description
  } else if (request.sslrootcert !== undefined) {
    const path = request.sslrootcert
    const entry = readCached(path, 'sslrootcert')
    checkPermissions(path, 'sslrootcert', entry, request.filePermissions)
    roots = { rootCert: 'file', ca: certificates(entry, 'sslrootcert', path), x509: x509s(entry, 'sslrootcert', path) }
    files.sslrootcert = path
  }
  if (request.sslrootcertdir !== undefined) {
    const fromDir = await loadRootCertDirectory(request.sslrootcertdir)
    roots = {
      rootCert: 'file',
      ca: [...(roots.ca ?? []), ...fromDir.map((c) => c.pem)],
      x509: [...(roots.x509 ?? []), ...fromDir.map((c) => c.x509)],
    }
    files.sslrootcertdir = request.sslrootcertdir
  }
  return roots
}

/**
 * libpq loads CRLs only together with a root CA file (into the same X509 store; not with
 * sslrootcert=system), and then checks every certificate of the chain. CRLs inside the root file
 * itself are in that store too (SSL_CTX_load_verify_locations reads both). Undefined: no CRL
 * checking.
 */
async function crlsFor(
  request: MaterialRequest,
  files: Record<string, string>,
): Promise<Array<{ raw: Buffer; parsed: ParsedCrl }> | undefined> {
  if (request.sslcrl === undefined && request.sslcrldir === undefined && !request.inline?.crl) return undefined
  await loadForge()
  const crl: Array<{ raw: Buffer; parsed: ParsedCrl }> = []
  for (const pem of request.inline?.crl ?? []) crl.push(...crls(inlineEntry(pem), 'ssl.crl', 'ssl.crl'))
  if (request.inline?.crl) files.sslcrl = "ssl.crl (pg's ssl option)"
  if (request.sslcrl !== undefined) {
    crl.push(...crls(readCached(request.sslcrl, 'sslcrl'), 'sslcrl', request.sslcrl))
    files.sslcrl = request.sslcrl
  }
  if (request.sslcrldir !== undefined) {
    crl.push(...(await loadCrlDirectory(request.sslcrldir)))
    files.sslcrldir = request.sslcrldir
  }
  const rootEntry =
    request.inline?.ca || request.sslrootcert === undefined ? undefined : readCached(request.sslrootcert, 'sslrootcert')
  if (rootEntry?.data.includes('-----BEGIN X509 CRL-----'))
    crl.push(...crls(rootEntry, 'sslrootcert', request.sslrootcert!))
  return crl
}

interface ClientCertificate {
  readonly cert: Buffer
  readonly chain: X509Certificate[]
  /** PEM: node:tls takes PEM, not a KeyObject. */
  readonly key: Buffer
}

/** The client certificate and its key, from files (permissions checked) or from pg's ssl option. */
async function clientCertificateFor(
  request: MaterialRequest,
  files: Record<string, string>,
): Promise<ClientCertificate | undefined> {
  const inlineCert = request.inline?.cert
  if (!request.sendClientCertificate || (!inlineCert && request.sslcert === undefined)) return undefined
  const certName = inlineCert ? 'ssl.cert' : request.sslcert!
  const certEntry = inlineCert ? inlineEntry(inlineCert) : readCached(certName, 'sslcert')
  if (!inlineCert) checkPermissions(certName, 'sslcert', certEntry, request.filePermissions)
  const chain = x509s(certEntry, inlineCert ? 'ssl.cert' : 'sslcert', certName)
  files.sslcert = inlineCert ? "ssl.cert (pg's ssl option)" : certName
  const inlineKey = inlineCert ? request.inline?.key : undefined
  if (inlineCert ? inlineKey === undefined : request.sslkey === undefined) {
    throw new PgSslError(
      'FILE_NOT_FOUND',
      `certificate present, but not private key file (client certificate "${certName}")`,
      {
        setting: inlineCert ? 'ssl.key' : 'sslkey',
        hint: inlineCert
          ? "give ssl.key next to ssl.cert in pg's ssl option"
          : 'set sslkey (or PGSSLKEY) to the private key of the client certificate',
      },
    )
  }
  const keyName = inlineKey ? 'ssl.key' : request.sslkey!
  const keyEntry = inlineKey ? inlineEntry(inlineKey) : readCached(keyName, 'sslkey')
  if (!inlineKey) checkPermissions(keyName, 'sslkey', keyEntry, request.filePermissions)
  let passphrase = request.sslpassword
  if (passphrase === undefined && request.cipherFilesFor && !inlineCert && isEncryptedKey(keyEntry.data)) {
    const found = await passphraseFromCipherFiles(dirname(certName), request.cipherFilesFor.user)
    if (found) {
      passphrase = found.passphrase
      files.keyPassphrase = found.cipherFile
    }
  }
  const keyObject = privateKey(keyEntry, keyName, passphrase)
  files.sslkey = inlineKey ? "ssl.key (pg's ssl option)" : keyName
  if (!chain[0]!.checkPrivateKey(keyObject)) {
    throw new PgSslError(
      'KEY_MISMATCH',
      `client private key "${keyName}" does not match client certificate "${certName}"`,
      {
        setting: inlineKey ? 'ssl.key' : 'sslkey',
        ...(inlineKey ? {} : { file: keyName }),
      },
    )
  }
  // Exported once per key file version.
  const key = parsedOnce(keyEntry, `pem:${passphrase === undefined ? 'none' : fingerprintSecret(passphrase)}`, () =>
    Buffer.from(keyObject.export({ format: 'pem', type: 'pkcs8' }) as string),
  )
  return { cert: certEntry.data, chain, key }
}

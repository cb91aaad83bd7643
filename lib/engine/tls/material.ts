/**
 * Certificate material named by the settings: root CA, CRL(s), client certificate and key.
 * Files are read once and cached by path and version (inode, size, times), so a pool of
 * connections opens and fstats the files but does not re-read or re-parse them; a changed file is picked up on the next
 * connection.
 * Problems are reported before any network traffic, naming the file and never its contents.
 */
import { X509Certificate, createHash, createHmac, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PgSslError } from '../errors.js'
import { crlCheckingMarker, parseCrl, type ParsedCrl } from './crl.js'
import { certificateSubjectDer, nameHash } from './der.js'
import { decryptKeyPassphrase } from './gauss-cipher.js'
import { checkPermissions, type FilePermissionRule } from './permissions.js'
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

interface CacheEntry {
  /** Which version of the file this is: device, inode, size, modification and change times. */
  version: string
  mode: number
  uid: number
  data: Buffer
  parsed: Map<string, unknown>
}

const cache = new Map<string, CacheEntry>()

/** Statistics for tests and benchmarks: how often a file was really read and parsed. */
export const materialStats = { reads: 0, parses: 0, secureContexts: 0, verifications: 0 }

/**
 * The file's bytes and metadata from one open descriptor: the permissions checked (fstat) are
 * those of the very file whose bytes are used, so swapping the path between the check and the
 * read changes nothing. The cache keys on inode and change time as well as size and mtime, so a
 * same-size rewrite within the mtime granularity, or a rename over the path, is a new version.
 * Synchronous, like libpq: a few syscalls on a small local file cost microseconds, a thread-pool
 * round trip for them costs more, on every connection.
 */
function readCached(path: string, setting: string): CacheEntry {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PgSslError('FILE_NOT_FOUND', `${describe(setting)} "${path}" does not exist`, {
        setting,
        file: path,
        cause: error,
      })
    }
    throw new PgSslError('FILE_UNREADABLE', `could not open ${describe(setting)} "${path}": ${code ?? 'error'}`, {
      setting,
      file: path,
      cause: error,
    })
  }
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) {
      throw new PgSslError('FILE_UNREADABLE', `${describe(setting)} "${path}" is not a regular file`, {
        setting,
        file: path,
      })
    }
    const version = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`
    const hit = cache.get(path)
    if (hit && hit.version === version) return hit
    let data: Buffer
    try {
      data = readFileSync(fd)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new PgSslError('FILE_UNREADABLE', `could not read ${describe(setting)} "${path}": ${code ?? 'error'}`, {
        setting,
        file: path,
        cause: error,
      })
    }
    materialStats.reads++
    const entry: CacheEntry = { version, mode: info.mode, uid: info.uid, data, parsed: new Map() }
    cache.set(path, entry)
    return entry
  } finally {
    closeSync(fd)
  }
}

const inlineEntries = new Map<string, CacheEntry>()
const MAX_INLINE = 64

/** Material given as contents (pg's ssl option): cached by a hash of the bytes, parsed once. */
function inlineEntry(data: Buffer): CacheEntry {
  const version = createHash('sha256').update(data).digest('base64')
  let entry = inlineEntries.get(version)
  if (!entry) {
    entry = { version, mode: 0o600, uid: process.getuid?.() ?? 0, data, parsed: new Map() }
    if (inlineEntries.size >= MAX_INLINE) inlineEntries.delete(inlineEntries.keys().next().value!)
    inlineEntries.set(version, entry)
  }
  return entry
}

/** Parse once per file version; `kind` separates different parses of the same file. */
function parsedOnce<T>(entry: CacheEntry, kind: string, parse: () => T): T {
  if (entry.parsed.has(kind)) return entry.parsed.get(kind) as T
  materialStats.parses++
  const value = parse()
  entry.parsed.set(kind, value)
  return value
}

function describe(setting: string): string {
  switch (setting) {
    case 'sslrootcert':
      return 'root certificate file'
    case 'sslcrl':
      return 'certificate revocation list file'
    case 'sslcrldir':
      return 'certificate revocation list directory'
    case 'sslrootcertdir':
      return 'root certificate directory'
    case 'sslcert':
      return 'client certificate file'
    case 'sslkey':
      return 'client private key file'
    case 'ssl.ca':
    case 'ssl.cert':
    case 'ssl.key':
    case 'ssl.crl':
      return "pg's ssl option"
    default:
      return setting
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

/** Every certificate in a PEM bundle or a single DER certificate, checked to parse. */
function certificates(entry: CacheEntry, setting: string, path: string): Buffer[] {
  return parsedOnce(entry, 'certificates', () => {
    const text = entry.data.toString('latin1')
    const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE' || m[1] === 'TRUSTED CERTIFICATE')
    const ders = blocks.length > 0 ? blocks.map((m) => Buffer.from(m[0], 'latin1')) : [entry.data]
    for (const item of ders) {
      try {
        new X509Certificate(item)
      } catch (error) {
        throw new PgSslError('INVALID_PEM', `${describe(setting)} "${path}" does not hold a valid certificate`, {
          setting,
          file: path,
          cause: error,
        })
      }
    }
    return ders
  })
}

function crls(entry: CacheEntry, setting: string, path: string): Array<{ raw: Buffer; parsed: ParsedCrl }> {
  return parsedOnce(entry, 'crls', () => {
    const text = entry.data.toString('latin1')
    const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'X509 CRL')
    // PEM blocks, or else the whole file as DER.
    const items =
      blocks.length > 0
        ? blocks.map((m) => ({ raw: Buffer.from(m[0], 'latin1'), der: pemBody(m[0]) }))
        : [{ raw: entry.data, der: entry.data }]
    return items.map(({ raw, der }) => {
      try {
        return { raw, parsed: parseCrl(der) }
      } catch (error) {
        throw new PgSslError('INVALID_PEM', `${describe(setting)} "${path}" does not hold a valid PEM or DER CRL`, {
          setting,
          file: path,
          cause: error,
        })
      }
    })
  })
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, ''), 'base64')
}

function x509s(entry: CacheEntry, setting: string, path: string): X509Certificate[] {
  return parsedOnce(entry, 'x509', () => certificates(entry, setting, path).map((c) => new X509Certificate(c)))
}

function privateKey(entry: CacheEntry, path: string, passphrase: string | undefined): KeyObject {
  // The passphrase is part of what is parsed, but must not be kept as a readable cache key.
  return parsedOnce(entry, `key:${passphrase === undefined ? 'none' : fingerprintSecret(passphrase)}`, () => {
    const pem = entry.data.includes('-----BEGIN')
    // libpq reads the key as PEM and, failing that, as DER (SSL_FILETYPE_ASN1).
    const attempts: Array<Parameters<typeof createPrivateKey>[0]> = pem
      ? [{ key: entry.data, ...(passphrase !== undefined ? { passphrase } : {}) }]
      : (['pkcs8', 'pkcs1', 'sec1'] as const).map((type) => ({
          key: entry.data,
          format: 'der' as const,
          type,
          ...(passphrase !== undefined ? { passphrase } : {}),
        }))
    let firstError: unknown
    for (const attempt of attempts) {
      try {
        return createPrivateKey(attempt)
      } catch (error) {
        firstError ??= error
      }
    }
    const code = (firstError as { code?: string }).code ?? ''
    const message = String((firstError as Error).message)
    // Without a passphrase OpenSSL 3 reports "interrupted or cancelled" (its password prompt gave up).
    const encrypted = isEncryptedKey(entry.data)
    if (
      code === 'ERR_MISSING_PASSPHRASE' ||
      code === 'ERR_OSSL_BAD_DECRYPT' ||
      (encrypted && passphrase === undefined) ||
      /bad decrypt/i.test(message)
    ) {
      throw new PgSslError(
        'KEY_DECRYPT_FAILED',
        passphrase === undefined
          ? `client private key file "${path}" is encrypted and no sslpassword was given`
          : `could not decrypt client private key file "${path}" with the given sslpassword`,
        { setting: 'sslpassword', file: path },
      )
    }
    throw new PgSslError(
      'INVALID_PEM',
      `client private key file "${path}" does not hold a valid private key (PEM, or DER as PKCS#8, PKCS#1 or SEC1)`,
      { setting: 'sslkey', file: path },
    )
  })
}

/** PKCS#8 "ENCRYPTED PRIVATE KEY" or a legacy PEM with "Proc-Type: 4,ENCRYPTED". */
function isEncryptedKey(data: Buffer): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(data.toString('latin1'))
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

/** Per-process key so that the cache can tell passphrases apart without keeping them. */
const CACHE_TAG_KEY = randomBytes(32)

function fingerprintSecret(secret: string): string {
  return createHmac('sha256', CACHE_TAG_KEY).update(secret).digest('base64')
}

export async function loadTlsMaterial(request: MaterialRequest): Promise<TlsMaterial> {
  const files: Record<string, string> = {}
  let rootCert: RootCertSource = 'none'
  let ca: (Buffer | string)[] | undefined
  let roots: X509Certificate[] | undefined
  let crl: Array<{ raw: Buffer; parsed: ParsedCrl }> | undefined

  if (request.inline?.ca) {
    const entry = inlineEntry(Buffer.concat(request.inline.ca.flatMap((pem) => [pem, Buffer.from('\n')])))
    ca = certificates(entry, 'ssl.ca', 'ssl.ca')
    roots = x509s(entry, 'ssl.ca', 'ssl.ca')
    rootCert = 'file'
    files.sslrootcert = "ssl.ca (pg's ssl option)"
  } else if (request.sslrootcert === 'system' && request.systemRootCert) {
    const store = loadSystemStore(request.trustStoreEnv ?? {})
    rootCert = 'system'
    ca = [...store.pems]
    roots = [...store.roots]
    files.sslrootcert = store.description
  } else if (request.sslrootcert !== undefined) {
    const entry = readCached(request.sslrootcert, 'sslrootcert')
    checkPermissions(request.sslrootcert, 'sslrootcert', entry, request.filePermissions)
    ca = certificates(entry, 'sslrootcert', request.sslrootcert)
    roots = x509s(entry, 'sslrootcert', request.sslrootcert)
    rootCert = 'file'
    files.sslrootcert = request.sslrootcert
  }

  if (request.sslrootcertdir !== undefined) {
    const fromDir = await loadRootCertDirectory(request.sslrootcertdir)
    ca = [...(ca ?? []), ...fromDir.map((c) => c.pem)]
    roots = [...(roots ?? []), ...fromDir.map((c) => c.x509)]
    rootCert = 'file'
    files.sslrootcertdir = request.sslrootcertdir
  }

  // libpq loads CRLs only together with a root CA file (into the same X509 store; not with
  // sslrootcert=system), and then checks every certificate of the chain. CRLs inside the root
  // file itself are in that store too (SSL_CTX_load_verify_locations reads both).
  if (rootCert === 'file' && (request.sslcrl !== undefined || request.sslcrldir !== undefined || request.inline?.crl)) {
    crl = []
    for (const pem of request.inline?.crl ?? []) crl.push(...crls(inlineEntry(pem), 'ssl.crl', 'ssl.crl'))
    if (request.inline?.crl) files.sslcrl = "ssl.crl (pg's ssl option)"
    if (request.sslcrl !== undefined) {
      const entry = readCached(request.sslcrl, 'sslcrl')
      crl.push(...crls(entry, 'sslcrl', request.sslcrl))
      files.sslcrl = request.sslcrl
    }
    if (request.sslcrldir !== undefined) {
      crl.push(...(await loadCrlDirectory(request.sslcrldir)))
      files.sslcrldir = request.sslcrldir
    }
    const rootEntry =
      request.inline?.ca || request.sslrootcert === undefined
        ? undefined
        : readCached(request.sslrootcert, 'sslrootcert')
    if (rootEntry?.data.includes('-----BEGIN X509 CRL-----'))
      crl.push(...crls(rootEntry, 'sslrootcert', request.sslrootcert!))
  }

  let cert: Buffer | undefined
  let clientChain: X509Certificate[] | undefined
  let key: Buffer | undefined
  const inlineCert = request.inline?.cert
  if (request.sendClientCertificate && (inlineCert || request.sslcert !== undefined)) {
    // The certificate and key come from files (permissions checked) or from pg's ssl option.
    const certName = inlineCert ? 'ssl.cert' : request.sslcert!
    const certEntry = inlineCert ? inlineEntry(inlineCert) : readCached(certName, 'sslcert')
    if (!inlineCert) checkPermissions(certName, 'sslcert', certEntry, request.filePermissions)
    clientChain = x509s(certEntry, inlineCert ? 'ssl.cert' : 'sslcert', certName)
    cert = certEntry.data
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
    if (!clientChain[0]!.checkPrivateKey(keyObject)) {
      throw new PgSslError(
        'KEY_MISMATCH',
        `client private key "${keyName}" does not match client certificate "${certName}"`,
        {
          setting: inlineKey ? 'ssl.key' : 'sslkey',
          ...(inlineKey ? {} : { file: keyName }),
        },
      )
    }
    // node:tls takes PEM, not a KeyObject; exported once per key file version.
    key = parsedOnce(keyEntry, `pem:${passphrase === undefined ? 'none' : fingerprintSecret(passphrase)}`, () =>
      Buffer.from(keyObject.export({ format: 'pem', type: 'pkcs8' }) as string),
    )
  }

  const material: TlsMaterial = {
    rootCert,
    ...(ca ? { ca } : {}),
    ...(roots ? { roots } : {}),
    // With CRL checking on but no CRL found, Node is given a marker CRL so that it checks (and fails) as libpq does.
    ...(crl
      ? { crl: crl.length > 0 ? crl.map((c) => c.raw) : [crlCheckingMarker()], crlList: crl.map((c) => c.parsed) }
      : {}),
    ...(cert ? { cert } : {}),
    ...(clientChain ? { clientChain } : {}),
    files,
  }
  if (key) Object.defineProperty(material, 'key', { value: key, enumerable: false })
  return material
}

/**
 * OpenSSL's hashed-directory lookup (by_dir), for CRLs (`H.rN`) and CA certificates (`H.N`): for a
 * hash H it reads H.0, H.1, ... up to the first missing number, and an object is found only under
 * its own name's hash (the caller filters by it). Other names (foo.crl) are never read; make such a
 * directory with `openssl rehash`.
 */
async function hashedDirectory(
  dir: string,
  setting: 'sslcrldir' | 'sslrootcertdir',
  suffix: '.r' | '.',
): Promise<Array<{ hash: string; path: string }>> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new PgSslError('FILE_NOT_FOUND', `${describe(setting)} "${dir}" does not exist`, { setting, file: dir })
    throw new PgSslError('FILE_UNREADABLE', `could not read ${describe(setting)} "${dir}": ${code ?? 'error'}`, {
      setting,
      file: dir,
    })
  }
  const present = new Set(names)
  const first = new RegExp(`^([0-9a-f]{8})${suffix.replace('.', '\\.')}0$`)
  const hashes = [...new Set(names.map((n) => first.exec(n)?.[1]).filter((h): h is string => h !== undefined))].sort()
  const out: Array<{ hash: string; path: string }> = []
  for (const hash of hashes) {
    for (let n = 0; present.has(`${hash}${suffix}${n}`); n++)
      out.push({ hash, path: join(dir, `${hash}${suffix}${n}`) })
  }
  return out
}

async function loadCrlDirectory(dir: string): Promise<Array<{ raw: Buffer; parsed: ParsedCrl }>> {
  const out: Array<{ raw: Buffer; parsed: ParsedCrl }> = []
  for (const { hash, path } of await hashedDirectory(dir, 'sslcrldir', '.r')) {
    out.push(
      ...crls(readCached(path, 'sslcrldir'), 'sslcrldir', path).filter((c) => nameHash(c.parsed.issuerDer) === hash),
    )
  }
  return out
}

/** A hashed CA directory (MySQL's ssl-capath): the certificates that can ever be trusted from it. */
async function loadRootCertDirectory(dir: string): Promise<Array<{ pem: Buffer; x509: X509Certificate }>> {
  const out: Array<{ pem: Buffer; x509: X509Certificate }> = []
  for (const { hash, path } of await hashedDirectory(dir, 'sslrootcertdir', '.')) {
    const entry = readCached(path, 'sslrootcertdir')
    const pems = certificates(entry, 'sslrootcertdir', path)
    x509s(entry, 'sslrootcertdir', path).forEach((x509, i) => {
      if (nameHash(certificateSubjectDer(Buffer.from(x509.raw))) === hash) out.push({ pem: pems[i]!, x509 })
    })
  }
  if (out.length === 0) {
    throw new PgSslError(
      'FILE_NOT_FOUND',
      `root certificate directory "${dir}" holds no CA certificate under its subject hash (<hash>.0)`,
      {
        setting: 'sslrootcertdir',
        file: dir,
        hint: `name the files as OpenSSL looks them up: openssl rehash '${dir}'`,
      },
    )
  }
  return out
}

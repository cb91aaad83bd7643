/**
 * The certificate files' cache: a file is read once per version (device, inode, size, times) and
 * each parse of it is kept with that version, so a pool's connections open and fstat the files but
 * neither re-read nor re-parse them, and a changed file is picked up by the next connection.
 * Material given as contents (pg's ssl option) is cached by a hash of its bytes.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { PgSslError } from '../errors.js'

export interface CacheEntry {
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
export function readCached(path: string, setting: string): CacheEntry {
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
export function inlineEntry(data: Buffer): CacheEntry {
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
export function parsedOnce<T>(entry: CacheEntry, kind: string, parse: () => T): T {
  if (entry.parsed.has(kind)) return entry.parsed.get(kind) as T
  materialStats.parses++
  const value = parse()
  entry.parsed.set(kind, value)
  return value
}

/** A setting's file as messages name it (root certificate file, ...). */
export function describe(setting: string): string {
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

/** Per-process key so that the cache can tell passphrases apart without keeping them. */
const CACHE_TAG_KEY = randomBytes(32)

export function fingerprintSecret(secret: string): string {
  return createHmac('sha256', CACHE_TAG_KEY).update(secret).digest('base64')
}

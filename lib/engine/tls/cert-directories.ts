/**
 * OpenSSL's hashed certificate directories: sslcrldir (CRLs as H.rN) and a CA directory
 * (MySQL's ssl-capath, H.N), read as OpenSSL's by_dir lookup reads them.
 */
import type { X509Certificate } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { PgSslError } from '../errors.js'
import type { ParsedCrl } from './crl.js'
import { loadForge } from './forge.js'
import { certificateSubjectDer, nameHash } from './der.js'
import { describe, readCached } from './file-cache.js'
import { certificates, crls, x509s } from './pem.js'

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

export async function loadCrlDirectory(dir: string): Promise<Array<{ raw: Buffer; parsed: ParsedCrl }>> {
  await loadForge()
  const out: Array<{ raw: Buffer; parsed: ParsedCrl }> = []
  for (const { hash, path } of await hashedDirectory(dir, 'sslcrldir', '.r')) {
    out.push(
      ...crls(readCached(path, 'sslcrldir'), 'sslcrldir', path).filter((c) => nameHash(c.parsed.issuerDer) === hash),
    )
  }
  return out
}

/** A hashed CA directory (MySQL's ssl-capath): the certificates that can ever be trusted from it. */
export async function loadRootCertDirectory(dir: string): Promise<Array<{ pem: Buffer; x509: X509Certificate }>> {
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

/**
 * Small configuration files (ini, service files) are read synchronously, as libpq reads its
 * service file, and cached by path + mtime + size so that a pool does not re-read them per
 * connection.
 */
import { readFileSync, statSync } from 'node:fs'
import { PgSslError } from '../../engine/errors.js'

interface Cached {
  mtimeMs: number
  size: number
  bytes: Buffer
}

const cache = new Map<string, Cached>()

/** The file's bytes, or undefined when it does not exist. Other problems are errors. */
export function readConfigFile(path: string, setting: string): Buffer | undefined {
  let info
  try {
    info = statSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new PgSslError('FILE_UNREADABLE', `could not access ${setting} file "${path}": ${code ?? 'error'}`, {
      setting,
      file: path,
    })
  }
  if (!info.isFile())
    throw new PgSslError('FILE_UNREADABLE', `${setting} file "${path}" is not a regular file`, { setting, file: path })
  const hit = cache.get(path)
  if (hit && hit.mtimeMs === info.mtimeMs && hit.size === info.size) return hit.bytes
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new PgSslError('FILE_UNREADABLE', `could not read ${setting} file "${path}": ${code ?? 'error'}`, {
      setting,
      file: path,
    })
  }
  cache.set(path, { mtimeMs: info.mtimeMs, size: info.size, bytes })
  return bytes
}

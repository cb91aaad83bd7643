/**
 * Password files (passfile, PGPASSFILE, ~/.pgpass) read with libpq's rules (fe-connect.c
 * passwordFromFile, pwdfMatchesString): lines host:port:dbname:user:password, `*` matching any
 * value, `\:` and `\\` escapes, the first matching line wins, lines starting with # skipped; a
 * file that group or others may read is ignored with a warning, as is one that is not a regular
 * file; a missing file is silently nothing. A Unix-socket host in the default socket directory
 * matches "localhost". The password is never shown anywhere.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'

export interface PassfileEntry {
  readonly password: string
  readonly file: string
  readonly line: number
}

export interface PassfileQuery {
  readonly host: string
  readonly port: string
  readonly dbname: string
  readonly user: string
}

/** libpq's DEFAULT_PGSOCKET_DIR on Debian and most Linux builds. */
export const DEFAULT_SOCKET_DIR = '/var/run/postgresql'

/** The password for this host, or undefined. `warn` is told about a file libpq would ignore. */
export function passwordFromFile(
  file: string,
  query: PassfileQuery,
  warn: (message: string) => void,
): PassfileEntry | undefined {
  let text: string
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch {
    return undefined // missing or unreadable: libpq goes on without it
  }
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) {
      warn(`password file "${file}" is not a plain file`)
      return undefined
    }
    if (process.platform !== 'win32' && info.mode & 0o077) {
      warn(`password file "${file}" has group or world access; permissions should be u=rw (0600) or less`)
      return undefined
    }
    text = readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
  const host = query.host === '' || query.host === DEFAULT_SOCKET_DIR ? 'localhost' : query.host
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line === '' || line.startsWith('#')) continue
    let rest: string | undefined = line
    for (const token of [host, query.port, query.dbname, query.user]) {
      rest = matchField(rest, token)
      if (rest === undefined) break
    }
    if (rest === undefined) continue
    return { password: unescapePassword(rest), file, line: i + 1 }
  }
  return undefined
}

/** pwdfMatchesString: the field at the start of `line` equals `token` (or is `*`); the rest after its ':'. */
function matchField(line: string, token: string): string | undefined {
  if (line.startsWith('*:')) return line.slice(2)
  let i = 0
  let t = 0
  let escaped = false
  while (i < line.length) {
    if (line[i] === '\\' && !escaped) {
      i++
      escaped = true
    }
    if (line[i] === ':' && t === token.length && !escaped) return line.slice(i + 1)
    escaped = false
    if (t === token.length) return undefined
    if (line[i] === token[t]) {
      i++
      t++
    } else return undefined
  }
  return undefined
}

/** The password runs to the first unescaped ':' or the end of the line. */
function unescapePassword(rest: string): string {
  let out = ''
  for (let i = 0; i < rest.length && rest[i] !== ':'; i++) {
    if (rest[i] === '\\' && i + 1 < rest.length) i++
    out += rest[i]
  }
  return out
}

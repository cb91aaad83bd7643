/**
 * MySQL option files (my.cnf, ~/.my.cnf) read with the MySQL client's rules (mysys/my_default.cc):
 * `[group]` lines, `name=value` or a bare `name`, `#`/`;` comment lines, a `#` outside quotes ending
 * a value, one pair of surrounding quotes removed, the escapes \b \t \n \r \\ \s \" \', `!include
 * FILE` and `!includedir DIR` (its *.cnf files, in name order), world-writable files ignored with a
 * warning, later files and later lines winning. `-` and `_` in names are the same; a `loose-`
 * prefix makes an unknown option harmless. Only the groups asked for (default: [client]) count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { PgSslError, warnOnce } from '../engine/errors.js'

export interface OptionEntry {
  /** Canonical name: lower case, `_` → `-`, without the loose- prefix. */
  readonly name: string
  /** undefined for a bare option (`compress`), which means "on". */
  readonly value: string | undefined
  readonly file: string
  readonly line: number
  readonly loose: boolean
}

export interface OptionFileRequest {
  /** The groups whose options apply, in order; later groups win (as on the client's command line). */
  readonly groups: readonly string[]
  readonly warn?: (message: string) => void
}

/** The files the MySQL 8 client reads on Unix, in order (later wins): `mysql --help` lists them. */
export function defaultOptionFiles(env: Readonly<Record<string, string | undefined>>, extraFile?: string): string[] {
  const files = ['/etc/my.cnf', '/etc/mysql/my.cnf']
  if (env.MYSQL_HOME) files.push(join(env.MYSQL_HOME, 'my.cnf'))
  if (extraFile) files.push(extraFile)
  if (env.HOME) files.push(join(env.HOME, '.my.cnf'))
  return files
}

/**
 * The options of the requested groups from `files`, in reading order. A file in the default list
 * that does not exist is skipped, as the client does; `required` files (--defaults-file,
 * --defaults-extra-file, !include targets... the client fails on those) must exist.
 */
export function readOptionFiles(
  files: ReadonlyArray<{ path: string; required: boolean }>,
  request: OptionFileRequest,
): OptionEntry[] {
  const out: OptionEntry[] = []
  for (const { path, required } of files) readOne(path, required, request, out, 0)
  return out
}

const MAX_DEPTH = 10

function readOne(path: string, required: boolean, request: OptionFileRequest, out: OptionEntry[], depth: number): void {
  let text: string
  try {
    const info = statSync(path)
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' })
    // my_default.cc: "World-writable config file '%s' is ignored" — anyone could have put options there.
    if (process.platform !== 'win32' && (info.mode & 0o002) !== 0) {
      ;(request.warn ?? ((m: string) => warnOnce(`mysql-option-file:${path}`, m)))(
        `World-writable config file '${path}' is ignored`,
      )
      return
    }
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (!required && code === 'ENOENT') return
    throw new PgSslError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `could not read MySQL option file "${path}": ${code ?? error}`,
      {
        setting: 'option file',
        file: path,
        hint: 'check the path given as defaultsFile / defaultsExtraFile or in !include',
      },
    )
  }
  const groups = new Set(request.groups.map((g) => g.toLowerCase()))
  let inGroup: boolean | undefined
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1
    const trimmed = raw.replace(/^\s+/, '')
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return
    if (trimmed.startsWith('!')) {
      directive(trimmed, path, line, request, out, depth)
      return
    }
    if (trimmed.startsWith('[')) {
      const end = trimmed.indexOf(']')
      if (end < 0) throw syntax(path, line, 'Wrong group definition in config file')
      inGroup = groups.has(trimmed.slice(1, end).trim().toLowerCase())
      return
    }
    if (inGroup === undefined) throw syntax(path, line, 'Found option without preceding group in config file')
    if (!inGroup) return
    out.push({ ...option(trimmed), file: path, line })
  })
}

function directive(
  text: string,
  path: string,
  line: number,
  request: OptionFileRequest,
  out: OptionEntry[],
  depth: number,
): void {
  const match = /^!(includedir|include)\s+(.+?)\s*$/.exec(text)
  if (!match) throw syntax(path, line, 'Wrong !include/!includedir directive in config file')
  if (depth >= MAX_DEPTH) throw syntax(path, line, '!include nests too deeply in config file')
  const target = isAbsolute(match[2]!) ? match[2]! : join(dirname(path), match[2]!)
  if (match[1] === 'include') {
    readOne(target, true, request, out, depth + 1)
    return
  }
  let names: string[]
  try {
    names = readdirSync(target)
  } catch {
    return // the client skips a directory it cannot open
  }
  for (const name of names.filter((n) => n.endsWith('.cnf')).sort())
    readOne(join(target, name), false, request, out, depth + 1)
}

function option(text: string): { name: string; value: string | undefined; loose: boolean } {
  const eq = text.indexOf('=')
  const rawName = (eq < 0 ? removeEndComment(text) : text.slice(0, eq)).trim()
  let name = rawName.toLowerCase().replace(/_/g, '-')
  const loose = name.startsWith('loose-')
  if (loose) name = name.slice('loose-'.length)
  if (eq < 0) return { name, value: undefined, loose }
  let value = removeEndComment(text.slice(eq + 1)).trim()
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0])
    value = value.slice(1, -1)
  return { name, value: unescapeOptionValue(value), loose }
}

/** A `#` outside quotes ends the value (remove_end_comment). */
function removeEndComment(text: string): string {
  let quote: string | undefined
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if ((c === "'" || c === '"') && !escaped) {
      if (!quote) quote = c
      else if (quote === c) quote = undefined
    }
    if (!quote && c === '#') return text.slice(0, i)
    escaped = quote !== undefined && c === '\\' && !escaped
  }
  return text
}

const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  s: ' ',
  '"': '"',
  "'": "'",
  '\\': '\\',
}

function unescapeOptionValue(value: string): string {
  let out = ''
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i < value.length - 1) {
      const next = value[++i]!
      out += ESCAPES[next] ?? `\\${next}`
    } else out += value[i]
  }
  return out
}

function syntax(path: string, line: number, message: string): PgSslError {
  return new PgSslError('OPTION_FILE_INVALID', `${message} ${path} at line ${line}`, {
    setting: 'option file',
    file: path,
    hint: 'option files hold [group] lines, name=value lines inside a group, # comments and !include/!includedir',
  })
}

/**
 * psycopg2-style ini files, read exactly as Python's `configparser.ConfigParser()` reads them
 * (Lib/configparser.py, RawConfigParser._read and BasicInterpolation), so that a database.ini
 * means the same here as in `psycopg2.connect(**dict(parser.items(section)))`:
 *
 * - universal newlines; `#` and `;` start full-line comments (no inline comments);
 * - `[section]` headers (the header is everything up to the last `]`), `DEFAULT` is inherited;
 * - `key = value` or `key: value`, split at the first delimiter; keys are lower-cased;
 * - indented lines continue the previous value (joined with newlines), blank lines inside a
 *   value are kept, trailing ones dropped;
 * - duplicate sections or options are errors (strict); lines without a delimiter are errors,
 *   reported at the end of the file as configparser does;
 * - `%(name)s` interpolation from the section and DEFAULT (depth 10), `%%` for a literal `%`.
 * Whitespace is Python's (str.isspace), not JavaScript's. A UTF-8 BOM is skipped (as Python does
 * when the file is opened with encoding='utf-8-sig').
 */

export type IniErrorKind =
  | 'MissingSectionHeaderError'
  | 'ParsingError'
  | 'DuplicateSectionError'
  | 'DuplicateOptionError'
  | 'InterpolationSyntaxError'
  | 'InterpolationMissingOptionError'
  | 'InterpolationDepthError'
  | 'UnicodeDecodeError'

/** A configparser error, named after the Python exception it mirrors. */
export class IniError extends Error {
  constructor(
    readonly kind: IniErrorKind,
    message: string,
    readonly line?: number,
  ) {
    super(message)
    this.name = 'IniError'
  }
}

export interface IniValue {
  readonly value: string
  /** 1-based line where the option starts. */
  readonly line: number
}

export interface ParsedIni {
  readonly defaults: ReadonlyMap<string, IniValue>
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, IniValue>>
}

export const DEFAULT_SECTION = 'DEFAULT'
const MAX_INTERPOLATION_DEPTH = 10

// Python's str.isspace() set, which is also what `\s` and strip() mean in configparser.
const WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const LEADING_WS = new RegExp(`^[${WS}]+`)
const TRAILING_WS = new RegExp(`[${WS}]+$`)
const NON_SPACE = new RegExp(`[^${WS}]`)
const SECTION_HEADER = /^\[([^\n]+)\]/
const OPTION_LINE = new RegExp(`^([^\\n]*?)[${WS}]*(=|:)[${WS}]*([^\\n]*)$`)
const INTERPOLATION_KEY = /^%\(([^)]+)\)s/

const strip = (s: string): string => s.replace(LEADING_WS, '').replace(TRAILING_WS, '')
const rstrip = (s: string): string => s.replace(TRAILING_WS, '')

/** configparser's default optionxform. */
export const optionKey = (name: string): string => name.toLowerCase()

interface Pending {
  parts: string[]
  line: number
}

export function decodeIni(bytes: Uint8Array): string {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new IniError('UnicodeDecodeError', 'the file is not valid UTF-8')
  }
  return text.startsWith('\ufeff') ? text.slice(1) : text
}

export function parseIni(text: string): ParsedIni {
  const defaults = new Map<string, Pending>()
  const sections = new Map<string, Map<string, Pending>>()
  const added = new Set<string>()
  let current: Map<string, Pending> | undefined
  let sectionName: string | undefined
  let optionName: string | undefined
  let indentLevel = 0
  let deferred: IniError | undefined

  const lines = text.split(/\r\n|\r|\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  lines.forEach((line, index) => {
    const lineNo = index + 1
    const isComment = strip(line).startsWith('#') || strip(line).startsWith(';')
    const value = isComment ? '' : strip(line)
    if (!value) {
      // An empty line inside a value is kept (empty_lines_in_values); a comment line is not.
      if (!isComment && current && optionName) current.get(optionName)?.parts.push('')
      return
    }
    const firstNonSpace = line.search(NON_SPACE)
    const indent = Math.max(firstNonSpace, 0)
    if (current && optionName && indent > indentLevel) {
      current.get(optionName)!.parts.push(value)
      return
    }
    indentLevel = indent
    const header = SECTION_HEADER.exec(value)
    if (header) {
      const name = header[1]!
      if (sections.has(name)) {
        if (added.has(name)) throw new IniError('DuplicateSectionError', `section "${name}" already exists`, lineNo)
        current = sections.get(name)!
        added.add(name)
      } else if (name === DEFAULT_SECTION) {
        current = defaults
      } else {
        current = new Map()
        sections.set(name, current)
        added.add(name)
      }
      sectionName = name
      optionName = undefined
      return
    }
    if (!current) throw new IniError('MissingSectionHeaderError', 'file contains no section headers', lineNo)
    const option = OPTION_LINE.exec(value)
    if (!option) {
      deferred ??= new IniError(
        'ParsingError',
        'line is not a section header, an option (key = value) or a comment',
        lineNo,
      )
      return
    }
    if (!option[1]) deferred ??= new IniError('ParsingError', 'option without a name', lineNo)
    const name = optionKey(rstrip(option[1]!))
    const id = `${sectionName}\u0000${name}`
    if (added.has(id))
      throw new IniError('DuplicateOptionError', `option "${name}" in section "${sectionName}" already exists`, lineNo)
    added.add(id)
    current.set(name, { parts: [strip(option[3]!)], line: lineNo })
    optionName = name
  })

  const join = (m: Map<string, Pending>): Map<string, IniValue> =>
    new Map([...m].map(([k, p]) => [k, { value: rstrip(p.parts.join('\n')), line: p.line }]))
  const parsed: ParsedIni = { defaults: join(defaults), sections: new Map([...sections].map(([k, m]) => [k, join(m)])) }
  if (deferred) throw deferred
  return parsed
}

/** `dict(parser.items(section))`: the section's options and DEFAULT's, interpolated. */
export function sectionItems(ini: ParsedIni, section: string): Map<string, IniValue> {
  const own = ini.sections.get(section)
  if (!own) throw new Error(`no section ${section}`)
  const merged = new Map([...ini.defaults, ...own])
  const raw = new Map([...merged].map(([k, v]) => [k, v.value]))
  return new Map([...merged].map(([k, v]) => [k, { value: interpolate(k, v.value, raw, v.line), line: v.line }]))
}

function interpolate(option: string, value: string, map: ReadonlyMap<string, string>, line: number): string {
  const out: string[] = []
  const some = (rest: string, depth: number): void => {
    if (depth > MAX_INTERPOLATION_DEPTH) {
      throw new IniError(
        'InterpolationDepthError',
        `recursion limit exceeded in value substitution: option "${option}"`,
        line,
      )
    }
    while (rest) {
      const p = rest.indexOf('%')
      if (p < 0) {
        out.push(rest)
        return
      }
      if (p > 0) {
        out.push(rest.slice(0, p))
        rest = rest.slice(p)
      }
      const c = rest.slice(1, 2)
      if (c === '%') {
        out.push('%')
        rest = rest.slice(2)
      } else if (c === '(') {
        const m = INTERPOLATION_KEY.exec(rest)
        if (!m)
          throw new IniError(
            'InterpolationSyntaxError',
            `bad interpolation variable reference in option "${option}"`,
            line,
          )
        const name = optionKey(m[1]!)
        rest = rest.slice(m[0].length)
        const v = map.get(name)
        if (v === undefined)
          throw new IniError(
            'InterpolationMissingOptionError',
            `option "${option}" refers to "%(${name})s", which is not set`,
            line,
          )
        if (v.includes('%')) some(v, depth + 1)
        else out.push(v)
      } else {
        throw new IniError(
          'InterpolationSyntaxError',
          `'%' must be followed by '%' or '(' in option "${option}" (write %% for a literal %)`,
          line,
        )
      }
    }
  }
  some(value, 1)
  return out.join('')
}

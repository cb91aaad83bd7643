/**
 * A psycopg2 `database.ini`: one section's options, read with configparser's rules (ini.ts),
 * become libpq keywords exactly as `psycopg2.connect(**dict(parser.items(section)))` passes them
 * (psycopg2's `database` is libpq's `dbname`).
 */
import { PgSslError } from '../../engine/errors.js'
import { decodeIni, IniError, parseIni, sectionItems, type ParsedIni } from './ini.js'
import { readConfigFile } from './config-files.js'
import { KEYWORDS, keyword } from './keywords.js'
import { closest } from './suggest.js'

export const DEFAULT_INI_SECTION = 'postgresql'

export interface IniSource {
  file: string
  section?: string
}

export interface IniSetting {
  readonly value: string
  readonly line: number
}

/** keyword → value and line, for one section of an ini file. */
export function readIniSettings(source: IniSource): Record<string, IniSetting> {
  const { file } = source
  const section = source.section ?? DEFAULT_INI_SECTION
  const bytes = readConfigFile(file, 'ini')
  if (bytes === undefined) {
    throw new PgSslError('FILE_NOT_FOUND', `ini file "${file}" does not exist`, {
      setting: 'ini',
      file,
      hint: 'check the path (relative paths are relative to the working directory, as in Python)',
    })
  }
  let parsed: ParsedIni
  let items
  try {
    parsed = parseIni(decodeIni(bytes))
    if (!parsed.sections.has(section)) {
      const names = [...parsed.sections.keys()]
      throw new PgSslError(
        'INI_SECTION_MISSING',
        `section [${section}] not found in ini file ` +
          `"${file}"${names.length ? ` (it has: ${names.map((n) => `[${n}]`).join(', ')})` : ' (it has no sections)'}`,
        {
          setting: 'ini',
          file,
        },
      )
    }
    items = sectionItems(parsed, section)
  } catch (error) {
    if (error instanceof IniError) {
      const at = error.line !== undefined ? `:${error.line}` : ''
      throw new PgSslError('INI_SYNTAX', `${file}${at}: ${error.message} (configparser ${error.kind})`, {
        setting: 'ini',
        file,
        cause: error,
      })
    }
    throw error
  }

  const out: Record<string, IniSetting> = {}
  for (const [key, { value, line }] of items) {
    const name = key === 'database' ? 'dbname' : key
    if (!keyword(name)) {
      const suggestion = closest(key, [...KEYWORDS.map((k) => k.name), 'database'])
      throw new PgSslError('INVALID_SETTING', `invalid connection option "${key}" in ${file}:${line} [${section}]`, {
        setting: key,
        file,
        hint: suggestion
          ? `did you mean "${suggestion}"?`
          : 'ini keys are libpq keywords (host, port, dbname or database, user, sslmode, sslrootcert, ...)',
      })
    }
    if (key === 'database' && items.has('dbname')) {
      throw new PgSslError('INVALID_SETTING', `${file} [${section}] sets both "database" and "dbname"`, {
        setting: 'dbname',
        file,
        hint: "psycopg2 refuses this too (\"you can't specify both 'database' and 'dbname' arguments\"): keep one",
      })
    }
    // psycopg2 passes the keys to libpq as a connection string, where requiressl becomes sslmode.
    if (name === 'requiressl') out.sslmode = { value: value.startsWith('1') ? 'require' : 'prefer', line }
    else out[name] = { value, line }
  }
  return out
}

/** The libpq keyword map of one section (default [postgresql]), as psycopg2 would pass it. */
export function loadIni(file: string, section: string = DEFAULT_INI_SECTION): Record<string, string> {
  return Object.fromEntries(Object.entries(readIniSettings({ file, section })).map(([k, v]) => [k, v.value]))
}

/**
 * Connection service files (pg_service.conf), read with libpq's own rules (fe-connect.c
 * parseServiceInfo / parseServiceFile) — not configparser's:
 * - the file is PGSERVICEFILE else ~/.pg_service.conf (libpq 18 has no servicefile keyword); if the
 *   service is not defined there, PGSYSCONFDIR/pg_service.conf;
 * - surrounding whitespace is ignored, `#` starts a comment line, `[name]` starts a service;
 * - inside the wanted service every line is `keyword=value`, split at the first `=`, with no
 *   trimming around it; an unknown keyword or a line without `=` is a syntax error, and so is
 *   `service=` (no nesting); the first value of a keyword wins.
 */
import { join } from 'node:path'
import { PgSslError } from '../../engine/errors.js'
import { readConfigFile } from './config-files.js'
import { keyword } from './keywords.js'

export interface ServiceSetting {
  readonly value: string
  readonly file: string
  readonly line: number
}

export interface ServiceLookup {
  readonly service: string
  /** PGSERVICEFILE; else ~/.pg_service.conf. */
  readonly serviceFile: string | undefined
  readonly home: string
  /** PGSYSCONFDIR, else the directory Debian's libpq was built with. */
  readonly sysconfDir: string
}

export const DEFAULT_SYSCONFDIR = '/etc/postgresql-common'

const C_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g

export function readService(lookup: ServiceLookup): Record<string, ServiceSetting> {
  const userFile = lookup.serviceFile ?? join(lookup.home, '.pg_service.conf')
  const tried: string[] = []
  for (const file of [userFile, join(lookup.sysconfDir, 'pg_service.conf')]) {
    const bytes = readConfigFile(file, 'service')
    if (bytes === undefined) continue
    tried.push(file)
    const found = parseServiceFile(bytes.toString('utf8'), lookup.service, file)
    if (found) return found
  }
  throw new PgSslError(
    'SERVICE_NOT_FOUND',
    `definition of service "${lookup.service}" not found` +
      (tried.length
        ? ` (looked in ${tried.join(', ')})`
        : ` (no service file at ${userFile} or in ${lookup.sysconfDir})`),
    {
      setting: 'service',
    },
  )
}

function parseServiceFile(text: string, service: string, file: string): Record<string, ServiceSetting> | undefined {
  let found: Record<string, ServiceSetting> | undefined
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(C_SPACE, '')
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('[')) {
      if (found) return found // the wanted service ends here
      if (line.startsWith(`[${service}]`)) found = {}
      continue
    }
    if (!found) continue
    const eq = line.indexOf('=')
    const invalid = (why: string): PgSslError =>
      new PgSslError('SERVICE_FILE_INVALID', `${why} in service file "${file}", line ${i + 1}`, {
        setting: 'service',
        file,
      })
    if (eq < 0) throw invalid('syntax error')
    const key = line.slice(0, eq)
    if (key === 'service') throw invalid('nested service specifications not supported')
    if (!keyword(key)) throw invalid(`syntax error (unknown keyword "${key}")`)
    found[key] ??= { value: line.slice(eq + 1), file, line: i + 1 }
  }
  return found
}

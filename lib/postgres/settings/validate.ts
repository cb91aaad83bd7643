/**
 * The merged values checked as libpq checks them before connecting: enumerated keywords take only
 * their values, refused keywords are refused by name with the reason, numbers are read as libpq's
 * parse_int_param reads them, and the TLS version range must not be upside down. Every message
 * says where the value came from (describeSource), never a secret's value.
 */
import { PgSslError } from '../../engine/errors.js'
import { isSpace } from './conninfo.js'
import { keyword } from './keywords.js'
import type { Setting, SettingSource } from './tls-spellings.js'

/**
 * A refused keyword with a value it cannot take: INVALID_SETTING, with the reason. Also called
 * before a source is read that the keyword would change (servicefile, before the service file).
 */
export function refuseUnsupported(name: string, setting: Setting): void {
  const k = keyword(name)!
  const fromEnvironment = k.envOnly === true && setting.source.startsWith('env:')
  if (
    k.use === 'refused' &&
    setting.source !== 'default' &&
    !fromEnvironment &&
    !(k.accepts ?? []).includes(setting.value)
  ) {
    throw new PgSslError(
      'INVALID_SETTING',
      `${name}=${k.secret ? '***' : setting.value} (from ${describeSource(setting.source)}) is not supported by ` +
        `pg-sslmode: ${k.why}`,
      {
        setting: name,
        hint:
          k.hint ??
          (k.accepts && k.accepts.length > 0 ? `supported values: ${k.accepts.join(', ')}` : `remove ${name}`),
      },
    )
  }
}

/** Check every value; throws INVALID_SETTING naming the keyword and its source. */
export function validate(values: Record<string, Setting>): void {
  for (const name in values) {
    const setting = values[name]!
    const k = keyword(name)!
    if (k.values && !k.values.includes(setting.value)) {
      throw new PgSslError(
        'INVALID_SETTING',
        `invalid ${name} value: "${k.secret ? '***' : setting.value}" (from ${describeSource(setting.source)})`,
        {
          setting: name,
          hint: `use one of: ${k.values.join(', ')}`,
        },
      )
    }
    refuseUnsupported(name, setting)
  }
  checkNumber(values, 'port', (n) => Number.isInteger(n) && n > 0 && n < 65536, true)
  checkNumber(values, 'connect_timeout', (n) => n >= 0)
  checkNumber(values, 'keepalives_idle', (n) => n >= 0)
  // libpq (connectOptions2) refuses a range whose minimum is above its maximum before connecting.
  const min = values.ssl_min_protocol_version
  const max = values.ssl_max_protocol_version
  const order = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
  if (min && max && order.indexOf(min.value) > order.indexOf(max.value)) {
    throw new PgSslError(
      'INVALID_SETTING',
      `invalid SSL protocol version range: ssl_min_protocol_version ${min.value} (from ` +
        `${describeSource(min.source)}) is above ssl_max_protocol_version ${max.value} (from ` +
        `${describeSource(max.source)})`,
      {
        setting: 'ssl_max_protocol_version',
        hint: 'the minimum must not be above the maximum',
      },
    )
  }
}

function checkNumber(values: Record<string, Setting>, name: string, ok: (n: number) => boolean, list = false): void {
  const setting = values[name]
  if (!setting) return
  for (const part of list ? setting.value.split(',') : [setting.value]) {
    if (part === '' && list) continue
    const n = libpqNumber(part)
    if (n === undefined || !ok(n)) {
      throw new PgSslError(
        'INVALID_SETTING',
        `invalid ${name} value: "${part}" (from ${describeSource(setting.source)})`,
        { setting: name },
      )
    }
  }
}

/**
 * A number as libpq's parse_int_param reads one: C whitespace (isSpace) around it is allowed,
 * anything else is not — JavaScript's Number() would also skip Unicode spaces ("5432\u00A0").
 * Fractions are kept: pg's connectionTimeoutMillis arrives as fractional seconds.
 */
function libpqNumber(text: string): number | undefined {
  let start = 0
  let end = text.length
  while (start < end && isSpace(text[start])) start++
  while (end > start && isSpace(text[end - 1])) end--
  const core = text.slice(start, end)
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(core) ? Number(core) : undefined
}

export function describeSource(source: SettingSource): string {
  if (source.startsWith('env:')) return `environment variable ${source.slice(4)}`
  if (source.startsWith('default-file:')) return 'libpq default file'
  if (source.startsWith('sslcertdir:')) return `certificate bundle ${source.slice(11)}`
  if (source === 'conninfo') return 'connection string'
  if (source.startsWith('ini:')) return `ini file ${source.slice(4)}`
  if (source.startsWith('service:')) return `service file ${source.slice(8)}`
  if (source === 'requiressl') return 'requiressl'
  if (source === 'pg.defaults') return "pg.defaults (the application's pg defaults)"
  if (source === 'pg.ssl') return "pg's ssl option"
  if (source === 'pg.defaults.ssl') return 'pg.defaults.ssl'
  return source
}

/**
 * host / hostaddr / port lists → the endpoints libpq would try, in order. A host that starts with
 * "/" is a Unix-socket directory (libpq), where SSL is never used.
 */
import { PgSslError } from '../../engine/errors.js'
import { settingValue, type MergedSettings } from './merge.js'

export interface Endpoint {
  /** The name the user gave: used for SNI and verify-full. */
  readonly host: string
  /**
   * The host name the user gave, which verify-full checks and SNI carries; absent when only
   * hostaddr was given (libpq then refuses verify-full: "host name must be specified").
   */
  readonly hostName?: string
  /** A password from the password file for this host (passfile, PGPASSFILE, ~/.pgpass). */
  readonly passfile?: { readonly password: string; readonly file: string; readonly line: number }
  /** Where to connect: hostaddr when given, else host. */
  readonly address: string
  readonly port: number
  /** Path of the Unix-domain socket, when host is a directory. */
  readonly socketPath?: string
}

/** With no host, connect over TCP to localhost like pg (libpq would use its build's socket directory). */
const DEFAULT_HOST = 'localhost'

export function endpointsOf(settings: MergedSettings): Endpoint[] {
  const hosts = splitList(settingValue(settings, 'host'))
  const addrs = splitList(settingValue(settings, 'hostaddr'))
  const ports = splitList(settings.values.port?.value)
  const count = Math.max(hosts.length, addrs.length, 1)
  if (hosts.length > 1 && addrs.length > 1 && hosts.length !== addrs.length) {
    throw new PgSslError(
      'INVALID_SETTING',
      `could not match ${hosts.length} host names to ${addrs.length} hostaddr values`,
      { setting: 'hostaddr' },
    )
  }
  if (ports.length > 1 && ports.length !== count) {
    throw new PgSslError('INVALID_SETTING', `could not match ${ports.length} port numbers to ${count} hosts`, {
      setting: 'port',
    })
  }
  const endpoints: Endpoint[] = []
  for (let i = 0; i < count; i++) {
    const addr = addrs.length > 1 ? addrs[i] : addrs[0]
    const given = (hosts.length > 1 ? hosts[i] : hosts[0]) || undefined
    const host = given || addr || DEFAULT_HOST
    const port = Number((ports.length > 1 ? ports[i] : ports[0]) || '5432')
    if (host.startsWith('/') && !addr) {
      endpoints.push({ host, address: host, port, socketPath: `${host.replace(/\/+$/, '')}/.s.PGSQL.${port}` })
    } else {
      // libpq verifies (and sends SNI for) the host name only; a hostaddr alone names nothing.
      const name = given ?? (addr ? undefined : DEFAULT_HOST)
      endpoints.push({ host, address: addr || host, port, ...(name !== undefined ? { hostName: name } : {}) })
    }
  }
  return endpoints
}

function splitList(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split(',').map((s) => s.trim())
}

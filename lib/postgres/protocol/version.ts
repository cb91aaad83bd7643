/**
 * The protocol version of the `postgres` dialect, as libpq 18 chooses and checks it
 * (fe-connect.c pqConnectOptions2, fe-protocol3.c pqGetNegotiateProtocolVersion3), with libpq's
 * words:
 * - min_protocol_version and max_protocol_version take "3.0", "3.2" or "latest" (3.2); the
 *   minimum defaults to 3.0, the maximum to 3.0 — or to the latest when the minimum asks for more;
 * - the start-up asks for the maximum; a server that has less answers NegotiateProtocolVersion
 *   with the newest it has, and the session runs in that version unless it is below the minimum;
 * - in 3.0 the cancel key is 4 bytes, in 3.2 up to 256 (checked by startup-rules.ts).
 * Pure: the start-up guard (connect/startup-guard.ts) reads the server's answer through it.
 */
import { PgSslError } from '../../engine/errors.js'

/** The minor versions of protocol 3 that libpq 18 speaks (3.1 was never released). */
export const PROTOCOL_MINORS = [0, 2] as const
export const LATEST_MINOR = 2

export interface ProtocolRange {
  /** The minor version asked for in the start-up packet. */
  readonly max: number
  /** The lowest minor version a session may run in. */
  readonly min: number
}

/** pg's own start-up, and the range when none is given: 3.0 asked for and required. */
export const PROTOCOL_3_0: ProtocolRange = Object.freeze({ min: 0, max: 0 })

function minorOf(name: 'min_protocol_version' | 'max_protocol_version', value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'latest') return LATEST_MINOR
  const minor = value === '3.0' ? 0 : value === '3.2' ? 2 : undefined
  if (minor === undefined) {
    throw new PgSslError('INVALID_SETTING', `invalid ${name} value: "${value}"`, {
      setting: name,
      hint: 'use 3.0, 3.2 or latest (libpq 18); 3.2 needs a PostgreSQL 18 server',
    })
  }
  return minor
}

/** The range libpq 18 would use for these settings; INVALID_SETTING as libpq refuses them. */
export function protocolRange(minSetting: string | undefined, maxSetting: string | undefined): ProtocolRange {
  const min = minorOf('min_protocol_version', minSetting) ?? 0
  const stated = minorOf('max_protocol_version', maxSetting)
  const max = stated ?? (min > 0 ? LATEST_MINOR : 0)
  if (min > max) {
    throw new PgSslError('INVALID_SETTING', '"min_protocol_version" is greater than "max_protocol_version"', {
      setting: 'min_protocol_version',
      hint: 'lower min_protocol_version or raise max_protocol_version',
    })
  }
  return Object.freeze({ min, max })
}

const INVALID = 'received invalid protocol negotiation message'

function invalid(problem?: string): PgSslError {
  return new PgSslError('PROTOCOL_VIOLATION', problem ? `${INVALID}: ${problem}` : INVALID, {
    hint: 'check that host:port is a PostgreSQL server and that nothing sits in between',
  })
}

/**
 * The minor version a session runs in after the server's NegotiateProtocolVersion: a body of the
 * newest version it has, the count of options it does not know and their names. This library asks
 * for no protocol options, so a server that names one answers what was never asked.
 */
export function negotiatedMinor(body: Buffer, range: ProtocolRange): number {
  if (body.length < 8) throw invalid('message too short')
  const version = body.readInt32BE(0)
  const count = body.readInt32BE(4)
  const major = version >> 16
  const minor = version & 0xffff
  if (major > 3 || (major === 3 && minor > range.max)) {
    throw invalid('server requested downgrade to a higher-numbered version')
  }
  if (major < 3) throw invalid('server requested downgrade to pre-3.0 protocol version')
  if (minor === 1) throw invalid('server requested downgrade to non-existent 3.1 protocol version')
  if (count < 0) throw invalid('server reported negative number of unsupported parameters')
  if (count > 0) {
    const name = body.toString('utf8', 8, Math.max(8, body.indexOf(0, 8)))
    throw invalid(
      name.startsWith('_pq_.')
        ? `server reported an unsupported parameter that was not requested ("${name}")`
        : `server reported unsupported parameter name without a "_pq_." prefix ("${name}")`,
    )
  }
  if (minor === range.max) throw invalid('server negotiated but asks for no changes')
  if (minor < range.min) {
    throw new PgSslError(
      'PROTOCOL_VERSION',
      `server only supports protocol version 3.${minor}, but "min_protocol_version" was set to 3.${range.min}`,
      {
        setting: 'min_protocol_version',
        hint: 'protocol 3.2 needs PostgreSQL 18; lower min_protocol_version to 3.0 to connect to older servers',
      },
    )
  }
  return minor
}

/** A second NegotiateProtocolVersion in one start-up. */
export function duplicateNegotiation(): PgSslError {
  return new PgSslError('PROTOCOL_VIOLATION', 'received duplicate protocol negotiation message', {
    hint: 'check that host:port is a PostgreSQL server and that nothing sits in between',
  })
}

/** libpq 18's rule for the cancel key: 4 bytes in protocol 3.0 (3.2 allows up to 256: startup-rules.ts). */
export function checkCancelKey(keyLength: number, minor: number): PgSslError | undefined {
  if (minor > 0 || keyLength === 4) return undefined
  return new PgSslError(
    'PROTOCOL_VIOLATION',
    `received invalid BackendKeyData message: cancel key with length ${keyLength} not allowed in protocol ` +
      'version 3.0 (must be 4 bytes)',
    { hint: 'check that host:port is a PostgreSQL server and that nothing sits in between' },
  )
}

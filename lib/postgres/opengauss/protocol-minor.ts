/**
 * max_protocol_version in the openGauss dialects, read with the rest of a connection's settings
 * (connect/connection-config.ts) — apart from startup.ts, which is loaded only when an openGauss
 * connection starts up.
 */
import { PgSslError } from '../../engine/errors.js'

/** The protocol minor versions an openGauss client may ask for (max_protocol_version), newest first. */
export const OPENGAUSS_PROTOCOL_MINORS = [51, 50, 0] as const

/** max_protocol_version in the openGauss dialects: "3.51" (default), "3.50" or "3.0". */
export function openGaussProtocolMinor(value: string | undefined): number {
  if (value === undefined || value === '' || value === 'latest') return 51
  const match = /^3\.(\d+)$/.exec(value)
  const minor = match ? Number(match[1]) : Number.NaN
  if (!(OPENGAUSS_PROTOCOL_MINORS as readonly number[]).includes(minor)) {
    throw new PgSslError('INVALID_SETTING', `invalid max_protocol_version value: "${value}" (openGauss dialects)`, {
      setting: 'max_protocol_version',
      hint: "use 3.51 (gsql's, the default), 3.50 or 3.0; see docs/dialects.md for what each means",
    })
  }
  return minor
}

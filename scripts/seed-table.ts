/**
 * The client × server outcome table of the seed manuals (GaussDB(DWS) "客户端和服务器端SSL连接参数组合情况",
 * docs/modes.md), transcribed as data, plus the four verify-full cells. This is the acceptance table: the
 * e2e test asserts every cell against real servers and the demo prints it as observed.
 *
 * The table is stated for a client that has a root CA file only when its mode verifies (verify-ca,
 * verify-full): with a root CA available, libpq makes require verify too (tested separately).
 */
import type { Dialect } from '../lib/postgres/dialects.js'
import type { PgSslErrorCode } from '../lib/engine/errors.js'
import type { Outcome } from '../lib/engine/report.js'
import type { SslMode } from '../lib/postgres/settings/keywords.js'

export interface SeedCell {
  readonly serverSsl: boolean
  readonly requireSsl: boolean
  readonly mode: SslMode
  /** The seed's wording of the result column. */
  readonly wording: string
  readonly outcome?: Outcome
  readonly error?: PgSslErrorCode
}

const CONNECTED_PLAIN = 'connected, not encrypted'
const CONNECTED_ENC = 'connected, encrypted'
const CONNECTED_VERIFIED = 'connected, encrypted, server certificate verified'
const SERVER_REQUIRES = 'cannot connect: server requires SSL, client disabled it'
const SERVER_DISABLED = 'cannot connect: client requires SSL, server has SSL disabled'

type Row = [serverSsl: boolean, mode: SslMode, requireSsl: boolean | 'any', wording: string]

/** The seed's 15 rows (20 cells: the ssl=off rows hold for require_ssl on and off). */
const SEED_ROWS: readonly Row[] = [
  [true, 'disable', true, SERVER_REQUIRES],
  [true, 'disable', false, CONNECTED_PLAIN],
  [true, 'allow', true, CONNECTED_ENC],
  [true, 'allow', false, CONNECTED_PLAIN],
  [true, 'prefer', true, CONNECTED_ENC],
  [true, 'prefer', false, CONNECTED_ENC],
  [true, 'require', true, CONNECTED_ENC],
  [true, 'require', false, CONNECTED_ENC],
  [true, 'verify-ca', true, CONNECTED_VERIFIED],
  [true, 'verify-ca', false, CONNECTED_VERIFIED],
  [false, 'disable', 'any', CONNECTED_PLAIN],
  [false, 'allow', 'any', CONNECTED_PLAIN],
  [false, 'prefer', 'any', CONNECTED_PLAIN],
  [false, 'require', 'any', SERVER_DISABLED],
  [false, 'verify-ca', 'any', SERVER_DISABLED],
]

const BY_WORDING: Readonly<Record<string, { outcome?: Outcome; error?: PgSslErrorCode }>> = {
  [CONNECTED_PLAIN]: { outcome: 'unencrypted' },
  [CONNECTED_ENC]: { outcome: 'encrypted' },
  [CONNECTED_VERIFIED]: { outcome: 'encrypted-verified' },
  [SERVER_REQUIRES]: { error: 'SSL_REQUIRED_BY_SERVER' },
  [SERVER_DISABLED]: { error: 'SSL_DISABLED_ON_SERVER' },
}

/** All 24 cells for one dialect (verify-full: 4 cells, which differ between the dialects). */
export function seedTable(dialect: Dialect): SeedCell[] {
  const cells: SeedCell[] = []
  for (const [serverSsl, mode, requireSsl, wording] of SEED_ROWS) {
    for (const req of requireSsl === 'any' ? [true, false] : [requireSsl]) {
      cells.push({ serverSsl, requireSsl: req, mode, wording, ...BY_WORDING[wording] })
    }
  }
  for (const serverSsl of [true, false]) {
    for (const requireSsl of [true, false]) {
      if (dialect !== 'postgres') {
        cells.push({
          serverSsl,
          requireSsl,
          mode: 'verify-full',
          wording: 'rejected before connecting: verify-full is not supported',
          error: 'UNSUPPORTED_SSLMODE',
        })
      } else if (serverSsl) {
        cells.push({
          serverSsl,
          requireSsl,
          mode: 'verify-full',
          wording: 'connected, encrypted, certificate and host name verified',
          outcome: 'encrypted-verified',
        })
      } else {
        cells.push({
          serverSsl,
          requireSsl,
          mode: 'verify-full',
          wording: SERVER_DISABLED,
          error: 'SSL_DISABLED_ON_SERVER',
        })
      }
    }
  }
  return cells
}

/** The four server configurations of the table. */
export const SERVER_CONFIGS = [
  { serverSsl: true, requireSsl: true },
  { serverSsl: true, requireSsl: false },
  { serverSsl: false, requireSsl: true },
  { serverSsl: false, requireSsl: false },
] as const

export const serverKey = (serverSsl: boolean, requireSsl: boolean): string =>
  `ssl=${serverSsl ? 'on' : 'off'} require_ssl=${requireSsl ? 'on' : 'off'}`

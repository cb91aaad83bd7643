/**
 * MySQL's ssl-mode, as the MySQL 8 client documents it, and its place on the engine's ladder of
 * modes (the policy's minimumMode is stated once, in libpq's names, for both protocols).
 */
import { PgSslError } from '../engine/errors.js'
import type { SslMode } from '../engine/terms.js'

export const MYSQL_SSL_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const
export type MysqlSslMode = (typeof MYSQL_SSL_MODES)[number]

/** The libpq mode that promises the same: PREFERRED is prefer (encrypt if offered), and so on. */
export const LADDER: Readonly<Record<MysqlSslMode, SslMode>> = {
  DISABLED: 'disable',
  PREFERRED: 'prefer',
  REQUIRED: 'require',
  VERIFY_CA: 'verify-ca',
  VERIFY_IDENTITY: 'verify-full',
}

export function mysqlModeFor(mode: SslMode): MysqlSslMode {
  if (mode === 'allow') return 'PREFERRED'
  return (Object.keys(LADDER) as MysqlSslMode[]).find((m) => LADDER[m] === mode)!
}

/** The client takes the name in any case (find_type is case-insensitive). */
export function parseMysqlSslMode(value: string, setting: string): MysqlSslMode {
  const upper = value.trim().toUpperCase()
  if ((MYSQL_SSL_MODES as readonly string[]).includes(upper)) return upper as MysqlSslMode
  throw new PgSslError('INVALID_SETTING', `invalid ssl-mode value: "${value}"`, {
    setting,
    hint: `ssl-mode takes ${MYSQL_SSL_MODES.join(', ')}`,
  })
}

export const usesTls = (mode: MysqlSslMode): boolean => mode !== 'DISABLED'
export const requiresTls = (mode: MysqlSslMode): boolean => mode !== 'DISABLED' && mode !== 'PREFERRED'
export const verifiesChain = (mode: MysqlSslMode): boolean => mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY'

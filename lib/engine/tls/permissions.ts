/**
 * Who may read certificate files. Two rules, chosen by dialect (and overridable):
 * - libpq: only the private key is checked; no group or world access (0600), or up to 0640 when
 *   the file is owned by root (fe-secure-openssl.c, initialize_SSL);
 * - openGauss-600: the certificate, the key and the root CA must all be 0600 or less (openGauss's
 *   libpq: `The file "%s" permission should be u=rw(600) or less.`), as gsql enforces.
 * Not checked on Windows, where modes mean nothing (libpq does the same).
 */
import { PgSslError } from '../errors.js'

export type FilePermissionRule = 'libpq' | 'openGauss-600' | 'off'
export const FILE_PERMISSION_RULES: readonly FilePermissionRule[] = ['libpq', 'openGauss-600', 'off']

export type MaterialRole = 'sslcert' | 'sslkey' | 'sslrootcert' | 'sslrootcertdir' | 'sslcrl' | 'sslcrldir'

export interface FileStat {
  readonly mode: number
  readonly uid: number
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`

export function checkPermissions(
  path: string,
  role: MaterialRole,
  stat: FileStat,
  rule: FilePermissionRule,
  platform: string = process.platform,
): void {
  if (rule === 'off' || platform === 'win32') return
  const mode = stat.mode & 0o777
  if (rule === 'libpq') {
    if (role !== 'sslkey') return
    const tooOpen = stat.uid === 0 ? mode & 0o037 : mode & 0o077
    if (tooOpen) {
      throw new PgSslError(
        'FILE_PERMISSIONS',
        `private key file "${path}" has group or world access (mode ${octal(mode)}); file must have ` +
          `permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r ` +
          `(0640) or less if owned by root`,
        { setting: role, file: path, hint: `chmod ${stat.uid === 0 ? '640' : '600'} '${path}'` },
      )
    }
    return
  }
  if (role === 'sslcert' || role === 'sslkey' || role === 'sslrootcert') {
    if (mode & ~0o600) {
      throw new PgSslError(
        'FILE_PERMISSIONS',
        `The file "${path}" permission should be u=rw(600) or less (it is ${octal(mode)}); openGauss ` +
          `and GaussDB clients refuse it`,
        {
          setting: role,
          file: path,
          hint: `chmod 600 '${path}'`,
        },
      )
    }
  }
}

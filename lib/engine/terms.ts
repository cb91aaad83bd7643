/**
 * The words both protocols share: the ladder of SSL modes (libpq's names; MySQL's ssl-modes map
 * onto it), the server families a policy can name, and the TLS protocol versions.
 */

const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSLMODES)[number]
export const SSL_MODES: readonly SslMode[] = SSLMODES

export function isSslMode(value: string): value is SslMode {
  return (SSLMODES as readonly string[]).includes(value)
}

/** The order of sslmode strength, used to compare modes (disable < ... < verify-full). */
export function sslModeRank(mode: SslMode): number {
  return SSLMODES.indexOf(mode)
}

/** PostgreSQL's dialects and MySQL: what a policy's allowedDialects can name. */
export const SERVER_FAMILIES = ['postgres', 'opengauss', 'gaussdb', 'mysql'] as const
export type ServerFamily = (typeof SERVER_FAMILIES)[number]

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
export const tlsRank = (v: TlsVersion): number => TLS_VERSIONS.indexOf(v)

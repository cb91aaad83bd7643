/**
 * The libpq connection keywords (PostgreSQL 15–18 `PQconninfoOptions`), with their environment
 * variable and default. This table is the truth for: which keywords a connection string may
 * hold, which PG* variables are read, and what each keyword defaults to.
 *
 * `use` says what this library does with a keyword:
 * - `honoured`: implemented with libpq's meaning;
 * - `ignored`: accepted and has no effect here, as it has none that matters for Node
 *   (e.g. GSS library selection, TCP keep-alive counts Node cannot set);
 * - `refused`: accepted by libpq, but a value we cannot honour would silently weaken or change
 *   the connection, so any value other than the default (or those in `accepts`) is an error.
 */

export type KeywordUse = 'honoured' | 'ignored' | 'refused'

export interface Keyword {
  readonly name: string
  readonly env?: string
  readonly default?: string
  /** Never shown: replaced by *** in resolved settings, reports and errors. */
  readonly secret?: boolean
  /** Allowed values, when the keyword is an enumeration. */
  readonly values?: readonly string[]
  readonly use: KeywordUse
  /** For `refused` keywords: the values that are still fine (the libpq default among them). */
  readonly accepts?: readonly string[]
  /** Why a `refused` keyword cannot be honoured, or why an `ignored` one changes nothing here. */
  readonly why?: string
  /** What to write instead of a refused value (else: "remove" it, or the values accepted). */
  readonly hint?: string
  /** A keyword libpq 18 does not list (PQconndefaults): why this library still takes it. */
  readonly notInLibpq18?: string
  /**
   * Only the environment variable is honoured: libpq reads it, but has no such keyword in a
   * connection string (PGSERVICEFILE in libpq 18).
   */
  readonly envOnly?: boolean
}

import { SSL_MODES, isSslMode, sslModeRank, type SslMode } from '../../engine/terms.js'
export { SSL_MODES, isSslMode, sslModeRank, type SslMode }

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const
const GSS_WHY =
  'Node has no GSSAPI: no Kerberos ticket is asked for or delegated, and a server that asks for GSS ' +
  'authentication is refused (as by a libpq built without GSSAPI)'

export const KEYWORDS: readonly Keyword[] = [
  { name: 'host', env: 'PGHOST', use: 'honoured' },
  { name: 'hostaddr', env: 'PGHOSTADDR', use: 'honoured' },
  { name: 'port', env: 'PGPORT', default: '5432', use: 'honoured' },
  { name: 'dbname', env: 'PGDATABASE', use: 'honoured' },
  { name: 'user', env: 'PGUSER', use: 'honoured' },
  { name: 'password', env: 'PGPASSWORD', secret: true, use: 'honoured' },
  { name: 'passfile', env: 'PGPASSFILE', use: 'honoured' },
  { name: 'connect_timeout', env: 'PGCONNECT_TIMEOUT', use: 'honoured' },
  { name: 'client_encoding', env: 'PGCLIENTENCODING', use: 'honoured' },
  { name: 'options', env: 'PGOPTIONS', use: 'honoured' },
  { name: 'application_name', env: 'PGAPPNAME', use: 'honoured' },
  { name: 'fallback_application_name', use: 'honoured' },
  { name: 'keepalives', default: '1', values: ['0', '1'], use: 'honoured' },
  { name: 'keepalives_idle', use: 'honoured' },
  {
    name: 'keepalives_interval',
    use: 'ignored',
    why: "Node's socket.setKeepAlive() sets only the idle time; the system's interval applies",
  },
  { name: 'keepalives_count', use: 'ignored', why: "Node cannot set it per socket; the system's count applies" },
  {
    name: 'tcp_user_timeout',
    use: 'ignored',
    why: 'Node cannot set TCP_USER_TIMEOUT on a socket; the system default applies (no TLS or login effect)',
  },
  { name: 'replication', use: 'honoured' },
  { name: 'sslmode', env: 'PGSSLMODE', default: 'prefer', values: SSL_MODES, use: 'honoured' },
  // In a connection string or option requiressl becomes sslmode (conninfo.ts storeKeyword).
  {
    name: 'requiressl',
    env: 'PGREQUIRESSL',
    use: 'honoured',
    notInLibpq18: 'a libpq 15 keyword (removed in 16), still read so that old settings keep their SSL',
  },
  {
    name: 'sslnegotiation',
    env: 'PGSSLNEGOTIATION',
    default: 'postgres',
    values: ['postgres', 'direct'],
    use: 'honoured',
  },
  {
    name: 'sslcompression',
    env: 'PGSSLCOMPRESSION',
    default: '0',
    values: ['0', '1'],
    use: 'ignored',
    why: 'libpq 18 ignores it too: OpenSSL has TLS compression off (CRIME), in Node as in libpq',
  },
  { name: 'sslcert', env: 'PGSSLCERT', use: 'honoured' },
  { name: 'sslkey', env: 'PGSSLKEY', use: 'honoured' },
  {
    name: 'sslcertmode',
    env: 'PGSSLCERTMODE',
    default: 'allow',
    values: ['disable', 'allow', 'require'],
    use: 'honoured',
  },
  { name: 'sslpassword', secret: true, use: 'honoured' },
  { name: 'sslrootcert', env: 'PGSSLROOTCERT', use: 'honoured' },
  { name: 'sslcrl', env: 'PGSSLCRL', use: 'honoured' },
  { name: 'sslcrldir', env: 'PGSSLCRLDIR', use: 'honoured' },
  { name: 'sslsni', env: 'PGSSLSNI', default: '1', values: ['0', '1'], use: 'honoured' },
  { name: 'sslkeylogfile', use: 'honoured' },
  {
    name: 'requirepeer',
    env: 'PGREQUIREPEER',
    use: 'refused',
    accepts: [],
    why: 'peer credential checks on Unix sockets are not implemented',
  },
  {
    name: 'ssl_min_protocol_version',
    env: 'PGSSLMINPROTOCOLVERSION',
    default: 'TLSv1.2',
    values: TLS_VERSIONS,
    use: 'honoured',
  },
  { name: 'ssl_max_protocol_version', env: 'PGSSLMAXPROTOCOLVERSION', values: TLS_VERSIONS, use: 'honoured' },
  {
    name: 'gssencmode',
    env: 'PGGSSENCMODE',
    default: 'prefer',
    values: ['disable', 'prefer', 'require'],
    use: 'refused',
    accepts: ['disable', 'prefer'],
    why:
      'GSSAPI encryption is not available in Node (prefer then means plaintext or SSL, as in a ' +
      'libpq built without GSSAPI)',
  },
  { name: 'krbsrvname', env: 'PGKRBSRVNAME', use: 'ignored', why: GSS_WHY },
  { name: 'gsslib', env: 'PGGSSLIB', use: 'ignored', why: GSS_WHY },
  { name: 'gssdelegation', env: 'PGGSSDELEGATION', default: '0', use: 'ignored', why: GSS_WHY },
  {
    name: 'channel_binding',
    env: 'PGCHANNELBINDING',
    default: 'prefer',
    values: ['disable', 'prefer', 'require'],
    use: 'honoured',
  },
  { name: 'require_auth', env: 'PGREQUIREAUTH', use: 'honoured' },
  { name: 'service', env: 'PGSERVICE', use: 'honoured' },
  {
    name: 'servicefile',
    env: 'PGSERVICEFILE',
    use: 'refused',
    envOnly: true,
    accepts: [],
    why: 'libpq 18 has no servicefile keyword ("invalid connection option"); it reads the file PGSERVICEFILE names',
    notInLibpq18: "only its environment variable, PGSERVICEFILE, is libpq 18's",
    hint: 'name the service file in PGSERVICEFILE (or use ~/.pg_service.conf)',
  },
  {
    name: 'target_session_attrs',
    env: 'PGTARGETSESSIONATTRS',
    default: 'any',
    values: ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'],
    use: 'honoured',
  },
  {
    name: 'load_balance_hosts',
    env: 'PGLOADBALANCEHOSTS',
    default: 'disable',
    values: ['disable', 'random'],
    use: 'honoured',
  },
  // The postgres dialect: 3.0, 3.2 or latest, as libpq 18 (protocol/version.ts); the openGauss
  // dialects read max_protocol_version as the version to ask for (opengauss/startup.ts).
  { name: 'min_protocol_version', env: 'PGMINPROTOCOLVERSION', use: 'honoured' },
  { name: 'max_protocol_version', env: 'PGMAXPROTOCOLVERSION', use: 'honoured' },
  // pg-connection-string's (pg 8.16+): libpq's meaning of sslmode, the only one here (tls-spellings.ts).
  {
    name: 'uselibpqcompat',
    use: 'refused',
    accepts: ['true'],
    values: ['true', 'false'],
    why: "pg-sslmode gives sslmode libpq's meaning always; pg's other reading (require as verify-full) is not offered",
    hint: 'remove uselibpqcompat, or write uselibpqcompat=true; for verification write sslmode=verify-full',
    notInLibpq18: "pg-connection-string's switch to libpq's sslmode meanings: true is what pg-sslmode does",
  },
  // libpq 18: SCRAM with the keys in place of the password (postgres_fdw's and dblink's pass-through).
  // Run in pg's place (connect/sasl.ts); the postgres dialect only.
  { name: 'scram_client_key', secret: true, use: 'honoured' },
  { name: 'scram_server_key', secret: true, use: 'honoured' },
  // libpq 18: OAuth 2.0 (SASL OAUTHBEARER).
  { name: 'oauth_issuer', use: 'honoured' },
  { name: 'oauth_client_id', use: 'honoured' },
  { name: 'oauth_client_secret', secret: true, use: 'honoured' },
  { name: 'oauth_scope', use: 'honoured' },
]

const BY_NAME = new Map(KEYWORDS.map((k) => [k.name, k]))

export function keyword(name: string): Keyword | undefined {
  return BY_NAME.get(name)
}

/**
 * The one table of MySQL settings pg-sslmode/mysql honours: the option-file / URI name (MySQL's
 * spelling), the option name in code, and whether it is secret. Other MySQL client options that
 * may sit in a [client] group are known and left to the client programs they belong to.
 */

export interface MysqlSetting {
  /** As in option files, URIs and MySQL's documentation. */
  readonly name: string
  /** As in connectMysql({ ... }). */
  readonly option: string
  readonly secret?: boolean
  /** A boolean option: named alone in an option file it means on (get-server-public-key). */
  readonly flag?: boolean
}

export const MYSQL_SETTINGS: readonly MysqlSetting[] = [
  { name: 'host', option: 'host' },
  { name: 'port', option: 'port' },
  { name: 'user', option: 'user' },
  { name: 'password', option: 'password', secret: true },
  { name: 'database', option: 'database' },
  { name: 'ssl-mode', option: 'sslMode' },
  { name: 'ssl-ca', option: 'sslCa' },
  { name: 'ssl-capath', option: 'sslCapath' },
  { name: 'ssl-cert', option: 'sslCert' },
  { name: 'ssl-key', option: 'sslKey' },
  { name: 'ssl-crl', option: 'sslCrl' },
  { name: 'ssl-crlpath', option: 'sslCrlpath' },
  { name: 'ssl-cipher', option: 'sslCipher' },
  { name: 'tls-version', option: 'tlsVersion' },
  { name: 'tls-ciphersuites', option: 'tlsCiphersuites' },
  { name: 'tls-sni-servername', option: 'tlsSniServername' },
  { name: 'connect-timeout', option: 'connectTimeout' },
  // OFF, ON or STRICT: ON and STRICT need Node's OpenSSL in FIPS mode (prepare.ts).
  { name: 'ssl-fips-mode', option: 'sslFipsMode' },
  // Over plaintext, caching_sha2_password and sha256_password encrypt the password to the
  // server's RSA key: fetched from the server only when allowed, or read from this file.
  { name: 'get-server-public-key', option: 'getServerPublicKey', flag: true },
  { name: 'server-public-key-path', option: 'serverPublicKeyPath' },
  // mysql_clear_password sends the password as it is: only when asked for (mysql2's enableCleartextPlugin).
  { name: 'enable-cleartext-plugin', option: 'enableCleartextPlugin', flag: true },
]

export type MysqlSettingName = (typeof MYSQL_SETTINGS)[number]['name']

/** Lower case, `_` → `-`: option files and URIs spell names either way. */
export const canonicalOptionName = (name: string): string => name.trim().toLowerCase().replace(/_/g, '-')

const BY_NAME = new Map(MYSQL_SETTINGS.map((s) => [s.name, s]))
export const settingNamed = (name: string): MysqlSetting | undefined => BY_NAME.get(name)

/** URI keys, compared without `-`: ssl-mode, ssl_mode, sslMode; `db` and `schema` as the connectors take them. */
export const URI_KEYS: ReadonlyMap<string, string> = new Map([
  ...MYSQL_SETTINGS.filter((s) => !['host', 'port', 'user', 'password'].includes(s.name)).map(
    (s) => [s.name.replace(/-/g, ''), s.name] as [string, string],
  ),
  ['db', 'database'],
  ['schema', 'database'],
])

/**
 * Options the MySQL 8 client and its siblings accept in [client] that do not concern us: read
 * without complaint and left alone (`socket`: pg-sslmode/mysql always connects over TCP).
 */
export const OTHER_CLIENT_OPTIONS: ReadonlySet<string> = new Set([
  'socket',
  'protocol',
  'default-character-set',
  'character-sets-dir',
  'compress',
  'compression-algorithms',
  'zstd-compression-level',
  'max-allowed-packet',
  'net-buffer-length',
  'auto-rehash',
  'no-auto-rehash',
  'prompt',
  'pager',
  'no-pager',
  'silent',
  'batch',
  'skip-column-names',
  'column-names',
  'safe-updates',
  'i-am-a-dummy',
  'local-infile',
  'load-data-local-dir',
  'init-command',
  'bind-address',
  'default-auth',
  'plugin-dir',
  'histignore',
  'line-numbers',
  'comments',
  'show-warnings',
  'sigint-ignore',
  'reconnect',
  'vertical',
  'table',
  'tee',
  'no-tee',
  'quick',
  'quote-names',
  'unbuffered',
  'xml',
  'html',
  'raw',
  'wait',
  'force',
  'verbose',
  'login-path',
  'dns-srv-name',
  'network-namespace',
  'password1',
  'password2',
  'password3',
  'plugin-authentication-kerberos-client-mode',
  'plugin-authentication-webauthn-client-preserve-privacy',
  'telemetry-client',
  'binary-as-hex',
  'connect-expired-password',
  'max-join-size',
  'select-limit',
  'shared-memory-base-name',
  'pipe',
  'default-group-suffix',
  'print-defaults',
])

/**
 * MySQL client options about TLS that pg-sslmode/mysql cannot honour: refused by name, because a
 * TLS setting that silently does nothing is a security bug.
 */
export const UNSUPPORTED_TLS_OPTIONS: ReadonlyMap<string, string> = new Map([
  [
    'ssl-session-data',
    'resuming a TLS session saved in a file is not supported: every connection runs a full, verified handshake',
  ],
  [
    'ssl-session-data-continue-on-failed-reuse',
    'resuming a TLS session saved in a file is not supported: every connection runs a full, verified handshake',
  ],
])

/** MariaDB's spellings for TLS: they mean something in MariaDB's client, so they are refused rather than ignored. */
export const MARIADB_TLS_OPTIONS: ReadonlyMap<string, string> = new Map([
  ['ssl', 'ssl-mode=REQUIRED (or VERIFY_CA / VERIFY_IDENTITY)'],
  ['skip-ssl', 'ssl-mode=DISABLED'],
  ['disable-ssl', 'ssl-mode=DISABLED'],
  ['enable-ssl', 'ssl-mode=REQUIRED'],
  ['ssl-verify-server-cert', 'ssl-mode=VERIFY_IDENTITY'],
  ['skip-ssl-verify-server-cert', 'ssl-mode=REQUIRED'],
  ['disable-ssl-verify-server-cert', 'ssl-mode=REQUIRED'],
  ['enable-ssl-verify-server-cert', 'ssl-mode=VERIFY_IDENTITY'],
])

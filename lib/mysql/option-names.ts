/**
 * The one table of MySQL settings pg-sslmode/mysql honours: the option-file / URI name (MySQL's
 * spelling), the option name in code, and whether it is secret. Every other option of the MySQL
 * 8.4 client is known: left to the client programs it belongs to, or refused, each with its reason.
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

const DISPLAY = "the mysql program's own input, output or display: nothing of a connection"
const FILES =
  'chooses which option files the mysql program reads: pg-sslmode/mysql reads the default files (docs/mysql.md)'
const TCP = 'pg-sslmode/mysql always connects over TCP, where TLS applies (a deliberate difference, docs/mysql.md)'
const MYSQL2 = (option: string) => `mysql2's own option ${option} sets it: give it to connectMysql()`

/**
 * Options the MySQL 8.4 client accepts in [client] that do not concern a connection made here,
 * each with the reason it is read without complaint and left alone. The census in docs/mysql.md
 * lists every option of the MySQL 8.4 client and test/mysql-census.test.ts checks each has its place.
 */
export const OTHER_CLIENT_OPTIONS: ReadonlyMap<string, string> = new Map([
  ...[
    'auto-rehash',
    'no-auto-rehash',
    'auto-vertical-output',
    'batch',
    'binary-as-hex',
    'binary-mode',
    'column-names',
    'skip-column-names',
    'column-type-info',
    'commands',
    'comments',
    'debug',
    'debug-check',
    'debug-info',
    'delimiter',
    'execute',
    'force',
    'help',
    'histignore',
    'html',
    'ignore-spaces',
    'line-numbers',
    'skip-line-numbers',
    'named-commands',
    'skip-named-commands',
    'no-beep',
    'one-database',
    'pager',
    'no-pager',
    'skip-pager',
    'prompt',
    'quick',
    'quote-names',
    'raw',
    'reconnect',
    'skip-reconnect',
    'safe-updates',
    'i-am-a-dummy',
    'select-limit',
    'max-join-size',
    'show-warnings',
    'sigint-ignore',
    'silent',
    'syslog',
    'system-command',
    'table',
    'tee',
    'no-tee',
    'unbuffered',
    'verbose',
    'version',
    'vertical',
    'wait',
    'xml',
    'print-defaults',
    'telemetry-client',
    'connect-expired-password',
  ].map((name): [string, string] => [name, DISPLAY]),
  ...[
    'defaults-file',
    'defaults-extra-file',
    'defaults-group-suffix',
    'no-defaults',
    'login-path',
    'no-login-paths',
  ].map((name): [string, string] => [name, FILES]),
  ['socket', TCP],
  ['protocol', TCP],
  ['pipe', `${TCP}; named pipes are Windows'`],
  ['shared-memory-base-name', `${TCP}; shared memory is Windows'`],
  ['default-character-set', MYSQL2('charset')],
  ['character-sets-dir', "the C client's character set files: mysql2 has its own"],
  ['compress', MYSQL2('compress')],
  ['compression-algorithms', 'mysql2 compresses with zlib only (its compress option)'],
  ['zstd-compression-level', 'mysql2 compresses with zlib only (its compress option)'],
  ['max-allowed-packet', MYSQL2('maxPacketSize')],
  ['net-buffer-length', "the C client's network buffer: mysql2 sizes its own"],
  ['local-infile', MYSQL2('infileStreamFactory (LOAD DATA LOCAL)')],
  ['load-data-local-dir', MYSQL2('infileStreamFactory (LOAD DATA LOCAL)')],
  ['bind-address', MYSQL2('localAddress')],
  ['plugin-dir', "the C client's plugin directory: mysql2's authentication plugins are its own"],
])

/**
 * MySQL client options pg-sslmode/mysql cannot honour and would change the connection's security,
 * its credentials or what it runs: refused by name, because such a setting that silently does
 * nothing is a security bug (loose-NAME keeps them for other programs).
 */
export const UNSUPPORTED_OPTIONS: ReadonlyMap<string, string> = new Map([
  [
    'ssl-session-data',
    'resuming a TLS session saved in a file is not supported: every connection runs a full, verified handshake',
  ],
  [
    'ssl-session-data-continue-on-failed-reuse',
    'resuming a TLS session saved in a file is not supported: every connection runs a full, verified handshake',
  ],
  ['password1', 'multifactor authentication is not supported; password1 is the first factor: write password'],
  ['password2', 'multifactor authentication is not supported (mysql2 has no second factor)'],
  ['password3', 'multifactor authentication is not supported (mysql2 has no third factor)'],
  ['default-auth', 'the authentication plugin is the one the server asks for: mysql2 has no default-auth'],
  [
    'plugin-authentication-kerberos-client-mode',
    'Kerberos authentication (authentication_kerberos_client) is not supported',
  ],
  ['plugin-authentication-webauthn-client-preserve-privacy', 'WebAuthn authentication is not supported'],
  ['register-factor', 'multifactor (FIDO/WebAuthn) registration is not supported'],
  ['authentication-oci-client-config-profile', 'OCI IAM authentication (authentication_oci_client) is not supported'],
  ['oci-config-file', 'OCI IAM authentication (authentication_oci_client) is not supported'],
  ['dns-srv-name', 'DNS SRV lookup of the server is not supported: give host and port'],
  ['network-namespace', 'connecting from another network namespace is not supported'],
  ['init-command', 'mysql2 runs no statement at connect: run it after connecting'],
  ['init-command-add', 'mysql2 runs no statement at connect: run it after connecting'],
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

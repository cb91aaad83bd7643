/**
 * One error class with stable codes. The table below is the single source of the codes, their
 * one-line meaning (in the seed manuals' wording where one exists) and a default hint; the README's
 * error table is checked against it by a test.
 */

export const ERROR_CODES = {
  SSL_REQUIRED_BY_SERVER: {
    summary: 'cannot connect: server requires SSL, client disabled it',
    hint: 'use sslmode=allow or stronger (require, verify-ca, verify-full), or allow plaintext on the server',
  },
  SSL_DISABLED_ON_SERVER: {
    summary: 'cannot connect: client requires SSL, server has SSL disabled',
    hint: 'enable ssl on the server, or use sslmode=prefer/allow/disable if plaintext is acceptable',
  },
  UNSUPPORTED_SSLMODE: {
    summary: 'this sslmode is not supported by the selected dialect',
    hint: 'GaussDB(DWS) and openGauss do not support verify-full: use verify-ca',
  },
  INVALID_SETTING: {
    summary: 'a connection setting has an invalid value',
    hint: 'check the value against the libpq documentation of that keyword',
  },
  ROOT_CERT_MISSING: {
    summary: 'server certificate verification needs a root CA file, and none is available',
    hint: 'set sslrootcert (or PGSSLROOTCERT) to the CA bundle, or use sslmode=require if verification is not wanted',
  },
  CERT_VERIFY_FAILED: {
    summary: 'the server certificate could not be verified',
    hint: 'check that sslrootcert is the CA that signed the server certificate and that the certificate is valid',
  },
  HOSTNAME_MISMATCH: {
    summary: 'the server certificate does not match the host name',
    hint: 'connect with the host name the certificate was issued for, or use sslmode=verify-ca',
  },
  INI_SYNTAX: {
    summary: 'an ini file cannot be read the way Python configparser reads it',
    hint:
      'fix the line named in the message; python3 -c "import configparser; ' +
      'configparser.ConfigParser().read(FILE)" shows the same error',
  },
  INI_SECTION_MISSING: {
    summary: 'the ini file has no section of the requested name',
    hint: 'name one of the sections listed in the message (the default section is [postgresql])',
  },
  SERVICE_NOT_FOUND: {
    summary: 'the connection service named by service= or PGSERVICE is not defined',
    hint: 'define it in ~/.pg_service.conf (or PGSERVICEFILE), or in pg_service.conf under PGSYSCONFDIR',
  },
  SERVICE_FILE_INVALID: {
    summary: 'a connection service file has a line libpq cannot read',
    hint: 'service files hold [name] lines and keyword=value lines with libpq keywords',
  },
  FILE_NOT_FOUND: {
    summary: 'a file named in the settings does not exist',
    hint: 'check the path (libpq expects absolute paths)',
  },
  FILE_UNREADABLE: {
    summary: 'a file named in the settings cannot be read',
    hint: 'check the file permissions and that the path is a regular file',
  },
  INVALID_PEM: {
    summary: 'a certificate, key or CRL file holds no valid PEM or DER data',
    hint: 'check that the file is the certificate/key/CRL it is supposed to be',
  },
  KEY_DECRYPT_FAILED: {
    summary: 'the client private key could not be decrypted',
    hint: 'set sslpassword to the passphrase of the key (it is never shown in messages)',
  },
  KEY_CIPHER_CORRUPT: {
    summary: 'a client.key.cipher / client.key.rand pair is damaged or has the wrong size',
    hint: 'download the certificate bundle again, or re-create the pair with gs_guc encrypt / encryptKeyPassphrase()',
  },
  FILE_PERMISSIONS: {
    summary: 'a certificate or key file is readable by others, which the client refuses',
    hint:
      'chmod the file as the message says (libpq: key 0600, or 0640 owned by root; openGauss: ' +
      'certificate, key and root CA 0600)',
  },
  KEY_MISMATCH: {
    summary: 'the client private key does not belong to the client certificate',
    hint: 'use the key that was generated with the certificate',
  },
  SSL_HANDSHAKE_FAILED: {
    summary: 'the TLS handshake with the server failed',
    hint:
      'check TLS versions (ssl_min_protocol_version / ssl_max_protocol_version), the client ' +
      'certificate, and the server logs; an "ssl SYSCALL error" may be worked around with sslmode=allow or prefer',
  },
  PROTOCOL_VIOLATION: {
    summary: 'the server answered something the PostgreSQL protocol does not allow here',
    hint: 'check that host:port is a PostgreSQL/openGauss server and that nothing sits in between',
  },
  PROTOCOL_VERSION: {
    summary: 'the server does not speak the lowest protocol version min_protocol_version allows',
    hint: 'protocol 3.2 needs PostgreSQL 18: lower min_protocol_version to 3.0 for older servers',
  },
  CONNECTION_FAILED: {
    summary: 'could not open a network connection to the server',
    hint: 'check host, port, that the server is running and that it accepts TCP connections',
  },
  CONNECT_TIMEOUT: {
    summary: 'the connection attempt did not finish within connect_timeout',
    hint: 'raise connect_timeout or check the network path to the server',
  },
  UNSUPPORTED_AUTH: {
    summary: 'the server asks for a password method this library does not implement',
    hint: 'openGauss: store the password as sha256 (password_encryption_type=2); SM3 is not supported',
  },
  POLICY_VIOLATION: {
    summary: 'the connection would break the SSL policy',
    hint: 'the message names the rule, what it requires and what was observed',
  },
  POLICY_INVALID: {
    summary: 'an SSL policy (connect option or PGSSLPOLICY) cannot be read or makes no sense',
    hint: 'fix the policy: a policy that cannot be read is never ignored',
  },
  CLIENT_CERT_REQUIRED: {
    summary:
      'sslcertmode=require: no client certificate was exchanged (the server did not ask for one, or ' +
      'none was configured)',
    hint:
      'configure the server to request client certificates (ssl_ca_file), give sslcert/sslkey, ' +
      'or use sslcertmode=allow',
  },
  PASSWORD_REQUIRED: {
    summary: 'the server asked for a password and none was given',
    hint:
      'give password (or PGPASSWORD), or a password file (passfile, PGPASSFILE, ~/.pgpass, 0600) ' +
      'with a line for this host, port, database and user',
  },
  AUTH_METHOD_NOT_ALLOWED: {
    summary: 'require_auth: the server asked for an authentication method the settings do not allow',
    hint:
      'the message names the requirement and what the server asked for; change require_auth or ' +
      'the server (pg_hba.conf)',
  },
  CHANNEL_BINDING_REQUIRED: {
    summary:
      'channel_binding=require: the server did not authenticate with SCRAM-SHA-256-PLUS bound to this TLS session',
    hint: 'use SSL and a SCRAM-SHA-256 password (pg_hba.conf scram-sha-256), or channel_binding=prefer',
  },
  OAUTH_FAILED: {
    summary:
      'OAuth (SASL OAUTHBEARER, PostgreSQL 18): the settings, the token provider or the server ' +
      'could not complete the bearer-token exchange',
    hint:
      'give oauth_issuer and oauth_client_id as pg_hba.conf expects them, and an oauthBearerToken ' +
      'function that returns a token for the issuer and scope it is asked for',
  },
  SERVER_SIGNATURE_MISMATCH: {
    summary: "openGauss SHA256 (protocol below 3.50): the server's signature does not prove it knows the password",
    hint:
      'the server is not the one it claims to be, or the password is wrong; nothing was sent. ' +
      'Check host, port and password',
  },
  TARGET_SESSION_ATTRS_MISMATCH: {
    summary:
      'target_session_attrs: no host offered the kind of session asked for (read-write, read-only, primary, standby)',
    hint: 'the message names what each host was; check which host is the primary, or relax target_session_attrs',
  },
  MYSQLPLUS_CONFIG: {
    summary: 'MySQL Plus switch: no usable API key, zone or endpoint in the configuration',
    hint:
      'write qy_access_key_id, qy_secret_access_key and zone to ~/.qingcloud/config.yaml (or ' +
      'pass -f FILE, or set QY_ACCESS_KEY_ID / QY_SECRET_ACCESS_KEY / QY_ZONE)',
  },
  MYSQLPLUS_API_ERROR: {
    summary: 'MySQL Plus switch: the cloud API refused the call or did not answer',
    hint: "the message carries the API's ret_code and message",
  },
  MYSQLPLUS_JOB_FAILED: {
    summary: 'MySQL Plus switch: the configuring_SSL job failed',
    hint: 'see the job in the console',
  },
  MYSQLPLUS_TIMEOUT: {
    summary: 'MySQL Plus switch: the job did not finish in time',
    hint: 'it may still finish: check the job before trying again',
  },
  PEER_MISSING: {
    summary: "pg (a peer dependency: the application's own copy is used) is not installed",
    hint: 'npm install pg (pg >=8.11.0 <9)',
  },
  NATIVE_NOT_SUPPORTED: {
    summary: 'pg-native (libpq bindings through pg.native or NODE_PG_FORCE_NATIVE) cannot be given these semantics',
    hint:
      'use pure-JavaScript pg (drop native: true / pgNative / NODE_PG_FORCE_NATIVE): pg-sslmode ' +
      "gives it libpq's sslmode semantics",
  },
  OPTION_FILE_INVALID: {
    summary: 'a MySQL option file (my.cnf) has a line or an option the MySQL client would refuse',
    hint: 'fix the line named in the message; prefix options meant for other programs with loose-',
  },
  MYSQL2_UNSUPPORTED: {
    summary:
      'the installed mysql2 lacks what pg-sslmode/mysql needs (a connection config per pooled ' +
      'connection, the stream option)',
    hint:
      "install mysql2 3.23.3 or newer (pg-sslmode's peerDependencies): earlier versions share " +
      'one config object between pooled connections',
  },
  INSECURE_PASSWORD_EXCHANGE: {
    summary:
      'MySQL: over an unencrypted connection the server asked for the password encrypted to an RSA ' +
      'key it would send itself (a man in the middle could send its own)',
    hint:
      "use ssl-mode=REQUIRED or stronger, or give server-public-key-path (the server's RSA " +
      'public key); get-server-public-key=1 trusts whatever key arrives',
  },
  SERVER_REJECTED: {
    summary: 'the server refused the connection',
    hint: 'see the server message and SQLSTATE (authentication, pg_hba.conf, database name)',
  },
} as const

export type PgSslErrorCode = keyof typeof ERROR_CODES

/** Why a server certificate failed verification (stable, for reports and policies). */
export type VerifyFailureReason =
  | 'untrusted-root'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'bad-signature'
  | 'chain-incomplete'
  | 'not-a-ca'
  | 'crl-problem'
  | 'other'

export interface PgSslErrorDetails {
  /** The libpq keyword (or option) the error is about, e.g. `sslmode`. */
  setting?: string
  /** The file the error is about. A path, never the contents. */
  file?: string
  hint?: string
  reason?: VerifyFailureReason
  /** SQLSTATE when the server sent an ErrorResponse. */
  sqlstate?: string
  serial?: string
  crlIssuer?: string
  /** For POLICY_VIOLATION: the rule, what it requires, and what was observed. */
  rule?: string
  required?: string
  observed?: string
  /** For POLICY_VIOLATION: where the rule came from (e.g. "env:PGSSLPOLICY=strict"). */
  ruleSource?: string
  /** Every connection attempt that was made, in order (from the plan executor). */
  attempts?: readonly unknown[]
  cause?: unknown
}

export class PgSslError extends Error {
  /**
   * The stable code, under the name every pg-sslmode error has (PgSslError and PgSslServerError): a prototype getter.
   */
  declare readonly sslCode: PgSslErrorCode
  declare readonly sslHint: string
  declare readonly sslMessage: string
  /** The stable code (the same as sslCode). */
  readonly code: PgSslErrorCode
  readonly setting?: string
  readonly file?: string
  readonly hint: string
  readonly reason?: VerifyFailureReason
  readonly sqlstate?: string
  /** For reason 'revoked': the revoked certificate's serial and the CRL's issuer. */
  readonly serial?: string
  readonly crlIssuer?: string
  readonly rule?: string
  readonly required?: string
  readonly observed?: string
  readonly ruleSource?: string
  readonly attempts?: readonly unknown[]

  constructor(code: PgSslErrorCode, message: string, details: PgSslErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'PgSslError'
    this.code = code
    this.hint = details.hint ?? ERROR_CODES[code].hint
    if (details.setting !== undefined) this.setting = details.setting
    if (details.file !== undefined) this.file = details.file
    if (details.reason !== undefined) this.reason = details.reason
    if (details.sqlstate !== undefined) this.sqlstate = details.sqlstate
    if (details.serial !== undefined) this.serial = details.serial
    if (details.crlIssuer !== undefined) this.crlIssuer = details.crlIssuer
    if (details.rule !== undefined) this.rule = details.rule
    if (details.required !== undefined) this.required = details.required
    if (details.observed !== undefined) this.observed = details.observed
    if (details.ruleSource !== undefined) this.ruleSource = details.ruleSource
    if (details.attempts !== undefined) this.attempts = details.attempts
  }
}

/**
 * The error a connection (or a cancel request) ends with, made whole: the same code, message,
 * details, cause and stack, with every attempt that was made — so the error the caller gets is
 * complete when it is made, never patched afterwards.
 */
export function withAttempts(error: PgSslError, attempts: readonly unknown[]): PgSslError {
  const whole = new PgSslError(error.code, error.message, {
    ...detailsOf(error),
    attempts,
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  })
  whole.stack = error.stack
  return whole
}

/** The details of an error, to build another from it (a reworded or combined message). */
export function detailsOf(error: PgSslError): PgSslErrorDetails {
  const details: PgSslErrorDetails = { hint: error.hint }
  for (const name of [
    'setting',
    'file',
    'reason',
    'sqlstate',
    'serial',
    'crlIssuer',
    'rule',
    'required',
    'observed',
    'ruleSource',
    'attempts',
  ] as const) {
    if (error[name] !== undefined) (details as Record<string, unknown>)[name] = error[name]
  }
  return details
}

/**
 * A refusal the server sent (an ErrorResponse: authentication, pg_hba.conf, 57P03, ...) reaches
 * the caller as pg's own DatabaseError — `code` is the SQLSTATE, with pg's `severity`, `detail`,
 * `hint`... — so code written for pg keeps working; pg-sslmode's classification travels with it.
 */
export interface PgSslServerError extends Error {
  /** The SQLSTATE, as in pg. */
  readonly code: string
  /** pg-sslmode's stable code: SERVER_REJECTED or SSL_REQUIRED_BY_SERVER. */
  readonly sslCode: PgSslErrorCode
  /** pg-sslmode's hint (pg's `hint` is the server's HINT field). */
  readonly sslHint: string
  /** pg-sslmode's explanation ("server requires SSL, client disabled it: ..."); `message` is the server's. */
  readonly sslMessage: string
  /** The SQLSTATE again, under the name pg-sslmode used before. */
  readonly sqlstate: string
  readonly setting?: string
  attempts?: readonly unknown[]
  readonly severity?: string
  readonly detail?: string
  readonly hint?: string
}

Object.defineProperty(PgSslError.prototype, 'sslMessage', {
  get(this: PgSslError) {
    return this.message
  },
})
Object.defineProperty(PgSslError.prototype, 'sslCode', {
  get(this: PgSslError) {
    return this.code
  },
})
Object.defineProperty(PgSslError.prototype, 'sslHint', {
  get(this: PgSslError) {
    return this.hint
  },
})

/** pg-sslmode's stable code of an error, whichever form it takes; undefined for other errors. */
export function sslCodeOf(error: unknown): PgSslErrorCode | undefined {
  if (error instanceof PgSslError) return error.code
  const code = (error as { sslCode?: unknown } | null)?.sslCode
  return error instanceof Error && typeof code === 'string' && code in ERROR_CODES
    ? (code as PgSslErrorCode)
    : undefined
}

/** Whether `error` comes from pg-sslmode (optionally: with this stable code), in either form. */
export function isPgSslError(error: unknown, code?: PgSslErrorCode): error is PgSslError | PgSslServerError {
  const sslCode = sslCodeOf(error)
  return sslCode !== undefined && (code === undefined || sslCode === code)
}

const warned = new Set<string>()

/** A process warning, once per `key` (a file that cannot be written must not flood the log). */
export function warnOnce(key: string, message: string, type = 'PgSslWarning'): void {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(`pg-sslmode: ${message}`, type)
}

/**
 * What differs between PostgreSQL's libpq and openGauss/GaussDB(DWS)'s libpq (gsql), in one table
 * (docs/dialects.md). Code asks this table; it never tests the dialect name itself.
 */

import type { FilePermissionRule } from '../engine/tls/permissions.js'

export type Dialect = 'postgres' | 'opengauss' | 'gaussdb'

import type { TlsVersion } from '../engine/terms.js'
export type { TlsVersion }

export interface DialectRules {
  /** Human name for messages. */
  readonly label: string
  readonly supportsVerifyFull: boolean
  /**
   * Whether a start-up refused with SQLSTATE 57P03 leads to the other SSL choice (allow: retry
   * with SSL). Modern libpq moves to the next host instead (fe-connect.c, "cannot connect now");
   * openGauss's libpq retries with SSL, which is how its require_ssl refusal is answered.
   */
  readonly retriesOtherSslChoiceAfter57P03: boolean
  /** libpq 16+ takes sslrootcert=system as "the system's trusted roots". */
  readonly knowsSystemRootCert: boolean
  /** Which files must be private, and how (tls/permissions.ts). */
  readonly filePermissions: FilePermissionRule
  /** An encrypted client key's passphrase may come from client.key.cipher/.rand beside the certificate. */
  readonly keyPassphraseFromCipherFiles: boolean
  /** Start-up and password authentication done the openGauss way (protocol 3.51, SHA256, MD5_SHA256). */
  readonly openGaussAuthentication: boolean
  /** TLS version bounds used when ssl_min/max_protocol_version are not set. */
  readonly defaultMinTls: TlsVersion
  readonly defaultMaxTls: TlsVersion | undefined
  /** OpenSSL cipher list offered unless a policy names ciphers (gsql's fixed list). */
  readonly defaultCiphers: string | undefined
}

/** openGauss's libpq (gsql, the DWS drivers): the same rules for both products. */
const OPENGAUSS_LIBPQ: Omit<DialectRules, 'label'> = {
  supportsVerifyFull: false,
  retriesOtherSslChoiceAfter57P03: true,
  knowsSystemRootCert: false,
  filePermissions: 'openGauss-600',
  keyPassphraseFromCipherFiles: true,
  openGaussAuthentication: true,
  defaultMinTls: 'TLSv1.2',
  defaultMaxTls: 'TLSv1.2',
  // openGauss's libpq: TLSv1_2_method with ECDHE-RSA/ECDSA and DHE-RSA AES-GCM suites only.
  defaultCiphers: [
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'DHE-RSA-AES256-GCM-SHA384',
    'DHE-RSA-AES128-GCM-SHA256',
  ].join(':'),
}

export const DIALECTS: Readonly<Record<Dialect, DialectRules>> = {
  postgres: {
    label: 'PostgreSQL',
    supportsVerifyFull: true,
    retriesOtherSslChoiceAfter57P03: false,
    knowsSystemRootCert: true,
    filePermissions: 'libpq',
    keyPassphraseFromCipherFiles: false,
    openGaussAuthentication: false,
    defaultMinTls: 'TLSv1.2',
    defaultMaxTls: undefined,
    defaultCiphers: undefined,
  },
  opengauss: { label: 'openGauss', ...OPENGAUSS_LIBPQ },
  gaussdb: { label: 'GaussDB(DWS)', ...OPENGAUSS_LIBPQ },
}

export const DIALECT_NAMES = Object.keys(DIALECTS) as Dialect[]

export function isDialect(value: unknown): value is Dialect {
  return typeof value === 'string' && Object.hasOwn(DIALECTS, value)
}

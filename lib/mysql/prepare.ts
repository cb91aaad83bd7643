/**
 * Everything about a MySQL connection that can fail before network traffic: the SSL policy on the
 * mode, the CA the verifying modes need, tls-version, the certificate files — turned into the
 * node:tls options of the session. Errors name MySQL's settings (ssl-ca, not sslrootcert).
 */
import { readFileSync } from 'node:fs'
import { createPublicKey, getFips } from 'node:crypto'
import type { ConnectionOptions, SecureVersion } from 'node:tls'
import { detailsOf, PgSslError } from '../engine/errors.js'
import { checkDialectAndMode, checkMaterial, violation, type ExpiryWarning } from '../engine/policy/enforce.js'
import { tlsRank } from '../engine/policy/policy.js'
import { sslModeRank, TLS_VERSIONS, type TlsVersion } from '../engine/terms.js'
import { secureContextFor } from '../engine/tls/context.js'
import { loadTlsMaterial, type TlsMaterial } from '../engine/tls/material.js'
import { LADDER, mysqlModeFor, usesTls, verifiesChain, type MysqlSslMode } from './modes.js'
import { mysqlSettingValue, type MysqlSettings } from './settings.js'

export interface PreparedMysql {
  readonly settings: MysqlSettings
  /** The mode in force: the settings' mode, or the policy's minimum when it says upgrade. */
  readonly mode: MysqlSslMode
  readonly upgradedFrom: MysqlSslMode | null
  readonly host: string
  readonly port: number
  readonly material: TlsMaterial
  /** For a TLS session; undefined for DISABLED. */
  readonly tlsOptions: ConnectionOptions | undefined
  readonly warnings: readonly ExpiryWarning[]
  readonly notes: readonly string[]
  readonly prepareMs: number
  /** server-public-key-path, read: the key caching_sha2_password / sha256_password encrypt to over plaintext. */
  readonly serverPublicKey?: Buffer
}

export async function prepareMysql(settings: MysqlSettings): Promise<PreparedMysql> {
  const started = performance.now()
  const { mode, upgradedFrom, notes } = modeWithPolicy(settings)
  const ca = mysqlSettingValue(settings, 'ssl-ca')
  const capath = mysqlSettingValue(settings, 'ssl-capath')
  if (verifiesChain(mode) && ca === undefined && capath === undefined) {
    throw new PgSslError(
      'ROOT_CERT_MISSING',
      'SSL connection error: CA certificate is required if ssl-mode is VERIFY_CA or VERIFY_IDENTITY',
      {
        setting: 'ssl-ca',
        hint:
          'set ssl-ca (or ssl-capath) to the CA that signed the server certificate, or use ' +
          'ssl-mode=REQUIRED if verification is not wanted',
      },
    )
  }
  checkFipsMode(mysqlSettingValue(settings, 'ssl-fips-mode'))
  const keyPath = mysqlSettingValue(settings, 'server-public-key-path')
  const serverPublicKey = keyPath === undefined || keyPath === '' ? undefined : readServerPublicKey(keyPath)
  const bounds = tlsBounds(mysqlSettingValue(settings, 'tls-version'))
  const { material, warnings } = await materialFor(settings, mode)
  return {
    settings,
    mode,
    upgradedFrom,
    host: mysqlSettingValue(settings, 'host')!,
    port: Number(mysqlSettingValue(settings, 'port')),
    material,
    tlsOptions: usesTls(mode) ? tlsOptionsFor(settings, mode, material, bounds) : undefined,
    warnings,
    notes,
    prepareMs: performance.now() - started,
    ...(serverPublicKey ? { serverPublicKey } : {}),
  }
}

/** The mode after the policy: refused, or raised to its minimum (onWeakerMode: upgrade). */
function modeWithPolicy(settings: MysqlSettings): {
  mode: MysqlSslMode
  upgradedFrom: MysqlSslMode | null
  notes: string[]
} {
  const { policy } = settings
  const notes = [...settings.notes]
  const mode = settings.sslMode
  checkDialectAndMode(policy, 'mysql', LADDER[mode], `ssl-mode ${mode}`)
  if (policy.channelBinding === 'require') {
    throw violation(
      policy,
      'channelBinding',
      'authentication bound to the TLS session (SCRAM-SHA-256-PLUS)',
      'MySQL has no channel binding',
    )
  }
  if (!policy.minimumMode || sslModeRank(LADDER[mode]) >= sslModeRank(policy.minimumMode)) {
    return { mode, upgradedFrom: null, notes }
  }
  const minimum = mysqlModeFor(policy.minimumMode)
  if (policy.onWeakerMode !== 'upgrade') {
    throw violation(
      policy,
      'minimumMode',
      `ssl-mode ${minimum} (sslmode ${policy.minimumMode}) or stronger`,
      `the connection would use ssl-mode ${mode}`,
    )
  }
  checkDialectAndMode(policy, 'mysql', LADDER[minimum], `ssl-mode ${minimum}`)
  notes.unshift(`the SSL policy raised ssl-mode ${mode} to ${minimum} (minimumMode)`)
  return { mode: minimum, upgradedFrom: mode, notes }
}

/** The certificate files (only for a mode that uses TLS) and the policy's warnings on them. */
async function materialFor(
  settings: MysqlSettings,
  mode: MysqlSslMode,
): Promise<{ material: TlsMaterial; warnings: ExpiryWarning[] }> {
  const { policy } = settings
  const optional = (key: string, value: string | undefined): Record<string, string> =>
    value === undefined ? {} : { [key]: value }
  try {
    const material: TlsMaterial = usesTls(mode)
      ? await loadTlsMaterial({
          // REQUIRED does not verify, so its CA is not even read (the MySQL client warns that it is unused).
          ...(verifiesChain(mode)
            ? {
                ...optional('sslrootcert', mysqlSettingValue(settings, 'ssl-ca')),
                ...optional('sslrootcertdir', mysqlSettingValue(settings, 'ssl-capath')),
              }
            : {}),
          ...optional('sslcrl', mysqlSettingValue(settings, 'ssl-crl')),
          ...optional('sslcrldir', mysqlSettingValue(settings, 'ssl-crlpath')),
          ...optional('sslcert', mysqlSettingValue(settings, 'ssl-cert')),
          ...optional('sslkey', mysqlSettingValue(settings, 'ssl-key')),
          sendClientCertificate: true,
          systemRootCert: false,
          // libpq's rule on the private key (0600, or 0640 owned by root) applies to MySQL too:
          // the MySQL client does not check, pg-sslmode does not get weaker (README: differences).
          filePermissions: policy.filePermissions ?? 'libpq',
        })
      : { rootCert: 'none', files: {} }
    const warnings = checkMaterial(
      policy,
      { clientCertificate: material.clientChain?.[0], crlCount: material.crlList?.length ?? 0 },
      new Date(),
    )
    return { material, warnings }
  } catch (error) {
    throw inMysqlTerms(error)
  }
}

/** The node:tls options of the session: tls-version, the ciphers, SNI, the policy's bounds. */
function tlsOptionsFor(
  settings: MysqlSettings,
  mode: MysqlSslMode,
  material: TlsMaterial,
  bounds: ReturnType<typeof tlsBounds>,
): ConnectionOptions {
  const policyTls = settings.policy.tls ?? {}
  const maxVersion =
    policyTls.maxVersion && tlsRank(policyTls.maxVersion) < tlsRank(bounds.max) ? policyTls.maxVersion : bounds.max
  const cipherList = [
    mysqlSettingValue(settings, 'ssl-cipher'),
    mysqlSettingValue(settings, 'tls-ciphersuites'),
  ].filter((c): c is string => c !== undefined && c !== '')
  const ciphers = policyTls.ciphers
    ? policyTls.ciphers.join(':')
    : cipherList.length > 0
      ? cipherList.join(':')
      : undefined
  const sni = mysqlSettingValue(settings, 'tls-sni-servername')
  return {
    secureContext: secureContextFor(material, {
      verifyChain: verifiesChain(mode),
      minVersion: bounds.min as SecureVersion,
      maxVersion: maxVersion as SecureVersion,
      ...(ciphers ? { ciphers } : {}),
    }),
    ...(sni ? { servername: sni } : {}),
    // OpenSSL's verdict is read after the handshake and decides before any credential is sent.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  }
}

/**
 * ssl-fips-mode (the MySQL 8 client): ON and STRICT put OpenSSL in FIPS mode or fail. Node's
 * OpenSSL is in FIPS mode for the whole process or not at all (node --enable-fips, or an
 * OPENSSL_CONF that enables the FIPS provider), so ON and STRICT are honoured when it is, and
 * refused when it is not — never a FIPS setting that does nothing.
 */
function checkFipsMode(value: string | undefined): void {
  const mode = value?.toUpperCase()
  if (mode === undefined || mode === 'OFF' || getFips() === 1) return
  throw new PgSslError('INVALID_SETTING', `ssl-fips-mode=${mode}: this Node process's OpenSSL is not in FIPS mode`, {
    setting: 'ssl-fips-mode',
    hint: 'start Node with --enable-fips (or an OPENSSL_CONF that enables the FIPS provider), or set ssl-fips-mode=OFF',
  })
}

function readServerPublicKey(path: string): Buffer {
  let pem: Buffer
  try {
    pem = readFileSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new PgSslError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `server-public-key-path "${path}" cannot be read: ${code ?? error}`,
      { setting: 'server-public-key-path', file: path },
    )
  }
  try {
    if (createPublicKey(pem).asymmetricKeyType !== 'rsa') throw new Error('not RSA')
  } catch {
    throw new PgSslError(
      'INVALID_PEM',
      `server-public-key-path "${path}" does not hold an RSA public key in PEM form`,
      {
        setting: 'server-public-key-path',
        file: path,
        hint: "give the server's public key (MySQL: the file named by caching_sha2_password_public_key_path)",
      },
    )
  }
  return pem
}

/** tls-version: a comma-separated list, which Node can honour as long as it has no gap. */
export function tlsBounds(value: string | undefined): { min: TlsVersion; max: TlsVersion } {
  if (value === undefined) return { min: 'TLSv1.2', max: 'TLSv1.3' }
  const named = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
  const ranks = named.map((v) => {
    const rank = TLS_VERSIONS.findIndex((known) => known.toLowerCase() === v.toLowerCase())
    if (rank < 0)
      throw new PgSslError('INVALID_SETTING', `invalid tls-version "${value}": "${v}" is not a TLS protocol name`, {
        setting: 'tls-version',
        hint: `name protocols from ${TLS_VERSIONS.join(', ')}, e.g. tls-version=TLSv1.2,TLSv1.3`,
      })
    return rank
  })
  if (ranks.length === 0)
    throw new PgSslError('INVALID_SETTING', 'tls-version is empty: no protocol would be allowed', {
      setting: 'tls-version',
      hint: 'e.g. tls-version=TLSv1.2,TLSv1.3',
    })
  const min = Math.min(...ranks)
  const max = Math.max(...ranks)
  for (let r = min; r <= max; r++) {
    if (!ranks.includes(r))
      throw new PgSslError(
        'INVALID_SETTING',
        `tls-version "${value}" leaves out ${TLS_VERSIONS[r]} between the versions it names; OpenSSL ` +
          `(and so Node) can only allow a continuous range`,
        { setting: 'tls-version', hint: `add ${TLS_VERSIONS[r]} or drop the versions on one side of it` },
      )
  }
  return { min: TLS_VERSIONS[min]!, max: TLS_VERSIONS[max]! }
}

/**
 * The engine speaks libpq's setting names; a MySQL user reads MySQL's. Only a setting's name is
 * renamed — not the same letters inside a word, a file name or a certificate subject ("O=pg-sslmode tests").
 */
const RENAMES: ReadonlyArray<[RegExp, string]> = (
  [
    ['sslrootcertdir', 'ssl-capath'],
    ['sslrootcert', 'ssl-ca'],
    ['sslcrldir', 'ssl-crlpath'],
    ['sslcrl', 'ssl-crl'],
    ['sslcert/sslkey', 'ssl-cert/ssl-key'],
    ['sslcert', 'ssl-cert'],
    ['sslkey', 'ssl-key'],
    ['sslpassword', 'a passphrase (the MySQL client has none: use an unencrypted key file)'],
    ['sslmode=verify-ca', 'ssl-mode=VERIFY_CA'],
    ['sslmode=require', 'ssl-mode=REQUIRED'],
    ['ssl_(min|max)_protocol_version', 'tls-version'],
    ['sslmode', 'ssl-mode'],
  ] as const
)
  .map(([name, mysql]) => [new RegExp(`(?<![\\w.-])${name}(?![\\w.-])`, 'g'), mysql] as [RegExp, string])
  .concat([[/\(or PGSSL[A-Z]+\)/g, '']])

export function inMysqlTerms(error: unknown): unknown {
  if (!(error instanceof PgSslError)) return error
  const rename = (text: string): string => RENAMES.reduce((t, [from, to]) => t.replace(from, to), text)
  const details = detailsOf(error)
  return new PgSslError(error.code, rename(error.message), {
    ...details,
    ...(details.setting ? { setting: rename(details.setting) } : {}),
    hint: rename(error.hint),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  })
}

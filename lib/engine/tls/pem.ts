/**
 * What the certificate files hold, parsed once per file version (file-cache.ts): certificates
 * (a PEM bundle or one DER certificate), CRLs (PEM or DER), and the private key (PEM, or DER as
 * libpq reads it), with errors that name the file and never its contents.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { PgSslError } from '../errors.js'
import { parseCrl, type ParsedCrl } from './crl.js'
import { type CacheEntry, describe, fingerprintSecret, parsedOnce } from './file-cache.js'

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

/** Every certificate in a PEM bundle or a single DER certificate, checked to parse. */
export function certificates(entry: CacheEntry, setting: string, path: string): Buffer[] {
  return parsedOnce(entry, 'certificates', () => {
    const text = entry.data.toString('latin1')
    const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE' || m[1] === 'TRUSTED CERTIFICATE')
    const ders = blocks.length > 0 ? blocks.map((m) => Buffer.from(m[0], 'latin1')) : [entry.data]
    for (const item of ders) {
      try {
        new X509Certificate(item)
      } catch (error) {
        throw new PgSslError('INVALID_PEM', `${describe(setting)} "${path}" does not hold a valid certificate`, {
          setting,
          file: path,
          cause: error,
        })
      }
    }
    return ders
  })
}

export function crls(entry: CacheEntry, setting: string, path: string): Array<{ raw: Buffer; parsed: ParsedCrl }> {
  return parsedOnce(entry, 'crls', () => {
    const text = entry.data.toString('latin1')
    const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'X509 CRL')
    // PEM blocks, or else the whole file as DER.
    const items =
      blocks.length > 0
        ? blocks.map((m) => ({ raw: Buffer.from(m[0], 'latin1'), der: pemBody(m[0]) }))
        : [{ raw: entry.data, der: entry.data }]
    return items.map(({ raw, der }) => {
      try {
        return { raw, parsed: parseCrl(der) }
      } catch (error) {
        throw new PgSslError('INVALID_PEM', `${describe(setting)} "${path}" does not hold a valid PEM or DER CRL`, {
          setting,
          file: path,
          cause: error,
        })
      }
    })
  })
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, ''), 'base64')
}

export function x509s(entry: CacheEntry, setting: string, path: string): X509Certificate[] {
  return parsedOnce(entry, 'x509', () => certificates(entry, setting, path).map((c) => new X509Certificate(c)))
}

export function privateKey(entry: CacheEntry, path: string, passphrase: string | undefined): KeyObject {
  // The passphrase is part of what is parsed, but must not be kept as a readable cache key.
  return parsedOnce(entry, `key:${passphrase === undefined ? 'none' : fingerprintSecret(passphrase)}`, () => {
    const pem = entry.data.includes('-----BEGIN')
    // libpq reads the key as PEM and, failing that, as DER (SSL_FILETYPE_ASN1).
    const attempts: Array<Parameters<typeof createPrivateKey>[0]> = pem
      ? [{ key: entry.data, ...(passphrase !== undefined ? { passphrase } : {}) }]
      : (['pkcs8', 'pkcs1', 'sec1'] as const).map((type) => ({
          key: entry.data,
          format: 'der' as const,
          type,
          ...(passphrase !== undefined ? { passphrase } : {}),
        }))
    let firstError: unknown
    for (const attempt of attempts) {
      try {
        return createPrivateKey(attempt)
      } catch (error) {
        firstError ??= error
      }
    }
    const code = (firstError as { code?: string }).code ?? ''
    const message = String((firstError as Error).message)
    // Without a passphrase OpenSSL 3 reports "interrupted or cancelled" (its password prompt gave up).
    const encrypted = isEncryptedKey(entry.data)
    if (
      code === 'ERR_MISSING_PASSPHRASE' ||
      code === 'ERR_OSSL_BAD_DECRYPT' ||
      (encrypted && passphrase === undefined) ||
      /bad decrypt/i.test(message)
    ) {
      throw new PgSslError(
        'KEY_DECRYPT_FAILED',
        passphrase === undefined
          ? `client private key file "${path}" is encrypted and no sslpassword was given`
          : `could not decrypt client private key file "${path}" with the given sslpassword`,
        { setting: 'sslpassword', file: path },
      )
    }
    throw new PgSslError(
      'INVALID_PEM',
      `client private key file "${path}" does not hold a valid private key (PEM, or DER as PKCS#8, PKCS#1 or SEC1)`,
      { setting: 'sslkey', file: path },
    )
  })
}

/** PKCS#8 "ENCRYPTED PRIVATE KEY" or a legacy PEM with "Proc-Type: 4,ENCRYPTED". */
export function isEncryptedKey(data: Buffer): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(data.toString('latin1'))
}

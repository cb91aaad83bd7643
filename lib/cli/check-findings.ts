/**
 * The findings of `pg-sslmode check` (check.ts) are made here: a load that is either a finding
 * "ok" or the failure it threw, the same load past a file-permission failure (so that a second
 * problem behind it shows too), the certificate read on its own, and expiry.
 */
import type { X509Certificate } from 'node:crypto'
import { PgSslError } from '../engine/errors.js'
import { readCached } from '../engine/tls/file-cache.js'
import type { MaterialRequest } from '../engine/tls/material.js'
import { x509s } from '../engine/tls/pem.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface Finding {
  readonly status: CheckStatus
  readonly check: string
  readonly detail: string
  readonly code?: string
  readonly file?: string
  readonly hint?: string
}

const DAY = 86_400_000
export const EXPIRY_WARNING_DAYS = 30

/**
 * attempt(), and after a file-permission failure the same load again without the permission rule:
 * the permissions are one problem, and what the files hold (a key that does not match, a wrong
 * passphrase) may be another — a check reports both at once.
 */
export async function attemptPastPermissions<T>(
  findings: Finding[],
  check: string,
  rule: MaterialRequest['filePermissions'],
  load: (filePermissions: MaterialRequest['filePermissions']) => Promise<T>,
  describe: (value: T) => string,
): Promise<T | undefined> {
  try {
    return await attempt(findings, check, () => load(rule), describe, true)
  } catch (error) {
    findings.push(failure(check, error))
    return attempt(findings, check, () => load('off'), describe)
  }
}

/** The client certificate file's certificates, or undefined when it cannot be read (reported already). */
export function certificateAlone(file: string): X509Certificate[] | undefined {
  try {
    return x509s(readCached(file, 'sslcert'), 'sslcert', file)
  } catch {
    return undefined
  }
}

export async function attempt<T>(
  findings: Finding[],
  check: string,
  load: () => Promise<T>,
  describe: (value: T) => string,
  /** Throw a FILE_PERMISSIONS failure instead of recording it (attemptPastPermissions retries). */
  rethrowPermissions = false,
): Promise<T | undefined> {
  try {
    const value = await load()
    findings.push({ status: 'ok', check, detail: describe(value) })
    return value
  } catch (error) {
    if (rethrowPermissions && error instanceof PgSslError && error.code === 'FILE_PERMISSIONS') throw error
    findings.push(failure(check, error))
    return undefined
  }
}

export function failure(check: string, error: unknown): Finding {
  if (error instanceof PgSslError) {
    return {
      status: 'fail',
      check,
      detail: error.message,
      code: error.code,
      hint: error.hint,
      ...(error.file ? { file: error.file } : {}),
    }
  }
  return { status: 'fail', check, detail: String((error as Error)?.message ?? error) }
}

export function expiry(what: string, cert: X509Certificate, now: Date, file: string): Finding {
  const subject = cert.subject.replace(/\n/g, ', ')
  const notAfter = new Date(cert.validTo)
  const notBefore = new Date(cert.validFrom)
  if (now < notBefore)
    return {
      status: 'fail',
      check: `${what} validity`,
      detail: `"${subject}" is not valid before ${notBefore.toISOString()}`,
      file,
    }
  if (now > notAfter)
    return {
      status: 'fail',
      check: `${what} validity`,
      detail: `"${subject}" expired on ${notAfter.toISOString()}`,
      file,
    }
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY)
  if (days < EXPIRY_WARNING_DAYS)
    return {
      status: 'warn',
      check: `${what} validity`,
      detail: `"${subject}" expires in ${days} day(s), on ${notAfter.toISOString()}`,
      file,
    }
  return { status: 'ok', check: `${what} validity`, detail: `"${subject}" valid until ${notAfter.toISOString()}`, file }
}

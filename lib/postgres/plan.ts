/**
 * sslmode → an ordered list of connection attempts, as libpq runs them (fe-connect.c; docs/modes.md). Pure: the
 * plan for every (mode, dialect, root CA present?, transport) is plain data a table test asserts.
 *
 *   disable      [plaintext]
 *   allow        [plaintext, ssl]   ssl only after the server rejects the plaintext start-up
 *   prefer       [ssl, plaintext]   plaintext after 'N', a failed handshake, or an auth error over SSL
 *   require      [ssl]              chain verified when a root CA is available (→ verify-ca)
 *   verify-ca    [ssl + chain]
 *   verify-full  [ssl + chain + host name]
 *
 * A root CA, when available, makes every SSL attempt verify the chain (libpq loads it and sets
 * SSL_VERIFY_PEER whatever the mode). Over a Unix-domain socket libpq never uses SSL.
 */
import { PgSslError } from '../engine/errors.js'
import { DIALECTS, type Dialect } from './dialects.js'
import type { SslMode } from './settings/keywords.js'

import type { RootCertSource } from '../engine/tls/material.js'

export type { RootCertSource }
import type { Transport } from '../engine/report.js'
export type { Transport }

export type Negotiation = 'postgres' | 'direct'

export interface PlanInput {
  readonly sslmode: SslMode
  readonly dialect: Dialect
  readonly rootCert: RootCertSource
  readonly transport: Transport
  /** sslnegotiation: SSLRequest first (postgres, the default) or TLS at once (direct, PG17+). */
  readonly negotiation?: Negotiation
}

/** When an attempt after the first may run: what must have happened to the one before. */
export type AttemptTrigger =
  | 'first'
  /** prefer: the SSL attempt got 'N', failed its handshake, or was rejected during start-up. */
  | 'ssl-failed'
  /** allow: the plaintext start-up was rejected by the server. */
  | 'plaintext-rejected'

export interface AttemptSpec {
  readonly ssl: boolean
  readonly verifyChain: boolean
  readonly verifyHostname: boolean
  readonly trigger: AttemptTrigger
  /** For SSL attempts: start TLS at once with ALPN, without SSLRequest (sslnegotiation=direct). */
  readonly direct?: boolean
}

export interface Plan {
  readonly requestedMode: SslMode
  /** What the connection will really enforce: require with a root CA is verify-ca. */
  readonly effectiveMode: SslMode
  readonly dialect: Dialect
  readonly transport: Transport
  readonly negotiation: Negotiation
  readonly attempts: readonly AttemptSpec[]
  /** Plain-language notes on how the plan differs from the mode's name, for the report. */
  readonly notes: readonly string[]
  /** Set when an SSL policy raised the requested mode (onWeakerMode: 'upgrade'). */
  readonly policyUpgradedFrom?: SslMode
  /** prefer's plaintext retry, when the SSL policy removed it from `attempts` (allowPlaintextFallback: false). */
  readonly forbiddenFallback?: AttemptSpec
}

const plaintext = (trigger: AttemptTrigger): AttemptSpec => ({
  ssl: false,
  verifyChain: false,
  verifyHostname: false,
  trigger,
})
const ssl = (trigger: AttemptTrigger, verifyChain: boolean, verifyHostname = false): AttemptSpec => ({
  ssl: true,
  verifyChain,
  verifyHostname,
  trigger,
})

/** Dialect rules on the mode alone, checked before anything else (no file is read for them). */
export function checkModeSupported(sslmode: SslMode, dialect: Dialect): void {
  const rules = DIALECTS[dialect]
  if (sslmode === 'verify-full' && !rules.supportsVerifyFull) {
    throw new PgSslError('UNSUPPORTED_SSLMODE', `sslmode "verify-full" is not supported by ${rules.label}`, {
      setting: 'sslmode',
      hint:
        `${rules.label} clients (gsql, its libpq and JDBC) verify the CA but not the host name: ` +
        `use sslmode=verify-ca`,
    })
  }
}

export function planAttempts(input: PlanInput): Plan {
  const { sslmode, dialect, rootCert, transport } = input
  const negotiation = input.negotiation ?? 'postgres'
  checkModeSupported(sslmode, dialect)
  refuseImpossibleCombinations(input, negotiation)
  if (transport === 'unix') {
    const notes = sslmode === 'disable' ? [] : ['SSL is never used over a Unix-domain socket (libpq behaviour)']
    return {
      requestedMode: sslmode,
      effectiveMode: sslmode,
      dialect,
      transport,
      negotiation,
      attempts: [plaintext('first')],
      notes,
    }
  }
  const { attempts, effectiveMode, notes } = attemptsFor(sslmode, rootCert !== 'none')
  const planned = negotiation === 'direct' ? attempts.map((a) => (a.ssl ? { ...a, direct: true } : a)) : attempts
  return { requestedMode: sslmode, effectiveMode, dialect, transport, negotiation, attempts: planned, notes }
}

/** What libpq refuses before connecting: weak modes with direct TLS or the system store, verifying with no root. */
function refuseImpossibleCombinations(input: PlanInput, negotiation: Negotiation): void {
  const { sslmode, rootCert, transport } = input
  if (negotiation === 'direct' && (sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer')) {
    // libpq 17: direct negotiation cannot fall back to (or start with) plaintext.
    throw new PgSslError(
      'INVALID_SETTING',
      `weak sslmode "${sslmode}" may not be used with sslnegotiation=direct (use "require", ` +
        `"verify-ca", or "verify-full")`,
      {
        setting: 'sslnegotiation',
        hint: 'direct TLS has no plaintext path: use sslmode=require or stronger, or sslnegotiation=postgres',
      },
    )
  }
  if (rootCert === 'system' && sslmode !== 'verify-full') {
    throw new PgSslError(
      'INVALID_SETTING',
      `weak sslmode "${sslmode}" may not be used with sslrootcert=system (use "verify-full")`,
      {
        setting: 'sslmode',
        hint: 'the system trust store trusts every public CA, so the host name must be checked too',
      },
    )
  }
  if ((sslmode === 'verify-ca' || sslmode === 'verify-full') && rootCert === 'none' && transport === 'tcp') {
    throw new PgSslError(
      'ROOT_CERT_MISSING',
      `sslmode "${sslmode}" needs a root certificate file to verify the server, and none was given`,
      {
        setting: 'sslrootcert',
        hint:
          'set sslrootcert (or PGSSLROOTCERT) to the CA file, put it at ~/.postgresql/root.crt, ' +
          'use sslrootcert=system (verify-full), or use sslmode=require',
      },
    )
  }
}

/** The attempts of a mode over TCP; with a root CA at hand, libpq's SSL attempts verify the chain. */
function attemptsFor(
  sslmode: SslMode,
  hasRoot: boolean,
): { attempts: AttemptSpec[]; effectiveMode: SslMode; notes: string[] } {
  const notes: string[] = []
  if (hasRoot && (sslmode === 'allow' || sslmode === 'prefer')) {
    notes.push(
      `a root CA is available, so the SSL attempt of ${sslmode} verifies the server certificate ` +
        `chain (libpq behaviour)`,
    )
  }
  switch (sslmode) {
    case 'disable':
      return { attempts: [plaintext('first')], effectiveMode: sslmode, notes }
    case 'allow':
      return { attempts: [plaintext('first'), ssl('plaintext-rejected', hasRoot)], effectiveMode: sslmode, notes }
    case 'prefer':
      return { attempts: [ssl('first', hasRoot), plaintext('ssl-failed')], effectiveMode: sslmode, notes }
    case 'require':
      if (!hasRoot) return { attempts: [ssl('first', false)], effectiveMode: sslmode, notes }
      notes.push(
        'a root CA is available, so require verifies the server certificate chain like verify-ca (libpq behaviour)',
      )
      return { attempts: [ssl('first', true)], effectiveMode: 'verify-ca', notes }
    case 'verify-ca':
      return { attempts: [ssl('first', true)], effectiveMode: sslmode, notes }
    case 'verify-full':
      return { attempts: [ssl('first', true, true)], effectiveMode: sslmode, notes }
  }
}

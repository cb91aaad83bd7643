/**
 * Security events: every connection leaves proof. Each event goes to the onSecurityEvent option,
 * is emitted on the client (client.on('security' | 'fallback' | 'policy-violation' | 'connect-retry' |
 * 'certificate-expiring')), and is appended as one JSON line to each PGSSLAUDITLOG in force (the
 * process environment's, and the env option's when it names another: environmentControls). Events
 * carry the security report or the violated rule — never a password, passphrase or key.
 */
import { appendFileSync } from 'node:fs'
import type { EventEmitter } from 'node:events'
import type { SecurityReport } from '../report.js'
import { PgSslError, warnOnce } from '../errors.js'
import type { ExpiryWarning } from './enforce.js'

export type SecurityEvent =
  | { readonly type: 'security'; readonly time: string; readonly report: SecurityReport<string, string> }
  | { readonly type: 'fallback'; readonly time: string; readonly report: SecurityReport<string, string> }
  | {
      readonly type: 'policy-violation'
      readonly time: string
      readonly rule: string
      readonly required: string
      readonly observed: string
      readonly message: string
      readonly host: string | undefined
    }
  | {
      /** A pool connection found the server not up yet (or going away) and will try again. */
      readonly type: 'connect-retry'
      readonly time: string
      readonly host: string | undefined
      /** 1 for the first retry of this connection. */
      readonly retry: number
      readonly delayMillis: number
      readonly elapsedMillis: number
      /** Why waiting may help: an errno (ECONNREFUSED…) or a SQLSTATE (57P03…). */
      readonly reason: string
      readonly code: string
      readonly message: string
    }
  | ({
      readonly type: 'certificate-expiring'
      readonly time: string
      readonly host: string | undefined
    } & ExpiryWarning)

export interface EventSinks {
  readonly onSecurityEvent?: ((event: SecurityEvent) => void) | undefined
  /** JSON-lines files (PGSSLAUDITLOG) each event is appended to. */
  readonly auditLogs?: readonly string[] | undefined
  readonly emitter?: EventEmitter
}

/** Whether anything would receive an event of these types (no event is built for nobody). */
function listened(sinks: EventSinks, types: readonly SecurityEvent['type'][]): boolean {
  if ((sinks.auditLogs?.length ?? 0) > 0 || sinks.onSecurityEvent) return true
  return types.some((type) => (sinks.emitter?.listenerCount(type) ?? 0) > 0)
}

export function publish(event: SecurityEvent, sinks: EventSinks): void {
  for (const file of sinks.auditLogs ?? []) {
    try {
      appendFileSync(file, `${JSON.stringify(event)}\n`, { mode: 0o600 })
    } catch (error) {
      // An audit log that cannot be written must not break connections, but must not be silent.
      warnOnce(
        `audit:${file}`,
        `cannot write the audit log ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        'PgSslAuditWarning',
      )
    }
  }
  if (sinks.emitter && sinks.emitter.listenerCount(event.type) > 0) sinks.emitter.emit(event.type, event)
  if (sinks.onSecurityEvent) {
    try {
      sinks.onSecurityEvent(event)
    } catch (error) {
      process.emitWarning(
        `pg-sslmode: onSecurityEvent threw: ${(error as Error)?.message ?? error}`,
        'PgSslAuditWarning',
      )
    }
  }
}

/**
 * A policy refusal is an event (audit log, onSecurityEvent), whether made before connecting or
 * during the handshake, on either protocol.
 */
export function auditRefusal(error: unknown, sinks: EventSinks, host: string | undefined): void {
  if (!(error instanceof PgSslError) || error.code !== 'POLICY_VIOLATION') return
  publish(
    {
      type: 'policy-violation',
      time: new Date().toISOString(),
      rule: error.rule ?? '',
      required: error.required ?? '',
      observed: error.observed ?? '',
      message: error.message,
      host,
    },
    sinks,
  )
}

/**
 * The events of a connection that is made: its certificates' expiry warnings, a fallback, the report. The
 * report is asked for only when someone listens.
 */
export function publishConnected(
  reportOf: () => SecurityReport<string, string>,
  warnings: readonly ExpiryWarning[],
  sinks: EventSinks,
): void {
  if (!listened(sinks, ['certificate-expiring', 'fallback', 'security'])) return
  const report = reportOf()
  const time = new Date().toISOString()
  for (const warning of warnings) publish({ type: 'certificate-expiring', time, host: report.host, ...warning }, sinks)
  if (report.fallback !== 'none') publish({ type: 'fallback', time, report }, sinks)
  publish({ type: 'security', time, report }, sinks)
}

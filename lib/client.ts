/**
 * The client connect() returns: a plain pg.Client (same API, same events) that also carries the
 * read-only `security` report of the connection it holds.
 */
import pg from 'pg'
import type { SecurityReport } from './report.js'

const reports = new WeakMap<SslClient, SecurityReport>()

export class SslClient extends pg.Client {
  /** What this connection really negotiated. Frozen; set once when the connection is made. */
  get security(): SecurityReport {
    const report = reports.get(this)
    if (!report) throw new Error('this client has not been connected by pg-sslmode')
    return report
  }
}

/** Attach the report; internal to the executor (not exported from the package). */
export function attachReport(client: SslClient, report: SecurityReport): void {
  if (reports.has(client)) throw new Error('security report is already set')
  reports.set(client, deepFreeze(report))
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

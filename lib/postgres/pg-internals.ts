/**
 * pg's private members, read here and nowhere else (issue: one adapter per driver). Each entry says
 * why pg-sslmode needs it and which pg versions have it.
 */
import type pg from 'pg'

interface ClientInternals {
  /** pg 8.15+: the query on the wire, without the deprecated `activeQuery` getter's warning. */
  _getActiveQuery?: () => unknown
  /** pg before 8.15: a plain property (deprecated, with a warning on every read, since). */
  activeQuery?: unknown
}

/**
 * The query `client` is running, as pg's cancel(client, query) compares it: read without the
 * DeprecationWarning pg 8.15+ prints for `client.activeQuery`, which the application never asked for.
 */
export function activeQueryOf(client: InstanceType<typeof pg.Client>): unknown {
  const internals = client as unknown as ClientInternals
  return typeof internals._getActiveQuery === 'function' ? internals._getActiveQuery() : internals.activeQuery
}

/**
 * One MySQL connection's progress, from the gate to the server's OK, kept beside the objects that
 * carry it (the gate, the TLS socket, mysql2's connection): what was prepared, the server's
 * handshake, the attempts, the TLS session, the refusal that ended it.
 */
import type { PgSslError } from '../engine/errors.js'
import type { PeerCheck } from '../engine/peer-check.js'
import { auditRefusal, type EventSinks } from '../engine/policy/audit.js'
import type { AttemptRecord, SecurityReport } from '../engine/report.js'
import type { TlsSessionFacts } from '../engine/tls/session.js'
import type { AuthWatch, ServerHello } from './handshake.js'
import type { PreparedMysql } from './prepare.js'
import type { MysqlSslMode } from './modes.js'

/** What pg-sslmode proves about a MySQL connection: the PostgreSQL report's fields, in MySQL's names. */
export interface MysqlSecurityReport extends SecurityReport<MysqlSslMode, 'mysql'> {
  /** The version string of the server's handshake (e.g. "10.11.14-MariaDB-0+deb12u2"). */
  readonly serverVersion: string
}

/** One connection's progress, from the gate to the server's OK. */
export interface ConnectionState {
  prepared?: PreparedMysql
  readonly sinks: EventSinks
  /** Whether mysql2 should run TLS: answered through the connection's config.ssl. */
  useTls: boolean
  hello?: ServerHello
  readonly records: AttemptRecord[]
  fallback: boolean
  failure?: PgSslError
  session?: TlsSessionFacts
  peer?: PeerCheck
  authMethod?: string
  report?: MysqlSecurityReport
  /** Reads the authentication packets, on the gate in plaintext and on the TLS socket after it. */
  watch?: AuthWatch
  readonly times: {
    start: number
    tcp?: number
    hello?: number
    tlsStart?: number
    tlsEnd?: number
    checked?: number
    authEnd?: number
  }
}

/** The state of the connection whose gate, TLS socket or mysql2 connection `key` is. */
export const STATES = new WeakMap<object, ConnectionState>()

/** Remember the refusal (connectMysql rethrows it with the attempts) and hand it back for throwing. */
export function fail(state: ConnectionState, error: PgSslError): PgSslError {
  state.failure ??= error
  auditRefusal(error, state.sinks, state.prepared?.host)
  return error
}

export function stateOf(key: object): ConnectionState | undefined {
  return STATES.get(key)
}

/**
 * pg's private members: every one pg-sslmode reads or writes is named here, with why, and is
 * reached only through this module. `missingPgMembers()` is the canary a test runs against every
 * supported pg (test/pg-internals.test.ts, test/e2e/pg-versions.test.ts): a pg release that drops
 * or renames one fails there, naming the member and the version, instead of failing at run time
 * with an unrelated message.
 */
import type pg from 'pg'
import type { Socket } from 'node:net'
import { driverHas, missingMembers, type DriverMember } from '../engine/driver-members.js'

/** pg.Connection (pg/lib/connection.js). */
interface PgConnectionInternals extends NodeJS.EventEmitter {
  stream: Socket
  ssl: unknown
  _ending: boolean
  _connecting: boolean
  parsedStatements: Record<string, unknown>
  /** Only in newer pg (8.23 has it, 8.20 does not); reset like parsedStatements when present. */
  submittedNamedStatements?: Record<string, unknown>
  startup(config: Record<string, string>): void
}

/** pg.Client (pg/lib/client.js). */
interface PgClientInternals {
  connection: PgConnectionInternals
  _connecting: boolean
  _connected: boolean
  _connectionError: boolean
  _ending: boolean
  _ended: boolean
  _queryable: boolean
  _Promise: PromiseConstructor
  connectionTimeoutHandle?: NodeJS.Timeout
  connectionParameters: { client_encoding?: string; ssl?: unknown; password?: unknown }
  password: unknown
  getStartupConf(): Record<string, string>
  _errorAllQueries(error: Error): void
  readyForQuery: boolean
  _pulseQueryQueue(): void
  /** Newer pg (8.20 has it, 8.16 does not): the running query, without activeQuery's deprecation warning. */
  _getActiveQuery?: () => unknown
  /** Older pg: a plain property; newer pg: a getter that prints a DeprecationWarning. */
  activeQuery?: unknown
  /** Newer pg: the queries not yet sent. */
  _queryQueue?: unknown[]
  /** Older pg: the same, a plain property (newer pg: a getter that warns). */
  queryQueue?: unknown[]
  /** pg's pipeline option (newer pg): end() then lets queued queries finish. */
  pipeline?: boolean
}

/** The members, where they live, and why pg-sslmode needs each: the canary checks this list. */
export const PG_MEMBERS: ReadonlyArray<DriverMember<'Client' | 'Connection'>> = [
  {
    on: 'Client',
    name: 'connection',
    why: 'the pg.Connection whose stream is the socket pg-sslmode opened and verified',
  },
  {
    on: 'Client',
    name: '_connecting',
    why: 'reset before each attempt (prefer and host lists start up more than once on one client)',
  },
  { on: 'Client', name: '_connected', why: 'reset before each attempt' },
  { on: 'Client', name: '_connectionError', why: 'reset before each attempt' },
  {
    on: 'Client',
    name: '_ending',
    why: 'set by end() while negotiating; read so that connect() never settles after end(), as in pg',
  },
  { on: 'Client', name: '_ended', why: "set when end() ends a negotiation, as pg's 'end' handler sets it" },
  { on: 'Client', name: '_queryable', why: 'reset before each attempt' },
  {
    on: 'Client',
    name: '_Promise',
    why: "pg's Promise option: connect() and end() return that kind of promise, as pg's do",
  },
  {
    on: 'Client',
    name: 'connectionParameters',
    why: 'ssl shows the TLS in effect; the password file gives a password per host',
  },
  {
    on: 'Client',
    name: '_errorAllQueries',
    why: "fails the queued queries when end() cuts a negotiation short, as pg's own 'end' handler does",
  },
  {
    on: 'Client',
    name: 'readyForQuery',
    why: "held false while a connect() callback runs, so a query it makes waits as in pg's ReadyForQuery handler",
  },
  {
    on: 'Client',
    name: '_pulseQueryQueue',
    why: 'sends the queries held while a connect() callback ran, as pg does after its callback',
  },
  {
    on: 'Client',
    name: 'getStartupConf',
    why: "the start-up parameters pg would send, for openGauss's start-up run by pg-sslmode",
  },
  {
    on: 'Connection',
    name: 'stream',
    why: "replaced by the socket of each attempt (pg's own net.Socket for the first)",
  },
  { on: 'Connection', name: 'ssl', why: 'set false: TLS is done before pg is given the stream' },
  { on: 'Connection', name: '_ending', why: 'reset before each attempt' },
  { on: 'Connection', name: '_connecting', why: 'reset before each attempt, cleared when one is dropped' },
  {
    on: 'Connection',
    name: 'parsedStatements',
    why: 'emptied before each attempt: a failed session has no statements',
  },
  {
    on: 'Connection',
    name: 'startup',
    why:
      'a no-op for openGauss, whose start-up (SHA256 authentication pg cannot parse) is run by pg-sslmode; ' +
      'for protocol 3.2 it writes the same parameters in a start-up packet that asks for 3.2',
  },
]

type PgClient = InstanceType<typeof pg.Client>

/** pg's private view of a client: used in this module only. */
function pgInternals(client: object): PgClientInternals {
  return client as unknown as PgClientInternals
}

/** The kind of promise pg's connect() and end() return (pg's Promise option). */
export function promiseKind(client: PgClient): PromiseConstructor {
  return pgInternals(client)._Promise
}

/** end() has been called: pg's own flag, which its 'end' handler reads too. */
export function isEnding(client: PgClient): boolean {
  return pgInternals(client)._ending
}

/** end() cuts a negotiation short: the client is ending, as pg's end() marks it. */
export function markEnding(client: PgClient): void {
  pgInternals(client)._ending = true
}

/** The negotiation end() cut short is over: ended, as pg's 'end' handler marks it. */
export function markEnded(client: PgClient): void {
  pgInternals(client)._ended = true
}

/** pg's Connection of this client: its events are what pg and the application listen to. */
export function connectionOf(client: PgClient): NodeJS.EventEmitter {
  return pgInternals(client).connection
}

/** The socket pg reads and writes: pg's own net.Socket until an attempt replaces it. */
export function pgSocket(client: PgClient): Socket {
  return pgInternals(client).connection.stream
}

/** Give pg the socket of this attempt (connected, TLS done where it applies). */
export function usePgSocket(client: PgClient, stream: Socket): void {
  pgInternals(client).connection.stream = stream
}

/** The start-up parameters pg would send: openGauss's start-up, run by pg-sslmode, sends them. */
export function startupParameters(client: PgClient): Record<string, string> {
  return pgInternals(client).getStartupConf()
}

/**
 * Before pg runs its start-up on a socket pg-sslmode connected: TLS is done already, and every
 * flag an earlier attempt on this client set is cleared (prefer and host lists start up more than
 * once on one client). With `startupDone` (openGauss, authenticated by pg-sslmode) pg sends no
 * start-up message and only reads what follows AuthenticationOk. With `startupPacket` pg's
 * start-up parameters go out in that packet instead of pg's, which always asks for protocol 3.0
 * (protocol 3.2 for min/max_protocol_version); pg then appends client_encoding=UTF8, so this does.
 */
export function readyForPgStartup(
  client: PgClient,
  { startupDone, startupPacket }: { startupDone: boolean; startupPacket?: (params: Record<string, string>) => Buffer },
): void {
  const state = pgInternals(client)
  const con = state.connection
  if (startupDone) con.startup = () => {}
  else if (startupPacket) {
    con.startup = (config) => {
      con.stream.write(startupPacket({ ...config, client_encoding: 'UTF8' }))
    }
  }
  con.ssl = false
  con._ending = false
  con._connecting = false
  forgetStatements(con)
  state._connecting = false
  state._connected = false
  state._connectionError = false
  state._ending = false
  state._ended = false
  state._queryable = true
}

/** A dropped attempt: pg's connection timer stopped, its connection no longer connecting. */
export function stopPgAttempt(client: PgClient): void {
  const state = pgInternals(client)
  clearTimeout(state.connectionTimeoutHandle)
  state.connection._connecting = false
}

/**
 * The query `client` is running, as pg's cancel(client, query) compares it: read without the
 * DeprecationWarning newer pg prints for `client.activeQuery`, which the application never asked for.
 */
export function activeQueryOf(client: InstanceType<typeof pg.Client>): unknown {
  const internals = pgInternals(client)
  return typeof internals._getActiveQuery === 'function' ? internals._getActiveQuery() : internals.activeQuery
}

/** `client.connectionParameters.ssl`, which pg fills from its ssl option: here the TLS settings in effect. */
export function showTlsParameters(client: object, view: unknown): void {
  ;(client as PgClientInternals).connectionParameters.ssl = view
}

/**
 * Given to pg where there is no password: a password function with none, so that pg reads neither
 * process.env.PGPASSWORD nor ~/.pgpass itself (the settings' env decides, and the password file
 * is read per host by pg-sslmode).
 */
export const NO_PASSWORD = (): undefined => undefined

/**
 * The password of this attempt: the application's password function, asked again (pg replaces it
 * by what it returned), or when the application gave none the password file's entry for this
 * host, or none — never an earlier host's (libpq reads ~/.pgpass per host).
 */
export function useAttemptPassword(client: object, password: string | (() => unknown) | undefined): void {
  const internals = client as PgClientInternals
  internals.password = password ?? NO_PASSWORD
  internals.connectionParameters.password = password ?? NO_PASSWORD
}

/** Outside a start-up, a client without a password shows pg's `null` (client.password), as pg's does. */
export function showNoPassword(client: object): void {
  const internals = client as PgClientInternals
  if (internals.password !== NO_PASSWORD) return
  internals.password = null
  internals.connectionParameters.password = null
}

/** How many queries wait to be sent: read without newer pg's queryQueue DeprecationWarning. */
export function queuedQueryCount(client: object): number {
  const internals = client as PgClientInternals
  return (internals._queryQueue ?? (Object.hasOwn(internals, 'queryQueue') ? internals.queryQueue : undefined) ?? [])
    .length
}

/** pg's pipeline option: with it, end() lets the queries already queued finish first (pg 8.23+). */
export function isPipelined(client: object): boolean {
  return (client as PgClientInternals).pipeline === true
}

/**
 * When end() cuts a connection short, pg fails every query still waiting with this error (its
 * connection 'end' handler); pg-sslmode does the same when end() aborts a negotiation.
 */
export function failWaitingQueries(client: InstanceType<typeof pg.Client>): void {
  pgInternals(client)._errorAllQueries(new Error('Connection terminated'))
}

/**
 * pg runs a connect() callback inside its ReadyForQuery handler, before it marks the client
 * ready: a query the callback makes is queued and sent after it returns. pg-sslmode calls the
 * callback later (once the report exists); this holds queries the same way until `release()`.
 */
export function holdQueries(client: InstanceType<typeof pg.Client>): () => void {
  const internals = pgInternals(client)
  if (!internals.readyForQuery) return () => {}
  internals.readyForQuery = false
  return () => {
    // Unconditionally, as pg does after its callback (even one that called end()).
    internals.readyForQuery = true
    internals._pulseQueryQueue()
  }
}

/** Emptied before each attempt: what a failed session had parsed is gone with it. */
function forgetStatements(connection: PgConnectionInternals): void {
  connection.parsedStatements = {}
  if (connection.submittedNamedStatements !== undefined) connection.submittedNamedStatements = {}
}

/** The canary: which members `pgModule` lacks (empty when this pg is one pg-sslmode can drive). */
export function missingPgMembers(pgModule: typeof pg): string[] {
  const client = new pgModule.Client({
    host: 'localhost',
    user: 'canary',
    database: 'canary',
    password: 'canary',
  }) as unknown as Record<string, unknown>
  const holders = {
    Client: { instance: client, cls: pgModule.Client },
    // A Connection's _connecting appears only once it connects: its class still uses it.
    Connection: { instance: client.connection as object | undefined, cls: pgModule.Connection },
  }
  const missing = missingMembers(PG_MEMBERS, holders)
  if (!driverHas(holders.Client, '_getActiveQuery') && !driverHas(holders.Client, 'activeQuery'))
    missing.push('Client._getActiveQuery or Client.activeQuery')
  if (!driverHas(holders.Client, '_queryQueue') && !driverHas(holders.Client, 'queryQueue'))
    missing.push('Client._queryQueue or Client.queryQueue')
  return missing
}

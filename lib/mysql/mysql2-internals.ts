/**
 * mysql2's private members: every one pg-sslmode/mysql reads, writes or replaces is named here,
 * with why, and reached only through this module. `missingMysql2Members()` is the canary the
 * mysql2 version matrix runs (test/e2e/pg-versions.test.ts): a mysql2 release that drops or
 * renames one fails there, naming it, instead of failing at run time.
 */
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import { missingMembers, type DriverMember } from '../engine/driver-members.js'

/** A mysql2 Connection (lib/base/connection.js), as pg-sslmode drives it. */
interface Mysql2ConnectionInternals {
  /** The gate pg-sslmode gave as the `stream` option, replaced by the TLS socket once verified. */
  stream: Socket | TLSSocket | Duplex
  packetParser: { execute(chunk: Buffer): void }
  _handleNetworkError(error: Error): void
}
type Duplex = import('node:stream').Duplex

/** A mysql2 Connection, opaque outside this module: what is private in it is reached through its functions. */
export type Mysql2Connection = object

const internals = (connection: Mysql2Connection): Mysql2ConnectionInternals => connection as Mysql2ConnectionInternals

/** The members, where they live, and why pg-sslmode/mysql needs each: the canary checks this list. */
export const MYSQL2_MEMBERS: ReadonlyArray<DriverMember<'Connection' | 'PromiseConnection'>> = [
  {
    on: 'Connection',
    name: 'startTLS',
    why:
      "replaced for pg-sslmode's connections: the engine's TLS context, OpenSSL's verdict and " +
      "MySQL's host-name rule instead of mysql2's",
  },
  {
    on: 'Connection',
    name: 'packetParser',
    why: 'fed the decrypted bytes of the TLS session pg-sslmode runs, as mysql2 feeds it from its own',
  },
  {
    on: 'Connection',
    name: '_handleNetworkError',
    why: "told the TLS session's errors, as mysql2's own startTLS tells it",
  },
  { on: 'Connection', name: 'stream', why: 'the TLS socket replaces the gate once the session is verified' },
  {
    on: 'PromiseConnection',
    name: 'connection',
    why: 'the callback connection behind a mysql2/promise one, whose report `security` shows',
  },
]

/** The connection's stream: the gate pg-sslmode gave as the `stream` option, until TLS replaces it. */
export function streamOf(connection: Mysql2Connection): Socket | TLSSocket | Duplex {
  return internals(connection).stream
}

/**
 * Hand mysql2 the verified TLS session, as mysql2's own startTLS does: it becomes the connection's
 * stream; `read` feeds mysql2's packet parser the decrypted bytes and `fail` tells mysql2 of the
 * session's errors.
 */
export function useTlsSession(
  connection: Mysql2Connection,
  tls: TLSSocket,
): { read(chunk: Buffer): void; fail(error: Error): void } {
  const mysql2 = internals(connection)
  mysql2.stream = tls
  return { read: (chunk) => mysql2.packetParser.execute(chunk), fail: (error) => mysql2._handleNetworkError(error) }
}

const INSTALLED = Symbol.for('pg-sslmode.mysql2.installed')

function connectionPrototype(): Record<string | symbol, unknown> | undefined {
  return (mysql as unknown as { Connection?: { prototype: Record<string | symbol, unknown> } }).Connection?.prototype
}

/**
 * Replace mysql2's Connection.prototype.startTLS (once per mysql2 copy) by `replacement`, which is
 * given mysql2's own for connections pg-sslmode did not make; and add a `security` getter on
 * connections and promise connections. Returns false when this mysql2 has no startTLS.
 */
export function installOnMysql2(
  replacement: (
    this: Mysql2Connection,
    onSecure: (error?: Error) => void,
    original: (onSecure: (error?: Error) => void) => void,
  ) => void,
  reportOf: (connection: Mysql2Connection) => unknown,
): boolean {
  const proto = connectionPrototype()
  if (!proto || typeof proto.startTLS !== 'function') return false
  if (proto[INSTALLED]) return true
  const original = proto.startTLS as (onSecure: (error?: Error) => void) => void
  Object.defineProperty(proto, INSTALLED, { value: true })
  proto.startTLS = function (this: Mysql2Connection, onSecure: (error?: Error) => void) {
    replacement.call(this, onSecure, original)
  }
  Object.defineProperty(proto, 'security', {
    configurable: true,
    get(this: Mysql2Connection) {
      return reportOf(this)
    },
  })
  const promiseProto = (mysqlPromise as unknown as { PromiseConnection?: { prototype: object } }).PromiseConnection
    ?.prototype
  if (promiseProto && !Object.getOwnPropertyDescriptor(promiseProto, 'security')) {
    Object.defineProperty(promiseProto, 'security', {
      configurable: true,
      get(this: { connection: { security?: unknown } }) {
        return this.connection.security
      },
    })
  }
  return true
}

/** The canary: which members this mysql2 lacks (on the prototype, or used by its class or a parent). */
export function missingMysql2Members(
  mysqlModule: typeof mysql = mysql,
  promiseModule: typeof mysqlPromise = mysqlPromise,
): string[] {
  const holder = (cls: { prototype: object } | undefined) => ({ instance: cls?.prototype, cls })
  return missingMembers(MYSQL2_MEMBERS, {
    Connection: holder((mysqlModule as unknown as { Connection?: { prototype: object } }).Connection),
    PromiseConnection: holder(
      (promiseModule as unknown as { PromiseConnection?: { prototype: object } }).PromiseConnection,
    ),
  })
}

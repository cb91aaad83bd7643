/**
 * pg-sslmode/register — adoption without code changes:
 *
 *   node --import pg-sslmode/register app.js        (ES modules)
 *   node --require pg-sslmode/register app.js       (CommonJS)
 *   NODE_OPTIONS="--import pg-sslmode/register"     (either, through any launcher)
 *
 * Every copy of `pg` the process loads — the application's, an ORM's nested one, pg-sslmode's
 * own — gets SslClient as its Client and SslPgPool as its Pool, so every connection made through
 * any library has libpq's sslmode semantics, the environment's policy (PGSSLPOLICY) and a
 * `security` report. Idempotent. What it cannot cover is refused loudly: `pg.native` and
 * NODE_PG_FORCE_NATIVE (native-guard.ts) throw NATIVE_NOT_SUPPORTED. One line on stderr per copy covered says so
 * (PGSSLREGISTER=quiet silences it; the audit log, when set, gets the same as an event).
 */
import Module from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SslClient } from './client.js'
import { SslPgPool, refuseNative } from './pool.js'

export interface CoveredPg {
  /** The pg version, from its package.json. */
  readonly version: string
  /** The pg package directory. */
  readonly path: string
}

/**
 * Node's CommonJS loader, the one place pg-sslmode touches Node's private members: Node 20 has no
 * public hook that sees every `require('pg')` and every `import 'pg'` (module.registerHooks
 * arrives in Node 22.15), so `_load` is wrapped; `_cache` (require.cache) finds the pg copies
 * loaded before; `_resolveFilename` names the file a request loaded, for the stderr line.
 */
interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown
  _cache: Record<string, { exports: unknown; filename: string } | undefined>
}

const STATE = Symbol.for('pg-sslmode.register')
interface RegisterState {
  readonly covered: CoveredPg[]
  readonly patched: WeakSet<object>
}
const globalState = globalThis as unknown as { [STATE]?: RegisterState }

/** The pg copies covered so far (more appear as the application loads them). */
export function coveredPgCopies(): readonly CoveredPg[] {
  return [...(globalState[STATE]?.covered ?? [])]
}

function isPgModule(value: unknown): value is Record<string, unknown> {
  const v = value as Record<string, unknown> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.Client === 'function' &&
    typeof v.Pool === 'function' &&
    typeof v.Connection === 'function' &&
    typeof v.DatabaseError === 'function' &&
    typeof v.types === 'object'
  )
}

function cover(state: RegisterState, pg: Record<string, unknown>, file: string | undefined): void {
  if (state.patched.has(pg)) return
  state.patched.add(pg)
  const path = file ? dirname(dirname(file)) : '(unknown)'
  pg.Client = SslClient
  pg.Query = (SslClient as unknown as { Query: unknown }).Query
  pg.Pool = SslPgPool
  Object.defineProperty(pg, 'native', { configurable: true, enumerable: false, get: refuseNative })
  const entry = { version: versionAt(path), path }
  state.covered.push(entry)
  if (process.env.PGSSLREGISTER !== 'quiet') {
    process.stderr.write(
      `pg-sslmode/register: pg ${entry.version} at ${entry.path} now connects with libpq's sslmode ` +
        `semantics${process.env.PGSSLPOLICY ? ` (policy: PGSSLPOLICY=${process.env.PGSSLPOLICY})` : ''}\n`,
    )
  }
}

function versionAt(path: string): string {
  try {
    return (JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'
  } catch {
    return '?'
  }
}

function register(): void {
  if (globalState[STATE]) return // a second --import / --require, or a second copy of pg-sslmode
  const state: RegisterState = { covered: [], patched: new WeakSet() }
  globalState[STATE] = state
  const internals = Module as unknown as ModuleInternals
  // pg copies loaded before this ran (pg-sslmode's own, above all).
  for (const [filename, cached] of Object.entries(internals._cache)) {
    if (cached && isPgModule(cached.exports)) cover(state, cached.exports, filename)
  }
  // Every later load of pg, by require() or by import (ES modules load pg, a CommonJS package,
  // through the same loader).
  const load = internals._load
  internals._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
    const exports = load.call(this, request, parent, isMain)
    if (isPgModule(exports) && !state.patched.has(exports)) cover(state, exports, resolvedFile(request, parent))
    return exports
  }
}

function resolvedFile(request: string, parent: unknown): string | undefined {
  try {
    return (Module as unknown as { _resolveFilename(r: string, p: unknown): string })._resolveFilename(request, parent)
  } catch {
    return undefined
  }
}

register()

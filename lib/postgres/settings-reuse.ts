/**
 * createPool() makes every connection from one options object (and an application may pass its
 * own to connect() again), and resolving the same options again for each connection was the
 * largest part of pg-sslmode's own CPU per connect (docs/benchmarks.md). A client made from the
 * options object an earlier client was made from reuses that resolution when everything it read
 * is still as it was — checked for every client, so that a connection sees a changed option,
 * environment variable, pg.defaults entry or ~/.postgresql file exactly as it would without reuse:
 * - the options, by value: into plain objects and arrays; anything else (a Buffer, a function,
 *   pg's types) by identity;
 * - each environment variable the resolution read, in the settings' environment and the process's;
 * - the pg.defaults entries settings read;
 * - the existence of each file it looked for (~/.postgresql's, ~/.pgpass), looked for again as
 *   libpq looks for them at every connection.
 * A resolution that read a file's content (database.ini, a service file, a policy file) or failed
 * is not reused. The reused settings are frozen: nothing downstream changes them.
 */
import pg from './pg.js'
import { connectionSettings, type ConnectionSettings } from './connection-settings.js'
import type { ConnectOptions } from './options.js'
import { defaultIo, hasHiddenPassword, PG_DEFAULTS_READ, type Environment, type SettingsIo } from './settings/merge.js'
import { PRESETS } from '../engine/policy/policy.js'

/** A plain object's or array's entries as they were; anything else is kept as the value itself. */
class Shape {
  constructor(
    readonly isArray: boolean,
    readonly entries: ReadonlyArray<readonly [string, unknown]>,
  ) {}
}

interface Resolution {
  readonly options: Shape
  readonly envReads: Map<string, string | undefined>
  readonly processEnvReads: Map<string, string | undefined>
  readonly pgDefaults: Shape
  readonly filesLookedFor: Map<string, boolean>
  readonly settings: ConnectionSettings
}

const resolutions = new WeakMap<object, Resolution>()

/**
 * Options objects a client was made from. A second client from the same object is when keeping its
 * resolution starts to pay (noting what was read costs a little); a fresh object per client costs
 * only this look-up. A pool's options are kept from its first client on.
 */
const optionsSeen = new WeakSet<object>()

/** The settings of a client made from `options` (by createPool() when `pooled`). */
export function clientSettings(options: ConnectOptions, pooled: boolean): ConnectionSettings {
  if (pooled || optionsSeen.has(options)) return reusableSettings(options)
  optionsSeen.add(options)
  return connectionSettings(options)
}

/** connectionSettings(options), or the earlier resolution of this options object while it still holds. */
export function reusableSettings(options: ConnectOptions, io: SettingsIo = defaultIo): ConnectionSettings {
  const env = options.env ?? process.env
  const earlier = resolutions.get(options)
  if (earlier && stillHolds(earlier, options, env, io)) return earlier.settings
  const envReads = new Map<string, string | undefined>()
  const processEnvReads = env === process.env ? envReads : new Map<string, string | undefined>()
  const filesLookedFor = new Map<string, boolean>()
  const noting: SettingsIo = {
    fileExists: (path) => {
      const exists = io.fileExists(path)
      filesLookedFor.set(path, exists)
      return exists
    },
    homeDirectory: (e) => io.homeDirectory(e),
  }
  const settings = connectionSettings(options, noting, {
    env: notingReads(env, envReads),
    processEnv: notingReads(process.env, processEnvReads),
  })
  if (readFileContents(options, settings, envReads, processEnvReads)) return settings
  resolutions.set(options, {
    options: shapeOf(options, optionEntries(options)),
    envReads,
    processEnvReads,
    pgDefaults: shapeOf(pg.defaults, pgDefaultsEntries()),
    filesLookedFor,
    settings: frozen(settings),
  })
  return settings
}

function stillHolds(earlier: Resolution, options: ConnectOptions, env: Environment, io: SettingsIo): boolean {
  return (
    sameShape(earlier.options, optionEntries(options)) &&
    sameReads(earlier.envReads, env) &&
    sameReads(earlier.processEnvReads, process.env) &&
    sameShape(earlier.pgDefaults, pgDefaultsEntries()) &&
    sameFiles(earlier.filesLookedFor, io)
  )
}

function sameFiles(looked: Map<string, boolean>, io: SettingsIo): boolean {
  for (const [path, existed] of looked) if (io.fileExists(path) !== existed) return false
  return true
}

/** The environment, noting the value of each variable read into `reads`. */
function notingReads(env: Environment, reads: Map<string, string | undefined>): Environment {
  return new Proxy(env, {
    get(target, name) {
      const value = Reflect.get(target, name)
      if (typeof name === 'string') reads.set(name, value)
      return value
    },
  })
}

function sameReads(reads: Map<string, string | undefined>, env: Environment): boolean {
  for (const [name, value] of reads) if (env[name] !== value) return false
  return true
}

/**
 * database.ini, a service file and a policy file are read at every resolution (config-files.ts and
 * loadPolicy cache or re-read them): such a resolution is not kept.
 */
function readFileContents(
  options: ConnectOptions,
  settings: ConnectionSettings,
  envReads: Map<string, string | undefined>,
  processEnvReads: Map<string, string | undefined>,
): boolean {
  const policies = [envReads.get('PGSSLPOLICY'), processEnvReads.get('PGSSLPOLICY'), options.policy]
  return (
    options.ini !== undefined ||
    settings.values.service !== undefined ||
    policies.some((p) => typeof p === 'string' && p !== '' && !Object.hasOwn(PRESETS, p))
  )
}

/**
 * The options' own entries: the env option aside (its variables are compared by what was read),
 * pg-pool's hidden password in.
 */
function optionEntries(options: ConnectOptions): Array<readonly [string, unknown]> {
  const entries: Array<readonly [string, unknown]> = Object.entries(options).filter(([name]) => name !== 'env')
  entries.push(['env given', options.env !== undefined])
  if (hasHiddenPassword(options)) entries.push(['password', options.password])
  return entries
}

function pgDefaultsEntries(): Array<readonly [string, unknown]> {
  const defaults = pg.defaults as unknown as Record<string, unknown>
  return PG_DEFAULTS_READ.map((name) => [name, defaults[name]] as const)
}

function isPlain(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** How deep options are compared by value; below, by identity (an object that contains itself ends there). */
const SHAPE_DEPTH = 4

function shapeOf(value: unknown, entries?: ReadonlyArray<readonly [string, unknown]>, depth = 0): Shape {
  const own = entries ?? Object.entries(value as object)
  return new Shape(
    Array.isArray(value),
    own.map(([name, v]) => [name, isPlain(v) && depth < SHAPE_DEPTH ? shapeOf(v, undefined, depth + 1) : v] as const),
  )
}

function sameShape(shape: Shape, entries: ReadonlyArray<readonly [string, unknown]>): boolean {
  if (shape.entries.length !== entries.length) return false
  return shape.entries.every(([name, was], i) => {
    const [nowName, now] = entries[i]!
    if (nowName !== name) return false
    if (!(was instanceof Shape)) return now === was
    return isPlain(now) && Array.isArray(now) === was.isArray && sameShape(was, Object.entries(now))
  })
}

/** Shared by the clients of one options object: frozen, so that nothing can change it for the others. */
function frozen(settings: ConnectionSettings): ConnectionSettings {
  for (const setting of Object.values(settings.values)) Object.freeze(setting)
  for (const part of [
    settings.values,
    settings.passThrough,
    settings.notes,
    settings.policySources,
    settings.auditLogs,
  ])
    Object.freeze(part)
  return Object.freeze(settings)
}

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

/**
 * A plain object's or array's entries as they were, names and values side by side; a value that is itself a
 * plain object or array is a Shape, anything else is kept as the value itself. The checks below walk these by
 * index: they run for every client, and allocate nothing but the one list of an object's keys.
 */
class Shape {
  constructor(
    readonly isArray: boolean,
    readonly names: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** What a resolution read, name by name (environment variables; files and whether they existed). */
interface Reads<T> {
  readonly names: readonly string[]
  readonly values: readonly T[]
}

const readsOf = <T>(map: Map<string, T>): Reads<T> => ({ names: [...map.keys()], values: [...map.values()] })

interface Resolution {
  readonly options: Shape
  readonly envReads: Reads<string | undefined>
  readonly processEnvReads: Reads<string | undefined>
  readonly pgDefaults: Shape
  readonly filesLookedFor: Reads<boolean>
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
  const envReadsKept = readsOf(envReads)
  resolutions.set(options, {
    options: shapeOf(options, entriesOf(eachOption(options))),
    envReads: envReadsKept,
    processEnvReads: processEnvReads === envReads ? envReadsKept : readsOf(processEnvReads),
    pgDefaults: shapeOf(pg.defaults, entriesOf(eachPgDefault)),
    filesLookedFor: readsOf(filesLookedFor),
    settings: frozen(settings),
  })
  return settings
}

function stillHolds(earlier: Resolution, options: ConnectOptions, env: Environment, io: SettingsIo): boolean {
  return (
    sameEntries(earlier.options, eachOption(options)) &&
    sameReads(earlier.envReads, env) &&
    // process.env read as the settings' environment is checked once.
    ((env === process.env && earlier.processEnvReads === earlier.envReads) ||
      sameReads(earlier.processEnvReads, process.env)) &&
    sameEntries(earlier.pgDefaults, eachPgDefault) &&
    sameFiles(earlier.filesLookedFor, io)
  )
}

function sameFiles(looked: Reads<boolean>, io: SettingsIo): boolean {
  for (let i = 0; i < looked.names.length; i++) if (io.fileExists(looked.names[i]!) !== looked.values[i]) return false
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

function sameReads(reads: Reads<string | undefined>, env: Environment): boolean {
  for (let i = 0; i < reads.names.length; i++) if (env[reads.names[i]!] !== reads.values[i]) return false
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

/** Visits entries in order until `visit` returns false; true when it never did. */
type EntryVisitor = (visit: (name: string, value: unknown) => boolean) => boolean

/**
 * The options' own entries: the env option aside (its variables are compared by what was read),
 * pg-pool's hidden password in. The one listing both keeping and checking a resolution walk.
 */
const eachOption =
  (options: ConnectOptions): EntryVisitor =>
  (visit) => {
    const record = options as Record<string, unknown>
    for (const name of Object.keys(options)) if (name !== 'env' && !visit(name, record[name])) return false
    if (!visit('env given', options.env !== undefined)) return false
    return !hasHiddenPassword(options) || visit('password', options.password)
  }

/** The pg.defaults entries settings read. */
const eachPgDefault: EntryVisitor = (visit) => {
  const defaults = pg.defaults as unknown as Record<string, unknown>
  for (const name of PG_DEFAULTS_READ) if (!visit(name, defaults[name])) return false
  return true
}

const entriesOf = (each: EntryVisitor): Array<readonly [string, unknown]> => {
  const entries: Array<readonly [string, unknown]> = []
  each((name, value) => {
    entries.push([name, value])
    return true
  })
  return entries
}

/** The entries `each` lists now, compared with their shape entry by entry. */
function sameEntries(shape: Shape, each: EntryVisitor): boolean {
  let i = 0
  return each((name, value) => sameEntry(shape, i++, name, value)) && i === shape.names.length
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
    own.map(([name]) => name),
    own.map(([, v]) => (isPlain(v) && depth < SHAPE_DEPTH ? shapeOf(v, undefined, depth + 1) : v)),
  )
}

/** Entry i of the shape is `name`, with the value `now` (by value for plain objects and arrays). */
function sameEntry(shape: Shape, i: number, name: string, now: unknown): boolean {
  if (shape.names[i] !== name) return false
  const was = shape.values[i]
  if (!(was instanceof Shape)) return now === was
  if (!isPlain(now) || Array.isArray(now) !== was.isArray) return false
  const names = Object.keys(now)
  if (names.length !== was.names.length) return false
  for (let k = 0; k < names.length; k++)
    if (!sameEntry(was, k, names[k]!, (now as Record<string, unknown>)[names[k]!])) return false
  return true
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

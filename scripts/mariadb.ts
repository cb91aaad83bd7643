/**
 * MariaDB servers for the tests, started and stopped like the PostgreSQL clusters (harness.ts):
 * Debian's mariadb-server, a data directory made by mariadb-install-db in a temporary directory,
 * on a 127.0.0.1 port, as user mysql when the tests run as root. With SSL (the fixture server
 * certificate and CA) or really without it (--skip-ssl and no ssl-* option), optionally with
 * require_secure_transport=ON; users `app` (password) and `x509user` (REQUIRE X509) and a database
 * `app`, made over the Unix socket as root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, freePort, stopProcess, waitForLog } from './harness.js'

const MARIADBD = '/usr/sbin/mariadbd'
const INSTALL_DB = '/usr/bin/mariadb-install-db'
export const MYSQL_PASSWORD = 'app-password-not-secret'

export interface MariaDbOptions {
  readonly ssl: boolean
  /** require_secure_transport=ON: plaintext connections are refused (MySQL's require_ssl). */
  readonly requireSecureTransport?: boolean
  /** The fixture certificate (and its key) the server presents: server (default), server-expired, ... */
  readonly serverCert?: string
  /** TLS versions the server accepts (tls_version), e.g. 'TLSv1.2'. */
  readonly tlsVersion?: string
}

export interface MariaDb {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly socketPath: string
  readonly version: string
  readonly options: MariaDbOptions
  log(): string
  stop(): Promise<void>
}

/** Why MariaDB cannot run here, or undefined. */
export function mariadbProblem(): string | undefined {
  if (!existsSync(MARIADBD) || !existsSync(INSTALL_DB))
    return 'mariadb-server is not installed (apt-get install mariadb-server)'
  if (process.getuid?.() === 0 && spawnSync('id', ['mysql']).status !== 0)
    return 'running as root and there is no "mysql" user to run MariaDB as'
  return undefined
}

let template: string | undefined

/**
 * One data directory made by mariadb-install-db per test process, copied for every server: the
 * copy takes a third of the time, which counts when a test file starts a dozen servers.
 */
function templateDataDir(): string {
  if (template) return template
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-mariadb-template-'))
  chmodSync(dir, 0o755)
  const data = join(dir, 'data')
  const root = process.getuid?.() === 0
  const install = spawnSync(
    INSTALL_DB,
    [
      '--no-defaults',
      `--datadir=${data}`,
      ...(root ? ['--user=mysql'] : []),
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { encoding: 'utf8' },
  )
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`)
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  template = data
  return data
}

export async function startMariaDb(options: MariaDbOptions): Promise<MariaDb> {
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-mariadb-'))
  chmodSync(dir, 0o755)
  const data = join(dir, 'data')
  const asUser = root ? ['--user=mysql'] : []
  const copy = spawnSync('cp', ['-a', templateDataDir(), data], { encoding: 'utf8' })
  if (copy.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`copying the MariaDB data directory failed: ${copy.stderr}`)
  }
  const tls: string[] = []
  if (options.ssl) {
    const cert = options.serverCert ?? 'server'
    copyFileSync(fixture(`${cert}.crt`), join(dir, 'server.crt'))
    copyFileSync(fixture(`${cert}.key`), join(dir, 'server.key'))
    copyFileSync(fixture('ca.crt'), join(dir, 'ca.crt'))
    chmodSync(join(dir, 'server.key'), 0o600)
    tls.push(
      `--ssl-cert=${join(dir, 'server.crt')}`,
      `--ssl-key=${join(dir, 'server.key')}`,
      `--ssl-ca=${join(dir, 'ca.crt')}`,
    )
  } else {
    tls.push('--skip-ssl')
  }
  if (root) spawnSync('chown', ['-R', 'mysql:mysql', dir])
  const port = await freePort()
  const socketPath = join(dir, 'mysqld.sock')
  const logFile = join(dir, 'error.log')
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    ...asUser,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socketPath}`,
    `--pid-file=${join(dir, 'mariadb.pid')}`,
    `--log-error=${logFile}`,
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=16M',
    ...tls,
    ...(options.requireSecureTransport ? ['--require-secure-transport=ON'] : []),
    ...(options.tlsVersion ? [`--tls-version=${options.tlsVersion}`] : []),
  ]
  const child: ChildProcess = spawn(MARIADBD, args, { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
  if (!(await waitForLog(log, /ready for connections/, child, 30_000))) {
    await stopProcess(child, exited, 'SIGKILL', 0)
    const text = log()
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`MariaDB did not start on port ${port}: ${text}`)
  }
  // Users and the database, as root over the Unix socket (socket authentication).
  const setup = [
    'CREATE DATABASE app',
    `CREATE USER 'app'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}'`,
    "GRANT ALL ON app.* TO 'app'@'%'",
    `CREATE USER 'x509user'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}' REQUIRE X509`,
    "GRANT ALL ON app.* TO 'x509user'@'%'",
  ].join('; ')
  const client = spawnSync(
    '/usr/bin/mariadb',
    ['--no-defaults', `--socket=${socketPath}`, '-u', root ? 'root' : (process.env.USER ?? 'root'), '-e', setup],
    { encoding: 'utf8' },
  )
  if (client.status !== 0) {
    await stopProcess(child, exited, 'SIGKILL', 0)
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`MariaDB setup failed: ${client.stderr}`)
  }
  const version = /Ver (\S+)/.exec(spawnSync(MARIADBD, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  let stopped: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    socketPath,
    version,
    options,
    log,
    stop() {
      stopped ??= stopProcess(child, exited, 'SIGTERM', 15_000).then(() =>
        rmSync(dir, { recursive: true, force: true }),
      )
      return stopped
    },
  }
}

/** Several servers at once (started in parallel), stopped together; names as given. */
export async function startMariaDbs<K extends string>(
  spec: Record<K, MariaDbOptions>,
): Promise<Record<K, MariaDb> & { stopAll(): Promise<void> }> {
  const names = Object.keys(spec) as K[]
  const settled = await Promise.allSettled(names.map((name) => startMariaDb(spec[name])))
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((s) => s.stop()))
    throw failed.reason
  }
  const servers = Object.fromEntries(names.map((name, i) => [name, started[i]!])) as Record<K, MariaDb>
  return Object.assign(servers, { stopAll: () => Promise.all(started.map((s) => s.stop())).then(() => undefined) })
}

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
  if (!existsSync(MARIADBD) || !existsSync(INSTALL_DB)) return 'mariadb-server is not installed (apt-get install mariadb-server)'
  if (process.getuid?.() === 0 && spawnSync('id', ['mysql']).status !== 0) return 'running as root and there is no "mysql" user to run MariaDB as'
  return undefined
}

export async function startMariaDb(options: MariaDbOptions): Promise<MariaDb> {
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-mariadb-'))
  chmodSync(dir, 0o755)
  const data = join(dir, 'data')
  const asUser = root ? ['--user=mysql'] : []
  const install = spawnSync(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, ...asUser, '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve'], { encoding: 'utf8' })
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`)
  }
  const tls: string[] = []
  if (options.ssl) {
    for (const name of ['server.crt', 'server.key', 'ca.crt']) copyFileSync(fixture(name), join(dir, name))
    chmodSync(join(dir, 'server.key'), 0o600)
    tls.push(`--ssl-cert=${join(dir, 'server.crt')}`, `--ssl-key=${join(dir, 'server.key')}`, `--ssl-ca=${join(dir, 'ca.crt')}`)
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
  const client = spawnSync('/usr/bin/mariadb', ['--no-defaults', `--socket=${socketPath}`, '-u', root ? 'root' : process.env.USER ?? 'root', '-e', setup], { encoding: 'utf8' })
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
      stopped ??= stopProcess(child, exited, 'SIGTERM', 15_000).then(() => rmSync(dir, { recursive: true, force: true }))
      return stopped
    },
  }
}

/**
 * PgBouncer for the tests, started and stopped like the PostgreSQL clusters (scripts/harness.ts):
 * Debian's pgbouncer in a temporary directory, on a 127.0.0.1 port, as the unprivileged server
 * user when the tests run as root, in front of one cluster. TLS on the client leg
 * (client_tls_sslmode, with its own certificate) and on the server leg (server_tls_sslmode) as
 * asked; trust authentication; session or transaction pooling.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  chownTree,
  fixture,
  freePort,
  serverProcessUser,
  stopProcess,
  TEST_USER,
  waitForLog,
  type Cluster,
} from './harness.js'

export const PGBOUNCER = '/usr/sbin/pgbouncer'

export interface PgBouncerOptions {
  /** client_tls_sslmode: disable, allow, prefer, require, verify-ca, verify-full. */
  readonly clientTls: string
  /** The certificate PgBouncer presents to clients (fixtures/pki NAME), default server. */
  readonly clientCert?: string
  /** server_tls_sslmode towards PostgreSQL (verify-full against the test CA by default). */
  readonly serverTls?: string
  readonly poolMode?: 'session' | 'transaction'
}

export interface PgBouncer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly version: string
  log(): string
  stop(): Promise<void>
}

/** Why PgBouncer cannot run here, or undefined. */
export function pgbouncerProblem(): string | undefined {
  if (!existsSync(PGBOUNCER)) return `pgbouncer not installed (${PGBOUNCER}); apt-get install pgbouncer`
  return undefined
}

export async function startPgBouncer(upstream: Cluster, options: PgBouncerOptions): Promise<PgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-pgbouncer-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  const cert = options.clientCert ?? 'server'
  copyFileSync(fixture(`${cert}.crt`), join(dir, 'client-leg.crt'))
  copyFileSync(fixture(`${cert}.key`), join(dir, 'client-leg.key'))
  copyFileSync(fixture('ca.crt'), join(dir, 'ca.crt'))
  chmodSync(join(dir, 'client-leg.key'), 0o600)
  writeFileSync(join(dir, 'userlist.txt'), `"${TEST_USER}" ""\n`)
  const ini = [
    '[databases]',
    `${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `pool_mode = ${options.poolMode ?? 'session'}`,
    'max_client_conn = 500',
    'default_pool_size = 20',
    'ignore_startup_parameters = extra_float_digits,options',
    `client_tls_sslmode = ${options.clientTls}`,
    `client_tls_cert_file = ${join(dir, 'client-leg.crt')}`,
    `client_tls_key_file = ${join(dir, 'client-leg.key')}`,
    `client_tls_ca_file = ${join(dir, 'ca.crt')}`,
    `server_tls_sslmode = ${options.serverTls ?? 'verify-ca'}`,
    `server_tls_ca_file = ${join(dir, 'ca.crt')}`,
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    '',
  ].join('\n')
  writeFileSync(join(dir, 'pgbouncer.ini'), ini)
  chownTree(dir)
  const user = serverProcessUser()
  const child: ChildProcess = spawn(PGBOUNCER, [join(dir, 'pgbouncer.ini')], {
    ...user,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const logFile = join(dir, 'pgbouncer.log')
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr
  if (!(await waitForLog(log, /process up|listening on 127\.0\.0\.1/, child, 15_000))) {
    await stopProcess(child, exited, 'SIGKILL', 0)
    const text = log()
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`pgbouncer did not start: ${text}`)
  }
  const version = /PgBouncer (\S+)/.exec(spawnSync(PGBOUNCER, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  let stopped: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    version,
    log,
    stop() {
      stopped ??= stopProcess(child, exited, 'SIGINT', 5000).then(() => rmSync(dir, { recursive: true, force: true }))
      return stopped
    },
  }
}

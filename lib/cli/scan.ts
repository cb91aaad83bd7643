/**
 * `pg-sslmode scan TARGET`: what a PostgreSQL or openGauss server allows, for a security team —
 * the TLS protocol versions and cipher suites it accepts (with OpenSSL settings that permit the
 * old ones), its key-exchange groups, the certificate chain, whether it asks for a client
 * certificate, whether it accepts a plaintext start-up (read up to its authentication request:
 * no credentials are ever sent), direct SSL (PostgreSQL 17+), and findings with a severity.
 * testssl.sh answers the TLS questions too; test/e2e/scan.test.ts checks that both agree.
 */
import net from 'node:net'
import type { X509Certificate } from 'node:crypto'
import { connectionSettings } from '../postgres/connection-settings.js'
import { settingValue } from '../postgres/settings/merge.js'
import { mysqlGreeting, mysqlPlaintextAccepted, mysqlSslReady } from './scan-mysql.js'
import { describeCertificate, findingsOf, type ScanCertificate, type ScanFinding } from './scan-findings.js'
import {
  bounded,
  ciphersAt,
  groupsAt,
  handshake,
  sslAnswer,
  sslReady,
  type TlsOpener,
  type TlsVersionName,
  VERSIONS,
} from './scan-tls.js'

export type { ScanCertificate, ScanFinding }

export interface ScanReport {
  readonly target: { readonly host: string; readonly port: number; readonly kind: 'postgres' | 'mysql' }
  readonly reachable: boolean
  /** The SSLRequest's answer (PostgreSQL) or CLIENT_SSL (MySQL): whether the server does TLS at all. */
  readonly ssl: boolean
  readonly protocols: Readonly<Record<TlsVersionName, boolean>>
  /** Per version, the suites accepted in the server's order: OpenSSL names, IANA names for TLS 1.3. */
  readonly ciphers: Readonly<Partial<Record<TlsVersionName, readonly string[]>>>
  readonly groups: readonly string[]
  readonly certificate: ScanCertificate | null
  readonly chain: readonly ScanCertificate[]
  readonly clientCertificate: 'requested' | 'not-requested' | 'unknown'
  /**
   * A plaintext start-up got an authentication request (PostgreSQL: not a "no encryption"
   * refusal; MySQL: not ER_SECURE_TRANSPORT_REQUIRED); 'unknown' where the server does not tell
   * before a login (MariaDB).
   */
  readonly plaintext: boolean | 'unknown'
  readonly directSsl: boolean
  /** MySQL tells its version in its first packet; PostgreSQL only after authentication (null). */
  readonly serverVersion: string | null
  readonly findings: readonly ScanFinding[]
}

const PARALLEL = 6

export interface ScanOptions {
  readonly timeoutMs?: number
  /** Called with a line of progress (a terminal shows it). */
  readonly progress?: (line: string) => void
}

/** How one protocol asks for TLS and answers the plaintext question. */
interface Protocol {
  /** Whether the server does TLS, and its version when the protocol tells it before any login. */
  greet(): Promise<{ ssl: boolean; serverVersion: string | null }>
  readonly open: TlsOpener
  plaintext(): Promise<boolean | 'unknown'>
  direct(version: TlsVersionName): Promise<boolean>
}

function protocolFor(kind: 'postgres' | 'mysql', host: string, port: number, timeoutMs: number): Protocol {
  if (kind === 'mysql') {
    return {
      greet: () => mysqlGreeting(host, port, timeoutMs),
      open: () => mysqlSslReady(host, port, timeoutMs),
      plaintext: () => mysqlPlaintextAccepted(host, port, timeoutMs),
      direct: async () => false,
    }
  }
  return {
    greet: async () => ({ ssl: await sslAnswer(host, port, timeoutMs), serverVersion: null }),
    open: () => sslReady(host, port, timeoutMs),
    plaintext: () => plaintextAccepted(host, port, timeoutMs),
    direct: (version) => directSsl(host, port, version, timeoutMs),
  }
}

export async function scan(target: string, options: ScanOptions = {}): Promise<ScanReport> {
  const { host, port, kind } = targetOf(target)
  const timeoutMs = options.timeoutMs ?? 5000
  const protocol = protocolFor(kind, host, port, timeoutMs)
  const say = options.progress ?? (() => {})
  const empty = { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false }
  const base = { target: { host, port, kind }, groups: [], chain: [], certificate: null, serverVersion: null }
  say(`${host}:${port}: ${kind === 'mysql' ? 'handshake' : 'SSLRequest'}`)
  const greeting = await protocol.greet().catch((error: Error) => error)
  if (greeting instanceof Error) {
    return {
      ...base,
      reachable: false,
      ssl: false,
      protocols: empty,
      ciphers: {},
      clientCertificate: 'unknown',
      plaintext: 'unknown',
      directSsl: false,
      findings: [
        {
          id: 'unreachable',
          severity: 'critical',
          message: `${host}:${port} could not be reached: ${greeting.message}`,
        },
      ],
    }
  }
  const answer = greeting.ssl
  const { open } = protocol
  const servername = net.isIP(host) ? undefined : host
  say('protocols')
  const accepted = await bounded(
    VERSIONS.map(
      (version) => () => (answer ? handshake(open, { version, servername }, timeoutMs) : Promise.resolve(undefined)),
    ),
    PARALLEL,
  )
  const protocols = Object.fromEntries(VERSIONS.map((v, i) => [v, accepted[i] !== undefined])) as Record<
    TlsVersionName,
    boolean
  >
  const offered = VERSIONS.filter((v) => protocols[v])
  say('cipher suites')
  const cipherLists = await bounded(
    offered.map((v) => () => ciphersAt(open, v, timeoutMs)),
    PARALLEL,
  )
  const ciphers = Object.fromEntries(offered.map((v, i) => [v, cipherLists[i]!]))
  const highest = offered.at(-1)
  say('groups, certificate, plaintext, direct SSL')
  const [groups, full, plaintext, direct] = await Promise.all([
    highest ? groupsAt(open, highest, timeoutMs) : Promise.resolve([]),
    highest ? handshake(open, { version: highest, servername, watchCertificateRequest: true }, timeoutMs) : undefined,
    protocol.plaintext(),
    highest ? protocol.direct(highest) : Promise.resolve(false),
  ])
  const chain = (full?.chain ?? []).map((c: X509Certificate) => describeCertificate(c))
  const report = {
    ...base,
    reachable: true,
    ssl: answer,
    protocols,
    ciphers,
    groups,
    certificate: chain[0] ?? null,
    chain,
    clientCertificate: full?.certificateRequested ?? 'unknown',
    plaintext,
    directSsl: direct,
    serverVersion: greeting.serverVersion,
  }
  return { ...report, findings: findingsOf({ ...report, kind }, full?.chain ?? []) }
}

/** TARGET: a conninfo string, a postgresql:// URI, host:port, or mysql://host[:port]. */
export function targetOf(target: string): { host: string; port: number; kind: 'postgres' | 'mysql' } {
  const mysql = /^mysql:\/\/(?:[^@/]*@)?\[?([^\]/:?]+)\]?(?::(\d+))?/i.exec(target)
  if (mysql) return { host: mysql[1]!, port: Number(mysql[2] ?? 3306), kind: 'mysql' }
  return { ...postgresTarget(target), kind: 'postgres' }
}

function postgresTarget(target: string): { host: string; port: number } {
  const hostPort = /^\[?([^\s=/[\]]+?)\]?(?::(\d+))?$/.exec(target)
  if (hostPort && !target.includes('=')) return { host: hostPort[1]!, port: Number(hostPort[2] ?? 5432) }
  const settings = connectionSettings({ connectionString: target, env: {} })
  const host = (settingValue(settings, 'hostaddr') ?? settingValue(settings, 'host') ?? 'localhost').split(',')[0]!
  return { host, port: Number((settingValue(settings, 'port') ?? '5432').split(',')[0] || 5432) }
}

/**
 * A plaintext start-up, read up to the server's first answer: an authentication request (or a
 * refusal that is not about encryption, such as an unknown role) means pg_hba.conf let plaintext
 * in; "no encryption" means only hostssl lines match. The request is never answered.
 */
function plaintextAccepted(host: string, port: number, timeoutMs: number): Promise<boolean | 'unknown'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const params = Buffer.from('user\0pg_sslmode_scan\0database\0postgres\0\0', 'utf8')
    const packet = Buffer.alloc(8)
    packet.writeInt32BE(8 + params.length, 0)
    packet.writeInt32BE(196608, 4) // protocol 3.0
    let received = Buffer.alloc(0)
    const done = (verdict: boolean | 'unknown'): void => {
      socket.destroy()
      resolve(verdict)
    }
    socket.setTimeout(timeoutMs, () => done('unknown'))
    socket.once('error', () => done('unknown'))
    socket.once('connect', () => socket.write(Buffer.concat([packet, params])))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const type = String.fromCharCode(received[0]!)
      if (type === 'R' || type === 'v') return done(true)
      if (type !== 'E' || received.length < 5 || received.length < received.readInt32BE(1) + 1) return
      done(!/no encryption/.test(received.subarray(5, received.readInt32BE(1) + 1).toString('utf8')))
    })
  })
}

/** PostgreSQL 17+'s direct SSL: a TLS handshake at once, with ALPN "postgresql". */
async function directSsl(host: string, port: number, version: TlsVersionName, timeoutMs: number): Promise<boolean> {
  const open: TlsOpener = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(socket))
      socket.once('error', reject)
    })
  try {
    const result = await handshake(open, { version, alpn: ['postgresql'] }, timeoutMs)
    return result !== undefined
  } catch {
    return false
  }
}

/**
 * The MySQL client × server table, as data: server kinds (TLS on/off × require_secure_transport)
 * × client settings (the five ssl-modes, and ssl-ca without a mode), with what the MySQL 8 client
 * documents for each cell. The e2e test asserts it on real MariaDB servers; the demo prints it.
 */
import { connectMysql, type MysqlSecurityReport } from '../lib/mysql/index.js'
import { fixture } from './harness.js'
import { MYSQL_PASSWORD, type MariaDb, type MariaDbOptions } from './mariadb.js'

export const MYSQL_SERVER_KINDS = [
  { name: 'tls-on', server: { ssl: true } },
  { name: 'tls-off', server: { ssl: false } },
  { name: 'tls-on+require', server: { ssl: true, requireSecureTransport: true } },
  { name: 'tls-off+require', server: { ssl: false, requireSecureTransport: true } },
] as const satisfies ReadonlyArray<{ name: string; server: MariaDbOptions }>

export type MysqlServerKind = (typeof MYSQL_SERVER_KINDS)[number]['name']

export const MYSQL_CLIENTS = [
  { name: 'DISABLED', options: { sslMode: 'DISABLED' } },
  { name: 'PREFERRED', options: { sslMode: 'PREFERRED' } },
  { name: 'REQUIRED', options: { sslMode: 'REQUIRED' } },
  { name: 'VERIFY_CA', options: { sslMode: 'VERIFY_CA', sslCa: fixture('ca.crt') } },
  { name: 'VERIFY_IDENTITY', options: { sslMode: 'VERIFY_IDENTITY', sslCa: fixture('ca.crt') } },
  { name: 'ssl-ca, no mode', options: { sslCa: fixture('ca.crt') } },
] as const

export type Observed = { outcome: string; fallback: string } | { error: string }

export interface MysqlCell {
  readonly server: MysqlServerKind
  readonly client: (typeof MYSQL_CLIENTS)[number]['name']
  readonly expect: Observed
}

const plain = { outcome: 'unencrypted', fallback: 'none' }
const encrypted = { outcome: 'encrypted', fallback: 'none' }
const verified = { outcome: 'encrypted-verified', fallback: 'none' }
const noTls = { error: 'SSL_DISABLED_ON_SERVER' }
// MariaDB refuses plaintext under require_secure_transport with 1045 (MySQL 8 sends 3159).
const refusedPlaintext = { error: 'SERVER_REJECTED' }

const EXPECTED: Readonly<Record<MysqlServerKind, readonly Observed[]>> = {
  //                 DISABLED          PREFERRED                                            REQUIRED   VERIFY_CA
  // VERIFY_IDENTITY ssl-ca only
  'tls-on': [plain, encrypted, encrypted, verified, verified, verified],
  'tls-off': [plain, { outcome: 'unencrypted', fallback: 'plaintext-after-ssl' }, noTls, noTls, noTls, noTls],
  'tls-on+require': [refusedPlaintext, encrypted, encrypted, verified, verified, verified],
  'tls-off+require': [refusedPlaintext, refusedPlaintext, noTls, noTls, noTls, noTls],
}

export const MYSQL_TABLE: readonly MysqlCell[] = MYSQL_SERVER_KINDS.flatMap((kind) =>
  MYSQL_CLIENTS.map((client, i) => ({ server: kind.name, client: client.name, expect: EXPECTED[kind.name][i]! })),
)

export interface CellResult {
  readonly observed: Observed
  readonly report?: MysqlSecurityReport
  /** What the server reported for the session (SHOW SESSION STATUS), when connected. */
  readonly serverSaw?: { version: string; cipher: string }
  readonly describe: string
}

export async function runMysqlCell(cell: MysqlCell, server: MariaDb): Promise<CellResult> {
  const client = MYSQL_CLIENTS.find((c) => c.name === cell.client)!
  try {
    const connection = await connectMysql({
      host: server.host,
      port: server.port,
      user: 'app',
      password: MYSQL_PASSWORD,
      database: 'app',
      optionFiles: false,
      env: {},
      ...client.options,
    })
    try {
      const [rows] = (await connection.query(
        "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')",
      )) as unknown as [Array<{ Variable_name: string; Value: string }>]
      const value = (name: string): string => rows.find((r) => r.Variable_name === name)?.Value ?? ''
      const report = connection.security
      return {
        observed: { outcome: report.outcome, fallback: report.fallback },
        report,
        serverSaw: { version: value('Ssl_version'), cipher: value('Ssl_cipher') },
        describe:
          report.outcome +
          (report.encrypted ? ` ${report.protocol} ${report.cipher}` : '') +
          (report.fallback === 'none' ? '' : ` (${report.fallback})`),
      }
    } finally {
      await connection.end()
    }
  } catch (error) {
    const e = error as { sslCode?: string; code?: string; message?: string }
    const code = e.sslCode ?? e.code ?? 'unknown'
    return { observed: { error: code }, describe: `refused: ${code} — ${e.message}` }
  }
}

/**
 * `npm run demo`: starts four embedded PostgreSQL servers (ssl on/off × require_ssl on/off),
 * connects to each with every sslmode in the postgres and gaussdb dialects, and prints the
 * client × server table of the seed manuals as observed live, with the TLS version and cipher
 * each connection really negotiated. Then, when mariadb-server is installed, the MySQL table
 * (TLS on/off × require_secure_transport × the five ssl-modes, scripts/mysql-table.ts) over
 * pg-sslmode/mysql; otherwise it says how to get it. Exits non-zero if any cell differs.
 */
import { connect, describeReport, ERROR_CODES, sslCodeOf, type Dialect, type SecurityReport } from '../lib/index.js'
import { availableServers, privateCopy, startCluster, type Cluster } from './harness.js'
import { SERVER_CONFIGS, seedTable, serverKey, type SeedCell } from './seed-table.js'
import { mariadbProblem, startMariaDbs } from './mariadb.js'
import { MYSQL_SERVER_KINDS, MYSQL_TABLE, runMysqlCell } from './mysql-table.js'

function observedWording(report: SecurityReport): string {
  if (!report.encrypted) return 'connected, not encrypted'
  if (report.hostnameVerified) return 'connected, encrypted, certificate and host name verified'
  return report.serverCertificateVerified ? 'connected, encrypted, server certificate verified' : 'connected, encrypted'
}

interface Row {
  cell: SeedCell
  observed: string
  tls: string
  matches: boolean
}

/** gsql's rule wants the root CA file private (0600); a checkout has it 0644. */
const rootCa = privateCopy('ca.crt')

async function runCell(
  cluster: Cluster,
  cell: SeedCell,
  dialect: Dialect,
  keep: (r: SecurityReport) => void,
): Promise<Row> {
  const verifies = cell.mode === 'verify-ca' || cell.mode === 'verify-full'
  try {
    const client = await connect({
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      sslmode: cell.mode,
      dialect,
      env: {},
      ...(verifies ? { sslrootcert: rootCa } : {}),
    })
    const report = client.security
    await client.query('select 1')
    await client.end()
    keep(report)
    const tls = report.encrypted ? `${report.protocol} ${report.cipher}` : ''
    const retry = report.fallback === 'none' ? '' : ` (${report.fallback})`
    return { cell, observed: observedWording(report) + retry, tls, matches: report.outcome === cell.outcome }
  } catch (error) {
    // A refusal the server sent is pg's DatabaseError (code = SQLSTATE); sslCode is ours in both forms.
    const sslCode = sslCodeOf(error)
    const code = sslCode ?? 'UNEXPECTED'
    const summary = sslCode ? ERROR_CODES[sslCode].summary : String(error)
    return { cell, observed: `${summary} [${code}]`, tls: '', matches: code === cell.error }
  }
}

function printTable(title: string, rows: Row[]): void {
  const header = ['server ssl', 'require_ssl', 'client sslmode', 'observed', 'TLS', 'seed']
  const lines = rows.map((r) => [
    r.cell.serverSsl ? 'on' : 'off',
    r.cell.requireSsl ? 'on' : 'off',
    r.cell.mode,
    r.observed,
    r.tls,
    r.matches ? 'ok' : `DIFFERS (seed: ${r.cell.wording})`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cols: string[]): string =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd()
  console.log(`\n${title}\n`)
  console.log(fmt(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const l of lines) console.log(fmt(l))
}

async function main(): Promise<void> {
  const started = Date.now()
  const binaries = availableServers().find((b) => b.source === 'embedded') ?? availableServers()[0]!
  console.log(`pg-sslmode live demo: PostgreSQL ${binaries.version} (${binaries.source}), four servers on 127.0.0.1`)
  const clusters = new Map<string, Cluster>()
  try {
    await Promise.all(
      SERVER_CONFIGS.map(async ({ serverSsl, requireSsl }) => {
        clusters.set(serverKey(serverSsl, requireSsl), await startCluster({ ssl: serverSsl, requireSsl, binaries }))
      }),
    )
    let differences = 0
    let example: SecurityReport | undefined
    for (const dialect of ['postgres', 'gaussdb'] as const) {
      const rows: Row[] = []
      for (const cell of seedTable(dialect)) {
        const cluster = clusters.get(serverKey(cell.serverSsl, cell.requireSsl))!
        rows.push(
          await runCell(cluster, cell, dialect, (r) => {
            if (r.requestedMode === 'verify-full') example ??= r
          }),
        )
      }
      differences += rows.filter((r) => !r.matches).length
      printTable(`dialect ${dialect}: client × server (docs/modes.md), as observed`, rows)
    }
    if (example) {
      console.log(`\nOne connection's security report (${describeReport(example)}):\n`)
      console.log(JSON.stringify(example, null, 2))
    }
    await multiHostSection()
    console.log(`\n${48 - differences} of 48 cells match the seed table; ${differences} differ.`)
    const mysqlDifferences = await mysqlSection()
    console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)
    process.exitCode = differences === 0 && mysqlDifferences === 0 ? 0 : 1
  } finally {
    await Promise.all([...clusters.values()].map((c) => c.stop()))
  }
}

/** A primary and a streaming standby: which host each target_session_attrs picks, from a live run. */
async function multiHostSection(): Promise<void> {
  const binaries = availableServers().find((b) => b.source === 'system')
  if (!binaries) {
    console.log('\nSeveral hosts: skipped — a primary/standby pair needs pg_basebackup (apt-get install postgresql).')
    return
  }
  const primary = await startCluster({ ssl: true, binaries })
  const standby = await startCluster({ ssl: true, binaries, standbyOf: primary, serverCert: 'server-ip' })
  try {
    const names = new Map([
      [primary.port, 'primary (localhost)'],
      [standby.port, 'standby (127.0.0.1)'],
    ])
    console.log(
      `\nSeveral hosts (docs/topologies.md): host=localhost,127.0.0.1 — a primary and its streaming ` +
        `standby, PostgreSQL ${binaries.version}, verify-full\n`,
    )
    for (const attrs of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']) {
      for (const [label, order] of [
        ['primary first', [primary, standby]],
        ['standby first', [standby, primary]],
      ] as const) {
        const hosts = order.map((c) => `${c === primary ? 'localhost' : '127.0.0.1'}:${c.port}`).join(',')
        const ca = encodeURIComponent(privateCopy('ca.crt'))
        const uri = `postgresql://app@${hosts}/app?sslmode=verify-full&sslrootcert=${ca}&target_session_attrs=${attrs}`
        const picked = await connect({ connectionString: uri, env: {} }).then(
          async (client) => {
            const name =
              `${names.get(client.security.port)}, ` +
              `${client.security.hostnameVerified ? 'host name verified' : 'not verified'}`
            await client.end()
            return name
          },
          (error: unknown) => `${sslCodeOf(error)}: ${(error as Error).message}`,
        )
        console.log(`  target_session_attrs=${attrs.padEnd(15)} ${label.padEnd(14)} → ${picked}`)
      }
    }
  } finally {
    await standby.stop()
    await primary.stop()
  }
}

/** MySQL: pg-sslmode/mysql against MariaDB servers of each kind. Returns the number of cells that differ. */
async function mysqlSection(): Promise<number> {
  const why = mariadbProblem()
  if (why) {
    console.log(
      `\nMySQL (pg-sslmode/mysql): skipped — ${why}. On Debian: sudo apt-get install mariadb-server, ` +
        `then npm run demo again.`,
    )
    return 0
  }
  const servers = await startMariaDbs(
    Object.fromEntries(MYSQL_SERVER_KINDS.map((k) => [k.name, k.server])) as Record<
      string,
      (typeof MYSQL_SERVER_KINDS)[number]['server']
    >,
  )
  try {
    const version = Object.values(servers).find((s) => typeof s === 'object')!.version
    console.log(
      `\nMySQL (pg-sslmode/mysql, docs/mysql.md): MariaDB ${version}, client ssl-mode × server, as observed\n`,
    )
    const header = ['server', 'client ssl-mode', 'observed', 'expected']
    const rows: string[][] = []
    let differences = 0
    for (const cell of MYSQL_TABLE) {
      const result = await runMysqlCell(cell, servers[cell.server]!)
      const same = JSON.stringify(result.observed) === JSON.stringify(cell.expect)
      if (!same) differences++
      rows.push([
        cell.server,
        cell.client,
        result.describe.replace(/ — .*/, ''),
        same ? 'ok' : `DIFFERS (expected ${JSON.stringify(cell.expect)})`,
      ])
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const fmt = (cols: string[]): string =>
      cols
        .map((c, i) => c.padEnd(widths[i]!))
        .join(' | ')
        .trimEnd()
    console.log(fmt(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
    for (const r of rows) console.log(fmt(r))
    console.log(
      `\n${MYSQL_TABLE.length - differences} of ${MYSQL_TABLE.length} MySQL cells as the MySQL 8 ` +
        `client documents them; ${differences} differ.`,
    )
    return differences
  } finally {
    await servers.stopAll()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})

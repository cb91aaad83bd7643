/**
 * `npm run bench:mysql`: pg-sslmode/mysql against raw mysql2 on the same MariaDB server, both at
 * VERIFY_CA: (1) connect + `SELECT 1` + close, interleaved one connection at a time, medians and p10–p90; raw mysql2
 * twice — with its TLS session cache (what it does by default: later connections resume the first
 * session) and with a fresh TLS context per connection (a full handshake every time, as
 * pg-sslmode does); (2) pool throughput, createMysqlPool vs mysql2's createPool, in alternating
 * slices. Rewrites the MySQL section of docs/benchmarks.md (between its markers). Not part of
 * npm test.
 */
import { readFileSync } from 'node:fs'
import { writeBenchmarkSection } from './bench-doc.js'
import { performance } from 'node:perf_hooks'
import mysql from 'mysql2/promise'
import { connectMysql, createMysqlPool } from '../lib/mysql/index.js'
import { fixture } from './harness.js'
import { mariadbProblem, MYSQL_PASSWORD, startMariaDb } from './mariadb.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 10)
const CA_FILE = fixture('ca.crt')
const CA = readFileSync(CA_FILE)
const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

async function main(): Promise<void> {
  const why = mariadbProblem()
  if (why) throw new Error(`bench:mysql needs MariaDB: ${why}`)
  const server = await startMariaDb({ ssl: true })
  const base = { host: server.host, port: server.port, user: 'app', password: MYSQL_PASSWORD, database: 'app' }
  const lines: string[] = [
    '<!-- mysql:start (written by npm run bench:mysql) -->',
    '## MySQL: pg-sslmode/mysql vs raw mysql2',
    '',
  ]
  try {
    const once = async (
      open: () => Promise<{ query(sql: string): Promise<unknown>; end(): Promise<void> }>,
    ): Promise<number> => {
      const t0 = performance.now()
      const c = await open()
      await c.query('SELECT 1')
      await c.end()
      return performance.now() - t0
    }
    const sharedSsl = { ca: CA }
    const variants: Array<[string, () => Promise<number>]> = [
      [
        'pg-sslmode/mysql, VERIFY_CA',
        () => once(() => connectMysql({ ...base, sslMode: 'VERIFY_CA', sslCa: CA_FILE, optionFiles: false, env: {} })),
      ],
      // The same ssl object every time: mysql2 resumes the TLS session it cached.
      [
        'raw mysql2, ssl { ca } (resumes cached sessions)',
        () => once(() => mysql.createConnection({ ...base, ssl: sharedSsl })),
      ],
      // A new ssl object per connection: no cached session, a full handshake as pg-sslmode makes.
      [
        'raw mysql2, ssl { ca }, full handshake each time',
        () => once(() => mysql.createConnection({ ...base, ssl: { ca: CA } })),
      ],
    ]
    const samples = variants.map(() => [] as number[])
    for (const [, run] of variants) await run() // warm up
    // One connection of each variant per iteration, the order rotating: blocks of one variant
    // pick up the host's drift (and each other's garbage) as a difference that is not there.
    for (let i = 0; i < ROUNDS * PER_ROUND; i++) {
      for (let k = 0; k < variants.length; k++) {
        const v = (i + k) % variants.length
        samples[v]!.push(await variants[v]![1]())
      }
    }
    const medians = samples.map((s) => percentile(s, 0.5))
    lines.push(
      `MariaDB ${server.version} on 127.0.0.1, TLS 1.3; connect + \`SELECT 1\` + close, ` +
        `${ROUNDS * PER_ROUND} connections per variant, interleaved one by one (Node ${process.version}).`,
      '',
    )
    lines.push('| variant | median ms | p10–p90 ms | vs pg-sslmode |', '|---|---|---|---|')
    variants.forEach(([name], v) => {
      lines.push(
        `| ${name} | ${medians[v]!.toFixed(2)} | ` +
          `${percentile(samples[v]!, 0.1).toFixed(2)}–${percentile(samples[v]!, 0.9).toFixed(2)} | ` +
          `${(medians[v]! / medians[0]!).toFixed(3)}× |`,
      )
    })
    lines.push(
      '',
      `Against a full handshake each time (the fair comparison: pg-sslmode never resumes a session, ` +
        `so every connection's certificate is verified again) pg-sslmode costs ` +
        `**${(medians[0]! / medians[2]!).toFixed(3)}×** raw mysql2; raw mysql2 with its default ` +
        `session cache is ${(medians[1]! / medians[0]!).toFixed(3)}× pg-sslmode's time, because ` +
        `a resumed session skips the certificate exchange — and with it the verification.`,
      '',
    )

    const concurrency = 16
    const ours = createMysqlPool({
      ...base,
      sslMode: 'VERIFY_CA',
      sslCa: CA_FILE,
      optionFiles: false,
      env: {},
      connectionLimit: 8,
    })
    const raw = mysql.createPool({ ...base, ssl: { ca: CA }, connectionLimit: 8 })
    const pools = [() => ours.query('SELECT 1'), () => raw.query('SELECT 1')]
    for (const q of pools) await Promise.all(Array.from({ length: concurrency }, () => q()))
    // Three rounds of 10 × 500 ms slices per pool, the order swapped each round: this host's
    // throughput drifts by more than the difference being measured.
    const sliceMs = 500
    const ratios: number[] = []
    const totals = [0, 0]
    for (let round = 0; round < 3; round++) {
      const done = [0, 0]
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      for (let s = 0; s < 10; s++) {
        for (const v of order) {
          const until = performance.now() + sliceMs
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (performance.now() < until) {
                await pools[v]!()
                done[v]!++
              }
            }),
          )
        }
      }
      ratios.push(done[0]! / done[1]!)
      totals[0]! += done[0]!
      totals[1]! += done[1]!
    }
    const seconds = (3 * 10 * sliceMs) / 1000
    lines.push(
      `Pool throughput, \`SELECT 1\` at concurrency ${concurrency} on 8 connections, 15 s per pool ` +
        `in alternating slices: createMysqlPool ${(totals[0]! / seconds).toFixed(0)} q/s, mysql2 ` +
        `createPool ${(totals[1]! / seconds).toFixed(0)} q/s — ` +
        `**${(totals[0]! / totals[1]!).toFixed(3)}×** (rounds: ` +
        `${ratios.map((r) => r.toFixed(3)).join(', ')}). After authentication mysql2 reads the ` +
        `TLS socket directly; pg-sslmode's only addition is one callback per received chunk.`,
    )
    await ours.end()
    await raw.end()
  } finally {
    await server.stop()
  }
  lines.push('<!-- mysql:end -->')
  const block = lines.join('\n')
  writeBenchmarkSection(block)
  process.stdout.write(`${block}\n`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})

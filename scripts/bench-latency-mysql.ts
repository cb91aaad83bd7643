/**
 * `npm run bench:latency` (MySQL half): connect over the simulated network of
 * scripts/latency-relay.ts to MariaDB — pg-sslmode/mysql, raw mysql2 (a full handshake each time,
 * and with its TLS session cache), and MariaDB's own client library (Connector/C through ctypes,
 * scripts/mariadb-connect.py) — interleaved in one run: median connect time and the round trips
 * each client waited for over connect + `SELECT 1` + close. With --write, puts the table in
 * docs/benchmarks.md. Not part of npm test.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import { connectMysql } from '../lib/mysql/index.js'
import { writeBenchmarkSection } from './bench-doc.js'
import { fixture } from './harness.js'
import {
  closeCrossed,
  flightsSince,
  latencyRelay,
  median,
  relayedWorker,
  type LatencyRelay,
  type RelayedSample,
} from './latency-relay.js'
import { mariadbProblem, MYSQL_PASSWORD, startMariaDb } from './mariadb.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ONE_WAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 4)
const CA_FILE = fixture('ca.crt')
const CA = readFileSync(CA_FILE)

type Closable = { query(sql: string): Promise<unknown>; end(): Promise<void> }

/** Runs `open` + SELECT 1 + close and counts the client flights of the relay connections it made. */
async function measured(relay: LatencyRelay, open: () => Promise<Closable>): Promise<RelayedSample> {
  const before = relay.connections.length
  const t0 = performance.now()
  const connection = await open()
  const connectMs = performance.now() - t0
  await connection.query('SELECT 1')
  await connection.end()
  await closeCrossed(ONE_WAY_MS) // let the close reach the relay
  return { connectMs, roundTrips: flightsSince(relay, before) }
}

async function main(): Promise<void> {
  const why = mariadbProblem()
  if (why) throw new Error(`the MySQL latency bench needs MariaDB: ${why}`)
  const server = await startMariaDb({ ssl: true })
  const relay = await latencyRelay({ host: server.host, port: server.port }, ONE_WAY_MS)
  const base = { host: '127.0.0.1', port: relay.port, user: 'app', password: MYSQL_PASSWORD, database: 'app' }
  const env = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', PYTHONDONTWRITEBYTECODE: '1' }
  const connectorC = relayedWorker(
    'Connector/C',
    ['python3', join(ROOT, 'scripts', 'mariadb-connect.py')],
    env,
    ONE_WAY_MS,
  )
  const mariadb = { run: (settings: object, n: number) => connectorC.run(relay, settings, n), stop: connectorC.stop }
  const cachedSsl = { ca: CA }
  const own = { ...base, optionFiles: false, env: {} } as const
  const verified = { ...own, sslMode: 'VERIFY_CA', sslCa: CA_FILE } as const
  type Variant = readonly [name: string, run: () => Promise<RelayedSample | RelayedSample[]>]
  const scenarios: ReadonlyArray<readonly [scenario: string, variants: readonly Variant[]]> = [
    [
      'TLS, CA verified',
      [
        ['pg-sslmode/mysql (VERIFY_CA)', () => measured(relay, () => connectMysql(verified))],
        [
          'raw mysql2, full handshake',
          () => measured(relay, () => mysql.createConnection({ ...base, ssl: { ca: CA } })),
        ],
        [
          'raw mysql2, resumed session',
          () => measured(relay, () => mysql.createConnection({ ...base, ssl: cachedSsl })),
        ],
        ['MariaDB Connector/C (ssl_ca)', () => mariadb.run({ ...base, ssl_ca: CA_FILE }, PER_ROUND)],
      ],
    ],
    [
      'no TLS',
      [
        ['pg-sslmode/mysql (DISABLED)', () => measured(relay, () => connectMysql({ ...own, sslMode: 'DISABLED' }))],
        ['raw mysql2, full handshake', () => measured(relay, () => mysql.createConnection(base))],
        ['MariaDB Connector/C', () => mariadb.run(base, PER_ROUND)],
      ],
    ],
  ]
  const samples = new Map<string, RelayedSample[]>()
  try {
    for (const [, variants] of scenarios) for (const [, run] of variants) await run() // warm up
    for (let round = 0; round < ROUNDS; round++) {
      for (const [scenario, variants] of scenarios) {
        for (const [name, run] of variants) {
          const key = `${scenario}|${name}`
          const reps = name.includes('Connector/C') ? 1 : PER_ROUND
          for (let i = 0; i < reps; i++) samples.set(key, [...(samples.get(key) ?? []), ...[await run()].flat()])
        }
      }
    }
  } finally {
    mariadb.stop()
    await relay.close()
    await server.stop()
  }
  const rows: string[] = []
  for (const [scenario, variants] of scenarios) {
    const ours = samples.get(`${scenario}|${variants[0]![0]}`)!
    const oursMs = median(ours.map((s) => s.connectMs))
    for (const [name] of variants) {
      const xs = samples.get(`${scenario}|${name}`)!
      const ms = median(xs.map((s) => s.connectMs))
      const trips = median(xs.map((s) => s.roundTrips))
      rows.push(`| ${scenario} | ${name} | ${ms.toFixed(1)} ms | ${trips} | ${(oursMs / ms).toFixed(3)}× |`)
    }
  }
  const table = [
    `MariaDB ${server.version} through a relay adding ${ONE_WAY_MS} ms each way (${2 * ONE_WAY_MS} ms per round ` +
      `trip; the TCP handshake is the kernel's), ${ROUNDS} rounds × ${PER_ROUND} per variant, interleaved; median ` +
      'connect time (until the session is ready) and round trips (RT: client flights over connect + `SELECT 1` + ' +
      'close; the close is one).',
    '',
    '| scenario | client | connect | RT | pg-sslmode / this |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n')
  console.log(table)
  if (process.argv.includes('--write')) {
    const title = '## MySQL round trips over a simulated network (`npm run bench:latency`)'
    writeBenchmarkSection(`<!-- latency-mysql:start -->\n${title}\n\n${table}\n<!-- latency-mysql:end -->`)
  }
}

await main()

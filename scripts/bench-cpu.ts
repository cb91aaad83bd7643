/**
 * `npm run bench:cpu`: where the CPU of a connection goes — pg-sslmode against raw pg, connect +
 * `select 1` + close on loopback at disable and require (trust), profiled with V8's sampling
 * profiler in alternating blocks of the same run. Each sample of the main thread is put in one
 * part by the code it was in (its innermost frame): pg-sslmode's modules by what they do, pg,
 * Node's JavaScript, and native code (OpenSSL, system calls, the garbage collector). The built
 * package is profiled, as an application loads it (dist/cjs, which the ES-module entry point
 * re-exports). Rewrites the "cpu" section of docs/benchmarks.md with --write. Not part of npm test.
 */
import { Session } from 'node:inspector/promises'
import pg from 'pg'
import { writeBenchmarkSection } from './bench-doc.js'
import { startCluster, type Cluster } from './harness.js'

// The build, as an application loads it (npm run bench:cpu builds first); typed by the source.
const DIST = new URL('../dist/esm/index.js', import.meta.url).href
const { connect, createPool } = (await import(DIST)) as typeof import('../lib/index.js')

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 6)
const PER_BLOCK = Number(process.env.BENCH_PER_BLOCK ?? 150)
const INTERVAL_US = 100

/** The parts a sample is put in, by the path of its innermost frame's script (first match). */
const PARTS: ReadonlyArray<[part: string, pattern: RegExp]> = [
  [
    'pg-sslmode: settings (every libpq source, validation, policy)',
    /dist\/cjs\/(postgres\/(settings\/|connection-settings|settings-reuse|dialects)|engine\/policy\/policy)/,
  ],
  ['pg-sslmode: start-up guard, taps and protocol reading', /dist\/cjs\/postgres\/(connect\/start|protocol\/)/],
  [
    'pg-sslmode: TLS (context cache, handshake facts, peer checks)',
    /dist\/cjs\/(engine\/tls\/|engine\/peer-check|postgres\/connect\/(transport|tls-options))/,
  ],
  [
    'pg-sslmode: report and security events',
    /dist\/cjs\/(postgres\/report-build|engine\/report|engine\/policy\/audit)/,
  ],
  ['pg-sslmode: plan, attempts, client', /dist\/cjs\//],
  ['pg (and pg-protocol, pg-types)', /node_modules\/pg/],
  ["Node's JavaScript (streams, net, tls, events)", /^node:|^internal\/|^[a-z_]+$/],
]
const NATIVE = 'native (OpenSSL, system calls, V8 builtins)'
const GC = 'garbage collector'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly url: string; readonly functionName: string }
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

function partOf(node: ProfileNode): string | undefined {
  const { url, functionName } = node.callFrame
  if (functionName === '(idle)' || functionName === '(program)') return undefined
  if (functionName === '(garbage collector)') return GC
  const path = url.replace(/^file:\/\//, '')
  if (!path) return NATIVE
  return PARTS.find(([, pattern]) => pattern.test(path))?.[0] ?? 'the benchmark loop and other scripts'
}

/** µs of main-thread CPU per connection, by part. */
function byPart(profile: Profile, connections: number, into: Map<string, number>): void {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  profile.samples.forEach((id, i) => {
    const part = partOf(nodes.get(id)!)
    if (part) into.set(part, (into.get(part) ?? 0) + profile.timeDeltas[i]! / connections)
  })
}

type Scenario = 'disable' | 'require' | 'disable, through a pool'

function variants(cluster: Cluster, scenario: Scenario) {
  if (scenario === 'disable, through a pool') return poolVariants(cluster)
  const mode = scenario
  const ours = async (): Promise<void> => {
    const client = await connect({ host: cluster.host, port: cluster.port, user: cluster.user, env: {}, sslmode: mode })
    await client.query('select 1')
    await client.end()
  }
  const raw = async (): Promise<void> => {
    const ssl = mode === 'disable' ? false : { rejectUnauthorized: false }
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, ssl })
    await client.connect()
    await client.query('select 1')
    await client.end()
  }
  return { runs: { 'pg-sslmode': ours, 'raw pg': raw }, close: async () => {} }
}

/**
 * createPool against pg.Pool, one connection at a time: each checkout is released with
 * release(true), so the next makes a new connection from the pool's options — where a pool's
 * clients reuse the settings resolution (lib/postgres/settings-reuse.ts).
 */
function poolVariants(cluster: Cluster) {
  const where = { host: cluster.host, port: cluster.port, user: cluster.user, max: 1 }
  const ourPool = createPool({ ...where, env: {}, sslmode: 'disable' })
  const rawPool = new pg.Pool({ ...where, ssl: false })
  const checkout = (pool: { connect(): Promise<pg.PoolClient> }) => async (): Promise<void> => {
    const client = await pool.connect()
    await client.query('select 1')
    client.release(true)
  }
  const close = async (): Promise<void> => {
    await Promise.all([ourPool.end(), rawPool.end()])
  }
  return { runs: { 'pg-sslmode': checkout(ourPool as never), 'raw pg': checkout(rawPool) }, close }
}

async function measure(session: Session, cluster: Cluster, mode: Scenario) {
  const { runs, close } = variants(cluster, mode)
  const parts = { 'pg-sslmode': new Map<string, number>(), 'raw pg': new Map<string, number>() }
  const cpu = { 'pg-sslmode': 0, 'raw pg': 0 }
  for (const run of Object.values(runs)) for (let i = 0; i < 100; i++) await run()
  for (let block = 0; block < BLOCKS; block++) {
    for (const [name, run] of Object.entries(runs) as Array<[keyof typeof runs, () => Promise<void>]>) {
      process.stderr.write(`${mode}: block ${block + 1}/${BLOCKS} ${name}        \r`)
      await session.post('Profiler.start')
      const used = process.cpuUsage()
      for (let i = 0; i < PER_BLOCK; i++) await run()
      const { user, system } = process.cpuUsage(used)
      const { profile } = await session.post('Profiler.stop')
      byPart(profile as unknown as Profile, PER_BLOCK * BLOCKS, parts[name])
      cpu[name] += (user + system) / (PER_BLOCK * BLOCKS)
    }
  }
  await close()
  return { parts, cpu }
}

function table(mode: string, result: Awaited<ReturnType<typeof measure>>): string[] {
  const { parts, cpu } = result
  const names = [
    ...PARTS.map(([p]) => p),
    'the benchmark loop and other scripts',
    "Node's JavaScript (streams, net, tls, events)",
    NATIVE,
    GC,
  ]
  const rows = [...new Set(names)].filter((p) => parts['pg-sslmode'].has(p) || parts['raw pg'].has(p))
  const us = (x: number | undefined): string => `${Math.round(x ?? 0)} µs`
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
  return [
    `### ${mode}`,
    '',
    '| part (innermost frame of each sample) | pg-sslmode | raw pg | difference |',
    '|---|---|---|---|',
    ...rows.map((p) => {
      const o = parts['pg-sslmode'].get(p) ?? 0
      const r = parts['raw pg'].get(p) ?? 0
      return `| ${p} | ${us(o)} | ${us(r)} | ${o - r >= 0 ? '+' : ''}${Math.round(o - r)} µs |`
    }),
    `| **main thread, sampled** | ${us(total(parts['pg-sslmode']))} | ${us(total(parts['raw pg']))} | ` +
      `${(total(parts['pg-sslmode']) / total(parts['raw pg'])).toFixed(3)}× |`,
    `| whole process (user + system, GC threads included) | ${us(cpu['pg-sslmode'])} | ${us(cpu['raw pg'])} | ` +
      `${(cpu['pg-sslmode'] / cpu['raw pg']).toFixed(3)}× |`,
    '',
  ]
}

async function main(): Promise<void> {
  const cluster = await startCluster({ ssl: true })
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: INTERVAL_US })
    const lines = [
      '<!-- cpu:start (written by npm run bench:cpu) -->',
      '## Where the CPU goes',
      '',
      `Connect + \`select 1\` + close on 127.0.0.1 (trust), ${BLOCKS} alternating blocks × ${PER_BLOCK} connections ` +
        `per variant, V8's sampling profiler every ${INTERVAL_US} µs on the main thread (the profiler slows both ` +
        'alike); µs per connection. Each sample counts for the code it was in, not its callers: pg-sslmode calling ' +
        "pg counts for pg, and a system call Node makes for pg-sslmode's socket counts as native. From run to run " +
        'a row moves by tens of µs and the native row by up to a few hundred (key generation, the kernel on ' +
        "loopback): pg-sslmode's own rows are the steady part. Samples are wall time: a write on loopback wakes " +
        "the server's backend on one of two cores, and while the main thread waits for a core inside that system " +
        'call the wait counts as native. "Through a pool": createPool against pg.Pool (max 1), each checkout ' +
        "released with release(true), so that every checkout makes a new connection from the pool's options.",
      '',
    ]
    for (const mode of ['disable', 'require', 'disable, through a pool'] as const)
      lines.push(...table(mode, await measure(session, cluster, mode)))
    lines.push('<!-- cpu:end -->')
    const block = lines.join('\n')
    if (process.argv.includes('--write')) writeBenchmarkSection(block)
    console.log(block)
  } finally {
    session.disconnect()
    await cluster.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})

/**
 * `npm run bench:startup`: cold start — loading pg-sslmode in a fresh process against loading pg,
 * as a serverless invocation or a CLI run pays it: `require()` of the package and `import()`
 * of its ES-module entry point, each timed inside a fresh node process, the variants interleaved;
 * medians with the 10th–90th percentile spread. Then what such an invocation pays before its first
 * answer: the load, one connection at require and its first `select 1`, against pg doing the same.
 * With --write, puts the tables in docs/benchmarks.md. Not part of npm test.
 */
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeBenchmarkSection } from './bench-doc.js'
import { startCluster } from './harness.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const RUNS = Number(process.env.BENCH_RUNS ?? 25)

const cluster = await startCluster({ ssl: true })
const target = { host: cluster.host, port: cluster.port, user: cluster.user }
// The first connection of a fresh process, after the load: connect, select 1, close.
const FIRST_QUERY: Record<string, string> = {
  'pg: import + first query':
    "const { default: pg } = await import('pg'); " +
    `const c = new pg.Client({ ...${JSON.stringify(target)}, ssl: { rejectUnauthorized: false } }); ` +
    "await c.connect(); await c.query('select 1'); await c.end()",
  'pg-sslmode: import + first query':
    `const { connect } = await import(${JSON.stringify(join(ROOT, 'dist/esm/index.js'))}); ` +
    `const c = await connect({ ...${JSON.stringify(target)}, sslmode: 'require', env: {} }); ` +
    "await c.query('select 1'); await c.end()",
}

const VARIANTS: Record<string, string> = {
  "require('pg')": "require('pg')",
  "require('pg-sslmode')": `require(${JSON.stringify(join(ROOT, 'dist/cjs/index.js'))})`,
  "import('pg')": "await import('pg')",
  "import('pg-sslmode')": `await import(${JSON.stringify(join(ROOT, 'dist/esm/index.js'))})`,
}

/** One fresh process: the time its load took, in ms, measured inside it. */
function once(code: string): number {
  const script = `const t = process.hrtime.bigint(); ${code}; console.log(Number(process.hrtime.bigint() - t) / 1e6)`
  const esm = code.includes('await')
  const out = execFileSync(process.execPath, esm ? ['--input-type=module', '-e', script] : ['-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  return Number(out.trim())
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  const i = (s.length - 1) * q
  const lo = Math.floor(i)
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo)
}

const ALL = { ...VARIANTS, ...FIRST_QUERY }
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ALL).map((k) => [k, []]))
try {
  for (let run = 0; run < RUNS; run++) for (const [name, code] of Object.entries(ALL)) samples[name]!.push(once(code))
} finally {
  await cluster.stop()
}
const row = (name: string, base: string): string => {
  const xs = samples[name]!
  const ratio = quantile(xs, 0.5) / quantile(samples[base]!, 0.5)
  const ms = (q: number) => quantile(xs, q).toFixed(1)
  return `| ${name} | ${ms(0.5)} ms | ${ms(0.1)}–${ms(0.9)} ms | ${ratio.toFixed(2)}× |`
}
const table = [
  `Each a fresh \`node\` process (${RUNS} runs per variant, interleaved), timed inside it around the load; ` +
    'the ratio is against pg loaded the same way.',
  '',
  '| load | median | 10th–90th percentile | / pg |',
  '|---|---|---|---|',
  row("require('pg')", "require('pg')"),
  row("require('pg-sslmode')", "require('pg')"),
  row("import('pg')", "import('pg')"),
  row("import('pg-sslmode')", "import('pg')"),
  '',
  'A fresh process that imports the package (the ES-module entry point, which re-exports the CommonJS build), ' +
    'opens one connection (sslmode=require; raw pg with ' +
    '`ssl: { rejectUnauthorized: false }`), runs `select 1` and closes — what a serverless invocation waits for ' +
    'before its first answer. pg-sslmode loads its connect machinery at the first connect() (openGauss, OAuth ' +
    'and the CertificateRequest watch only when a connection needs them), so that cost is here, not above.',
  '',
  '| fresh process | median | 10th–90th percentile | / pg |',
  '|---|---|---|---|',
  row('pg: import + first query', 'pg: import + first query'),
  row('pg-sslmode: import + first query', 'pg: import + first query'),
].join('\n')
console.log(table)
if (process.argv.includes('--write')) {
  writeBenchmarkSection(
    `<!-- startup:start -->\n## Cold start (\`npm run bench:startup\`)\n\n${table}\n<!-- startup:end -->`,
  )
}

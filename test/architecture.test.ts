/**
 * The one import rule (docs/architecture.md): a module imports only from its own layer's files
 * or from layers below it — never upward, `import type` included — and no two modules import each
 * other, directly or through others.
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const LIB = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib')

/** Bottom first. A path ending in "/" is a folder. Keep in step with docs/architecture.md. */
export const LAYERS: readonly (readonly string[])[] = [
  // the engine: protocol-neutral
  ['engine/errors.ts', 'engine/terms.ts', 'engine/sockets.ts', 'engine/driver-members.ts'],
  ['engine/tls/'],
  ['engine/report.ts'],
  ['engine/policy/'],
  ['engine/peer-check.ts', 'engine/peer-verification.ts'],
  // the MySQL Plus cloud switch: no database code
  ['mysqlplus/'],
  // the PostgreSQL side
  ['postgres/pg.ts', 'postgres/native-guard.ts', 'postgres/pg-internals.ts', 'postgres/pg-handover.ts'],
  ['postgres/protocol/'],
  ['postgres/opengauss/'],
  ['postgres/dialects.ts'],
  ['postgres/settings/'],
  ['postgres/plan.ts', 'postgres/host-order.ts'],
  ['postgres/report-build.ts'],
  ['postgres/options.ts', 'postgres/connection-settings.ts', 'postgres/settings-reuse.ts'],
  ['postgres/connect/'],
  ['postgres/client.ts', 'postgres/cancel-query.ts'],
  ['postgres/pool.ts', 'postgres/resolve.ts'],
  ['postgres/register.ts'],
  // the MySQL side (above the PostgreSQL side in the list, but it may not import it: see below)
  ['mysql/'],
  ['cli/'],
  ['index.ts'],
]

/** The protocol sides and the switch are apart: none imports another; all stand on the engine. */
const SIDES = ['postgres/', 'mysql/', 'mysqlplus/'] as const

function layerOf(file: string): number {
  const i = LAYERS.findIndex((layer) =>
    layer.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry)),
  )
  return i
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory()
      ? sources(path)
      : name.endsWith('.ts') && !name.endsWith('.d.ts')
        ? [relative(LIB, path)]
        : []
  })
}

/** Every relative module a file imports or re-exports, with or without `type`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(LIB, file), 'utf8')
  const found: string[] = []
  for (const m of text.matchAll(
    /^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/gm,
  )) {
    const spec = m[1] ?? m[2] ?? m[3]!
    found.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'))
  }
  return found
}

const files = sources(LIB)
const graph = new Map(files.map((f) => [f, importsOf(f)]))

t.test('every module belongs to a layer', async (t) => {
  t.same(
    files.filter((f) => layerOf(f) < 0),
    [],
    'add new folders or files to LAYERS and docs/architecture.md',
  )
})

t.test('imports point down (or within a layer), never up', async (t) => {
  const upward: string[] = []
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (layerOf(target) > layerOf(file)) upward.push(`${file} → ${target}`)
    }
  }
  t.same(upward, [])
})

t.test('the engine knows no protocol, and the sides do not import each other', async (t) => {
  const crossing: string[] = []
  for (const [file, imports] of graph) {
    const side = SIDES.find((s) => file.startsWith(s)) ?? (file.startsWith('engine/') ? 'engine/' : undefined)
    if (!side) continue
    for (const target of imports) {
      const other = SIDES.find((s) => target.startsWith(s))
      if (other && other !== side) crossing.push(`${file} → ${target}`)
    }
  }
  t.same(crossing, [])
})

t.test('no import cycles, type-only ones included', async (t) => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
      return
    }
    state.set(file, 'open')
    for (const next of graph.get(file) ?? []) visit(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  t.same(cycles, [])
})

t.test('the rule is checked on real imports (a test that cannot fail is a defect)', async (t) => {
  t.ok(graph.get('postgres/client.ts')!.includes('postgres/connect/executor.ts'), 'the parser sees a plain import')
  t.ok(graph.get('postgres/report-build.ts')!.includes('postgres/plan.ts'), 'and an import type')
  t.ok(graph.get('index.ts')!.includes('postgres/client.ts'), 'and a re-export')
  t.ok(graph.get('mysql/connect.ts')!.includes('engine/peer-check.ts'), 'the MySQL side stands on the engine')
  t.ok(
    layerOf('postgres/settings/merge.ts') > layerOf('engine/policy/policy.ts'),
    'the protocol sides sit above the engine',
  )
})

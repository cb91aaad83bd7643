/**
 * docs/benchmarks.md is written by several benchmarks: bench.ts owns the top of the page, and each
 * of the others one section between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCHMARKS_PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks.md')

const SECTIONS = /<!-- ([a-z-]+):start[\s\S]*?<!-- \1:end -->/g

/** Replace the marked section `block` names (its first line is the start marker), or append it. */
export function writeBenchmarkSection(block: string): void {
  const name = /^<!-- ([a-z-]+):start/.exec(block)?.[1]
  if (!name) throw new Error('a benchmark section starts with its <!-- NAME:start --> marker')
  const doc = readFileSync(BENCHMARKS_PAGE, 'utf8')
  const marked = new RegExp(`<!-- ${name}:start[\\s\\S]*?<!-- ${name}:end -->`)
  writeFileSync(BENCHMARKS_PAGE, marked.test(doc) ? doc.replace(marked, () => block) : `${doc.trimEnd()}\n\n${block}\n`)
}

/** Write the top of the page, keeping every marked section the other benchmarks wrote. */
export function writeBenchmarkPage(top: string): void {
  mkdirSync(dirname(BENCHMARKS_PAGE), { recursive: true })
  const previous = existsSync(BENCHMARKS_PAGE) ? readFileSync(BENCHMARKS_PAGE, 'utf8') : ''
  const kept = [...previous.matchAll(SECTIONS)].map((m) => m[0])
  writeFileSync(BENCHMARKS_PAGE, `${[top.trimEnd(), ...kept].join('\n\n')}\n`)
}

/** The README is checked against the tables the code reads, so it cannot drift from them. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERROR_CODES } from '../lib/engine/errors.js'
import { KEYWORDS } from '../lib/postgres/settings/keywords.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

t.test('the README names the two fresh-machine commands', async (t) => {
  t.match(readme, /npm ci && npm run demo/)
  t.match(readme, /^npm test\b/m)
})

t.test('every error code is in the README error table, and nothing else is', async (t) => {
  const documented = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1])
  t.same(documented.sort(), Object.keys(ERROR_CODES).sort())
})

t.test('every keyword the library refuses or ignores is named in the README', async (t) => {
  for (const k of KEYWORDS.filter((k) => k.use !== 'honoured')) t.match(readme, new RegExp(`\`${k.name}[=\`/]`), k.name)
})

t.test("every policy preset is in the policy page's table and named in the README", async (t) => {
  const { PRESETS } = await import('../lib/engine/policy/policy.js')
  const page = readFileSync(join(root, 'docs', 'policy.md'), 'utf8')
  for (const name of Object.keys(PRESETS)) {
    t.match(page, new RegExp(`^\\| \`${name}\`( \\(default\\))? \\|`, 'm'), name)
    t.match(readme, new RegExp(`\`${name}\``), name)
  }
})

t.test('every docs page is linked from the README, and every link to a docs page resolves', async (t) => {
  const { readdirSync, existsSync } = await import('node:fs')
  for (const page of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')))
    t.match(readme, `](docs/${page})`, page)
  const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)]
  for (const file of pages) {
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(/\]\(([^)#:]+\.md)(#[^)]*)?\)/g)) {
      t.ok(existsSync(join(root, dirname(file), m[1]!)), `${file} → ${m[1]}`)
    }
  }
})

t.test('the package cites its own docs or upstream sources, never the internal brief', async (t) => {
  const { readdirSync, statSync } = await import('node:fs')
  // Spelled in two parts so that this file does not cite the brief itself.
  const brief = new RegExp(['SPEC', '§'].join(' '))
  const files: string[] = ['README.md']
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name)
      if (statSync(join(root, path)).isDirectory()) walk(path)
      else if (/\.(ts|md|sh|py|yml)$/.test(name)) files.push(path)
    }
  }
  for (const dir of ['lib', 'scripts', 'test', 'docs']) walk(dir)
  const citing = files.filter((f) => brief.test(readFileSync(join(root, f), 'utf8')))
  t.same(citing, [], 'no file cites the brief')
})

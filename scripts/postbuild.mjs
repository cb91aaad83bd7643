// After tsc: what the two builds need that tsc cannot write.
import { readFileSync, writeFileSync } from 'node:fs'

// dist/cjs is CommonJS although the package is "type": "module".
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }))

/** Replace `from` by `to` in a built file, or fail: a rewrite that silently stops matching is a bug. */
function rewrite(file, from, to) {
  const text = readFileSync(file, 'utf8')
  if (!text.includes(from))
    throw new Error(`${file}: "${from}" not found; update scripts/postbuild.mjs (lib/postgres/pg.ts says why)`)
  writeFileSync(file, text.replace(from, to))
}

// pg is loaded through requirePgFrom() (lib/postgres/pg.ts): a missing pg names the install
// command, and require() resolves 'pg/lib/index' in every pg 8, with or without an exports map.
// The source keeps a plain import: the test runner's TypeScript loader is what runs it there.
rewrite(
  'dist/esm/postgres/pg.js',
  "import pgModule from 'pg/lib/index';",
  "import { createRequire } from 'node:module';\nconst pgModule = requirePgFrom(createRequire(import.meta.url));",
)
rewrite('dist/cjs/postgres/pg.js', 'require("pg/lib/index")', 'requirePgFrom(require)')

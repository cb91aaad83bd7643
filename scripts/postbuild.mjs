// After tsc: what the two builds need that tsc cannot write.
import { readFileSync, writeFileSync } from 'node:fs'

// dist/cjs is CommonJS although the package is "type": "module".
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }))

// The ES-module build loads pg as 'pg/lib/index.js': Node resolves that in every pg 8 (a plain
// file before 8.15, the "./lib/*.js" entry of pg's exports map since), where 'pg/lib/index'
// needs the exports map. The source keeps 'pg/lib/index' because the test runner's TypeScript
// loader reads pg's exports map wrongly for 'pg/lib/index.js' (it picks "./lib/*": index.js.js).
const file = 'dist/esm/postgres/pg.js'
const text = readFileSync(file, 'utf8')
const fixed = text.replace("from 'pg/lib/index'", "from 'pg/lib/index.js'")
if (fixed === text) throw new Error(`${file}: the import of 'pg/lib/index' was not found; update scripts/postbuild.mjs`)
writeFileSync(file, fixed)

/**
 * The published shape: `require('pg-sslmode')` and `import 'pg-sslmode'` both work from inside
 * the repository (package self-reference through `exports`), expose the same API, and ship types.
 * Needs `npm run build` first (npm test does it).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }>
}

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } }).trim()
}

t.test('every file named by package.json exports exists', async (t) => {
  for (const target of [pkg.exports['.']!.import, pkg.exports['.']!.require, pkg.exports['./register']!.import, pkg.exports['./register']!.require]) {
    t.ok(existsSync(join(root, target.default)), target.default)
    t.ok(existsSync(join(root, target.types)), target.types)
  }
})

t.test('CommonJS and ESM entry points expose the same API', async (t) => {
  const cjs = JSON.parse(run(['-e', "const m = require('pg-sslmode'); console.log(JSON.stringify(Object.keys(m).sort().map(k => k + ':' + typeof m[k])))"])) as string[]
  const esm = JSON.parse(
    run(['--input-type=module', '-e', "import * as m from 'pg-sslmode'; console.log(JSON.stringify(Object.keys(m).sort().map(k => k + ':' + typeof m[k])))"]),
  ) as string[]
  t.same(cjs, esm)
  for (const name of ['connect:function', 'SslClient:function', 'PgSslError:function', 'planAttempts:function', 'ERROR_CODES:object', 'KEYWORDS:object']) {
    t.ok(cjs.includes(name), name)
  }
})

t.test('the CommonJS build is really CommonJS and errors keep their class across the boundary', async (t) => {
  const out = run([
    '-e',
    "const { connect, PgSslError } = require('pg-sslmode'); connect({ sslmode: 'verify_ca', env: {} }).catch(e => console.log(e instanceof PgSslError, e.code))",
  ])
  t.equal(out, 'true INVALID_SETTING')
})

t.test('pg-sslmode/register resolves by its package name, for --import and for --require', async (t) => {
  const probe = "const pg = require('pg'); console.log(pg.Client.name, pg.Pool.name)"
  t.equal(execFileSync(process.execPath, ['--import', 'pg-sslmode/register', '-e', probe], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', PGSSLREGISTER: 'quiet' } }).trim(), 'SslClient SslPgPool')
  t.equal(execFileSync(process.execPath, ['--require', 'pg-sslmode/register', '-e', probe], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', PGSSLREGISTER: 'quiet' } }).trim(), 'SslClient SslPgPool')
  t.equal(run(['-e', probe]), 'Client BoundPool', 'without it, pg is untouched: importing pg-sslmode alone patches nothing')
})

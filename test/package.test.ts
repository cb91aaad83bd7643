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
  exports: Record<
    string,
    string | { import: { types: string; default: string }; require: { types: string; default: string } }
  >
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
}

function run(args: string[]): string {
  return execFileSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  }).trim()
}

t.test('every file named by package.json exports exists', async (t) => {
  for (const target of Object.values(pkg.exports).flatMap((e) =>
    typeof e === 'string' ? [] : [e.import, e.require],
  )) {
    t.ok(existsSync(join(root, target.default)), target.default)
    t.ok(existsSync(join(root, target.types)), target.types)
  }
})

t.test('CommonJS and ESM entry points expose the same API', async (t) => {
  const cjs = JSON.parse(
    run([
      '-e',
      "const m = require('pg-sslmode'); console.log(JSON.stringify(Object.keys(m).sort().map(k => k " +
        "+ ':' + typeof m[k])))",
    ]),
  ) as string[]
  const esm = JSON.parse(
    run([
      '--input-type=module',
      '-e',
      "import * as m from 'pg-sslmode'; console.log(JSON.stringify(Object.keys(m).sort().map(k => k " +
        "+ ':' + typeof m[k])))",
    ]),
  ) as string[]
  t.same(cjs, esm)
  for (const name of [
    'connect:function',
    'SslClient:function',
    'PgSslError:function',
    'planAttempts:function',
    'ERROR_CODES:object',
    'KEYWORDS:object',
  ]) {
    t.ok(cjs.includes(name), name)
  }
})

t.test('the CommonJS build is really CommonJS and errors keep their class across the boundary', async (t) => {
  const out = run([
    '-e',
    "const { connect, PgSslError } = require('pg-sslmode'); connect({ sslmode: 'verify_ca', env: {} " +
      '}).catch(e => console.log(e instanceof PgSslError, e.code))',
  ])
  t.equal(out, 'true INVALID_SETTING')
})

t.test('one copy of pg-sslmode per process, whether it is imported, required or both', async (t) => {
  // Without it an error thrown by a client of one copy is not instanceof the other's PgSslError,
  // and a pg patched by one copy's register hands out clients the other's SslClient does not know.
  t.equal(
    run([
      '--input-type=module',
      '-e',
      "import { createRequire } from 'node:module'; import * as esm from 'pg-sslmode'; " +
        "import * as mysql from 'pg-sslmode/mysql'; const cjs = createRequire(import.meta.url)('pg-sslmode'); " +
        'console.log(esm.PgSslError === cjs.PgSslError, esm.SslClient === cjs.SslClient, ' +
        'mysql.PgSslError === cjs.PgSslError)',
    ]),
    'true true true',
  )
  t.equal(
    execFileSync(
      process.execPath,
      [
        '--import',
        'pg-sslmode/register',
        '-e',
        "const pg = require('pg'); const m = require('pg-sslmode'); console.log(pg.Client === m.SslClient, " +
          'new pg.Client({ env: {} }) instanceof m.SslClient)',
      ],
      { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', PGSSLREGISTER: 'quiet' } },
    ).trim(),
    'true true',
    '--import pg-sslmode/register, then require(): the same SslClient',
  )
})

t.test('pg-sslmode/register resolves by its package name, for --import and for --require', async (t) => {
  const probe = "const pg = require('pg'); console.log(pg.Client.name, pg.Pool.name)"
  t.equal(
    execFileSync(process.execPath, ['--import', 'pg-sslmode/register', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', PGSSLREGISTER: 'quiet' },
    }).trim(),
    'SslClient SslPgPool',
  )
  t.equal(
    execFileSync(process.execPath, ['--require', 'pg-sslmode/register', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', PGSSLREGISTER: 'quiet' },
    }).trim(),
    'SslClient SslPgPool',
  )
  t.equal(
    run(['-e', probe]),
    'Client BoundPool',
    'without it, pg is untouched: importing pg-sslmode alone patches nothing',
  )
})

t.test(
  'pg-sslmode/mysql: the same API from CommonJS and ESM, errors keep their class, mysql2 an optional peer',
  async (t) => {
    const keys = "JSON.stringify(Object.keys(m).sort().map(k => k + ':' + typeof m[k]))"
    const cjs = JSON.parse(run(['-e', `const m = require('pg-sslmode/mysql'); console.log(${keys})`])) as string[]
    const esm = JSON.parse(
      run(['--input-type=module', '-e', `import * as m from 'pg-sslmode/mysql'; console.log(${keys})`]),
    ) as string[]
    t.same(cjs, esm)
    for (const name of [
      'connectMysql:function',
      'createMysqlPool:function',
      'resolveMysql:function',
      'MYSQL_SSL_MODES:object',
      'PgSslError:function',
    ])
      t.ok(cjs.includes(name), name)
    const out = run([
      '-e',
      "const { connectMysql, PgSslError } = require('pg-sslmode/mysql'); connectMysql({ sslMode: " +
        "'VERIFY', optionFiles: false, env: {} }).catch(e => console.log(e instanceof PgSslError, e.code))",
    ])
    t.equal(out, 'true INVALID_SETTING')
    t.ok(pkg.peerDependencies.mysql2, 'mysql2 is a peer dependency')
    t.equal(pkg.peerDependenciesMeta.mysql2?.optional, true, 'and optional: PostgreSQL users need not install it')
    t.equal(
      run([
        '-e',
        "require('pg-sslmode'); console.log(Object.keys(require.cache).filter(k => " +
          "k.includes('/node_modules/mysql2/')).length)",
      ]),
      '0',
      'the main entry point never loads mysql2',
    )
  },
)

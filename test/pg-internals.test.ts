/**
 * The canaries for pg's and mysql2's private members (lib/postgres/pg-internals.ts,
 * lib/mysql/mysql2-internals.ts) on this repository's copies; the version matrix
 * (test/e2e/pg-versions.test.ts) runs the same checks on every supported version.
 */
import t from 'tap'
import pg from 'pg'
import { missingPgMembers, PG_MEMBERS } from '../lib/postgres/pg-internals.js'
import { missingMysql2Members } from '../lib/mysql/mysql2-internals.js'

t.test("this repository's pg has every member pg-sslmode relies on", async (t) => {
  t.same(
    missingPgMembers(pg),
    [],
    `pg ${(await import('pg/package.json', { with: { type: 'json' } })).default.version}`,
  )
  t.ok(
    PG_MEMBERS.every((m) => m.why.length > 20),
    'each member says why it is needed',
  )
})

t.test('a pg without one of them is named, member by member', async (t) => {
  // A Connection class that neither has nor uses any of the members pg-sslmode relies on.
  class Bare {}
  const missing = missingPgMembers({
    ...pg,
    Client: class extends pg.Client {
      constructor(config: pg.ClientConfig) {
        super(config)
        ;(this as unknown as { connection: unknown }).connection = new Bare()
      }
    },
    Connection: Bare,
  } as unknown as typeof pg)
  t.same(missing, [
    'Connection.stream',
    'Connection.ssl',
    'Connection._ending',
    'Connection._connecting',
    'Connection.parsedStatements',
    'Connection.startup',
  ])
})

t.test(
  "this repository's mysql2 has every member pg-sslmode/mysql relies on; a class without them is named",
  async (t) => {
    t.same(missingMysql2Members(), [])
    class Bare {}
    t.same(missingMysql2Members({ Connection: Bare } as never, { PromiseConnection: Bare } as never), [
      'Connection.startTLS',
      'Connection.packetParser',
      'Connection._handleNetworkError',
      'Connection.stream',
      'PromiseConnection.connection',
    ])
  },
)

t.test("nothing under lib/ but the two adapters touches pg's or mysql2's private members", async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const { join, relative } = await import('node:path')
  const root = new URL('../lib/', import.meta.url).pathname
  const adapters = new Set(['postgres/pg-internals.ts', 'mysql/mysql2-internals.ts'])
  // Member names that only a private access would spell; `stream`, `ssl`, `connection` and
  // `startup` are common words, caught instead where they are reached through pg's connection.
  const privateName = new RegExp(
    [
      String.raw`\.(_[A-Za-z]+|getStartupConf|parsedStatements|submittedNamedStatements|readyForQuery)\b`,
      String.raw`\.(packetParser|connectionTimeoutHandle|startTLS)\b`,
      String.raw`\.connection\.(stream|ssl|startup)\b`,
    ].join('|'),
  )
  // Node's own, named where they are used (sockets.ts, register.ts).
  const nodeOwn = /\.(_parent|_load|_cache|_resolveFilename)\b/
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts') && !adapters.has(relative(root, path))) {
        readFileSync(path, 'utf8')
          .split('\n')
          .forEach((line, index) => {
            const code = line.replace(/\/\*.*?(\*\/|$)|\/\/.*$|^\s*\*.*$|'[^']*'|`[^`]*`|"[^"]*"/g, '')
            if (privateName.test(code) && !nodeOwn.test(code))
              offenders.push(`${relative(root, path)}:${index + 1}: ${line.trim()}`)
          })
      }
    }
  }
  walk(root)
  t.same(
    offenders,
    [],
    'private members are reached through lib/postgres/pg-internals.ts and lib/mysql/mysql2-internals.ts only',
  )
})

/**
 * The canary for pg's private members (lib/postgres/pg-internals.ts) on this repository's pg; the
 * pg version matrix (test/e2e/pg-versions.test.ts) runs the same check on every supported pg.
 */
import t from 'tap'
import pg from 'pg'
import { missingPgMembers, PG_MEMBERS } from '../lib/postgres/pg-internals.js'

t.test("this repository's pg has every member pg-sslmode relies on", async (t) => {
  t.same(missingPgMembers(pg), [], `pg ${(await import('pg/package.json', { with: { type: 'json' } })).default.version}`)
  t.ok(PG_MEMBERS.every((m) => m.why.length > 20), 'each member says why it is needed')
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
  t.same(missing, ['Connection.stream', 'Connection.ssl', 'Connection._ending', 'Connection._connecting', 'Connection.parsedStatements', 'Connection.startup'])
})

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

t.test("this repository's mysql2 has every member pg-sslmode/mysql relies on; a class without them is named", async (t) => {
  t.same(missingMysql2Members(), [])
  class Bare {}
  t.same(missingMysql2Members({ Connection: Bare } as never, { PromiseConnection: Bare } as never), ['Connection.startTLS', 'Connection.packetParser', 'Connection._handleNetworkError', 'Connection.stream', 'PromiseConnection.connection'])
})

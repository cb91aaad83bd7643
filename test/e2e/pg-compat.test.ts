/**
 * Drop-in means drop-in: every scenario of test/pg-compat/scenarios.ts runs twice against the same
 * server, with the same options object — once through pg.Client / pg.Pool, once through SslClient
 * / createPool — and what the application can observe must be the same. This file runs them on
 * this repository's pg; test/e2e/pg-versions.test.ts runs the same list on every pg an
 * application may pin, inside that application's install.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import pg from 'pg'
import QueryStream from 'pg-query-stream'
import { createPool, SslClient } from '../../lib/index.js'
import { fixture, startCluster, TEST_PASSWORD } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, endsWithNoOpenSockets } from '../support.js'
import { apis, type CompatContext, COMPAT_HBA, SCENARIOS } from '../pg-compat/scenarios.js'

const cluster = await startCluster({ ssl: true, hbaTcpLines: COMPAT_HBA })
t.teardown(() => cluster.stop())

const context: CompatContext = {
  pg,
  Cursor: createRequire(import.meta.url)('pg-cursor') as CompatContext['Cursor'],
  QueryStream: QueryStream as unknown as CompatContext['QueryStream'],
  options: () => ({
    host: 'localhost',
    port: cluster.port,
    user: cluster.user,
    database: cluster.database,
    password: TEST_PASSWORD,
    ssl: { ca: readFileSync(fixture('ca.crt')) },
    env: isolatedEnv(), // read by pg-sslmode only; pg ignores it
  }),
  baselineSockets: await openSocketCount(),
}
const [PG, OURS] = apis(pg, { SslClient, createPool })

for (const { name, run } of SCENARIOS) {
  t.test(name, async (t) => {
    const expected = await run(PG, context)
    const observed = await run(OURS, context)
    t.same(observed, expected, 'pg-sslmode observes what pg observes')
    t.ok(expected !== undefined, 'the scenario observed something')
  })
}

endsWithNoOpenSockets(t)

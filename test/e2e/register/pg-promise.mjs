// pg-promise (its own nested copy of pg; no driver option): only pg-sslmode/register reaches it.
import pgPromise from 'pg-promise'
import { report } from './report.mjs'

const pgp = pgPromise(process.argv[2] === 'native' ? { pgNative: true } : {})
const db = pgp({
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT),
  user: process.env.PGUSER,
  database: process.env.PGDATABASE,
})
await report('pg-promise', async () => {
  try {
    const rows = await db.any('select ssl, version from pg_stat_ssl where pid = pg_backend_pid()')
    const connection = await db.connect()
    const security = connection.client.security
    connection.done()
    return { rows, security }
  } finally {
    pgp.end()
  }
})

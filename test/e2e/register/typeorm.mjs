// TypeORM over pg: `register` (node --import pg-sslmode/register) or `driver` (TypeORM's driver option).
import { DataSource } from 'typeorm'
import { report } from './report.mjs'

const mode = process.argv[2]
const driver = mode === 'driver' ? { driver: (await import(process.env.PG_SSLMODE_ESM)).pgDriver } : {}
const ssl = process.env.ORM_SSL ? { ssl: JSON.parse(process.env.ORM_SSL) } : {}
const ds = new DataSource({
  type: 'postgres',
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT),
  username: process.env.PGUSER,
  database: process.env.PGDATABASE,
  ...driver,
  ...ssl,
})
await report('typeorm', async () => {
  await ds.initialize()
  try {
    const rows = await ds.query('select ssl, version from pg_stat_ssl where pid = pg_backend_pid()')
    const client = await ds.driver.master.connect()
    const security = client.security
    client.release()
    return { rows, security }
  } finally {
    await ds.destroy()
  }
})

// Sequelize over pg: `register` (node --require pg-sslmode/register) or `driver` (Sequelize's dialectModule).
const { Sequelize } = require('sequelize')
const mode = process.argv[2]
const driver = mode === 'driver' ? { dialectModule: require(process.env.PG_SSLMODE_CJS).pgDriver } : {}
const ssl = process.env.ORM_SSL ? { dialectOptions: { ssl: JSON.parse(process.env.ORM_SSL) } } : {}
const sequelize = new Sequelize({
  dialect: 'postgres',
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT),
  username: process.env.PGUSER,
  database: process.env.PGDATABASE,
  logging: false,
  ...driver,
  ...ssl,
})
import('./report.mjs').then(({ report }) =>
  report('sequelize', async () => {
    try {
      const [rows] = await sequelize.query('select ssl, version from pg_stat_ssl where pid = pg_backend_pid()')
      const client = await sequelize.connectionManager.getConnection()
      const security = client.security
      sequelize.connectionManager.releaseConnection(client)
      return { rows, security }
    } finally {
      await sequelize.close()
    }
  }),
)

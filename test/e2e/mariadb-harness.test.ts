/**
 * The MariaDB servers the MySQL tests will run against (scripts/mariadb.ts): started as user
 * mysql in a temporary directory on 127.0.0.1 with TLS on, really off (--skip-ssl), or required
 * (require_secure_transport=ON), with a REQUIRE X509 user — checked with plain mysql2, so that the
 * MySQL client × server table can rely on each server being what it says. Skipped, with the
 * reason, only where mariadb-server is not installed (.ci/run installs it).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import mysql from 'mysql2/promise'
import { fixture } from '../../scripts/harness.js'
import { mariadbProblem, MYSQL_PASSWORD, startMariaDb, type MariaDb } from '../../scripts/mariadb.js'
import { endsWithNoOpenSockets } from '../support.js'

const why = mariadbProblem()
if (why && process.env.CI === 'true') throw new Error(`MariaDB is required in CI: ${why}`)

const servers: Record<string, MariaDb> = {}
if (!why) {
  const [sslOn, sslOff, required] = await Promise.all([
    startMariaDb({ ssl: true }),
    startMariaDb({ ssl: false }),
    startMariaDb({ ssl: true, requireSecureTransport: true }),
  ])
  Object.assign(servers, { sslOn, sslOff, required })
  t.teardown(() => Promise.all(Object.values(servers).map((s) => s.stop())))
}

const CA = readFileSync(fixture('ca.crt'))
const base = (s: MariaDb) => ({ host: s.host, port: s.port, user: 'app', password: MYSQL_PASSWORD, database: 'app' })

t.test('TLS on: have_ssl YES, a verified TLS session', { skip: why ?? false }, async (t) => {
  const c = await mysql.createConnection({ ...base(servers.sslOn!), ssl: { ca: CA } })
  const [vars] = await c.query("SHOW VARIABLES LIKE 'have_ssl'")
  t.same(vars, [{ Variable_name: 'have_ssl', Value: 'YES' }])
  const [status] = (await c.query("SHOW SESSION STATUS LIKE 'Ssl_version'")) as unknown as [Array<{ Value: string }>]
  t.match(status[0]!.Value, /^TLSv1\.[23]$/)
  await c.end()
})

t.test('TLS really off: have_ssl DISABLED, the handshake offers no SSL', { skip: why ?? false }, async (t) => {
  const c = await mysql.createConnection(base(servers.sslOff!))
  const [vars] = await c.query("SHOW VARIABLES LIKE 'have_ssl'")
  t.same(vars, [{ Variable_name: 'have_ssl', Value: 'DISABLED' }])
  await c.end()
  await t.rejects(
    mysql.createConnection({ ...base(servers.sslOff!), ssl: { ca: CA } }),
    /does not support secure connection/i,
    'asking for TLS fails',
  )
})

t.test('require_secure_transport=ON refuses plaintext, takes TLS', { skip: why ?? false }, async (t) => {
  // MariaDB 10.11 answers a plaintext login here with "Access denied" (1045); MySQL 8 says 3159
  // "Connections using insecure transport are prohibited": the MySQL side must know both.
  await t.rejects(mysql.createConnection(base(servers.required!)), { code: 'ER_ACCESS_DENIED_ERROR' })
  const c = await mysql.createConnection({ ...base(servers.required!), ssl: { ca: CA } })
  const [vars] = await c.query("SHOW VARIABLES LIKE 'require_secure_transport'")
  t.same(vars, [{ Variable_name: 'require_secure_transport', Value: 'ON' }])
  await c.end()
})

t.test('the REQUIRE X509 user needs a client certificate', { skip: why ?? false }, async (t) => {
  const x509 = { ...base(servers.sslOn!), user: 'x509user' }
  await t.rejects(
    mysql.createConnection({ ...x509, ssl: { ca: CA } }),
    /Access denied/i,
    'TLS without a client certificate is refused',
  )
  const c = await mysql.createConnection({
    ...x509,
    ssl: { ca: CA, cert: readFileSync(fixture('client.crt')), key: readFileSync(fixture('client.key')) },
  })
  const [rows] = (await c.query('SELECT CURRENT_USER() AS u')) as unknown as [Array<{ u: string }>]
  t.equal(rows[0]!.u, 'x509user@%')
  await c.end()
})

endsWithNoOpenSockets(t)

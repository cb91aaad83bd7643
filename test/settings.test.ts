import t from 'tap'
import pg from 'pg'
import { describeSettings, type SettingsIo } from '../lib/postgres/settings/merge.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import type { PgSslError } from '../lib/engine/errors.js'

/** No ~/.postgresql files unless a test says so. */
const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
const resolve = (options: Parameters<typeof connectionSettings>[0], io = noFiles) => connectionSettings(options, io)

t.test('precedence: option > connection string > environment > default', async (t) => {
  const env = { PGSSLMODE: 'allow', PGHOST: 'env-host', PGPORT: '7000', PGSSLROOTCERT: '/env/ca.pem' }
  const s = resolve({ env, connectionString: 'host=cs-host sslmode=require', sslmode: 'verify-ca' })
  t.same(s.values.sslmode, { value: 'verify-ca', source: 'option' })
  t.same(s.values.host, { value: 'cs-host', source: 'conninfo' })
  t.same(s.values.port, { value: '7000', source: 'env:PGPORT' })
  t.same(s.values.sslrootcert, { value: '/env/ca.pem', source: 'env:PGSSLROOTCERT' })
  t.equal(s.sslmode, 'verify-ca')
  const d = resolve({ env: {} })
  t.same(d.values.sslmode, { value: 'prefer', source: 'default' }, 'prefer is the default, as in libpq')
  t.same(d.values.ssl_min_protocol_version, { value: 'TLSv1.2', source: 'default' })
})

t.test('every PG* variable of the keyword table is read from the given env, not process.env', async (t) => {
  const env = {
    PGSSLMODE: 'verify-full',
    PGSSLCERT: '/c.crt',
    PGSSLKEY: '/c.key',
    PGSSLROOTCERT: '/ca.crt',
    PGSSLCRL: '/r.crl',
    PGSSLCRLDIR: '/crls',
    PGSSLMINPROTOCOLVERSION: 'TLSv1.3',
    PGSSLMAXPROTOCOLVERSION: 'TLSv1.3',
    PGSSLSNI: '0',
    PGUSER: 'u',
    PGDATABASE: 'd',
    PGAPPNAME: 'a',
    PGCONNECT_TIMEOUT: '7',
    PGPASSWORD: 'pw',
  }
  const s = resolve({ env })
  for (const [keyword, value] of Object.entries({
    sslmode: 'verify-full',
    sslcert: '/c.crt',
    sslkey: '/c.key',
    sslrootcert: '/ca.crt',
    sslcrl: '/r.crl',
    sslcrldir: '/crls',
    ssl_min_protocol_version: 'TLSv1.3',
    ssl_max_protocol_version: 'TLSv1.3',
    sslsni: '0',
    user: 'u',
    dbname: 'd',
    application_name: 'a',
    connect_timeout: '7',
    password: 'pw',
  })) {
    t.equal(s.values[keyword]?.value, value, keyword)
  }
  const saved = process.env.PGHOST
  process.env.PGHOST = 'from-process-env'
  t.teardown(() => {
    if (saved === undefined) delete process.env.PGHOST
    else process.env.PGHOST = saved
  })
  t.equal(resolve({ env: {} }).values.host, undefined, 'process.env is not consulted when env is given')
  t.equal(resolve({}).values.host?.value, 'from-process-env', 'process.env is the default env')
})

t.test('PGREQUIRESSL=1 means require unless sslmode is set (libpq)', async (t) => {
  t.same(resolve({ env: { PGREQUIRESSL: '1' } }).values.sslmode, { value: 'require', source: 'requiressl' })
  t.equal(resolve({ env: { PGREQUIRESSL: '1', PGSSLMODE: 'disable' } }).sslmode, 'disable')
  t.equal(resolve({ env: { PGREQUIRESSL: '0' } }).sslmode, 'prefer')
})

t.test("libpq's ~/.postgresql files are used only when they exist and nothing else names a file", async (t) => {
  const present = new Set(['/home/test/.postgresql/root.crt', '/home/test/.postgresql/postgresql.crt'])
  const io: SettingsIo = { fileExists: (p) => present.has(p), homeDirectory: (env) => env.HOME ?? '/home/test' }
  const s = resolve({ env: {} }, io)
  t.same(s.values.sslrootcert, { value: '/home/test/.postgresql/root.crt', source: 'default-file:sslrootcert' })
  t.same(s.values.sslcert, { value: '/home/test/.postgresql/postgresql.crt', source: 'default-file:sslcert' })
  t.equal(s.values.sslkey, undefined)
  t.equal(s.values.sslcrl, undefined)
  t.equal(resolve({ env: {}, sslrootcert: '/mine.crt' }, io).values.sslrootcert?.value, '/mine.crt')
  t.equal(resolve({ env: { HOME: '/elsewhere' } }, io).values.sslrootcert, undefined, 'HOME decides where ~ is')
})

t.test('pg.ClientConfig names map to libpq keywords', async (t) => {
  const s = resolve({ env: {}, database: 'db', host: 'h', port: 6000, connectionTimeoutMillis: 1500, keepAlive: false })
  t.equal(s.values.dbname?.value, 'db')
  t.equal(s.values.port?.value, '6000')
  t.equal(s.values.connect_timeout?.value, '1.5')
  t.equal(s.values.keepalives?.value, '0')
  const passThrough = resolve({ env: {}, statement_timeout: 1000 })
  t.same(passThrough.passThrough, { statement_timeout: 1000 })
})

t.test('bad input is refused before any connection, naming the setting and its source', async (t) => {
  const bad = t.throws(() => resolve({ env: { PGSSLMODE: 'verify_ca' } })) as PgSslError
  t.equal(bad.code, 'INVALID_SETTING')
  t.equal(bad.setting, 'sslmode')
  t.match(bad.message, /invalid sslmode value: "verify_ca" \(from environment variable PGSSLMODE\)/)
  t.match(bad.hint, /verify-ca/)
  t.throws(() => resolve({ env: {}, sslmdoe: 'require' } as never), {
    code: 'INVALID_SETTING',
    hint: /did you mean "sslmode"/,
  })
  t.throws(() => resolve({ env: {}, ssl: { checkServerIdentity: () => undefined } } as never), {
    code: 'INVALID_SETTING',
    setting: 'ssl.checkServerIdentity',
    hint: /sslmode/,
  })
  t.throws(() => resolve({ env: {}, stream: () => null } as never), { code: 'INVALID_SETTING', setting: 'stream' })
  t.throws(() => resolve({ env: {}, port: 70000 }), { code: 'INVALID_SETTING', setting: 'port' })
  t.throws(() => resolve({ env: {}, dialect: 'mysql' as never }), { code: 'INVALID_SETTING', setting: 'dialect' })
  t.throws(() => resolve({ env: { PGSSLCERTMODE: 'demand' } }), { code: 'INVALID_SETTING', setting: 'sslcertmode' })
  t.throws(() => resolve({ env: { PGTARGETSESSIONATTRS: 'read_write' } }), {
    code: 'INVALID_SETTING',
    setting: 'target_session_attrs',
    message: /invalid target_session_attrs value/,
  })
  t.equal(
    resolve({ env: { PGTARGETSESSIONATTRS: 'prefer-standby', PGLOADBALANCEHOSTS: 'random' } }).values
      .target_session_attrs!.value,
    'prefer-standby',
    'libpq 14+ values are taken',
  )
  t.throws(() => resolve({ env: {}, ssl_min_protocol_version: 'TLSv1.3', ssl_max_protocol_version: 'TLSv1.2' }), {
    code: 'INVALID_SETTING',
    message: /invalid SSL protocol version range/,
  })
  t.equal(
    resolve({ env: {}, sslrootcert: 'system' }).sslmode,
    'verify-full',
    'sslrootcert=system makes verify-full the default (libpq 16+)',
  )
  t.equal(resolve({ env: { PGSSLMODE: 'require' }, sslrootcert: 'system' }).sslmode, 'require', '... only the default')
  t.throws(() => resolve({ env: { PGSERVICE: 'x', PGSYSCONFDIR: '/nonexistent' } }), {
    code: 'SERVICE_NOT_FOUND',
    setting: 'service',
  })
  t.throws(() => resolve({ env: { PGGSSENCMODE: 'require' } }), { code: 'INVALID_SETTING', setting: 'gssencmode' })
  t.equal(
    resolve({ env: { PGGSSENCMODE: 'prefer' } }).sslmode,
    'prefer',
    'a refused keyword at an accepted value is fine',
  )
})

t.test('secrets never appear in described settings or errors', async (t) => {
  const s = resolve({ env: {}, password: 'hunter2', sslpassword: 'key-pass', connectionString: 'user=u' })
  const shown = JSON.stringify(describeSettings(s))
  t.notMatch(shown, /hunter2|key-pass/)
  t.match(shown, /\*\*\*/)
  const error = t.throws(() => resolve({ env: {}, connectionString: "password='hunter2" })) as PgSslError
  t.notMatch(error.message + error.hint, /hunter2/)
})

t.test('an SslClient does not show its secrets when logged', async (t) => {
  const { SslClient } = await import('../lib/postgres/client.js')
  const { inspect } = await import('node:util')
  const client = new SslClient({ env: {}, host: 'db', password: 'hunter2-pw', sslpassword: 'key-pass-pw' })
  const shown = inspect(client, { depth: 8 }) + JSON.stringify(Object.keys(client))
  t.notMatch(shown, /hunter2-pw|key-pass-pw/)
})

t.test("pg's ssl option becomes the libpq settings with the same meaning", async (t) => {
  const mode = (ssl: unknown, extra: Record<string, unknown> = {}) => {
    const r = resolve({ env: {}, ssl, ...extra } as never)
    return { sslmode: r.sslmode, sslrootcert: r.values.sslrootcert?.value }
  }
  t.same(
    mode(true),
    { sslmode: 'verify-full', sslrootcert: 'system' },
    'true: Node verifies with its CA list and the host name → the system store, verify-full',
  )
  t.same(mode(false), { sslmode: 'disable', sslrootcert: undefined })
  t.same(mode({}), { sslmode: 'verify-full', sslrootcert: 'system' })
  t.same(mode({ rejectUnauthorized: false }), { sslmode: 'require', sslrootcert: undefined })
  t.same(mode({ ca: 'PEM' }), { sslmode: 'verify-full', sslrootcert: undefined }, 'the roots are the given ones')
  t.same(mode('require'), { sslmode: 'require', sslrootcert: undefined }, "libpq's require, not pg 8's verify-full")
  t.same(mode('no-verify'), { sslmode: 'require', sslrootcert: undefined })
  t.same(
    mode(true, { sslmode: 'verify-ca', sslrootcert: '/ca.crt' }),
    { sslmode: 'verify-full', sslrootcert: '/ca.crt' },
    'the stricter mode applies (ssl: true is verify-full); the keyword names the root file',
  )
  t.same(
    mode({ rejectUnauthorized: false }, { sslmode: 'verify-ca', sslrootcert: '/ca.crt' }),
    { sslmode: 'verify-ca', sslrootcert: '/ca.crt' },
    'a stricter keyword wins over a weaker ssl',
  )
  const r = resolve({
    env: {},
    ssl: { ca: 'A', cert: 'C', key: 'K', passphrase: 'secret-pass', servername: 'db', minVersion: 'TLSv1.3' },
  } as never)
  t.equal(r.values.sslpassword?.value, 'secret-pass')
  t.equal(r.values.ssl_min_protocol_version?.value, 'TLSv1.3')
  t.equal(r.inline.servername, 'db')
  t.same(r.inline.ca, [Buffer.from('A')])
  t.notOk(Object.keys(r.inline).includes('key'), 'the key is not enumerable')
  t.notMatch(JSON.stringify(describeSettings(r)), /secret-pass/)
  t.throws(() => resolve({ env: {}, ssl: { minVersion: 'SSLv3' } } as never), {
    code: 'INVALID_SETTING',
    setting: 'ssl.minVersion',
  })
  t.throws(() => resolve({ env: {}, ssl: { ca: 42 } } as never), { code: 'INVALID_SETTING', setting: 'ssl.ca' })
})

t.test('pg.defaults the application changed are the lowest source, as in pg', async (t) => {
  const before = { host: pg.defaults.host, port: pg.defaults.port }
  t.teardown(() => Object.assign(pg.defaults, before))
  pg.defaults.host = 'defaults-host'
  pg.defaults.port = 6543
  const r = resolve({ env: {} })
  t.same(r.values.host, { value: 'defaults-host', source: 'pg.defaults' })
  t.equal(r.values.port?.value, '6543')
  t.equal(resolve({ env: { PGHOST: 'env-host' } }).values.host?.value, 'env-host', 'the environment comes first')
  t.equal(resolve({ env: {}, host: 'option-host' }).values.host?.value, 'option-host')
})

t.test('the name before the rename still works (deprecated): resolveSettings is connectionSettings', async (t) => {
  const api = await import('../lib/index.js')
  t.equal(api.resolveSettings, api.connectionSettings)
  t.equal(api.resolveSettings({ env: {}, sslmode: 'require' }).sslmode, 'require')
})

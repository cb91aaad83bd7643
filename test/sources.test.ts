/**
 * Where settings come from, end to end through resolve() (no network): ini files, service files,
 * connection strings, the environment and libpq defaults, in libpq's precedence, each value
 * labelled with its source; secrets masked.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadIni, resolve, type PgSslError } from '../lib/index.js'
import { fixture } from '../scripts/harness.js'

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-sources-'))
const home = join(dir, 'home')
mkdirSync(home)
const write = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const ini = write(
  'database.ini',
  `[DEFAULT]
port = 5433
[postgresql]
host=ini-host
database=ini-db
user=ini-user
password=ini-secret
application_name = app-%(user)s
sslmode=verify-ca
sslrootcert=${fixture('ca.crt')}
[staging]
host=staging-host
`,
)
const services = write(
  'services.conf',
  `# services
[prod]
host=service-host
port=6543
sslmode=require
application_name=from-service
user=service-user
[other]
host=x
`,
)

t.test('loadIni returns the keyword map psycopg2 would pass (DEFAULT inherited, database = dbname)', async (t) => {
  t.same(loadIni(ini), {
    port: '5433',
    host: 'ini-host',
    dbname: 'ini-db',
    user: 'ini-user',
    password: 'ini-secret',
    application_name: 'app-ini-user',
    sslmode: 'verify-ca',
    sslrootcert: fixture('ca.crt'),
  })
  t.same(loadIni(ini, 'staging'), { port: '5433', host: 'staging-host' })
})

t.test('precedence: code option > ini > connection string > service > environment > default', async (t) => {
  const r = await resolve({
    env: {
      HOME: home,
      PGSERVICEFILE: services,
      PGSERVICE: 'prod',
      PGHOST: 'env-host',
      PGCONNECT_TIMEOUT: '9',
      PGSSLMODE: 'disable',
    },
    ini,
    connectionString: 'dbname=cs-db user=cs-user options=-cgeqo=off',
    user: 'code-user',
  })
  const s = r.settings
  t.same(s.user, { value: 'code-user', source: 'option' })
  t.same(s.host, { value: 'ini-host', source: `ini:${ini}:4` })
  t.same(s.dbname, { value: 'ini-db', source: `ini:${ini}:5` }, 'ini beats the connection string')
  t.same(s.options, { value: '-cgeqo=off', source: 'conninfo' })
  t.same(s.sslmode, { value: 'verify-ca', source: `ini:${ini}:9` })
  t.same(s.application_name, { value: 'app-ini-user', source: `ini:${ini}:8` })
  t.same(s.port, { value: '5433', source: `ini:${ini}:2` }, 'DEFAULT lines are labelled where they are')
  t.same(s.connect_timeout, { value: '9', source: 'env:PGCONNECT_TIMEOUT' })
  t.same(s.password, { value: '***', source: `ini:${ini}:7` }, 'secrets masked')
  t.same(s.sslsni, { value: '1', source: 'default' })
})

t.test('a service fills what the connection string left open, before the environment', async (t) => {
  const r = await resolve({
    env: { HOME: home, PGSERVICEFILE: services, PGHOST: 'env-host', PGUSER: 'env-user', PGPORT: '1111' },
    connectionString: 'service=prod port=7000',
  })
  t.same(r.settings.host, { value: 'service-host', source: `service:${services}:3` }, 'service beats PGHOST')
  t.same(r.settings.port, { value: '7000', source: 'conninfo' }, 'the connection string beats the service')
  t.same(r.settings.user, { value: 'service-user', source: `service:${services}:7` })
  t.equal(r.endpoints[0]!.plan.requestedMode, 'require')
  t.same(
    r.endpoints.map((e) => [e.host, e.port, e.transport]),
    [['service-host', 7000, 'tcp']],
  )
})

t.test('service files: ~/.pg_service.conf, then PGSYSCONFDIR; libpq parsing rules', async (t) => {
  writeFileSync(join(home, '.pg_service.conf'), '[mine]\nhost=home-host\n')
  const sysconf = join(dir, 'sysconf')
  mkdirSync(sysconf)
  writeFileSync(join(sysconf, 'pg_service.conf'), '[shared]\nhost=system-host\n[mine]\nhost=not-used\n')
  const env = { HOME: home, PGSYSCONFDIR: sysconf }
  t.equal((await resolve({ env, service: 'mine' })).settings.host?.value, 'home-host')
  t.equal(
    (await resolve({ env, service: 'shared' })).settings.host?.value,
    'system-host',
    'not in ~/.pg_service.conf: the system file',
  )
  await t.rejects(resolve({ env, service: 'nowhere' }), {
    code: 'SERVICE_NOT_FOUND',
    message: /definition of service "nowhere" not found/,
  })

  const bad = (text: string) => resolve({ env: { HOME: home, PGSERVICEFILE: write('bad.conf', text) }, service: 's' })
  await t.rejects(
    bad('[s]\nhost = x\n'),
    { code: 'SERVICE_FILE_INVALID', message: /unknown keyword "host "/ },
    'no trimming around = (libpq)',
  )
  await t.rejects(bad('[s]\njust text\n'), { code: 'SERVICE_FILE_INVALID', message: /line 2/ })
  await t.rejects(bad('[s]\nservice=t\n'), { code: 'SERVICE_FILE_INVALID', message: /nested service/ })
  const firstWins = await resolve({
    env: { HOME: home, PGSERVICEFILE: write('dup.conf', '  [s] trailing\n  host=a  \nhost=b\n[t]\nbogus line\n') },
    service: 's',
  })
  t.equal(
    firstWins.settings.host?.value,
    'a',
    'first value wins, surrounding whitespace ignored, other services not parsed',
  )
})

t.test('ini errors name the file and line', async (t) => {
  const error = (await resolve({
    env: { HOME: home },
    ini: write('typo.ini', '[postgresql]\nhost=a\nsslmdoe=require\n'),
  }).catch((e: unknown) => e)) as PgSslError
  t.equal(error.code, 'INVALID_SETTING')
  t.match(error.message, /typo\.ini:3/)
  t.match(error.hint, /sslmode/)
  await t.rejects(resolve({ env: { HOME: home }, ini: { file: ini, section: 'prod' } }), {
    code: 'INI_SECTION_MISSING',
    message: /\[postgresql\], \[staging\]/,
  })
})

t.test('resolve() checks files and plans without connecting', async (t) => {
  const r = await resolve({
    env: { HOME: home },
    host: 'db.invalid',
    sslmode: 'require',
    sslrootcert: fixture('ca.crt'),
  })
  t.equal(r.endpoints[0]!.plan.effectiveMode, 'verify-ca', 'require with a root CA')
  await t.rejects(resolve({ env: { HOME: home }, sslmode: 'verify-ca', sslrootcert: join(dir, 'missing.pem') }), {
    code: 'FILE_NOT_FOUND',
  })
  await t.rejects(resolve({ env: { HOME: home }, sslmode: 'verify-full', dialect: 'gaussdb' }), {
    code: 'UNSUPPORTED_SSLMODE',
  })
})

t.test('resolve() names the password file line that supplies a password, never the password', async (t) => {
  const { mkdtempSync, writeFileSync, chmodSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { resolve } = await import('../lib/index.js')
  const home = mkdtempSync(join(tmpdir(), 'pg-sslmode-passfile-'))
  const file = join(home, '.pgpass')
  writeFileSync(file, '# comment\ndb.example:5432:app:app:secret-from-file\n')
  chmodSync(file, 0o600)
  const r = await resolve({ host: 'db.example', user: 'app', dbname: 'app', sslmode: 'disable', env: { HOME: home } })
  t.equal(r.endpoints[0]!.passwordSource, `passfile:${file}:2`)
  t.equal(r.settings.passfile?.source, 'default-file:passfile')
  t.notMatch(JSON.stringify(r), /secret-from-file/)
})

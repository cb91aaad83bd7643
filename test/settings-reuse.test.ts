/**
 * Clients made from an options object an earlier client was made from (a pool's, or an
 * application's passed again) reuse its resolution only while everything it read is as it was
 * (lib/postgres/settings-reuse.ts): each case changes one input between two resolutions and
 * expects what a fresh resolution gives.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import pg from '../lib/postgres/pg.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import type { ConnectOptions } from '../lib/postgres/options.js'
import { reusableSettings } from '../lib/postgres/settings-reuse.js'
import { prepare } from '../lib/postgres/connect/prepare.js'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'
import { connect, createPool, SslClient } from '../lib/index.js'
import { startCluster } from '../scripts/harness.js'
import { isolatedEnv } from './support.js'

/** A home directory whose ~/.postgresql files are those in `present`. */
function filesIo(present: Set<string>): SettingsIo {
  return { fileExists: (path) => present.has(path), homeDirectory: () => '/home/test' }
}
const noFiles = filesIo(new Set())
const resolvedValue = (options: ConnectOptions, name: string, io = noFiles) =>
  reusableSettings(options, io).values[name]?.value

t.test('the same options object, nothing changed: the same frozen settings', async (t) => {
  const options: ConnectOptions = { host: 'db.example', sslmode: 'verify-full', env: {} }
  const first = reusableSettings(options, noFiles)
  t.equal(reusableSettings(options, noFiles), first)
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.values) && Object.isFrozen(first.values.host))
  t.throws(() => {
    ;(first.values as Record<string, unknown>).host = { value: 'elsewhere', source: 'option' }
  }, TypeError)
  t.not(reusableSettings({ ...options }, noFiles), first, 'an equal but other object is resolved for itself')
  t.same(reusableSettings({ ...options }, noFiles).values, first.values)
})

t.test('an option changed in place is seen, at the top and inside objects', async (t) => {
  const options: ConnectOptions = { host: 'db.example', sslmode: 'require', env: {} }
  t.equal(reusableSettings(options, noFiles).sslmode, 'require')
  options.sslmode = 'verify-full'
  t.equal(reusableSettings(options, noFiles).sslmode, 'verify-full')

  const withSsl: ConnectOptions = { host: 'db.example', ssl: { rejectUnauthorized: false }, env: {} }
  t.equal(reusableSettings(withSsl, noFiles).sslmode, 'require')
  ;(withSsl.ssl as { rejectUnauthorized: boolean }).rejectUnauthorized = true
  t.equal(reusableSettings(withSsl, noFiles).sslmode, connectionSettings(withSsl, noFiles).sslmode)
  t.equal(reusableSettings(withSsl, noFiles).sslmode, 'verify-full')

  const withPolicy: ConnectOptions = { host: 'db.example', sslmode: 'require', policy: {}, env: {} }
  t.equal(reusableSettings(withPolicy, noFiles).policy.minimumMode, undefined)
  ;(withPolicy.policy as { minimumMode?: string }).minimumMode = 'verify-full'
  t.equal(reusableSettings(withPolicy, noFiles).policy.minimumMode, 'verify-full')
})

t.test("pg-pool's hidden password, replaced between connections, is seen", async (t) => {
  const options: ConnectOptions = { host: 'db.example', env: {} }
  Object.defineProperty(options, 'password', { value: 'first', enumerable: false, writable: true })
  t.equal(resolvedValue(options, 'password'), 'first')
  ;(options as { password: string }).password = 'rotated'
  t.equal(resolvedValue(options, 'password'), 'rotated')
})

t.test('environment variables the resolution read are read again', async (t) => {
  const env: Record<string, string> = { PGAPPNAME: 'one' }
  const options: ConnectOptions = { host: 'db.example', env }
  t.equal(resolvedValue(options, 'application_name'), 'one')
  env.PGAPPNAME = 'two'
  t.equal(resolvedValue(options, 'application_name'), 'two')
  env.PGSSLMODE = 'verify-ca'
  t.equal(reusableSettings(options, noFiles).sslmode, 'verify-ca', 'a variable not set before, set now')

  // The process's PGSSLPOLICY applies whatever env option is given.
  const before = process.env.PGSSLPOLICY
  t.teardown(() => {
    if (before === undefined) delete process.env.PGSSLPOLICY
    else process.env.PGSSLPOLICY = before
  })
  delete process.env.PGSSLPOLICY
  const strictLater: ConnectOptions = { host: 'db.example', sslmode: 'require', env: {} }
  t.equal(reusableSettings(strictLater, noFiles).policy.minimumMode, undefined)
  process.env.PGSSLPOLICY = 'strict'
  t.equal(reusableSettings(strictLater, noFiles).policy.minimumMode, 'verify-full')
})

t.test('the env option given, replaced or taken away is seen', async (t) => {
  const options: ConnectOptions = { host: 'db.example', env: { PGAPPNAME: 'from-option' } }
  t.equal(resolvedValue(options, 'application_name'), 'from-option')
  options.env = { PGAPPNAME: 'replaced' }
  t.equal(resolvedValue(options, 'application_name'), 'replaced')
  const before = process.env.PGAPPNAME
  t.teardown(() => {
    if (before === undefined) delete process.env.PGAPPNAME
    else process.env.PGAPPNAME = before
  })
  process.env.PGAPPNAME = 'from-process'
  delete options.env
  t.equal(resolvedValue(options, 'application_name'), 'from-process')
})

t.test("libpq's default files are looked for again: one that appears or goes is seen", async (t) => {
  const present = new Set<string>()
  const io = filesIo(present)
  const options: ConnectOptions = { host: 'db.example', sslmode: 'verify-ca', env: {} }
  t.equal(resolvedValue(options, 'sslrootcert', io), undefined)
  present.add('/home/test/.postgresql/root.crt')
  t.equal(resolvedValue(options, 'sslrootcert', io), '/home/test/.postgresql/root.crt')
  present.delete('/home/test/.postgresql/root.crt')
  t.equal(resolvedValue(options, 'sslrootcert', io), undefined)
})

t.test('pg.defaults changed by the application is seen', async (t) => {
  const before = pg.defaults.application_name
  t.teardown(() => {
    pg.defaults.application_name = before
  })
  const options: ConnectOptions = { host: 'db.example', env: {} }
  t.equal(resolvedValue(options, 'application_name'), undefined)
  pg.defaults.application_name = 'set-by-the-app'
  t.equal(resolvedValue(options, 'application_name'), 'set-by-the-app')
})

t.test("a resolution that read a file's content is not kept; a failed one is not either", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-reuse-'))
  const ini = join(dir, 'database.ini')
  writeFileSync(ini, '[postgresql]\nhost=first.example\n')
  const options: ConnectOptions = { ini, env: {} }
  const first = reusableSettings(options, noFiles)
  t.equal(first.values.host?.value, 'first.example')
  writeFileSync(ini, '[postgresql]\nhost=second.example.org\n')
  const second = reusableSettings(options, noFiles)
  t.equal(second.values.host?.value, 'second.example.org')
  t.not(reusableSettings(options, noFiles), second)

  const bad: ConnectOptions = { host: 'db.example', sslmode: 'verify-everything' as never, env: {} }
  t.throws(() => reusableSettings(bad, noFiles), { code: 'INVALID_SETTING' })
  bad.sslmode = 'require'
  t.equal(reusableSettings(bad, noFiles).sslmode, 'require')
})

t.test("prepare() shares a kept resolution's config and plans, and reads the password file every time", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-prepare-'))
  const passfile = join(dir, 'pgpass')
  writeFileSync(passfile, 'db.example:5432:*:app:first\n', { mode: 0o600 })
  const options: ConnectOptions = { host: 'db.example', user: 'app', sslmode: 'disable', env: { PGPASSFILE: passfile } }
  const first = await prepare(reusableSettings(options, noFiles))
  const second = await prepare(reusableSettings(options, noFiles))
  t.equal(second.config, first.config, 'one config for the connections of a kept resolution')
  t.equal(second.plans[0], first.plans[0], 'one plan')
  t.equal(first.endpoints[0]?.passfile?.password, 'first')
  writeFileSync(passfile, 'db.example:5432:*:app:second\n', { mode: 0o600 })
  const third = await prepare(reusableSettings(options, noFiles))
  t.equal(third.endpoints[0]?.passfile?.password, 'second', 'the password file as it is now, as libpq reads it')
  const fresh = await prepare(connectionSettings({ ...options }, noFiles))
  t.not(fresh.config, first.config, 'a resolution of its own is prepared for itself')
  t.same(fresh.config, first.config)
  t.same(fresh.plans, first.plans)
  options.sslmode = 'require'
  const changed = await prepare(reusableSettings(options, noFiles))
  t.not(changed.plans[0], first.plans[0], 'a changed option: a new resolution, a new plan')
  t.equal(changed.plans[0]?.effectiveMode, 'require')
})

t.test("a pool's next connection runs with what changed since its last one", async (t) => {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const env = isolatedEnv({ PGAPPNAME: 'first-name' })
  const pool = createPool({ host: cluster.host, port: cluster.port, user: cluster.user, env, max: 1 })
  t.teardown(() => pool.end())
  const appName = async (): Promise<string> => {
    const client = await pool.connect()
    try {
      return (await client.query('show application_name')).rows[0].application_name
    } finally {
      client.release(true) // the next checkout makes a new connection
    }
  }
  t.equal(await appName(), 'first-name')
  t.equal(await appName(), 'first-name')
  env.PGAPPNAME = 'second-name'
  t.equal(await appName(), 'second-name')
})

t.test(
  'clients made from an options object made before reuse its resolution; a fresh object is resolved',
  async (t) => {
    const settingsOf = (client: SslClient) => SslClient.cancelRequestOf(client).settings()
    const options: ConnectOptions = { host: 'db.example', sslmode: 'require', env: {} }
    const [first, second, third] = [new SslClient(options), new SslClient(options), new SslClient(options)]
    t.not(settingsOf(first), settingsOf(second), 'the first client of an object resolves it plainly')
    t.equal(settingsOf(third), settingsOf(second), 'from the second on, the kept resolution is reused')
    t.ok(Object.isFrozen(settingsOf(third)))
    t.not(settingsOf(new SslClient({ ...options })), settingsOf(second), 'an equal but other object: its own')
    options.sslmode = 'verify-full'
    t.equal(settingsOf(new SslClient(options)).sslmode, 'verify-full', 'a change in place is seen')
  },
)

t.test('connect() given the same options object again runs with what changed since', async (t) => {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const env = isolatedEnv({ PGAPPNAME: 'first-name' })
  const options: ConnectOptions = { host: cluster.host, port: cluster.port, user: cluster.user, env }
  const appName = async (): Promise<string> => {
    const client = await connect(options)
    try {
      return (await client.query('show application_name')).rows[0].application_name
    } finally {
      await client.end()
    }
  }
  t.equal(await appName(), 'first-name')
  t.equal(await appName(), 'first-name')
  t.equal(await appName(), 'first-name')
  env.PGAPPNAME = 'second-name'
  t.equal(await appName(), 'second-name')
})

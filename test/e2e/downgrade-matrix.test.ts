/**
 * The downgrade matrix: every way a TLS setting can reach a connection — an option, pg's `ssl`,
 * pg.defaults.ssl, a connection string (key=value and URI), the environment, an ini file, a
 * service file, an ORM's option under pg-sslmode/register; on the MySQL side an option in any
 * spelling, a URI given as the string argument, an option file — each combined with a weaker
 * source, against a man in the middle that strips TLS and one that presents a certificate the
 * client does not trust (test/hostile-peers.ts). The connection is never weaker than the
 * strictest source asked, and the password never reaches the peer. Controls show that the peers
 * do catch a password when the settings allow it, so the matrix can fail.
 */
import t from 'tap'
import pg from 'pg'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type ConnectOptions } from '../../lib/index.js'
import { connectMysql, type MysqlConnectOptions } from '../../lib/mysql/index.js'
import { fixture, startCluster, TEST_PASSWORD } from '../../scripts/harness.js'
import { hostileMysql, hostilePostgres, type HostilePeer } from '../hostile-peers.js'
import { endsWithNoOpenSockets, isolatedEnv, rejection } from '../support.js'
import type { SecurityEvent } from '../../lib/engine/policy/audit.js'

const SECRET = 'Sekr1t-pw-never-sent'
const OTHER_CA = fixture('other-ca.crt') // not the CA that signed the peers' certificate
const OTHER_CA_IN_URI = encodeURIComponent(OTHER_CA)
const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-matrix-'))
const write = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}
const ini = write('database.ini', `[postgresql]\nsslmode = verify-full\nsslrootcert = ${OTHER_CA}\n`)
const services = write('pg_service.conf', `[strict]\nsslmode=verify-full\nsslrootcert=${OTHER_CA}\n`)
const emptyDir = mkdtempSync(join(tmpdir(), 'pg-sslmode-empty-'))

/** A strict source and a weaker one, as an application would combine them. */
const POSTGRES_SOURCES: ReadonlyArray<[name: string, options: (port: number) => ConnectOptions]> = [
  ['option sslmode=verify-full, ssl: false', () => ({ sslmode: 'verify-full', sslrootcert: OTHER_CA, ssl: false })],
  [
    "pg's ssl: { ca }, connection string sslmode=disable",
    () => ({ ssl: { ca: readFileSync(OTHER_CA) }, connectionString: 'sslmode=disable' }),
  ],
  [
    "pg's ssl: true, PGSSLMODE=disable",
    () => ({
      ssl: true,
      env: { ...isolatedEnv(), PGSSLMODE: 'disable', SSL_CERT_FILE: OTHER_CA, SSL_CERT_DIR: emptyDir },
    }),
  ],
  [
    'URI ?sslmode=verify-full, ssl: false',
    (port) => ({
      connectionString: `postgresql://localhost:${port}/app?sslmode=verify-full&sslrootcert=${OTHER_CA_IN_URI}`,
      ssl: false,
    }),
  ],
  [
    'conninfo sslmode=verify-ca, ssl: { rejectUnauthorized: false }',
    () => ({ connectionString: `sslmode=verify-ca sslrootcert=${OTHER_CA}`, ssl: { rejectUnauthorized: false } }),
  ],
  [
    "PGSSLMODE=verify-ca, ssl: 'disable'",
    () => ({ ssl: 'disable', env: { ...isolatedEnv(), PGSSLMODE: 'verify-ca', PGSSLROOTCERT: OTHER_CA } }),
  ],
  ['ini file sslmode=verify-full, ssl: false', () => ({ ini, ssl: false })],
  [
    'service file sslmode=verify-full, ssl: false',
    () => ({ service: 'strict', ssl: false, env: { ...isolatedEnv(), PGSERVICEFILE: services } }),
  ],
  [
    'PGSSLPOLICY=strict, sslmode=disable',
    () => ({ sslmode: 'disable', env: { ...isolatedEnv(), PGSSLPOLICY: 'strict' } }),
  ],
]

const base = (port: number): ConnectOptions => ({
  host: 'localhost',
  port,
  user: 'app',
  password: SECRET,
  env: isolatedEnv(),
  connectionTimeoutMillis: 5000,
})

const peers: Record<'strip' | 'untrusted', HostilePeer> = {
  strip: await hostilePostgres('strip'),
  untrusted: await hostilePostgres('untrusted'),
}
t.teardown(() => Promise.all(Object.values(peers).map((p) => p.close())))

t.test('controls: the hostile PostgreSQL peers do catch a password when the settings let it go', async (t) => {
  const before = peers.strip.passwords.length
  await rejection(connect({ ...base(peers.strip.port), sslmode: 'prefer' }))
  t.same(
    peers.strip.passwords.slice(before),
    [SECRET],
    'prefer after a stripped SSLRequest sends it in cleartext (as libpq)',
  )
  const beforeTls = peers.untrusted.passwords.length
  await rejection(connect({ ...base(peers.untrusted.port), sslmode: 'require' }))
  t.same(peers.untrusted.passwords.slice(beforeTls), [SECRET], 'require sends it to an unverified server (as libpq)')
})

for (const [kind, expected] of [
  ['strip', 'SSL_DISABLED_ON_SERVER'],
  ['untrusted', 'CERT_VERIFY_FAILED'],
] as const) {
  t.test(
    `PostgreSQL, a peer that ` +
      `${kind === 'strip' ? 'strips TLS' : 'presents an untrusted certificate'}: never weaker than ` +
      `the strictest source`,
    async (t) => {
      const peer = peers[kind]
      for (const [name, options] of POSTGRES_SOURCES) {
        const startups = peer.startups
        const passwords = peer.passwords.length
        const given = options(peer.port)
        const error = await rejection(connect({ ...base(peer.port), ...given, env: given.env ?? base(peer.port).env }))
        t.ok([expected, 'POLICY_VIOLATION'].includes(error.code), `${name}: refused (${error.code}: ${error.message})`)
        t.equal(peer.startups, startups, `${name}: no start-up reached the peer`)
        t.equal(peer.passwords.length, passwords, `${name}: the password never reached the peer`)
      }
    },
  )
}

t.test('PostgreSQL: pg.defaults.ssl and an ORM under pg-sslmode/register', async (t) => {
  const saved = { ssl: pg.defaults.ssl, env: { ...process.env } }
  t.teardown(() => {
    pg.defaults.ssl = saved.ssl
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key]
    Object.assign(process.env, saved.env)
  })
  pg.defaults.ssl = true as never
  for (const kind of ['strip', 'untrusted'] as const) {
    const error = await rejection(
      connect({
        ...base(peers[kind].port),
        env: { ...isolatedEnv(), SSL_CERT_FILE: OTHER_CA, SSL_CERT_DIR: emptyDir },
      }),
    )
    t.ok(
      ['SSL_DISABLED_ON_SERVER', 'CERT_VERIFY_FAILED'].includes(error.code),
      `${kind}: connect() with pg.defaults.ssl = true is verify-full (${error.code})`,
    )
  }
  pg.defaults.ssl = saved.ssl
  process.env.PGSSLREGISTER = 'quiet'
  await import('../../lib/postgres/register.js')
  const { default: knex } = await import('knex')
  for (const kind of ['strip', 'untrusted'] as const) {
    const peer = peers[kind]
    const passwords = peer.passwords.length
    pg.defaults.ssl = true as never
    process.env.SSL_CERT_FILE = OTHER_CA
    process.env.SSL_CERT_DIR = emptyDir
    process.env.HOME = isolatedEnv().HOME
    const client = new pg.Client({ host: 'localhost', port: peer.port, user: 'app', password: SECRET })
    const viaDefaults = await rejection(client.connect())
    t.ok(
      ['SSL_DISABLED_ON_SERVER', 'CERT_VERIFY_FAILED'].includes(
        (viaDefaults as { sslCode?: string }).sslCode ?? viaDefaults.code,
      ),
      `${kind}: pg.defaults.ssl = true is verify-full under register (${viaDefaults.message})`,
    )
    pg.defaults.ssl = saved.ssl
    const weakOption = new pg.Client({
      connectionString:
        `postgresql://app@localhost:${peer.port}/app?sslmode=verify-full&sslrootcert` +
        `=${encodeURIComponent(OTHER_CA)}`,
      ssl: false,
      password: SECRET,
    })
    await rejection(weakOption.connect())
    process.env.PGSSLMODE = 'verify-full'
    process.env.PGSSLROOTCERT = OTHER_CA
    const db = knex({
      client: 'pg',
      connection: { host: 'localhost', port: peer.port, user: 'app', password: SECRET, ssl: false },
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 5000,
    })
    const viaKnex = (await db.raw('select 1').then(
      () => undefined,
      (e: unknown) => e,
    )) as { sslCode?: string; code?: string } | undefined
    t.ok(
      ['SSL_DISABLED_ON_SERVER', 'CERT_VERIFY_FAILED'].includes(viaKnex?.sslCode ?? viaKnex?.code ?? ''),
      `${kind}: knex with ssl: false under PGSSLMODE=verify-full is refused (${viaKnex?.code})`,
    )
    await db.destroy()
    delete process.env.PGSSLMODE
    delete process.env.PGSSLROOTCERT
    t.equal(peer.passwords.length, passwords, `${kind}: the password never reached the peer`)
  }
})

t.test('a real server: the stricter source applies and the report says why', async (t) => {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const events: SecurityEvent[] = []
  const client = await connect({
    connectionString:
      `postgresql://${cluster.user}@localhost:${cluster.port}/postgres?sslmode=verif` +
      `y-full&sslrootcert=${encodeURIComponent(fixture('ca.crt'))}`,
    ssl: false,
    env: isolatedEnv(),
    onSecurityEvent: (e) => events.push(e),
  })
  t.equal(client.security.effectiveMode, 'verify-full')
  t.equal(client.security.hostnameVerified, true)
  t.match(client.security.notes, [
    "connection string asks for sslmode verify-full and pg's ssl option for disable: " +
      'the stricter, verify-full, applies',
  ])
  const { rows } = await client.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()')
  t.equal(rows[0]!.ssl, true, 'the server sees TLS')
  await client.end()
  t.match(
    events.find((e) => e.type === 'security'),
    { report: { notes: [/the stricter, verify-full, applies/] } },
    'the audit event carries the note',
  )
  t.notOk(JSON.stringify(events).includes(TEST_PASSWORD))
})

// ---------------------------------------------------------------- MySQL

const MYSQL_SOURCES: ReadonlyArray<[name: string, options: (port: number) => MysqlConnectOptions | string]> = [
  ["'ssl-mode' and 'ssl-ca' (MySQL's spelling in code)", () => ({ 'ssl-mode': 'VERIFY_IDENTITY', 'ssl-ca': OTHER_CA })],
  ['ssl_mode / ssl_ca', () => ({ ssl_mode: 'VERIFY_CA', ssl_ca: OTHER_CA })],
  ['sslmode / SslCa', () => ({ sslmode: 'VERIFY_CA', SslCa: OTHER_CA })],
  ['SSL_MODE / Ssl_Ca', () => ({ SSL_MODE: 'VERIFY_IDENTITY', Ssl_Ca: OTHER_CA })],
  // REQUIRED asks for encryption only: refused by a peer that strips TLS, not by one that offers it.
  ['Ssl-Mode=REQUIRED', () => ({ 'Ssl-Mode': 'REQUIRED' })],
  [
    'URI (option key "URI")',
    (port) => ({ URI: `mysql://app@127.0.0.1:${port}/app?ssl-mode=VERIFY_CA&ssl-ca=${encodeURIComponent(OTHER_CA)}` }),
  ],
  [
    'a URI as the string argument',
    (port) =>
      `mysql://app:${SECRET}@127.0.0.1:${port}/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=${encodeURIComponent(OTHER_CA)}`,
  ],
  [
    'option file ssl-mode=VERIFY_CA',
    () => ({ optionFiles: { defaultsFile: write('my.cnf', `[client]\nssl-mode=VERIFY_CA\nssl-ca=${OTHER_CA}\n`) } }),
  ],
  [
    'PGSSLPOLICY=strict in the env option, sslMode DISABLED',
    () => ({ sslMode: 'DISABLED', env: { PGSSLPOLICY: 'strict' } }),
  ],
]

const mysqlBase = (port: number): MysqlConnectOptions => ({
  host: '127.0.0.1',
  port,
  user: 'app',
  password: SECRET,
  database: 'app',
  optionFiles: false,
  env: {},
})
const mysqlRefusal = (
  promise: Promise<{ end(): Promise<void> }>,
): Promise<{ code?: string; sslCode?: string; message: string }> =>
  promise.then(
    async (c) => {
      await c.end()
      throw new Error('expected the MySQL connection to fail')
    },
    (e: unknown) => e as { code?: string; message: string },
  )
const connectWith = (port: number, given: MysqlConnectOptions | string) =>
  typeof given === 'string' ? connectMysql(given) : connectMysql({ ...mysqlBase(port), ...given })

t.test(
  'a password from the password file goes only to the host it was found for (libpq reads it per host)',
  async (t) => {
    // The first host authenticates with its password-file entry and is read-only, so
    // target_session_attrs=read-write moves on to the next host — a peer asking for a cleartext
    // password, for which the file has no entry. libpq (psql) sends it nothing; neither may we.
    const cluster = await startCluster({
      ssl: true,
      hbaTcpLines: ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl all all ::1/128 scram-sha-256'],
    })
    t.teardown(() => cluster.stop())
    const peer = peers.strip
    const passfile = write('pgpass-one-host', `localhost:${cluster.port}:*:${cluster.user}:${TEST_PASSWORD}\n`)
    const conninfo =
      `host=localhost,127.0.0.1 port=${cluster.port},${peer.port} ` +
      `user=${cluster.user} dbname=${cluster.database} sslmode=prefer ` +
      `sslrootcert=${fixture('ca.crt')} target_session_attrs=read-write options='-c ` +
      `default_transaction_read_only=on' passfile=${passfile}`
    const before = peer.passwords.length
    const error = await rejection(connect({ connectionString: conninfo, env: isolatedEnv() }))
    t.ok(error instanceof Error, `refused: ${error.message}`)
    t.equal(peer.startups > 0, true, 'the next host was tried')
    t.same(peer.passwords.slice(before), [], "the first host's password never reached the next host")
    // psql runs asynchronously: the peer answering it lives in this process's event loop.
    const psql = await new Promise<{ failed: boolean; stderr: string }>((done) => {
      const env = { PATH: process.env.PATH ?? '', HOME: isolatedEnv().HOME! }
      execFile(
        'psql',
        ['-X', '-w', '-At', '-c', 'select 1', `${conninfo} connect_timeout=10`],
        { env, timeout: 30_000 },
        (error, _out, stderr) => done({ failed: error !== null, stderr }),
      )
    })
    t.ok(psql.failed, `psql (libpq) is refused too: ${psql.stderr.trim().split('\n').at(-1)}`)
    t.match(psql.stderr, /no password supplied/, 'libpq reached the next host and had no password for it')
    t.same(peer.passwords.slice(before), [], 'nor did libpq send it')
    // Control: with an entry for the next host too, that host's own password is what it gets.
    const both = write(
      'pgpass-two-hosts',
      `localhost:${cluster.port}:*:${cluster.user}:${TEST_PASSWORD}\n127.0.0.1:${peer.port}:*:${cluster.user}:` +
        `${SECRET}\n`,
    )
    await rejection(connect({ connectionString: conninfo.replace(passfile, both), env: isolatedEnv() }))
    t.same(
      peer.passwords.slice(before),
      [SECRET],
      "the next host gets its own entry's password, so the peer would have caught the leak",
    )
  },
)

t.test('controls: the hostile MySQL peers do catch a password when the settings let it go', async (t) => {
  const strip = await hostileMysql({ tls: false })
  t.teardown(() => strip.close())
  await mysqlRefusal(connectMysql({ ...mysqlBase(strip.port), sslMode: 'PREFERRED', getServerPublicKey: true }))
  t.same(
    strip.passwords,
    [SECRET],
    'get-server-public-key=1 over a stripped connection: the peer decrypts the password with its own key',
  )
  const untrusted = await hostileMysql({ tls: true })
  t.teardown(() => untrusted.close())
  await mysqlRefusal(connectMysql({ ...mysqlBase(untrusted.port), sslMode: 'REQUIRED' }))
  t.same(untrusted.passwords, [SECRET], 'REQUIRED sends it to an unverified server (as the MySQL client)')
})

t.test(
  'MySQL: caching_sha2_password never encrypts the password to a key from an unencrypted connection',
  async (t) => {
    const strip = await hostileMysql({ tls: false })
    t.teardown(() => strip.close())
    for (const sslMode of ['PREFERRED', 'DISABLED']) {
      const error = await mysqlRefusal(connectMysql({ ...mysqlBase(strip.port), sslMode }))
      t.equal(error.code, 'INSECURE_PASSWORD_EXCHANGE', `${sslMode}: ${error.message}`)
    }
    t.same(strip.passwords, [], 'the peer learned nothing')
    t.equal(strip.startups, 2, 'the logins reached the peer (a scramble, not the password) and stopped at its key')
  },
)

for (const tls of [false, true]) {
  t.test(
    `MySQL, a peer that ${tls ? 'presents an untrusted certificate' : 'strips TLS'}: never weaker ` +
      `than the strictest source`,
    async (t) => {
      const peer = await hostileMysql({ tls })
      t.teardown(() => peer.close())
      for (const [name, options] of MYSQL_SOURCES) {
        if (tls && name.includes('REQUIRED')) continue
        const error = await mysqlRefusal(connectWith(peer.port, options(peer.port)))
        t.ok(
          ['SSL_DISABLED_ON_SERVER', 'CERT_VERIFY_FAILED', 'POLICY_VIOLATION'].includes(error.code ?? ''),
          `${name}: refused (${error.code}: ${error.message})`,
        )
      }
      t.equal(peer.startups, 0, 'no login reached the peer')
      t.same(peer.passwords, [], 'the password never reached the peer')
    },
  )
}

t.test(
  'MySQL: a handshake followed at once by OK is refused under every mode (it would have ended the login unverified)',
  async (t) => {
    const peer = await hostileMysql({ tls: true, okFirst: true })
    t.teardown(() => peer.close())
    for (const sslMode of ['VERIFY_CA', 'VERIFY_IDENTITY', 'REQUIRED', 'PREFERRED']) {
      const error = await mysqlRefusal(connectMysql({ ...mysqlBase(peer.port), sslMode, sslCa: OTHER_CA }))
      t.equal(error.code, 'PROTOCOL_VIOLATION', `${sslMode}: ${error.message}`)
    }
    t.same(peer.passwords, [])
  },
)

t.test('MySQL: a policy refusal before connecting is audited, as on the PostgreSQL side', async (t) => {
  const log = join(dir, 'audit.jsonl')
  const events: SecurityEvent[] = []
  const error = await mysqlRefusal(
    connectMysql({
      ...mysqlBase(1),
      sslMode: 'DISABLED',
      policy: 'recommended',
      env: { PGSSLAUDITLOG: log },
      onSecurityEvent: (e) => events.push(e),
    }),
  )
  t.equal(error.code, 'POLICY_VIOLATION')
  t.match(events, [{ type: 'policy-violation', rule: 'minimumMode' }])
  t.match(readFileSync(log, 'utf8'), /"type":"policy-violation".*"rule":"minimumMode"/)
})

endsWithNoOpenSockets(t)

/**
 * "Never weaker than asked", in the settings (no server): sources that disagree about TLS settle
 * on the stricter, libpq's own precedence is kept but named, the environment's policy and audit
 * log survive an `env` option, conninfo words split as libpq splits them, URI passwords never
 * leak, and every MySQL spelling of a setting is honoured. The e2e side is test/e2e/downgrade-matrix.test.ts.
 */
import t from 'tap'
import pg from 'pg'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import { parseConnectionString } from '../lib/postgres/settings/conninfo.js'
import { environmentControls } from '../lib/engine/policy/policy.js'
import { canonicalMysqlOptions, mysql2Options, mergeMysqlSettings } from '../lib/mysql/settings.js'
import { inMysqlTerms, prepareMysql } from '../lib/mysql/prepare.js'
import { PgSslError } from '../lib/engine/errors.js'
import { parseMysqlUri } from '../lib/mysql/uri.js'
import { opensslIpAddress } from '../lib/mysql/hostname.js'

const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
const resolve = (options: Parameters<typeof connectionSettings>[0]) => connectionSettings(options, noFiles)
const VERIFY_FULL = 'postgresql://db.example/app?sslmode=verify-full&sslrootcert=/ca.crt'

t.test("pg's ssl against a connection string's sslmode: the stricter applies, and the report says so", async (t) => {
  for (const ssl of [false, { rejectUnauthorized: false }, 'require', 'no-verify', 'disable'] as const) {
    const r = resolve({ env: {}, connectionString: VERIFY_FULL, ssl })
    t.equal(r.sslmode, 'verify-full', `ssl: ${JSON.stringify(ssl)} does not weaken verify-full`)
    t.equal(r.values.sslrootcert?.value, '/ca.crt')
    t.match(
      r.notes.join('\n'),
      /asks for sslmode verify-full and pg's ssl option for (disable|require): the stricter, verify-full, applies/,
    )
  }
  const stronger = resolve({ env: {}, connectionString: 'host=db sslmode=require', ssl: { ca: 'PEM' } })
  t.equal(stronger.sslmode, 'verify-full', 'a stricter ssl wins over the connection string too')
  t.same(stronger.inline.ca, [Buffer.from('PEM')])
  const agree = resolve({ env: {}, connectionString: 'host=db sslmode=disable', ssl: false })
  t.equal(agree.sslmode, 'disable')
  t.same(agree.notes, [], 'no note when they agree')
  const alone = resolve({ env: {}, ssl: false })
  t.equal(alone.sslmode, 'disable', "pg's ssl: false alone is plaintext, as in pg")
})

t.test("PGSSLMODE and pg's ssl: the stricter applies (pg would let ssl: false win)", async (t) => {
  t.equal(resolve({ env: { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.crt' }, ssl: false }).sslmode, 'verify-full')
  t.equal(resolve({ env: { PGSSLMODE: 'disable' }, ssl: true }).sslmode, 'verify-full')
})

t.test('pg.defaults.ssl is read, as pg reads it for every client', async (t) => {
  const before = pg.defaults.ssl
  t.teardown(() => {
    pg.defaults.ssl = before
  })
  pg.defaults.ssl = true as never
  const r = resolve({ env: {} })
  t.equal(
    r.sslmode,
    'verify-full',
    "pg.defaults.ssl = true: verify-full against the system store, as pg verifies with Node's CAs",
  )
  t.equal(r.values.sslrootcert?.value, 'system')
  t.equal(r.values.sslmode?.source, 'pg.defaults.ssl')
  pg.defaults.ssl = { rejectUnauthorized: false } as never
  t.equal(resolve({ env: {} }).sslmode, 'require', 'never the plaintext fallback of prefer')
  t.equal(resolve({ env: {}, ssl: false }).sslmode, 'require', 'the ssl option does not weaken it either')
  t.equal(
    resolve({ env: {}, sslmode: 'verify-ca', sslrootcert: '/ca.crt' }).sslmode,
    'verify-ca',
    'a stricter keyword wins',
  )
  pg.defaults.ssl = { bogus: 1 } as never
  t.throws(() => resolve({ env: {} }), { code: 'INVALID_SETTING', setting: 'pg.defaults.ssl.bogus' })
  pg.defaults.ssl = false as never
  t.equal(resolve({ env: {} }).sslmode, 'prefer', "pg's own default (false) is not a setting")
})

t.test("libpq's precedence among its own sources is kept, and a weaker winner is named", async (t) => {
  const r = resolve({ env: { PGSSLMODE: 'verify-full' }, connectionString: 'host=db sslmode=disable' })
  t.equal(r.sslmode, 'disable', 'as libpq: the connection string beats the environment')
  t.match(r.notes, [
    'sslmode=disable (connection string) overrides the stricter sslmode=verify-full (environment variable PGSSLMODE)',
  ])
  t.same(
    resolve({ env: { PGSSLMODE: 'disable' }, connectionString: 'host=db sslmode=require' }).notes,
    [],
    'nothing to say when the winner is stricter',
  )
})

t.test('TLS protocol bounds from both spellings: the higher minimum, the lower maximum', async (t) => {
  const min = resolve({
    env: { PGSSLMINPROTOCOLVERSION: 'TLSv1.2' },
    ssl: { minVersion: 'TLSv1.3', rejectUnauthorized: false },
  })
  t.equal(min.values.ssl_min_protocol_version?.value, 'TLSv1.3')
  t.match(min.notes, [
    "ssl_min_protocol_version TLSv1.3 (pg's ssl option) is stricter than TLSv1.2 " +
      '(environment variable PGSSLMINPROTOCOLVERSION)',
  ])
  const max = resolve({
    env: { PGSSLMAXPROTOCOLVERSION: 'TLSv1.3' },
    ssl: { maxVersion: 'TLSv1.2', rejectUnauthorized: false },
  })
  t.equal(max.values.ssl_max_protocol_version?.value, 'TLSv1.2')
  const kept = resolve({
    env: { PGSSLMINPROTOCOLVERSION: 'TLSv1.3' },
    ssl: { minVersion: 'TLSv1.2', rejectUnauthorized: false },
  })
  t.equal(kept.values.ssl_min_protocol_version?.value, 'TLSv1.3', 'a weaker ssl.minVersion does not lower the minimum')
})

t.test('two trust anchors named by two sources are refused, naming both', async (t) => {
  const error = t.throws(() =>
    resolve({ env: {}, connectionString: 'sslrootcert=/etc/ca.pem', ssl: { ca: 'PEM' } }),
  ) as PgSslError
  t.equal(error.code, 'INVALID_SETTING')
  t.match(error.message, /pg's ssl\.ca and sslrootcert=\/etc\/ca\.pem \(connection string\)/)
  const io: SettingsIo = { fileExists: (p) => p.endsWith('root.crt'), homeDirectory: () => '/home/test' }
  t.same(
    connectionSettings({ env: {}, ssl: { ca: 'PEM' } }, io).inline.ca,
    [Buffer.from('PEM')],
    "libpq's default root.crt is not a stated source: ssl.ca is used",
  )
})

t.test('conninfo words are split on C whitespace only, as libpq splits them', async (t) => {
  for (const space of ['\u00A0', '\u2028', '\u3000', '\uFEFF', '\u2003', '\u0085']) {
    const parsed = parseConnectionString(`host=127.0.0.1${space}sslmode=disable`)
    t.same(
      parsed,
      { host: `127.0.0.1${space}sslmode=disable` },
      `U+${space.charCodeAt(0).toString(16).toUpperCase()} is part of the host value`,
    )
    t.throws(
      () => resolve({ env: {}, connectionString: `sslmode=disable${space}` }),
      { code: 'INVALID_SETTING', setting: 'sslmode' },
      'a trailing Unicode space makes the value invalid',
    )
    t.throws(() => resolve({ env: {}, connectionString: `port=5432${space}` }), {
      code: 'INVALID_SETTING',
      setting: 'port',
    })
    t.throws(() => resolve({ env: {}, connectionString: `connect_timeout=${space}5` }), {
      code: 'INVALID_SETTING',
      setting: 'connect_timeout',
    })
  }
  t.same(parseConnectionString('host=a\vport=5\fsslmode=require\r'), { host: 'a', port: '5', sslmode: 'require' })
  t.equal(resolve({ env: {}, connectionString: 'port= 5432 ' }).values.port?.value, '5432')
  t.equal(
    resolve({ env: {}, connectionString: "port=' 5432\t'" }).values.port?.value,
    ' 5432\t',
    'C whitespace around a number is allowed (libpq parse_int_param)',
  )
})

t.test(
  'URI passwords: "?" and ":" allowed as in libpq; an unencoded "/" or "@" is refused without repeating any of it',
  async (t) => {
    t.same(parseConnectionString('postgresql://u:pa?ss:w@h/db?sslmode=require'), {
      user: 'u',
      password: 'pa?ss:w',
      host: 'h',
      dbname: 'db',
      sslmode: 'require',
    })
    for (const [uri, secret] of [
      ['postgresql://u:p@Zq9x@h/db', 'Zq9x'],
      ['postgresql://u:Kx7q/rest@h/db', 'Kx7q'],
      ['postgresql://u:1234/Sw0rdf1sh@h:5432/db', 'Sw0rdf1sh'],
      ['postgresql://u:a,b@Yq5w@h/db', 'Yq5w'],
    ] as const) {
      const error = t.throws(() => resolve({ env: {}, connectionString: uri })) as PgSslError
      t.equal(error.code, 'INVALID_SETTING', uri.replace(secret, '…'))
      t.notMatch(`${error.message} ${error.hint} ${error.setting}`, secret)
    }
    t.same(
      parseConnectionString('postgresql://h/my%40db'),
      { host: 'h', dbname: 'my@db' },
      "an encoded '@' in the database name is fine",
    )
    t.same(parseConnectionString('postgresql://u:p%2F%40w@h/db'), {
      user: 'u',
      password: 'p/@w',
      host: 'h',
      dbname: 'db',
    })
  },
)

t.test("the env option never takes the process environment's policy or audit log away", async (t) => {
  const saved = { PGSSLPOLICY: process.env.PGSSLPOLICY, PGSSLAUDITLOG: process.env.PGSSLAUDITLOG }
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  })
  process.env.PGSSLPOLICY = 'strict'
  process.env.PGSSLAUDITLOG = '/var/log/pg-sslmode.jsonl'
  const r = resolve({ env: { HOME: '/home/test' }, sslmode: 'disable' })
  t.equal(r.policy.minimumMode, 'verify-full', 'PGSSLPOLICY=strict still applies')
  t.same(r.policySources, ['env:PGSSLPOLICY=strict'])
  t.same(r.auditLogs, ['/var/log/pg-sslmode.jsonl'])
  const both = resolve({ env: { PGSSLPOLICY: 'recommended', PGSSLAUDITLOG: '/tmp/app.jsonl' } })
  t.same(
    both.policySources,
    ['env:PGSSLPOLICY=strict', 'env:PGSSLPOLICY=recommended'],
    "the env option's policy is added, not swapped in",
  )
  t.equal(both.policy.requireClientCertificate, true)
  t.equal(both.policy.minimumMode, 'verify-full')
  t.same(both.auditLogs, ['/var/log/pg-sslmode.jsonl', '/tmp/app.jsonl'])
  const mysql = mergeMysqlSettings({ env: { HOME: '/home/test' }, optionFiles: false })
  t.same(mysql.policySources, ['env:PGSSLPOLICY=strict'], 'pg-sslmode/mysql too')
  t.same(
    environmentControls({ PGSSLPOLICY: 'strict' }, { PGSSLPOLICY: 'strict' }).policies,
    ['strict'],
    'the same policy counts once',
  )
})

t.test('MySQL: every spelling of a setting in code is that setting', async (t) => {
  for (const key of ['sslMode', 'ssl-mode', 'ssl_mode', 'sslmode', 'SslMode', 'SSL_MODE']) {
    const s = mergeMysqlSettings({ env: {}, optionFiles: false, [key]: 'verify_identity', sslCa: '/ca.pem' } as never)
    t.equal(s.sslMode, 'VERIFY_IDENTITY', key)
    t.notOk(
      Object.keys(mysql2Options(canonicalMysqlOptions({ [key]: 'x', charset: 'utf8mb4' }) as never)).includes(key),
      `${key} is not handed to mysql2`,
    )
  }
  for (const key of ['ssl-ca', 'ssl_ca', 'sslca', 'SslCa']) {
    t.equal(
      mergeMysqlSettings({ env: {}, optionFiles: false, [key]: '/ca.pem' } as never).sslMode,
      'VERIFY_CA',
      `${key} names the CA (so VERIFY_CA)`,
    )
  }
  t.equal(
    mergeMysqlSettings({ env: {}, optionFiles: false, URI: 'mysql://db/app?ssl-mode=REQUIRED' } as never).sslMode,
    'REQUIRED',
    'URI is uri',
  )
  t.throws(
    () => mergeMysqlSettings({ env: {}, optionFiles: false, sslMode: 'DISABLED', 'ssl-mode': 'VERIFY_CA' } as never),
    { code: 'INVALID_SETTING', message: /"sslMode" and "ssl-mode" both set sslMode/ },
  )
  t.same(
    mysql2Options(canonicalMysqlOptions({ charset: 'utf8mb4', namedPlaceholders: true }) as never),
    { charset: 'utf8mb4', namedPlaceholders: true },
    "mysql2's own options pass",
  )
  t.throws(
    () => mysql2Options(canonicalMysqlOptions({ SSL: {} }) as never),
    { code: 'INVALID_SETTING', setting: 'SSL' },
    "mysql2's ssl in any case is refused",
  )
})

t.test(
  'MySQL: ssl-fips-mode, get-server-public-key, server-public-key-path and ssl-session-data are honoured or refused',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-mycnf-'))
    const file = (name: string, text: string): string => {
      const path = join(dir, name)
      writeFileSync(path, text, { mode: 0o600 })
      return path
    }
    const fromFile = (text: string) =>
      mergeMysqlSettings({
        env: {},
        optionFiles: { defaultsFile: file(`my-${Math.random()}.cnf`, `[client]\n${text}\n`) },
      })
    t.equal(fromFile('get-server-public-key').values.get('get-server-public-key')?.value, '1', 'named alone it is on')
    t.equal(fromFile('get-server-public-key=OFF').values.get('get-server-public-key')?.value, '0')
    t.throws(() => fromFile('get-server-public-key=maybe'), { code: 'INVALID_SETTING' })
    t.throws(() => fromFile('ssl-session-data=/tmp/s.pem'), {
      code: 'OPTION_FILE_INVALID',
      setting: 'ssl-session-data',
    })
    t.throws(() => fromFile('ssl-fips-mode=SOMETIMES'), { code: 'INVALID_SETTING', setting: 'ssl-fips-mode' })
    await t.resolves(prepareMysql(fromFile('ssl-fips-mode=OFF')))
    await t.rejects(
      prepareMysql(fromFile('ssl-fips-mode=ON')),
      { code: 'INVALID_SETTING', setting: 'ssl-fips-mode', message: /not in FIPS mode/ },
      'ON needs FIPS-mode OpenSSL, which this Node is not in',
    )
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const keyFile = file('server-public.pem', publicKey.export({ type: 'spki', format: 'pem' }) as string)
    const prepared = await prepareMysql(
      mergeMysqlSettings({ env: {}, optionFiles: false, serverPublicKeyPath: keyFile, sslMode: 'DISABLED' }),
    )
    t.ok(prepared.serverPublicKey?.toString().includes('BEGIN PUBLIC KEY'))
    await t.rejects(
      prepareMysql(
        mergeMysqlSettings({
          env: {},
          optionFiles: false,
          serverPublicKeyPath: file('junk.pem', 'junk'),
          sslMode: 'DISABLED',
        }),
      ),
      { code: 'INVALID_PEM', setting: 'server-public-key-path' },
    )
    t.throws(() => mergeMysqlSettings({ env: {}, optionFiles: false, getServerPublicKey: 'yes' } as never), {
      code: 'INVALID_SETTING',
    })
  },
)

t.test("MySQL's VERIFY_IDENTITY reads an IP address as OpenSSL's X509_check_ip_asc does", async (t) => {
  t.equal(opensslIpAddress('127.000.000.001'), '127.0.0.1')
  t.equal(opensslIpAddress('127.0.0.010'), '127.0.0.10', 'decimal, as sscanf("%d") reads it (not octal as inet_aton)')
  t.equal(opensslIpAddress('127.0.0.1'), '127.0.0.1')
  t.equal(opensslIpAddress('::1'), '::1')
  t.equal(opensslIpAddress('256.0.0.1'), undefined)
  t.equal(opensslIpAddress('127.0.0.1x'), undefined)
  t.equal(opensslIpAddress('db.example'), undefined)
  t.equal(opensslIpAddress('1.2.3'), undefined)
})

t.test("MySQL's setting names in errors: only the setting names are renamed", async (t) => {
  const renamed = inMysqlTerms(
    new PgSslError(
      'CERT_VERIFY_FAILED',
      '"CN=db, O=pg-sslmode tests" is not in sslrootcert (/etc/pg-sslmode/sslcert.pem)',
      { setting: 'sslrootcert' },
    ),
  ) as PgSslError
  t.equal(
    renamed.message,
    '"CN=db, O=pg-sslmode tests" is not in ssl-ca (/etc/pg-sslmode/sslcert.pem)',
    'a certificate subject and a file name keep their letters',
  )
  t.equal(renamed.setting, 'ssl-ca')
  t.equal(parseMysqlUri('mysql://db/app?get-server-public-key').values.get('get-server-public-key'), '')
  t.equal(
    mergeMysqlSettings({ env: {}, optionFiles: false, uri: 'mysql://db/app?get-server-public-key' }).values.get(
      'get-server-public-key',
    )?.value,
    '1',
    'a flag named alone in a URI is on',
  )
})

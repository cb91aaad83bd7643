/**
 * pg-sslmode/mysql without a server: option files read as MariaDB's my_print_defaults reads them
 * (the reference, when installed), URIs, sources and precedence, the ssl-ca ⇒ VERIFY_CA rule,
 * tls-version, errors before any traffic, the server's handshake, MySQL's host-name rule.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readOptionFiles } from '../lib/mysql/option-files.js'
import { parseMysqlUri } from '../lib/mysql/uri.js'
import { mergeMysqlSettings, mysql2Options } from '../lib/mysql/settings.js'
import { prepareMysql, tlsBounds } from '../lib/mysql/prepare.js'
import { AuthWatch, parseFirstPacket } from '../lib/mysql/handshake.js'
import { checkMysqlHostname } from '../lib/mysql/hostname.js'
import { resolveMysql } from '../lib/mysql/index.js'
import { fixture, privateCopy } from '../scripts/harness.js'

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-mycnf-'))
const write = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const noFiles = { optionFiles: false as const, env: {} }

const MAIN = write(
  'my.cnf',
  [
    '# comment',
    '; another comment',
    '[client]',
    'user = alice   # trailing comment',
    'password="p#ss word"  # a hash inside quotes is kept',
    "host='db.example.com'",
    'ssl_mode=VERIFY_CA',
    'ssl-ca = /etc/ca\\sdir/ca.pem',
    'loose-foo-bar=1',
    'compress',
    'esc = a\\tb\\\\c\\qd',
    '[mysqld]',
    'port=1',
    '[CLIENT]',
    'port = 3307',
    `!include ${join(dir, 'extra.cnf')}`,
    `!includedir ${join(dir, 'inc.d')}`,
    '',
  ].join('\n'),
)
write('extra.cnf', '[client]\nssl-cert=/x/cert.pem\n')
mkdirSync(join(dir, 'inc.d'))
write('inc.d/b.cnf', '[client]\nssl-key=/x/key.pem\n')
write('inc.d/a.cnf', '[client]\nssl-key=/x/first.pem\ntls-version=TLSv1.3\n')
write('inc.d/c.txt', '[client]\nignored=1\n')

const ours = (path: string): string[] =>
  readOptionFiles([{ path, required: true }], { groups: ['client'], warn: () => undefined }).map(
    (e) => `--${e.loose ? 'loose-' : ''}${e.name}${e.value === undefined ? '' : `=${e.value}`}`,
  )

/** my_print_defaults prints options as the client receives them; names normalised as the client compares them. */
function reference(path: string): { status: number | null; lines: string[]; stderr: string } | undefined {
  const run = spawnSync('my_print_defaults', [`--defaults-file=${path}`, 'client'], { encoding: 'utf8' })
  if (run.error) return undefined
  const lines = run.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^--([^=]+)/, (_, name: string) => `--${name.toLowerCase().replace(/_/g, '-')}`))
  return { status: run.status, lines, stderr: run.stderr }
}
const referenceMissing = spawnSync('my_print_defaults', ['--help']).error !== undefined
if (referenceMissing && process.env.CI === 'true')
  throw new Error('my_print_defaults (mariadb-server) is required in CI')

t.test('option files: the same options, in the same order, as my_print_defaults reads', async (t) => {
  const expected = [
    '--user=alice',
    '--password=p#ss word',
    '--host=db.example.com',
    '--ssl-mode=VERIFY_CA',
    '--ssl-ca=/etc/ca dir/ca.pem',
    '--loose-foo-bar=1',
    '--compress',
    '--esc=a\tb\\c\\qd',
    '--port=3307',
    '--ssl-cert=/x/cert.pem',
    '--ssl-key=/x/first.pem',
    '--tls-version=TLSv1.3',
    '--ssl-key=/x/key.pem',
  ]
  t.same(ours(MAIN), expected)
  const ref = reference(MAIN)
  if (!ref)
    return void t.pass('compared with my_print_defaults', {
      skip: 'my_print_defaults is not installed (apt-get install mariadb-server)',
    })
  t.same(ours(MAIN), ref.lines, 'my_print_defaults agrees')
})

t.test("option files: syntax errors are refused with the client's wording, file and line", async (t) => {
  const cases = [
    {
      name: 'no-group.cnf',
      text: 'user=x\n',
      message: /Found option without preceding group in config file .*no-group\.cnf at line 1/,
    },
    {
      name: 'bad-group.cnf',
      text: '# x\n[client\nuser=x\n',
      message: /Wrong group definition in config file .*bad-group\.cnf at line 2/,
    },
    { name: 'bad-include.cnf', text: '[client]\n!include\n', message: /!include/ },
  ]
  for (const c of cases) {
    const path = write(c.name, c.text)
    t.throws(() => ours(path), { code: 'OPTION_FILE_INVALID', file: path, message: c.message }, c.name)
    const ref = reference(path)
    if (ref) t.not(ref.status, 0, `my_print_defaults refuses ${c.name} too`)
  }
  t.throws(() => ours(join(dir, 'missing.cnf')), { code: 'FILE_NOT_FOUND' })
  t.throws(() => ours(write('include-missing.cnf', `[client]\n!include ${join(dir, 'nope.cnf')}\n`)), {
    code: 'FILE_NOT_FOUND',
  })
})

t.test("option files: a world-writable file is ignored with the client's warning", async (t) => {
  const path = write('open.cnf', '[client]\nssl-mode=DISABLED\n')
  chmodSync(path, 0o666)
  const warnings: string[] = []
  t.same(readOptionFiles([{ path, required: true }], { groups: ['client'], warn: (m) => warnings.push(m) }), [])
  t.same(warnings, [`World-writable config file '${path}' is ignored`])
  const ref = reference(path)
  if (ref) {
    t.same(ref.lines, [], 'my_print_defaults ignores it too')
    t.match(ref.stderr, /World-writable config file/)
  }
})

t.test('the default files: ~/.my.cnf after /etc, MYSQL_HOME, defaults-extra-file; sources named', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'pg-sslmode-myhome-'))
  const mysqlHome = mkdtempSync(join(tmpdir(), 'pg-sslmode-mysqlhome-'))
  writeFileSync(join(mysqlHome, 'my.cnf'), '[client]\nhost=from-mysql-home\nport=3310\nuser=bob\n')
  const extra = write('extra-defaults.cnf', '[client]\nport=3311\n')
  writeFileSync(join(home, '.my.cnf'), '[client]\n# mine\nssl-ca=/home/ca.pem\nport=3312\n')
  const settings = mergeMysqlSettings({
    env: { HOME: home, MYSQL_HOME: mysqlHome, MYSQL_HOST: 'from-env', MYSQL_TCP_PORT: '3000' },
    optionFiles: { defaultsExtraFile: extra },
  })
  t.same(
    settings.values.get('host'),
    { value: 'from-mysql-home', source: `file:${join(mysqlHome, 'my.cnf')}:2` },
    'files are above MYSQL_HOST',
  )
  t.same(
    settings.values.get('port'),
    { value: '3312', source: `file:${join(home, '.my.cnf')}:4` },
    '~/.my.cnf is read last',
  )
  t.same(settings.values.get('user')?.value, 'bob')
  t.equal(settings.sslMode, 'VERIFY_CA', 'ssl-ca without ssl-mode')
  t.equal(settings.sslModeExplicit, false)
  // --defaults-file: only that file; false: none.
  t.equal(
    mergeMysqlSettings({
      env: { HOME: home, MYSQL_HOST: 'from-env' },
      optionFiles: { defaultsFile: extra },
    }).values.get('host')?.source,
    'env:MYSQL_HOST',
  )
  t.equal(mergeMysqlSettings({ env: { HOME: home }, optionFiles: false }).values.get('port')?.source, 'default')
  t.throws(
    () => mergeMysqlSettings({ env: { HOME: home }, optionFiles: { defaultsExtraFile: join(dir, 'absent.cnf') } }),
    { code: 'FILE_NOT_FOUND' },
    'a named extra file must exist',
  )
})

t.test('option files: unknown options need loose-, MariaDB spellings are refused, secrets never echoed', async (t) => {
  const unknown = write('unknown.cnf', '[client]\nssl-moed=VERIFY_CA\n')
  t.throws(() => mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: unknown } }), {
    code: 'OPTION_FILE_INVALID',
    message: /unknown variable 'ssl-moed=VERIFY_CA'/,
    hint: /loose-ssl-moed/,
  })
  const loose = write(
    'loose.cnf',
    '[client]\nloose-ssl-moed=VERIFY_CA\ndefault-character-set=utf8mb4\nsocket=/run/mysqld/mysqld.sock\n',
  )
  t.equal(mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: loose } }).sslMode, 'PREFERRED')
  const secret = write('secret.cnf', '[client]\nmy-password-typo=hunter2\n')
  const error = t.throws(() =>
    mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: secret } }),
  ) as unknown as Error
  t.notMatch(error.message, /hunter2/)
  const mariadb = write('mariadb.cnf', '[client]\nssl-verify-server-cert\n')
  t.throws(() => mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: mariadb } }), {
    code: 'OPTION_FILE_INVALID',
    hint: /ssl-mode=VERIFY_IDENTITY/,
  })
  const bare = write('bare.cnf', '[client]\nssl-ca\n')
  t.throws(() => mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: bare } }), {
    code: 'OPTION_FILE_INVALID',
    message: /requires an argument/,
  })
  const groups = write('groups.cnf', '[client]\nport=1111\n[myapp]\nport=2222\n')
  t.equal(
    mergeMysqlSettings({ env: {}, optionFiles: { defaultsFile: groups, groups: ['client', 'myapp'] } }).values.get(
      'port',
    )?.value,
    '2222',
    'a later group wins',
  )
})

t.test(
  'mysql:// URIs: keys in any spelling, percent-encoding, parenthesised paths; unknown keys refused',
  async (t) => {
    const { values } = parseMysqlUri(
      'mysql://us%40er:p%3Ass@[::1]:3307/my%20db?ssl-mode=verify_identity&SSL_CA=(/etc/my%20ca.pem)&' +
        'sslCert=%2Fx%2Fc.pem&tls-version=TLSv1.3',
    )
    t.same(Object.fromEntries(values), {
      user: 'us@er',
      password: 'p:ss',
      host: '::1',
      port: '3307',
      database: 'my db',
      'ssl-mode': 'verify_identity',
      'ssl-ca': '/etc/my ca.pem',
      'ssl-cert': '/x/c.pem',
      'tls-version': 'TLSv1.3',
    })
    t.throws(() => parseMysqlUri('mysql://h/db?sslmod=REQUIRED'), {
      code: 'INVALID_SETTING',
      message: /unknown option "sslmod"/,
    })
    t.throws(() => parseMysqlUri('postgres://h/db'), { code: 'INVALID_SETTING', message: /mysql:\/\// })
    t.throws(() => parseMysqlUri('mysql://a,b/db'), { code: 'INVALID_SETTING', message: /several hosts/ })
    t.throws(() => parseMysqlUri('mysql://h:port/db'), { code: 'INVALID_SETTING', message: /port/ })
    for (const leaky of ['mysql://u:p@ss3cret@h/db', 'mysql://u:pa/ss3cret@h/db']) {
      const error = t.throws(() => parseMysqlUri(leaky), { code: 'INVALID_SETTING' }) as unknown as Error
      t.notMatch(error?.message ?? '', /ss3cret|pa\b/, 'no part of an unencoded password in the message')
    }
    t.throws(() => parseMysqlUri('mysql://h/db?ssl-ca=%E0%A4%A'), {
      code: 'INVALID_SETTING',
      message: /percent-encoding/,
    })
  },
)

t.test('precedence: defaults < env < option files < URI < options, and each source is named', async (t) => {
  const file = write('prec.cnf', '[client]\nhost=file-host\nport=3301\nuser=file-user\nssl-mode=DISABLED\n')
  const settings = mergeMysqlSettings({
    env: { MYSQL_HOST: 'env-host' },
    optionFiles: { defaultsFile: file },
    uri: 'mysql://uri-user@uri-host:3302/db?ssl-mode=REQUIRED',
    port: 3303,
  })
  t.same(Object.fromEntries([...settings.values].map(([k, v]) => [k, v.source])), {
    host: 'uri',
    port: 'option',
    user: 'uri',
    'ssl-mode': 'uri',
    database: 'uri',
  })
  t.equal(settings.sslMode, 'REQUIRED')
  const resolution = await resolveMysql({ ...noFiles, uri: 'mysql://u:secret@h/db' })
  t.same(resolution.settings.password, { value: '********', source: 'uri' }, 'the password is masked')
  t.notMatch(JSON.stringify(resolution), /secret/)
  t.equal(resolution.requestedMode, 'PREFERRED')
  t.equal(resolution.plaintextFallback, true)
})

t.test('ssl-mode: any case, unknown names refused; ssl-ca or ssl-capath without a mode means VERIFY_CA', async (t) => {
  t.equal(mergeMysqlSettings({ ...noFiles, sslMode: 'verify_identity' }).sslMode, 'VERIFY_IDENTITY')
  t.throws(() => mergeMysqlSettings({ ...noFiles, sslMode: 'verify-full' }), {
    code: 'INVALID_SETTING',
    hint: /DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY/,
  })
  t.equal(mergeMysqlSettings({ ...noFiles, sslCa: '/ca.pem' }).sslMode, 'VERIFY_CA')
  t.equal(mergeMysqlSettings({ ...noFiles, sslCapath: '/certs' }).sslMode, 'VERIFY_CA')
  const required = mergeMysqlSettings({ ...noFiles, sslCa: '/ca.pem', sslMode: 'REQUIRED' })
  t.equal(required.sslMode, 'REQUIRED', 'an explicit mode stays')
  t.match(required.notes.join(), /does not verify/)
})

t.test(
  'errors before any traffic: no CA for VERIFY_*, unreadable files, bad tls-version, mysql2 TLS options',
  async (t) => {
    for (const sslMode of ['VERIFY_CA', 'VERIFY_IDENTITY']) {
      await t.rejects(prepareMysql(mergeMysqlSettings({ ...noFiles, sslMode })), {
        code: 'ROOT_CERT_MISSING',
        message: 'SSL connection error: CA certificate is required if ssl-mode is VERIFY_CA or VERIFY_IDENTITY',
        setting: 'ssl-ca',
      })
    }
    await t.rejects(prepareMysql(mergeMysqlSettings({ ...noFiles, sslCa: join(dir, 'none.pem') })), {
      code: 'FILE_NOT_FOUND',
      setting: 'ssl-ca',
    })
    await t.rejects(
      prepareMysql(mergeMysqlSettings({ ...noFiles, sslMode: 'REQUIRED', sslCert: fixture('client.crt') })),
      { code: 'FILE_NOT_FOUND', setting: 'ssl-key', hint: /ssl-key/ },
    )
    const openKey = join(dir, 'open.key')
    writeFileSync(openKey, readFileSync(fixture('client.key')))
    chmodSync(openKey, 0o644)
    await t.rejects(
      prepareMysql(
        mergeMysqlSettings({ ...noFiles, sslMode: 'REQUIRED', sslCert: fixture('client.crt'), sslKey: openKey }),
      ),
      { code: 'FILE_PERMISSIONS', setting: 'ssl-key' },
    )
    await t.rejects(
      prepareMysql(
        mergeMysqlSettings({
          ...noFiles,
          sslMode: 'REQUIRED',
          sslCert: fixture('client.crt'),
          sslKey: privateCopy('other-client.key'),
        }),
      ),
      { code: 'KEY_MISMATCH' },
    )
    await t.rejects(prepareMysql(mergeMysqlSettings({ ...noFiles, sslCa: fixture('client.key') })), {
      code: 'INVALID_PEM',
      setting: 'ssl-ca',
    })
    await t.rejects(prepareMysql(mergeMysqlSettings({ ...noFiles, sslCapath: dir })), {
      code: 'FILE_NOT_FOUND',
      setting: 'ssl-capath',
      hint: /openssl rehash/,
    })
    t.same(tlsBounds(undefined), { min: 'TLSv1.2', max: 'TLSv1.3' })
    t.same(tlsBounds('tlsv1.3'), { min: 'TLSv1.3', max: 'TLSv1.3' })
    t.throws(() => tlsBounds('TLSv1.1,TLSv1.3'), { code: 'INVALID_SETTING', message: /leaves out TLSv1.2/ })
    t.throws(() => tlsBounds('SSLv3'), { code: 'INVALID_SETTING', setting: 'tls-version' })
    t.throws(() => tlsBounds(' , '), { code: 'INVALID_SETTING' })
    t.throws(() => mysql2Options({ ssl: { rejectUnauthorized: false } }), {
      code: 'INVALID_SETTING',
      setting: 'ssl',
      hint: /sslMode/,
    })
    t.throws(() => mysql2Options({ socketPath: '/run/mysqld.sock' }), {
      code: 'INVALID_SETTING',
      setting: 'socketPath',
    })
    t.same(
      mysql2Options({ namedPlaceholders: true, sslMode: 'REQUIRED', uri: 'x' }),
      { namedPlaceholders: true },
      'mysql2 options pass through',
    )
    t.throws(() => mergeMysqlSettings({ ...noFiles, port: 'x' }), { code: 'INVALID_SETTING', setting: 'port' })
    t.throws(() => mergeMysqlSettings({ ...noFiles, connectTimeout: -1 }), {
      code: 'INVALID_SETTING',
      setting: 'connectTimeout',
    })
  },
)

t.test('ssl-capath: hashed CA files count only under their own subject hash (OpenSSL by_dir)', async (t) => {
  const capath = mkdtempSync(join(tmpdir(), 'pg-sslmode-capath-'))
  const hash = spawnSync('openssl', ['x509', '-subject_hash', '-noout', '-in', fixture('ca.crt')], {
    encoding: 'utf8',
  }).stdout.trim()
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('openssl is needed to name the CA file')
  writeFileSync(join(capath, 'deadbeef.0'), readFileSync(fixture('ca.crt'))) // wrong name: never found by OpenSSL
  await t.rejects(prepareMysql(mergeMysqlSettings({ ...noFiles, sslCapath: capath })), {
    code: 'FILE_NOT_FOUND',
    setting: 'ssl-capath',
  })
  writeFileSync(join(capath, `${hash}.0`), readFileSync(fixture('ca.crt')))
  const prepared = await prepareMysql(mergeMysqlSettings({ ...noFiles, sslCapath: capath }))
  t.equal(prepared.material.roots?.length, 1)
  t.equal(prepared.material.roots?.[0]?.subject, new X509Certificate(readFileSync(fixture('ca.crt'))).subject)
})

/** A protocol-10 handshake as MariaDB sends it (capabilities split over two words, plugin name last). */
function hello(capabilities: number, plugin = 'mysql_native_password'): Buffer {
  const body = Buffer.concat([
    Buffer.from([10]),
    Buffer.from('10.11.14-MariaDB\0', 'latin1'),
    Buffer.from([7, 0, 0, 0]),
    Buffer.alloc(8, 0x41),
    Buffer.from([0]),
    Buffer.from([capabilities & 0xff, (capabilities >> 8) & 0xff]),
    Buffer.from([45, 2, 0]),
    Buffer.from([(capabilities >> 16) & 0xff, (capabilities >> 24) & 0xff]),
    Buffer.from([21]),
    Buffer.alloc(10),
    Buffer.alloc(12, 0x42),
    Buffer.from([0]),
    Buffer.from(`${plugin}\0`, 'latin1'),
  ])
  const header = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, 0, 0])
  return Buffer.concat([header, body])
}

t.test("the server's handshake: CLIENT_SSL, version and plugin read; anything else is not MySQL", async (t) => {
  const withSsl = parseFirstPacket(hello(0x000fa7ff | 0x800 | 0x80000), 'h:1')
  t.match(withSsl, {
    kind: 'hello',
    hello: { offersSsl: true, serverVersion: '10.11.14-MariaDB', connectionId: 7, authPlugin: 'mysql_native_password' },
  })
  t.match(parseFirstPacket(hello((0x000fa7ff & ~0x800) | 0x80000), 'h:1'), {
    kind: 'hello',
    hello: { offersSsl: false },
  })
  const err = Buffer.concat([
    Buffer.from([0x17, 0, 0, 0, 0xff, 0x10, 0x04]),
    Buffer.from('Too many connections', 'latin1'),
  ])
  t.match(parseFirstPacket(err, 'h:1'), { kind: 'error', errno: 1040, message: 'Too many connections' })
  t.throws(() => parseFirstPacket(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'h:1'), {
    code: 'PROTOCOL_VIOLATION',
    message: /did not send a MySQL handshake/,
  })
  const pgAnswer = Buffer.from([0x0c, 0, 0, 0, 0x4e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  t.throws(() => parseFirstPacket(pgAnswer, 'h:1'), { code: 'PROTOCOL_VIOLATION', message: /protocol version 78/ })
})

t.test('the authentication watch: plugins asked for, the end of the exchange, chunks split anywhere', async (t) => {
  const seen: string[] = []
  const watch = new AuthWatch({ onSwitch: (p) => seen.push(`switch:${p}`), onEnd: (ok) => seen.push(`end:${ok}`) })
  const packet = (seq: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([body.length, 0, 0, seq]), body])
  const bytes = Buffer.concat([
    packet(2, Buffer.concat([Buffer.from([0xfe]), Buffer.from('client_ed25519\0', 'latin1'), Buffer.alloc(32, 1)])),
    packet(4, Buffer.from([0, 0, 0, 2, 0, 0, 0])),
  ])
  for (let i = 0; i < bytes.length; i += 5) watch.see(bytes.subarray(i, i + 5))
  t.same(seen, ['switch:client_ed25519', 'end:true'])
  t.ok(watch.finished)
})

t.test("VERIFY_IDENTITY uses MySQL's rule (X509_check_host, else X509_check_ip_asc), not libpq's", async (t) => {
  const cert = (name: string) => ({ peerCertificate: new X509Certificate(readFileSync(fixture(`${name}.crt`))) })
  t.doesNotThrow(() => checkMysqlHostname(cert('server'), 'localhost'))
  t.doesNotThrow(() => checkMysqlHostname(cert('server'), '127.0.0.1'), 'an IP address is checked (mysql2 skips it)')
  t.doesNotThrow(() => checkMysqlHostname(cert('server'), '::1'))
  t.throws(() => checkMysqlHostname(cert('server-otherhost'), '127.0.0.1'), {
    code: 'HOSTNAME_MISMATCH',
    message: /DNS:db\.example\.com.*"127\.0\.0\.1"/,
  })
  t.doesNotThrow(() => checkMysqlHostname(cert('server-wildcard'), 'db.pg-sslmode.test'))
  t.throws(
    () => checkMysqlHostname(cert('server-wildcard'), 'a.db.pg-sslmode.test'),
    { code: 'HOSTNAME_MISMATCH' },
    'one label only',
  )
  // server-ip: CN=db.example.com, SAN IP 127.0.0.1 and no DNS name: OpenSSL falls back to the CN.
  t.doesNotThrow(
    () => checkMysqlHostname(cert('server-ip'), 'db.example.com'),
    'CN used when there is no DNS name (libpq would refuse)',
  )
  t.throws(() => checkMysqlHostname(cert('server-ip'), 'localhost'), { code: 'HOSTNAME_MISMATCH' })
  t.throws(() => checkMysqlHostname({ peerCertificate: undefined }, 'localhost'), {
    code: 'HOSTNAME_MISMATCH',
    message: /no certificate/,
  })
})

t.test('a mysql2 that shares one config between pooled connections is refused, not raced', async (t) => {
  const { mysqlStreamFactory } = await import('../lib/mysql/connect.js')
  const factory = mysqlStreamFactory(() => new Promise(() => undefined), {})
  const shared = {}
  const gate = factory({ config: shared })
  gate.on('error', () => undefined)
  t.throws(() => factory({ config: shared }), { code: 'MYSQL2_UNSUPPORTED', hint: /3\.23\.3/ })
  const own = factory({ config: {} })
  t.ok(own, 'a config of its own is fine')
  own.destroy()
  gate.destroy()
})

import t from 'tap'
import { parseConninfo, parseConnectionString, parseUri } from '../lib/postgres/settings/conninfo.js'
import type { PgSslError } from '../lib/engine/errors.js'

t.test('key=value conninfo with libpq quoting', async (t) => {
  t.same(parseConninfo('host=db port=5432 sslmode=verify-ca'), { host: 'db', port: '5432', sslmode: 'verify-ca' })
  t.same(parseConninfo("  host = db   sslrootcert='/etc/pg ca/root.crt'  "), {
    host: 'db',
    sslrootcert: '/etc/pg ca/root.crt',
  })
  t.same(parseConninfo("password='it\\'s a \\\\ secret'"), { password: "it's a \\ secret" })
  t.same(parseConninfo('application_name=a\\ b'), { application_name: 'a b' }, 'backslash escapes outside quotes too')
  t.same(parseConninfo("sslmode=''"), { sslmode: '' }, 'an empty quoted value is a value')
  t.same(
    parseConninfo('sslmode=disable sslmode=require'),
    { sslmode: 'require' },
    'the last of a repeated keyword wins',
  )
  t.same(parseConninfo(''), {})
})

t.test('conninfo errors name the keyword and never the value', async (t) => {
  const missing = t.throws(() => parseConninfo('host db')) as PgSslError
  t.equal(missing.code, 'INVALID_SETTING')
  t.match(missing.message, /missing "=" after "host"/)
  const unterminated = t.throws(() => parseConninfo("password='secret-value")) as PgSslError
  t.match(unterminated.message, /unterminated quoted string/)
  t.notMatch(unterminated.message, /secret-value/)
  for (const leaky of ['password=my s3cr3tpart', 'host=h password=my s3cr3tpart=x', 'sslpassword=two s3cr3tpart']) {
    const error = t.throws(() => parseConninfo(leaky)) as PgSslError
    t.notMatch(
      error.message + error.hint,
      /s3cr3t/,
      `no part of an unquoted secret is echoed: ${leaky.replace(/=.*/, '=...')}`,
    )
    t.match(error.hint, /quote values/)
  }
  const unknown = t.throws(() => parseConninfo('sslmdoe=require')) as PgSslError
  t.equal(unknown.setting, 'sslmdoe')
  t.match(unknown.message, /invalid connection option "sslmdoe"/)
})

t.test('URIs: user info, host lists, IPv6, percent-decoding, query parameters', async (t) => {
  t.same(parseUri('postgresql://app:p%40ss@db.example:6543/my%20db?sslmode=verify-full&application_name=x'), {
    user: 'app',
    password: 'p@ss',
    host: 'db.example',
    port: '6543',
    dbname: 'my db',
    sslmode: 'verify-full',
    application_name: 'x',
  })
  t.same(parseUri('postgres://h1:5432,[::1]:5433,h3/db'), { host: 'h1,::1,h3', port: '5432,5433,', dbname: 'db' })
  t.same(parseUri('postgresql://'), {})
  t.same(parseUri('postgresql:///db?host=/var/run/postgresql'), { dbname: 'db', host: '/var/run/postgresql' })
  t.same(
    parseUri('postgresql://h?ssl=true'),
    { host: 'h', sslmode: 'require' },
    "JDBC's ssl=true is sslmode=require, as in libpq",
  )
  t.same(parseConnectionString('postgresql://h/d'), { host: 'h', dbname: 'd' })
  t.same(parseConnectionString('host=h dbname=d'), { host: 'h', dbname: 'd' })
})

t.test('URI errors', async (t) => {
  t.throws(() => parseUri('postgresql://h/d?sslmdoe=require'), {
    code: 'INVALID_SETTING',
    message: /invalid URI query parameter: "sslmdoe"/,
  })
  t.throws(() => parseUri('postgresql://h/d?sslmode'), {
    code: 'INVALID_SETTING',
    message: /missing key\/value separator "=" in URI query parameter: "sslmode"$/,
  })
  // A secret whose "=" was lost is not echoed; libpq would print the whole parameter.
  for (const lost of ['passwordhunter2', 'sslpasswordhunter2', 'oauth_client_secrethunter2']) {
    const error = t.throws(() => parseUri(`postgresql://h/d?sslmode=require&${lost}`)) as PgSslError
    t.notMatch(error.message, /hunter2/, `${lost.replace('hunter2', '')}…: the value is not in the message`)
    t.match(error.message, /missing key\/value separator/)
  }
  const extra = t.throws(() => parseUri('postgresql://h/d?password=hunter2=x')) as PgSslError
  t.match(extra.message, /extra key\/value separator "=" in URI query parameter: "password"$/)
  t.throws(() => parseUri('postgresql://[::1/d'), { code: 'INVALID_SETTING', message: /matching "\]"/ })
  t.throws(() => parseUri('postgresql://h/d%zz'), { code: 'INVALID_SETTING', message: /percent-encoded/ })
  t.throws(() => parseUri('postgresql://h/d%00'), { code: 'INVALID_SETTING', message: /%00/ })
})

/** configparser rules, case by case, with the expected results written out by hand. */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type IniError, parseIni, sectionItems } from '../lib/postgres/settings/ini.js'
import { readIniSettings } from '../lib/postgres/settings/database-ini.js'
import type { PgSslError } from '../lib/engine/errors.js'

const items = (text: string, section = 'postgresql') =>
  Object.fromEntries([...sectionItems(parseIni(text), section)].map(([k, v]) => [k, v.value]))
const kind = (text: string, section = 'postgresql') => {
  try {
    items(text, section)
  } catch (error) {
    return (error as IniError).kind
  }
  return 'no error'
}

t.test('the seed file', async (t) => {
  const text = `[postgresql]
host=127.0.0.1
port=5432
database=postgres
user=app
password=secret
sslmode=verify-ca
sslcert=/home/app/sslcert/client.crt
sslkey=/home/app/sslcert/client.key
sslrootcert=/home/app/sslcert/cacert.pem
`
  t.same(items(text), {
    host: '127.0.0.1',
    port: '5432',
    database: 'postgres',
    user: 'app',
    password: 'secret',
    sslmode: 'verify-ca',
    sslcert: '/home/app/sslcert/client.crt',
    sslkey: '/home/app/sslcert/client.key',
    sslrootcert: '/home/app/sslcert/cacert.pem',
  })
})

t.test('delimiters, case, whitespace, comments', async (t) => {
  t.same(items('[postgresql]\nHost : db\nSSLMode=  require  \n# host=x\n; port=1\n'), {
    host: 'db',
    sslmode: 'require',
  })
  t.same(
    items('[postgresql]\nhost = db\n  sslmode = require\n'),
    { host: 'db\nsslmode = require' },
    'an indented line continues the value above, even if it looks like an option',
  )
  t.same(items('[postgresql]\na = b = c\nd: e=f\n'), { a: 'b = c', d: 'e=f' }, 'split at the first delimiter')
  t.same(items('[postgresql]\nhost = db # not a comment\n'), { host: 'db # not a comment' }, 'no inline comments')
  t.same(items('[postgresql] trailing\nx=1'), { x: '1' }, 'the header is up to the last ]')
  t.same(items('\r\n[postgresql]\r\nx=1\r\ny=2\r'), { x: '1', y: '2' }, 'CRLF and CR line ends')
})

t.test('multi-line values', async (t) => {
  t.same(items('[postgresql]\noptions=-c a=1\n  -c b=2\n\n  -c c=3\n\n\nx=1'), {
    options: '-c a=1\n-c b=2\n\n-c c=3',
    x: '1',
  })
  t.same(items('[postgresql]\nv=a\n# comment\n  b'), { v: 'a\nb' }, 'a comment does not end a value')
})

t.test('DEFAULT and interpolation', async (t) => {
  const text = '[DEFAULT]\nhost=db\ndir=/etc/pg\n[postgresql]\nsslrootcert=%(dir)s/ca.pem\nApp=50%% of %(HOST)s\n'
  t.same(items(text), { host: 'db', dir: '/etc/pg', sslrootcert: '/etc/pg/ca.pem', app: '50% of db' })
  t.same(items('[postgresql]\na=%(b)s\nb=%(c)s\nc=x%%'), { a: 'x%', b: 'x%', c: 'x%' }, 'nested')
  t.equal(kind('[postgresql]\na=%(missing)s'), 'InterpolationMissingOptionError')
  t.equal(kind('[postgresql]\na=50%'), 'InterpolationSyntaxError')
  t.equal(kind('[postgresql]\na=%(a)s'), 'InterpolationDepthError')
})

t.test('errors', async (t) => {
  t.equal(kind('host=x\n[postgresql]'), 'MissingSectionHeaderError')
  t.equal(kind('[postgresql]\n[postgresql]'), 'DuplicateSectionError')
  t.equal(kind('[postgresql]\nhost=a\nHOST=b'), 'DuplicateOptionError')
  t.equal(kind('[postgresql]\njust words\nx=1'), 'ParsingError')
  t.equal(kind('[DEFAULT]\n[DEFAULT]\nx=1\n[postgresql]'), 'no error', 'DEFAULT may be repeated')
  const error = t.throws(() => parseIni('[a]\nok=1\nbad line\n')) as IniError
  t.equal(error.line, 3)
})

t.test('readIniSettings: keywords, database alias, file errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-ini-'))
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  const good = file('database.ini', '\ufeff[postgresql]\nhost=db\ndatabase=app\nsslmode=verify-ca\n[other]\nhost=x\n')
  t.same(readIniSettings({ file: good }), {
    host: { value: 'db', line: 2 },
    dbname: { value: 'app', line: 3 },
    sslmode: { value: 'verify-ca', line: 4 },
  })
  t.same(readIniSettings({ file: good, section: 'other' }), { host: { value: 'x', line: 6 } })

  const missing = t.throws(() => readIniSettings({ file: good, section: 'prod' })) as PgSslError
  t.equal(missing.code, 'INI_SECTION_MISSING')
  t.match(missing.message, /\[postgresql\], \[other\]/)

  const typo = t.throws(() =>
    readIniSettings({ file: file('typo.ini', '[postgresql]\nsslmdoe=require\n') }),
  ) as PgSslError
  t.equal(typo.code, 'INVALID_SETTING')
  t.match(typo.message, /typo\.ini:2/)
  t.match(typo.hint, /did you mean "sslmode"/)

  const syntax = t.throws(() =>
    readIniSettings({ file: file('bad.ini', '[postgresql]\nhost=a\nhost=b\n') }),
  ) as PgSslError
  t.equal(syntax.code, 'INI_SYNTAX')
  t.match(syntax.message, /bad\.ini:3: .*DuplicateOptionError/)

  t.throws(() => readIniSettings({ file: file('both.ini', '[postgresql]\ndatabase=a\ndbname=b\n') }), {
    code: 'INVALID_SETTING',
    hint: /psycopg2 refuses this too/,
  })
  t.throws(() => readIniSettings({ file: join(dir, 'nope.ini') }), { code: 'FILE_NOT_FOUND' })
  const notUtf8 = join(dir, 'latin1.ini')
  writeFileSync(notUtf8, Buffer.from([0x5b, 0x70, 0x5d, 0x0a, 0x61, 0x3d, 0xe9, 0x0a]))
  t.throws(() => readIniSettings({ file: notUtf8, section: 'p' }), { code: 'INI_SYNTAX', message: /UTF-8/ })
})

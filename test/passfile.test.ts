/** libpq's password-file rules (fe-connect.c passwordFromFile), on files written here. */
import t from 'tap'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRequireAuth } from '../lib/postgres/connect/auth-guard.js'
import { passwordFromFile } from '../lib/postgres/settings/passfile.js'

const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-pgpass-'))
const write = (name: string, text: string, mode = 0o600): string => {
  const file = join(dir, name)
  writeFileSync(file, text)
  chmodSync(file, mode)
  return file
}
const q = { host: 'db', port: '5432', dbname: 'app', user: 'u' }

t.test('fields, wildcards, escapes, first match', async (t) => {
  const file = write(
    'a',
    ['# comment', '', 'other:*:*:*:no', 'db:5432:app:u:first\\:part\\\\two:ignored', 'db:5432:app:u:second'].join(
      '\r\n',
    ),
  )
  const found = passwordFromFile(file, q, () => t.fail('no warning'))
  t.same({ password: found?.password, line: found?.line }, { password: 'first:part\\two', line: 4 })
  t.equal(passwordFromFile(write('b', '*:*:*:*:any\n'), q, () => {})?.password, 'any')
  t.equal(
    passwordFromFile(write('c', 'db\\:x:*:*:*:p\n'), { ...q, host: 'db:x' }, () => {})?.password,
    'p',
    'an escaped colon in a field',
  )
  t.equal(
    passwordFromFile(write('d', 'db:5433:*:*:p\n'), q, () => {}),
    undefined,
    'another port',
  )
  t.equal(
    passwordFromFile(write('e', 'localhost:*:*:*:sock\n'), { ...q, host: '/var/run/postgresql' }, () => {})?.password,
    'sock',
    'the default socket directory is localhost',
  )
  t.equal(
    passwordFromFile(join(dir, 'missing'), q, () => t.fail('a missing file is no warning')),
    undefined,
  )
})

t.test('a file others may read is ignored with a warning', async (t) => {
  const warnings: string[] = []
  t.equal(
    passwordFromFile(write('open', '*:*:*:*:p\n', 0o644), q, (m) => warnings.push(m)),
    undefined,
  )
  t.match(warnings, [/has group or world access/])
})

t.test("require_auth: libpq's grammar", async (t) => {
  t.same([...parseRequireAuth('password,md5', false)!.allowed].sort(), ['md5', 'password'])
  t.equal(parseRequireAuth('password,md5', false)!.authRequired, true)
  t.same([...parseRequireAuth('!password', false)!.allowed].sort(), ['gss', 'md5', 'oauth', 'scram-sha-256', 'sspi'])
  t.equal(parseRequireAuth('!password', false)!.authRequired, false)
  t.equal(parseRequireAuth('none', false)!.authRequired, false)
  t.equal(parseRequireAuth('!none', false)!.authRequired, true)
  t.ok(parseRequireAuth('sha256,md5_sha256', true)!.allowed.has('sha256'), 'openGauss method names in its dialects')
  t.throws(() => parseRequireAuth('sha256', false), {
    code: 'INVALID_SETTING',
    message: /invalid require_auth value: "sha256"/,
  })
  t.throws(() => parseRequireAuth('password,!md5', false), { message: /cannot be mixed with non-negative/ })
  t.throws(() => parseRequireAuth('!md5,password', false), { message: /cannot be mixed with negative/ })
  t.throws(() => parseRequireAuth('md5,md5', false), { message: /more than once/ })
  t.equal(parseRequireAuth('', false), undefined)
})

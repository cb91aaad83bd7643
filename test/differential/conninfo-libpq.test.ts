/**
 * Differential test: connection strings (key=value conninfo and URIs, hand-written edge cases and
 * fast-check generated ones) parsed by libpq itself (PQconninfoParse via psycopg2's parse_dsn,
 * in a virtualenv the test creates) and by pg-sslmode must give the same keyword map, or both fail.
 * Required when CI=true.
 */
import t from 'tap'
import fc from 'fast-check'
import { parseConnectionString } from '../../lib/postgres/settings/conninfo.js'
import { psycopg2Python, runOracle } from '../oracles/python.js'

type Outcome = { keywords: Record<string, string> } | { error: string }

function ours(dsn: string): Outcome {
  try {
    return { keywords: parseConnectionString(dsn) }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

const HAND_WRITTEN = [
  'host=db port=5432 sslmode=verify-ca sslrootcert=/etc/pg/ca.pem',
  "host = 'x y'  port= 1",
  "password='it\\'s a \\\\ secret'",
  'application_name=a\\ b',
  "sslmode=''",
  'sslmode=disable sslmode=require',
  'requiressl=1',
  'requiressl=0 sslmode=verify-full',
  'sslmode=verify-full requiressl=0',
  '',
  '   ',
  'host db',
  'host=',
  'host=a port=',
  "password='unterminated",
  'sslmdoe=require',
  '=value',
  'host==x',
  "host='a'b",
  "options='-c search_path=x'",
  'host=a\tport=5',
  'host=a\nport=5',
  "host=\\'",
  'dbname=ü',
  'postgresql://app:p%40ss@db.example:6543/my%20db?sslmode=verify-full&application_name=x',
  'postgres://h1:5432,[::1]:5433,h3/db',
  'postgresql://',
  'postgres://',
  'postgresql:///db?host=/var/run/postgresql',
  'postgresql://h?ssl=true',
  'postgresql://h?ssl=false',
  'postgresql://h/d?sslmdoe=require',
  'postgresql://h/d?sslmode',
  'postgresql://[::1/d',
  'postgresql://[]/d',
  'postgresql://[::1]x/d',
  'postgresql://h/d%zz',
  'postgresql://h/d%00',
  'postgresql://h/d%2',
  'postgresql://u@h',
  'postgresql://u:@h',
  'postgresql://:p@h',
  'postgresql://a@b@h/d',
  'postgresql://h:5432,:5433/x',
  'postgresql://:5432',
  'postgres://h:po/x',
  'postgresql://h/d?a=1&&sslmode=require&',
  'postgresql://h/d?sslmode=require&sslmode=disable',
  'postgresql://h/d?requiressl=1',
  'postgresql://h/d?host=other',
  'postgresql://h/d?port=1&port=2',
  'postgresql://%2Fvar%2Frun%2Fpostgresql/db',
  'postgresql://h/db%3Fx',
  'postgresql://h/d/e',
  'postgresql://h/?x',
  'postgresql://h?',
  'postgresql://[fe80::1%25eth0]:5432/d',
  'postgresql://h/d?options=-c%20x%3D1',
  'postgresql://h/d?application_name=%E2%9C%93',
  'postgresqlx://h/d',
  'POSTGRESQL://h/d',
]

const KEYS = ['host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl', 'application_name', 'options', 'connect_timeout', 'sslsni', 'requiressl', 'target_session_attrs', 'sslpassword']
const rawValue = fc.constantFrom('db', '5432', 'verify-ca', '/etc/pg/ca.pem', 'a b', "it's", 'back\\slash', '', 'x=y', 'ü', '0', '1', "''", '\\', ' ')
const quoted = rawValue.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
const unquotedEscaped = rawValue.map((v) => v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ').replace(/'/g, "\\'"))
const pair = fc.tuple(fc.constantFrom(...KEYS, 'bogus'), fc.constantFrom('=', ' = ', '= ', ' ='), fc.oneof(quoted, unquotedEscaped, rawValue)).map(([k, eq, v]) => `${k}${eq}${v}`)
const conninfo = fc.array(pair, { minLength: 0, maxLength: 5 }).chain((pairs) => fc.constantFrom(' ', '  ', '\t').map((sep) => pairs.join(sep)))

const enc = (s: string) => encodeURIComponent(s)
const uriPart = fc.constantFrom('app', 'p@ss', 'a b', 'ü', '', 'x:y', '%', '/x')
const hostSpec = fc.oneof(fc.constantFrom('db', 'localhost', '127.0.0.1', '[::1]', '', '[fe80::1]'), fc.constantFrom('db:5432', '[::1]:6543', ':5433', 'h1,h2', 'h1:1,h2:2'))
const uri = fc
  .tuple(
    fc.constantFrom('postgresql://', 'postgres://'),
    fc.option(fc.tuple(uriPart, fc.option(uriPart)), { nil: undefined }),
    hostSpec,
    fc.option(uriPart, { nil: undefined }),
    fc.array(fc.tuple(fc.constantFrom(...KEYS, 'ssl', 'bogus'), rawValue), { maxLength: 3 }),
  )
  .map(([scheme, userInfo, host, db, params]) => {
    const user = userInfo ? `${enc(userInfo[0])}${userInfo[1] !== null ? ':' + enc(userInfo[1]) : ''}@` : ''
    const path = db !== undefined ? `/${enc(db)}` : ''
    const query = params.length ? '?' + params.map(([k, v]) => `${k}=${enc(v)}`).join('&') : ''
    return `${scheme}${user}${host}${path}${query}`
  })

const GENERATED = [...fc.sample(conninfo, { numRuns: 120, seed: 20261121 }), ...fc.sample(uri, { numRuns: 120, seed: 20261122 })]

const { python, problem } = psycopg2Python()
if (!python) {
  if (process.env.CI === 'true') t.fail(`psycopg2 (libpq's parser) is required on CI: ${problem}`)
  else t.comment(`skipping the comparison with libpq's parser: ${problem}`)
} else {
  const corpus = [...HAND_WRITTEN, ...GENERATED]
  const reference = runOracle<{ libpq: number; results: Outcome[] }>(python, 'parse_dsn_oracle.py', corpus)
  t.comment(`libpq ${reference.libpq} (psycopg2's), ${corpus.length} connection strings`)
  corpus.forEach((dsn, i) => {
    const expected = reference.results[i]!
    const mine = ours(dsn)
    const name = JSON.stringify(dsn)
    if ('error' in expected) t.ok('error' in mine, `${name}: libpq refuses it (${expected.error}); so do we${'error' in mine ? ` (${mine.error})` : `, but we got ${JSON.stringify(mine)}`}`)
    else t.same(mine, expected, name)
  })
}

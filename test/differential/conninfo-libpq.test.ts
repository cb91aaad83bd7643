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
  'postgresql://h:5432,:5433/x',
  'postgresql://:5432',
  'postgres://h:po/x',
  'postgresql://h/d?a=1&&sslmode=require&',
  // libpq reads an empty parameter ("&&", a leading "&") and a second "=" as errors.
  'postgresql://h/d?sslmode=require&&host=x',
  'postgresql://h/d?&sslmode=require',
  'postgresql://h/d?sslmode=require&',
  'postgresql://h/d?application_name=a=b',
  'postgresql://h/d?sslmode==require',
  'postgresql://h/d?=require',
  'postgresql://h/d?options=-c%20x%3D1&&',
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
  // libpq splits words on C's isspace() only: a Unicode space stays inside the value.
  'host=127.0.0.1\u00A0sslmode=disable',
  'sslmode=disable\u00A0',
  'host=a\u2028port=5',
  'host=a\u3000sslmode=disable',
  'host=a\uFEFFsslmode=disable',
  'port=5432\u2003',
  'host=a\vport=5',
  'host=a\fport=5',
  'host=a\rport=5',
  // A password may hold '?' and ':' (the user part ends at the first '@' before any '/').
  'postgresql://u:pa?ss@h/db',
  'postgresql://u:p:a?s=s&x@h:5433/db?sslmode=require',
]

/**
 * URIs whose password (or user name) holds an unencoded '/' or '@': libpq reads part of it as a
 * host, port or database name (and may print it); pg-sslmode refuses them without repeating any
 * part (README, "Differences from libpq").
 */
const REFUSED_ON_PURPOSE: ReadonlyArray<[uri: string, secret: string]> = [
  ['postgresql://a@bq7@h/d', 'bq7'],
  ['postgresql://u:p@zq9@h/db', 'zq9'],
  ['postgresql://u:kx7/ss@h/db', 'kx7'],
  ['postgresql://u:12/sw0rdfish@h/db', 'sw0rdfish'],
  ['postgresql://u:s3cr@t9@h:5432/db', 't9'],
]

const KEYS = [
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslcrl',
  'application_name',
  'options',
  'connect_timeout',
  'sslsni',
  'requiressl',
  'target_session_attrs',
  'sslpassword',
]
const rawValue = fc.constantFrom(
  'db',
  '5432',
  'verify-ca',
  '/etc/pg/ca.pem',
  'a b',
  "it's",
  'back\\slash',
  '',
  'x=y',
  'ü',
  '0',
  '1',
  "''",
  '\\',
  ' ',
)
const quoted = rawValue.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
const unquotedEscaped = rawValue.map((v) => v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ').replace(/'/g, "\\'"))
const pair = fc
  .tuple(
    fc.constantFrom(...KEYS, 'bogus'),
    fc.constantFrom('=', ' = ', '= ', ' ='),
    fc.oneof(quoted, unquotedEscaped, rawValue),
  )
  .map(([k, eq, v]) => `${k}${eq}${v}`)
const conninfo = fc
  .array(pair, { minLength: 0, maxLength: 5 })
  .chain((pairs) => fc.constantFrom(' ', '  ', '\t').map((sep) => pairs.join(sep)))

const enc = (s: string) => encodeURIComponent(s)
const uriPart = fc.constantFrom('app', 'p@ss', 'a b', 'ü', '', 'x:y', '%', '/x')
const hostSpec = fc.oneof(
  fc.constantFrom('db', 'localhost', '127.0.0.1', '[::1]', '', '[fe80::1]'),
  fc.constantFrom('db:5432', '[::1]:6543', ':5433', 'h1,h2', 'h1:1,h2:2'),
)
const uri = fc
  .tuple(
    fc.constantFrom('postgresql://', 'postgres://'),
    fc.option(fc.tuple(uriPart, fc.option(uriPart)), { nil: undefined }),
    hostSpec,
    fc.option(uriPart, { nil: undefined }),
    fc.array(fc.tuple(fc.constantFrom(...KEYS, 'ssl', 'bogus'), rawValue), { maxLength: 3 }),
  )
  .map(([scheme, userInfo, host, db, params]) => {
    const user = userInfo ? `${enc(userInfo[0])}${userInfo[1] !== null ? `:${enc(userInfo[1])}` : ''}@` : ''
    const path = db !== undefined ? `/${enc(db)}` : ''
    const query = params.length ? `?${params.map(([k, v]) => `${k}=${enc(v)}`).join('&')}` : ''
    return `${scheme}${user}${host}${path}${query}`
  })

const GENERATED = [
  ...fc.sample(conninfo, { numRuns: 120, seed: 20261121 }),
  ...fc.sample(uri, { numRuns: 120, seed: 20261122 }),
]

const { python, problem } = psycopg2Python()
if (!python) {
  if (process.env.CI === 'true') t.fail(`psycopg2 (libpq's parser) is required on CI: ${problem}`)
  else t.comment(`skipping the comparison with libpq's parser: ${problem}`)
} else {
  const corpus = [...HAND_WRITTEN, ...GENERATED, ...REFUSED_ON_PURPOSE.map(([uri]) => uri)]
  const reference = runOracle<{ libpq: number; results: Outcome[] }>(python, 'parse_dsn_oracle.py', corpus)
  t.comment(`libpq ${reference.libpq} (psycopg2's), ${corpus.length} connection strings`)
  const refusedOnPurpose = new Map(REFUSED_ON_PURPOSE)
  corpus.forEach((dsn, i) => {
    const expected = reference.results[i]!
    const mine = ours(dsn)
    // Non-ASCII escaped: a raw U+2028 in a test name would break the TAP stream's line.
    const name = JSON.stringify(dsn).replace(
      /[^\x20-\x7e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    )
    const secret = refusedOnPurpose.get(dsn)
    if (secret !== undefined) {
      t.ok(
        'keywords' in expected && JSON.stringify(expected.keywords).includes(secret),
        `${name}: libpq puts part of the password into another keyword (${JSON.stringify(expected)})`,
      )
      t.ok(
        'error' in mine && !mine.error.includes(secret),
        `${name}: refused without repeating it (${'error' in mine ? mine.error : 'accepted'})`,
      )
      return
    }
    if ('error' in expected)
      t.ok(
        'error' in mine,
        `${name}: libpq refuses it (${expected.error}); so do ` +
          `we${'error' in mine ? ` (${mine.error})` : `, but we got ${JSON.stringify(mine)}`}`,
      )
    else t.same(mine, expected, name)
  })
}

/**
 * SCRAM-SHA-256 with scram_client_key / scram_server_key, without a server: the exchange against
 * RFC 7677's test vector, the keys in place of the password, the channel-binding header per case,
 * libpq's words for each malformed server message, PostgreSQL's base64 decoder with the answers
 * libpq 18 gave for each input (probed through ctypes), and the SASL messages put on the wire.
 * Real servers and libpq 18 itself: test/differential/libpq-scram-keys.test.ts.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { inspect } from 'node:util'
import t from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import { connectionConfig } from '../lib/postgres/connect/connection-config.js'
import { saslAnswerer, saslInitialResponse, scramWithKeys } from '../lib/postgres/connect/sasl.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import { pgBase64Decode, ScramExchange } from '../lib/postgres/protocol/scram.js'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'

// RFC 7677 section 3.
const NONCE = 'rOprNGfwEbeRWgbNEkqO'
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
const salted = pbkdf2Sync('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096, 32, 'sha256')
const CLIENT_KEY = createHmac('sha256', salted).update('Client Key').digest()
const SERVER_KEY = createHmac('sha256', salted).update('Server Key').digest()

const rfc = (more: Partial<ConstructorParameters<typeof ScramExchange>[0]>) =>
  new ScramExchange({ mechanism: 'SCRAM-SHA-256', binding: { couldBind: false }, nonce: NONCE, user: 'user', ...more })

function failure(run: () => unknown): { code: string; message: string } {
  try {
    run()
  } catch (error) {
    if (error instanceof PgSslError) return { code: error.code, message: error.message }
    throw error
  }
  return { code: 'none', message: 'no error' }
}

t.test("RFC 7677's exchange, with the password and with the keys in its place", async (t) => {
  for (const [name, input] of [
    ['password', { password: 'pencil' }],
    ['both keys', { clientKey: CLIENT_KEY, serverKey: SERVER_KEY }],
    ['server key and password', { serverKey: SERVER_KEY, password: 'pencil' }],
    [
      'both keys and a wrong password (unused, as in libpq)',
      { clientKey: CLIENT_KEY, serverKey: SERVER_KEY, password: 'x' },
    ],
  ] as const) {
    const exchange = rfc(input)
    t.equal(exchange.clientFirst(), `n,,n=user,r=${NONCE}`, `${name}: client-first`)
    t.equal(exchange.clientFinal(SERVER_FIRST), CLIENT_FINAL, `${name}: the RFC's proof`)
    t.doesNotThrow(() => exchange.verifyServerFinal(SERVER_FINAL), `${name}: the RFC's server signature checks`)
  }
})

t.test('a server signature that cannot be checked, or does not match, is refused as libpq refuses it', async (t) => {
  const cases = [
    ['a client key alone (libpq 18 derives no server key)', { clientKey: CLIENT_KEY }, /scram_server_key/],
    ['a client key and a password', { clientKey: CLIENT_KEY, password: 'pencil' }, /scram_server_key/],
    ['a wrong server key', { clientKey: CLIENT_KEY, serverKey: CLIENT_KEY }, /not the key the server stores/],
    ['no keys and a wrong password', { password: 'pen' }, /does not know this password/],
  ] as const
  for (const [name, input, hint] of cases) {
    const exchange = rfc(input)
    exchange.clientFinal(SERVER_FIRST)
    try {
      exchange.verifyServerFinal(SERVER_FINAL)
      t.fail(`${name}: accepted`)
    } catch (error) {
      t.equal((error as PgSslError).code, 'SERVER_SIGNATURE_MISMATCH', name)
      t.equal((error as PgSslError).message, 'incorrect server signature', `${name}: libpq's words`)
      t.match((error as PgSslError).hint, hint, `${name}: the hint says why`)
    }
  }
})

t.test('the gs2 header and the channel-binding data, as libpq sends them', async (t) => {
  const data = createHash('sha256').update('a certificate').digest()
  const plus = new ScramExchange({
    mechanism: 'SCRAM-SHA-256-PLUS',
    binding: { data },
    nonce: NONCE,
    password: 'pencil',
  })
  t.equal(plus.clientFirst(), `p=tls-server-end-point,,n=,r=${NONCE}`, 'PLUS: p=tls-server-end-point, user left empty')
  const final = plus.clientFinal(SERVER_FIRST)
  const c = Buffer.from(/^c=([^,]+)/.exec(final)![1]!, 'base64')
  t.same(c, Buffer.concat([Buffer.from('p=tls-server-end-point,,'), data]), 'c= carries the header and the hash')
  const y = new ScramExchange({ mechanism: 'SCRAM-SHA-256', binding: { couldBind: true }, nonce: NONCE })
  t.equal(
    y.clientFirst(),
    `y,,n=,r=${NONCE}`,
    'TLS without PLUS offered: "y" (client could bind, server did not offer)',
  )
  t.match(y.clientFinal(SERVER_FIRST), /^c=eSws,/, 'c= is base64 of "y,,"')
  const n = new ScramExchange({ mechanism: 'SCRAM-SHA-256', binding: { couldBind: false }, nonce: NONCE })
  t.equal(n.clientFirst(), `n,,n=,r=${NONCE}`, 'no TLS, or channel_binding=disable: "n"')
})

t.test("malformed server messages get libpq's words", async (t) => {
  const first = (text: string) => failure(() => rfc({ password: 'pencil' }).clientFinal(text))
  const r = `r=${NONCE}xyz`
  t.same(first(''), { code: 'PROTOCOL_VIOLATION', message: 'malformed SCRAM message (empty message)' })
  t.same(first(`${r}\0,s=AAAA,i=1`), {
    code: 'PROTOCOL_VIOLATION',
    message: 'malformed SCRAM message (length mismatch)',
  })
  t.same(first('s=AAAA'), { code: 'PROTOCOL_VIOLATION', message: 'malformed SCRAM message (attribute "r" expected)' })
  t.same(first('rx'), {
    code: 'PROTOCOL_VIOLATION',
    message: 'malformed SCRAM message (expected character "=" for attribute "r")',
  })
  t.same(first('r=someoneelse,s=AAAA,i=1'), {
    code: 'PROTOCOL_VIOLATION',
    message: 'invalid SCRAM response (nonce mismatch)',
  })
  t.same(first(`${r},s=A,i=1`), { code: 'PROTOCOL_VIOLATION', message: 'malformed SCRAM message (invalid salt)' })
  for (const i of ['0', '-1', 'x', '1x', ''])
    t.same(first(`${r},s=AAAA,i=${i}`).message, 'malformed SCRAM message (invalid iteration count)', `i=${i}`)
  t.equal(
    first(`${r},s=AAAA,i=1,garbage`).code,
    'none',
    'garbage after i= is only noted by libpq: the exchange goes on',
  )
  const final = (text: string) =>
    failure(() => {
      const exchange = rfc({ password: 'pencil' })
      exchange.clientFinal(SERVER_FIRST)
      exchange.verifyServerFinal(text)
    })
  t.same(final('e=invalid-proof'), {
    code: 'SERVER_REJECTED',
    message: 'error received from server in SCRAM exchange: invalid-proof',
  })
  t.same(final('v=AAAA'), { code: 'PROTOCOL_VIOLATION', message: 'malformed SCRAM message (invalid server signature)' })
  t.same(final('x=1'), { code: 'PROTOCOL_VIOLATION', message: 'malformed SCRAM message (attribute "v" expected)' })
})

t.test("PostgreSQL's base64 decoder: the lengths libpq 18 reported for each input", async (t) => {
  // Probed with libpq 18.4: scram_client_key=<input> → "invalid SCRAM client key" (undefined) or "... length: N".
  const probed: Array<[string, number | undefined]> = [
    ['abcd', 3],
    ['abc=', 2],
    ['ab==', 1],
    ['a===', undefined],
    ['abc', undefined],
    ['abcde', undefined],
    ['ab=c', 1],
    ['ab==abcd', 2],
    ['abcd====', undefined],
    ['ab\\ncd', undefined],
    ['-_ab', undefined],
    ['YWJj\tZA==', undefined],
    ['YW Jj', undefined],
    ['', 0],
  ]
  for (const [input, length] of probed) t.equal(pgBase64Decode(input)?.length, length, JSON.stringify(input))
  t.same(pgBase64Decode('q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s='), Buffer.alloc(32, 0xab), 'a 32-byte key')
})

const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
const configOf = (conninfo: string, dialect?: 'opengauss') =>
  connectionConfig(
    connectionSettings({ connectionString: conninfo, env: {}, ...(dialect ? { dialect } : {}) }, noFiles),
  )

t.test("the settings: libpq 18's checks before any traffic, and the keys never shown", async (t) => {
  const key = CLIENT_KEY.toString('base64')
  const config = configOf(`host=h scram_client_key=${key} scram_server_key=${SERVER_KEY.toString('base64')}`)
  t.same(config.scramKeys?.client, CLIENT_KEY, 'the client key, decoded')
  t.same(config.scramKeys?.server, SERVER_KEY, 'the server key, decoded')
  t.notMatch(inspect(config, { depth: 5 }), /Client|[0-9a-f]{2} [0-9a-f]{2}/, 'inspect shows no key bytes')
  t.notOk(JSON.stringify(config).includes(key), 'JSON shows no key')
  t.equal(configOf('host=h').scramKeys, undefined, 'no keys: pg runs SCRAM itself')
  for (const [conninfo, message] of <Array<[string, string]>>[
    ['scram_client_key=notbase64!!', 'invalid SCRAM client key'],
    ['scram_server_key=abc', 'invalid SCRAM server key'],
    ['scram_client_key=AAAAAAAAAAAAAAAAAAAAAA==', 'invalid SCRAM client key length: 16'],
    ["scram_server_key=''", 'invalid SCRAM server key length: 0'],
  ]) {
    const seen = failure(() => configOf(`host=h ${conninfo}`))
    t.same(seen, { code: 'INVALID_SETTING', message }, conninfo)
  }
  const og = failure(() => configOf(`host=h scram_client_key=${key}`, 'opengauss'))
  t.same(og, { code: 'INVALID_SETTING', message: 'scram_client_key is not a setting of the openGauss dialects' })
  t.notOk(og.message.includes(key), 'the refusal does not show the key')
})

t.test('the SASL messages on the wire', async (t) => {
  const initial = saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc'))
  t.same(
    initial,
    Buffer.concat([
      Buffer.from([0x70, 0, 0, 0, 4 + 14 + 4 + 11]),
      Buffer.from('SCRAM-SHA-256\0'),
      Buffer.from([0, 0, 0, 11]),
      Buffer.from('n,,n=,r=abc'),
    ]),
    "SASLInitialResponse: 'p', length, mechanism, data length, data",
  )
  const request = (code: number, text: string) => {
    const head = Buffer.alloc(4)
    head.writeUInt32BE(code)
    return Buffer.concat([head, Buffer.from(text)])
  }
  const plain = scramWithKeys({
    clientKey: CLIENT_KEY,
    serverKey: SERVER_KEY,
    password: undefined,
    channelBinding: 'disable',
    serverCertificate: Buffer.from('a certificate'),
  })
  const first = plain(10, request(10, 'SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0')).send!
  t.match(first.toString('latin1'), /SCRAM-SHA-256\0/, 'channel_binding=disable: the plain mechanism, PLUS offered')
  t.notMatch(first.toString('latin1'), /PLUS/, 'never PLUS with channel_binding=disable')
  t.match(first.toString('latin1'), /n,,n=,r=/, 'and the "n" flag: the client did not want to bind')
  t.same(
    failure(() => plain(11, request(11, 'r=x,s=AAAA,i=1'))).message,
    'invalid SCRAM response (nonce mismatch)',
    'the next request goes to the same exchange',
  )
  const parties = { tls: false, channelBinding: 'prefer', scramWithKeys: plain } as const
  t.same(
    failure(() => saslAnswerer(parties).takes(request(10, 'SCRAM-SHA-1\0\0'))),
    {
      code: 'UNSUPPORTED_AUTH',
      message: "none of the server's SASL authentication mechanisms are supported",
    },
  )
  t.same(
    failure(() => saslAnswerer(parties).takes(request(10, 'SCRAM-SHA-256-PLUS\0\0'))).message,
    'server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection',
  )
  t.equal(
    saslAnswerer(parties).takes(request(10, 'OAUTHBEARER\0\0')),
    false,
    'OAUTHBEARER without its party: not taken',
  )
  const none = scramWithKeys({
    clientKey: CLIENT_KEY,
    serverKey: SERVER_KEY,
    password: undefined,
    channelBinding: 'prefer',
    serverCertificate: undefined,
  })
  t.same(failure(() => none(11, request(11, 'r=x'))).message, 'invalid SASL state', 'a continue before the start')
})

/**
 * openGauss's start-up exchange (lib/postgres/opengauss/exchange.ts) without a socket: requests
 * written out byte by byte as openGauss's server lays them out (sendAuthRequest in auth.cpp) for
 * each protocol minor a client may ask for, and the exact bytes the client must answer (as
 * openGauss's libpq builds them in fe-connect.cpp and fe-auth.cpp). The proofs are the known
 * answers of opengauss-auth.test.ts, computed outside this code.
 */
import t from 'tap'
import pg from '../lib/postgres/pg.js'
import { PgSslError } from '../lib/engine/errors.js'
import { sha256Response, sha256ServerSignature } from '../lib/postgres/opengauss/auth.js'
import { type ExchangeStep, OpenGaussExchange } from '../lib/postgres/opengauss/exchange.js'

const user = 'gauss'
const password = 'Gauss@123'
const salt = '0123456789abcdef'.repeat(4)
const token = '89abcdef'
const md5Salt = Buffer.from('01020304', 'hex')

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const R = 0x52
const request = (...parts: Buffer[]) => ({ type: R, body: Buffer.concat(parts) })
/** AUTH_REQ_SHA256 (10) with the stored method, then what follows it for the protocol minor. */
const sha256Request = (stored: number, ...rest: Buffer[]) =>
  request(int32(10), int32(stored), Buffer.from(salt, 'latin1'), Buffer.from(token, 'latin1'), ...rest)
/** A PasswordMessage as the client must send it: 'p', int32 length, the answer, NUL. */
const passwordMessage = (text: string): string =>
  Buffer.concat([Buffer.from('p'), int32(text.length + 5), Buffer.from(`${text}\0`)]).toString('hex')

function answer(step: ExchangeStep): string {
  if (step.kind !== 'password') throw new Error(`expected a password step, got ${step.kind}`)
  return step.answer(password).toString('hex')
}
function failure(run: () => unknown): PgSslError | undefined {
  try {
    run()
  } catch (error) {
    if (error instanceof PgSslError) return error
    throw error
  }
  return undefined
}

t.test('the start-up packet asks for the protocol minor', async (t) => {
  for (const minor of [51, 50, 0]) {
    const packet = new OpenGaussExchange(user, minor).startupMessage({ user, database: 'postgres' })
    const body = Buffer.from('user\0gauss\0database\0postgres\0\0')
    t.equal(packet.readInt32BE(0), body.length + 8, `3.${minor}: length`)
    t.equal(packet.readInt32BE(4), (3 << 16) | minor, `3.${minor}: version word`)
    t.equal(packet.subarray(8).toString('latin1'), body.toString('latin1'), `3.${minor}: parameters`)
  }
})

t.test('protocol 3.51 (gsql default): SHA256 with the iteration count', async (t) => {
  const exchange = new OpenGaussExchange(user, 51)
  const step = exchange.receive(sha256Request(2, int32(10000)))
  t.equal(
    answer(step),
    passwordMessage('24c1aea9b952aace2fe0cb6619b66218950dd406aafc02af3790ad674e90a4cb'),
    'the proof with 10000 iterations',
  )
  t.equal(exchange.receive(request(int32(0))).kind, 'authenticated', 'AuthenticationOk')
  t.equal(exchange.protocolVersion, '3.51')
  t.equal(exchange.serverSignatureVerified, false, 'no signature in 3.51')
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(sha256Request(2))),
    passwordMessage(sha256Response(password, salt, token, 2048)),
    'no iteration count sent: 2048, as gsql assumes',
  )
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(sha256Request(0, int32(10000)))),
    passwordMessage('24c1aea9b952aace2fe0cb6619b66218950dd406aafc02af3790ad674e90a4cb'),
    'a plain stored password (method 0) takes the SHA256 layout too',
  )
})

t.test('protocol 3.50: neither the signature nor the iteration count is read', async (t) => {
  const exchange = new OpenGaussExchange(user, 50)
  // What follows the token is not read at 3.50, whatever it holds.
  t.equal(
    answer(exchange.receive(sha256Request(2, int32(10000)))),
    passwordMessage(sha256Response(password, salt, token, 2048)),
  )
  t.equal(exchange.serverSignatureVerified, false)
})

t.test('protocol 3.0: the server proves it knows the password before the client answers', async (t) => {
  const signature = Buffer.from(sha256ServerSignature(password, salt, token, 2048), 'latin1')
  const exchange = new OpenGaussExchange(user, 0)
  t.equal(exchange.serverSignatureVerified, false, 'not before the request')
  t.equal(
    answer(exchange.receive(sha256Request(2, signature))),
    passwordMessage(sha256Response(password, salt, token, 2048)),
  )
  t.equal(exchange.serverSignatureVerified, true, 'the signature matched')

  const impostor = new OpenGaussExchange(user, 0).receive(sha256Request(2, Buffer.alloc(64, 0x61)))
  const mismatch = failure(() => answer(impostor))
  t.equal(mismatch?.code, 'SERVER_SIGNATURE_MISMATCH', 'a wrong signature: no proof is made')
  t.match(mismatch?.message, /protocol 3\.0/, 'naming the protocol')
  t.notMatch(mismatch?.message, new RegExp(password), 'never the password')
  t.equal(
    sha256ServerSignature(password, salt, token, 10000),
    'dfcb582a62b57fd19ee994f02587882ba104c2e10b3318ad2020e945ea890bf5',
    'the signature function, checked against its known answer',
  )
})

t.test('a PostgreSQL server names its version in NegotiateProtocolVersion', async (t) => {
  const exchange = new OpenGaussExchange(user, 51)
  const step = exchange.receive({ type: 0x76, body: Buffer.concat([int32(0x0003_0000), int32(0)]) })
  t.equal(step.kind, 'read-on')
  t.equal(exchange.protocolVersion, '3.0', 'the session goes on in 3.0')
  // ...and in 3.0 a SHA256 request carries a signature, as gsql then reads it.
  const signature = Buffer.from(sha256ServerSignature(password, salt, token, 2048), 'latin1')
  answer(exchange.receive(sha256Request(2, signature)))
  t.equal(exchange.serverSignatureVerified, true)
  const newer = new OpenGaussExchange(user, 50)
  newer.receive({ type: 0x76, body: Buffer.concat([int32(0x0003_0002), int32(0)]) })
  t.equal(newer.protocolVersion, '3.2', "PostgreSQL 18's 3.2 is below 3.50")
})

t.test('the other password methods', async (t) => {
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(request(int32(10), int32(1), md5Salt))),
    passwordMessage('sha256493e2c95973d6d08d4cf7999d528ed1c5155aefd739d686c8c868268d652a079'),
    'SHA256 for a password stored as MD5 (method 1, md5 salt[4]): sha256(md5(password + user) + md5 salt)',
  )
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(request(int32(11), Buffer.from(salt, 'latin1'), md5Salt))),
    passwordMessage('md52ba795c9d288d7dd9c4265e40eb7e904'),
    'MD5_SHA256 (11): salt[64] md5 salt[4]',
  )
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(request(int32(5), md5Salt))),
    passwordMessage('md557b20d855586bf90e430ccc7ea136765'),
    "PostgreSQL's MD5 (5)",
  )
  t.equal(
    answer(new OpenGaussExchange(user, 51).receive(request(int32(3)))),
    passwordMessage(password),
    'cleartext (3)',
  )
})

t.test('refused, by code, before anything is answered', async (t) => {
  const refused = (body: Buffer, type = R) => failure(() => new OpenGaussExchange(user, 51).receive({ type, body }))
  t.equal(refused(int32(13))?.code, 'UNSUPPORTED_AUTH', 'SM3 (13)')
  t.match(refused(int32(13))?.hint, /password_encryption_type=2/, 'with what to do')
  t.equal(refused(int32(10))?.code, 'PROTOCOL_VIOLATION', '10 with no stored method (not read as SASL)')
  t.equal(refused(Buffer.concat([int32(10), int32(3), Buffer.alloc(80)]))?.code, 'UNSUPPORTED_AUTH', 'stored method 3')
  t.equal(refused(int32(99))?.code, 'UNSUPPORTED_AUTH', 'an unknown method')
  t.equal(refused(int32(0), 0x53)?.code, 'PROTOCOL_VIOLATION', 'a ParameterStatus before AuthenticationOk')
  for (const [what, body] of [
    ['SHA256 without its token', Buffer.concat([int32(10), int32(2), Buffer.from(salt)])],
    ['SHA256 for MD5 without the salt', Buffer.concat([int32(10), int32(1)])],
    ['MD5 without the salt', int32(5)],
    ['MD5_SHA256 without the md5 salt', Buffer.concat([int32(11), Buffer.from(salt)])],
  ] as const) {
    const problem = refused(body)
    t.equal(problem?.code, 'PROTOCOL_VIOLATION', what)
    t.match(problem?.message, /message contents do not agree with length in message type "R"/, "gsql's words")
  }
  const old = failure(() => new OpenGaussExchange(user, 0).receive(sha256Request(2)))
  t.equal(old?.code, 'PROTOCOL_VIOLATION', 'protocol 3.0 without the signature')
})

t.test("the server's error becomes pg's DatabaseError", async (t) => {
  const body = Buffer.from('SFATAL\0C28P01\0MInvalid username/password,login denied.\0HCheck the password\0\0')
  let thrown: unknown
  try {
    new OpenGaussExchange(user, 51).receive({ type: 0x45, body })
  } catch (error) {
    thrown = error
  }
  t.type(thrown, pg.DatabaseError)
  t.match(thrown, { severity: 'FATAL', code: '28P01', message: 'Invalid username/password,login denied.' })
  t.match(thrown, { hint: 'Check the password' })
})

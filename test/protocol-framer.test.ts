/**
 * The start-up framer (lib/postgres/protocol/) byte by byte, in the manner of pg-protocol's
 * inbound-parser tests: messages written out as bytes, fed whole, split and one byte at a time;
 * libpq's bounds at the 5-byte header for each phase; and fast-check's garbage, truncation and
 * huge lengths, which may only ever end in a coded PROTOCOL_VIOLATION.
 */
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import { startupReader } from '../lib/postgres/connect/startup-guard.js'
import { BackendFramer, type FrameRules, type FramedMessage } from '../lib/postgres/protocol/framer.js'
import { backendKeyData, parameterStatus, responseFields, saslMechanisms } from '../lib/postgres/protocol/messages.js'
import { AFTER_AUTHENTICATION, BEFORE_AUTHENTICATION } from '../lib/postgres/protocol/startup-rules.js'

/** One backend message: type, int32 length (counting itself), body. */
function message(type: string, body: Buffer | number[] = []): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(bytes.length + 4, 1)
  return Buffer.concat([head, bytes])
}
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const cstrings = (...parts: string[]): Buffer => Buffer.from(parts.map((p) => `${p}\0`).join(''), 'utf8')
/** Just a header: what a server claims is coming. */
const header = (type: string, length: number): Buffer => {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(length, 1)
  return head
}

const authenticationOk = message('R', int32(0))
const md5Request = message('R', Buffer.concat([int32(5), Buffer.from([1, 2, 3, 4])]))
const saslRequest = message('R', Buffer.concat([int32(10), cstrings('SCRAM-SHA-256', '')]))
const parameter = message('S', cstrings('server_version', '18.4'))
const backendKey = message('K', Buffer.concat([int32(4242), Buffer.from([9, 8, 7, 6])]))
const longBackendKey = message('K', Buffer.concat([int32(4242), Buffer.alloc(256, 7)]))
const readyForQuery = message('Z', Buffer.from('I'))
const errorResponse = message('E', cstrings('SFATAL', 'C28P01', 'Mpassword authentication failed', ''))
const negotiate = message('v', Buffer.concat([int32(0x0003_0000), int32(0)]))

/**
 * Every message a framer gives for `chunks`, in order, as plain values. Checks each message's
 * `start` on the way: where it began in its chunk (the chunk's bytes from there are the message as
 * sent), or -1 exactly when it began in an earlier chunk.
 */
function frame(rules: FrameRules | ((m: FramedMessage, now: FrameRules) => FrameRules), chunks: Buffer[]) {
  const framer = new BackendFramer(typeof rules === 'function' ? BEFORE_AUTHENTICATION : rules)
  const out: Array<{ type: string; body: string }> = []
  let chunkAt = 0 // where the chunk begins in the stream
  let messageAt = 0 // where the next message begins in the stream
  for (const chunk of chunks) {
    for (const m of framer.messages(chunk)) {
      const sent = Buffer.concat([Buffer.from([m.type]), int32(m.body.length + 4), m.body])
      const start = messageAt >= chunkAt ? messageAt - chunkAt : -1
      if (m.start !== start) throw new Error(`start ${m.start}, but the message began at ${start}`)
      if (start >= 0 && !chunk.subarray(start, m.end).equals(sent)) throw new Error('start..end is not the message')
      messageAt += sent.length
      out.push({ type: String.fromCharCode(m.type), body: m.body.toString('hex') })
      if (typeof rules === 'function') framer.rules = rules(m, framer.rules)
    }
    chunkAt += chunk.length
  }
  return out
}
/** The start-up's own phases: from AuthenticationOk on, the rules after authentication. */
const phases = (m: FramedMessage, now: FrameRules): FrameRules =>
  now === AFTER_AUTHENTICATION || (m.type === 0x52 && m.body.readUInt32BE(0) === 0)
    ? AFTER_AUTHENTICATION
    : BEFORE_AUTHENTICATION
/** The same bytes, one byte per chunk. */
const bytewise = (bytes: Buffer): Buffer[] => [...bytes].map((b) => Buffer.from([b]))
/** The problem a framer refuses `chunks` with, or undefined. */
function refusal(rules: FrameRules, chunks: Buffer[]): PgSslError | undefined {
  try {
    frame(rules, chunks)
    return undefined
  } catch (error) {
    if (!(error instanceof PgSslError)) throw error
    return error
  }
}

/** Each header alone, checked against the rules: refused at once (its body never waited for), or allowed. */
function checkBounds(t: Test, rules: FrameRules, cases: ReadonlyArray<[string, number, 'allowed' | 'refused']>) {
  for (const [type, length, verdict] of cases) {
    const problem = refusal(rules, [header(type, length)])
    t.equal(problem === undefined ? 'allowed' : 'refused', verdict, `${type} of length ${length}: ${verdict}`)
    if (problem) t.match(problem.message, /length \d+\)?$/, 'the message names the length')
  }
}

t.test('whole messages, as they arrive', async (t) => {
  t.same(frame(BEFORE_AUTHENTICATION, [authenticationOk]), [{ type: 'R', body: '00000000' }], 'AuthenticationOk')
  t.same(
    frame(BEFORE_AUTHENTICATION, [md5Request]),
    [{ type: 'R', body: '0000000501020304' }],
    'an MD5 request with its salt',
  )
  const startup = Buffer.concat([authenticationOk, parameter, backendKey, readyForQuery])
  const expected = [
    { type: 'R', body: '00000000' },
    { type: 'S', body: cstrings('server_version', '18.4').toString('hex') },
    { type: 'K', body: '0000109209080706' },
    { type: 'Z', body: '49' },
  ]
  t.same(frame(phases, [startup]), expected, 'a whole start-up in one chunk')
  t.same(frame(phases, bytewise(startup)), expected, 'the same, one byte at a time')
  for (let cut = 1; cut < startup.length; cut++) {
    const split = frame(phases, [startup.subarray(0, cut), startup.subarray(cut)])
    if (JSON.stringify(split) !== JSON.stringify(expected)) t.fail(`split at byte ${cut} gives other messages`)
  }
  t.pass('split at every byte: the same messages')
})

t.test('a caller that stops after one message leaves the rest unread', async (t) => {
  const framer = new BackendFramer(BEFORE_AUTHENTICATION)
  const chunk = Buffer.concat([authenticationOk, parameter])
  const [first] = framer.messages(chunk)
  t.equal(first?.end, authenticationOk.length, 'end is where the next message starts')
  t.ok(framer.atBoundary, 'the framer waits at the boundary, nothing of S read')
  // The S is not an authentication request: had the framer read it, these rules would refuse it.
  framer.rules = AFTER_AUTHENTICATION
  t.same(
    [...framer.messages(chunk.subarray(first?.end))].map((m) => m.type),
    [0x53],
    'the rest, given again, is read under the new rules',
  )
})

t.test('a message split across chunks is reassembled, and a chunk is never copied needlessly', async (t) => {
  const framer = new BackendFramer(BEFORE_AUTHENTICATION)
  t.same([...framer.messages(saslRequest.subarray(0, 3))], [], 'half a header: nothing yet')
  t.notOk(framer.atBoundary, 'inside a message')
  t.same([...framer.messages(saslRequest.subarray(3, 10))], [], 'header and part of the body: nothing yet')
  const [whole] = framer.messages(saslRequest.subarray(10))
  t.equal(whole?.body.toString('hex'), saslRequest.subarray(5).toString('hex'), 'the body whole')
  t.equal(whole?.start, -1, 'it began in an earlier chunk: no start in this one')
  const [inOne] = new BackendFramer(BEFORE_AUTHENTICATION).messages(saslRequest)
  t.equal(inOne?.body.buffer, saslRequest.buffer, 'a body within one chunk is a view of it')
  t.same([inOne?.start, inOne?.end], [0, saslRequest.length], 'and the message as it came is start..end')
})

t.test('before AuthenticationOk: libpq’s types and bounds, at the header', async (t) => {
  t.same(
    frame(BEFORE_AUTHENTICATION, [errorResponse]).map((m) => m.type),
    ['E'],
    'an error is allowed',
  )
  t.same(
    frame(BEFORE_AUTHENTICATION, [negotiate]).map((m) => m.type),
    ['v'],
    'NegotiateProtocolVersion is allowed',
  )
  const http = refusal(BEFORE_AUTHENTICATION, [Buffer.from('H')])
  t.equal(http?.code, 'PROTOCOL_VIOLATION', 'an HTTP answer is refused at its first byte')
  t.equal(http?.message, 'expected authentication request from server, but received H', "libpq's words")
  t.match(http?.hint, /PostgreSQL\/openGauss server/, 'with a hint')
  t.match(refusal(BEFORE_AUTHENTICATION, [Buffer.from([0x00])])?.message, /received 0x00$/, 'unprintable: in hex')
  t.match(refusal(BEFORE_AUTHENTICATION, [parameter])?.message, /received S$/, 'S before authentication')
  checkBounds(t, BEFORE_AUTHENTICATION, [
    ['R', 7, 'refused'],
    ['R', 8, 'allowed'],
    ['R', 2000, 'allowed'],
    ['R', 2001, 'refused'],
    ['v', 7, 'refused'],
    ['v', 2001, 'refused'],
    ['E', 7, 'refused'],
    ['E', 30000, 'allowed'],
    ['E', 30001, 'refused'],
    ['R', 0x7fff_ffff, 'refused'],
    ['R', 0xffff_ffff, 'refused'],
  ])
})

t.test('after AuthenticationOk: start-up messages, 30000 bytes, a cancel key of 4 to 256 bytes', async (t) => {
  t.same(
    frame(AFTER_AUTHENTICATION, [parameter, longBackendKey, readyForQuery]).map((m) => m.type),
    ['S', 'K', 'Z'],
    "protocol 3.2's 256-byte cancel key is allowed",
  )
  t.match(
    refusal(AFTER_AUTHENTICATION, [message('D', [0, 0])])?.message,
    /unexpected message type "D" from the server during start-up/,
    'a DataRow during start-up is refused',
  )
  checkBounds(t, AFTER_AUTHENTICATION, [
    ['S', 3, 'refused'],
    ['S', 30000, 'allowed'],
    ['S', 30001, 'refused'],
    ['E', 1_000_000, 'allowed'],
    ['N', 1_000_000, 'allowed'],
    ['A', 1_000_000, 'allowed'],
    ['K', 11, 'refused'],
    ['K', 12, 'allowed'],
    ['K', 264, 'allowed'],
    ['K', 265, 'refused'],
  ])
})

t.test('a refusal is final: every later call throws it again', async (t) => {
  const framer = new BackendFramer(BEFORE_AUTHENTICATION)
  const first = (() => {
    try {
      ;[...framer.messages(Buffer.from('HTTP/1.1 400'))]
    } catch (error) {
      return error
    }
  })()
  t.type(first, PgSslError)
  t.throws(() => [...framer.messages(authenticationOk)], first as Error, 'the same error, nothing framed')
})

t.test('what the start-up reads from the bodies', async (t) => {
  t.same(parameterStatus(cstrings('in_hot_standby', 'off')), ['in_hot_standby', 'off'])
  const plusOffer = message('R', Buffer.concat([int32(10), cstrings('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', '')]))
  t.same(saslMechanisms(plusOffer.subarray(5)), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'], 'the SASL offer')
  t.same(saslMechanisms(saslRequest.subarray(5)), ['SCRAM-SHA-256'])
  const chunk = Buffer.from(longBackendKey)
  const key = backendKeyData(chunk.subarray(5))
  t.equal(key.processId, 4242)
  t.equal(key.key.length, 256, 'the whole 3.2 key')
  chunk.fill(0)
  t.equal(key.key[0], 7, 'copied: the chunk may be reused')
  t.same(responseFields(errorResponse.subarray(5)), {
    S: 'FATAL',
    C: '28P01',
    M: 'password authentication failed',
  })
  t.same(responseFields(Buffer.from('SFATAL')), {}, 'an unterminated field is not read')
})

t.test('the start-up reader: phases, the auth guard, parameters, the cancel key', async (t) => {
  const seen: string[] = []
  const read = startupReader({
    phase: 'auth',
    protocol: { min: 0, max: 2 }, // a 256-byte cancel key is protocol 3.2's (libpq 18 refuses it in 3.0)
    onAuthenticationRequest: (code) => {
      seen.push(`R${code}`)
      return undefined
    },
    onParameterStatus: (name, value) => seen.push(`${name}=${value}`),
    onBackendKey: (pid, key) => seen.push(`K${pid}/${key.length}`),
  })
  t.equal(read(saslRequest), undefined, 'a SASL request: go on')
  t.equal(read(Buffer.concat([authenticationOk, parameter])), undefined, 'AuthenticationOk and a parameter: go on')
  t.equal(read(Buffer.concat([longBackendKey, readyForQuery])), 'done', 'ReadyForQuery: done')
  t.same(seen, ['R10', 'R0', 'server_version=18.4', 'K4242/256'])

  const refused = new PgSslError('CHANNEL_BINDING_REQUIRED', 'channel binding required, but server requested md5')
  const guarded = startupReader({ phase: 'auth', onAuthenticationRequest: () => refused })
  t.equal(guarded(md5Request), refused, "the guard's refusal ends the start-up")

  const late = startupReader({ phase: 'auth' })
  const afterOk = late(Buffer.concat([authenticationOk, message('R', int32(0))]))
  t.equal(afterOk instanceof PgSslError && afterOk.code, 'PROTOCOL_VIOLATION', 'R after Ok')

  const openGauss = startupReader({ phase: 'after-auth' })
  t.equal(openGauss(Buffer.concat([parameter, backendKey, readyForQuery])), 'done', "after openGauss's own start-up")
})

t.test('fuzz: whatever the bytes, messages or a coded PROTOCOL_VIOLATION', async (t) => {
  const ruleSets = [BEFORE_AUTHENTICATION, AFTER_AUTHENTICATION]
  const known = [authenticationOk, md5Request, saslRequest, parameter, backendKey, readyForQuery, errorResponse]
  // Valid messages, headers with lengths of every size, and garbage, mixed and cut anywhere.
  const piece = fc.oneof(
    fc.constantFrom(...known),
    fc
      .tuple(fc.constantFrom(...'RESvKZNAHD\0'), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.nat()))
      .map(([type, length]) => header(type, length)),
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  )
  const stream = fc.array(piece, { maxLength: 12 }).map((pieces) => Buffer.concat(pieces))
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (bytes, cuts, phased) => {
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
      const chunks = [0, ...points].map((from, i) => bytes.subarray(from, points[i] ?? bytes.length))
      const outcome = (parts: Buffer[]): string => {
        try {
          return JSON.stringify(frame(phased ? phases : ruleSets[bytes.length % 2]!, parts))
        } catch (error) {
          if (!(error instanceof PgSslError) || error.code !== 'PROTOCOL_VIOLATION') throw error
          return `refused: ${error.message}`
        }
      }
      return outcome(chunks) === outcome([bytes])
    }),
    { seed: 25, numRuns: 3000 },
  )
  t.pass('3000 streams: only messages or PROTOCOL_VIOLATION, the same however they are split')
})

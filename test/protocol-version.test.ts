/**
 * Protocol 3.2 for the postgres dialect without a server: min_protocol_version and
 * max_protocol_version read as libpq 18 reads them, the server's NegotiateProtocolVersion checked
 * with libpq's words, the cancel key's length per version, and what pg is given of the start-up
 * (NegotiateProtocolVersion taken out, whatever the chunking). Real servers and libpq 18 itself:
 * test/differential/libpq-protocol.test.ts.
 */
import t from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import { connectionConfig } from '../lib/postgres/connect/connection-config.js'
import { startupReader } from '../lib/postgres/connect/startup-guard.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import { startupPacket } from '../lib/postgres/protocol/messages.js'
import { checkCancelKey, negotiatedMinor, protocolRange } from '../lib/postgres/protocol/version.js'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'

const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
const int32s = (...values: number[]): Buffer =>
  Buffer.concat(values.map((v) => Buffer.from([v >>> 24, v >> 16, v >> 8, v].map((b) => b & 0xff))))
/** NegotiateProtocolVersion's body: the newest version, then the unknown options. */
const negotiation = (version: number, ...options: string[]) =>
  Buffer.concat([int32s(version, options.length), ...options.map((o) => Buffer.from(`${o}\0`))])
const V3_0 = 0x30000
const V3_2 = 0x30002

t.test('the settings, as libpq 18 reads them', async (t) => {
  t.same(protocolRange(undefined, undefined), { min: 0, max: 0 }, 'libpq 18 asks for 3.0 by default')
  t.same(protocolRange(undefined, 'latest'), { min: 0, max: 2 })
  t.same(protocolRange(undefined, '3.2'), { min: 0, max: 2 })
  t.same(protocolRange('3.2', undefined), { min: 2, max: 2 }, 'a minimum above 3.0 asks for the latest')
  t.same(protocolRange('latest', undefined), { min: 2, max: 2 })
  t.same(protocolRange('3.0', '3.0'), { min: 0, max: 0 })
  for (const [min, max, message] of [
    ['3.1', undefined, 'invalid min_protocol_version value: "3.1"'],
    [undefined, '3', 'invalid max_protocol_version value: "3"'],
    [undefined, '4.0', 'invalid max_protocol_version value: "4.0"'],
    ['3.2', '3.0', '"min_protocol_version" is greater than "max_protocol_version"'],
    ['latest', '3.0', '"min_protocol_version" is greater than "max_protocol_version"'],
  ] as const) {
    t.throws(() => protocolRange(min, max), { code: 'INVALID_SETTING', message }, `${min} / ${max}`)
  }
  const config = (options: Record<string, unknown>) =>
    connectionConfig(connectionSettings({ env: {}, ...options } as never, noFiles))
  t.same(config({ connectionString: 'max_protocol_version=latest' }).protocol, { min: 0, max: 2 })
  t.same(config({ env: { PGMINPROTOCOLVERSION: '3.2' } }).protocol, { min: 2, max: 2 }, 'PGMINPROTOCOLVERSION')
  t.throws(() => config({ env: { PGMAXPROTOCOLVERSION: '3.1' } }), {
    code: 'INVALID_SETTING',
    setting: 'max_protocol_version',
  })
  t.equal(config({ dialect: 'opengauss' }).protocol, undefined, 'the openGauss dialects ask for their own versions')
  t.throws(() => config({ dialect: 'opengauss', connectionString: 'min_protocol_version=3.0' }), {
    code: 'INVALID_SETTING',
    setting: 'min_protocol_version',
  })
})

t.test("the server's NegotiateProtocolVersion, with libpq 18's words", async (t) => {
  const wanted = { min: 0, max: 2 }
  t.equal(negotiatedMinor(negotiation(V3_0), wanted), 0, 'a server before 18: the session runs in 3.0')
  const refusals: Array<[Buffer, { min: number; max: number }, string | RegExp, string?]> = [
    [
      negotiation(V3_0),
      { min: 2, max: 2 },
      'server only supports protocol version 3.0, but "min_protocol_version" was set to 3.2',
      'PROTOCOL_VERSION',
    ],
    [negotiation(V3_2), wanted, /asks for no changes/],
    [negotiation(0x30003), wanted, /downgrade to a higher-numbered version/],
    [negotiation(0x40000), wanted, /downgrade to a higher-numbered version/],
    [negotiation(0x20000), wanted, /pre-3\.0 protocol version/],
    [negotiation(0x30001), wanted, /non-existent 3\.1 protocol version/],
    [int32s(V3_0, -1), wanted, /negative number of unsupported parameters/],
    [
      negotiation(V3_0, '_pq_.compression'),
      wanted,
      /unsupported parameter that was not requested \("_pq_.compression"\)/,
    ],
    [negotiation(V3_0, 'compression'), wanted, /without a "_pq_." prefix \("compression"\)/],
    [int32s(V3_0), wanted, /message too short/],
  ]
  for (const [body, range, message, code = 'PROTOCOL_VIOLATION'] of refusals) {
    t.throws(() => negotiatedMinor(body, range), { code, message }, String(message))
  }
  t.equal(checkCancelKey(4, 0), undefined)
  t.equal(checkCancelKey(32, 2), undefined, '3.2: a long key')
  t.match(checkCancelKey(32, 0), {
    code: 'PROTOCOL_VIOLATION',
    message: /cancel key with length 32 not allowed in protocol version 3\.0/,
  })
})

t.test('the start-up packet asks for the version and carries the parameters', async (t) => {
  const packet = startupPacket(2, { user: 'app', database: 'db' })
  t.equal(packet.readInt32BE(0), packet.length)
  t.equal(packet.readInt32BE(4), V3_2)
  t.equal(packet.subarray(8).toString(), 'user\0app\0database\0db\0\0')
})

t.test('what pg is given: whole messages, NegotiateProtocolVersion taken out, at any split', async (t) => {
  const authOk = message('R', int32s(0))
  const sasl = message('R', Buffer.concat([int32s(10), Buffer.from('SCRAM-SHA-256\0\0')]))
  const key = message('K', Buffer.concat([int32s(77), Buffer.alloc(32, 9)]))
  const ready = message('Z', Buffer.from('I'))
  const parameter = message('S', Buffer.from('server_version\x0018.4\0'))
  const fromServer = Buffer.concat([
    message('v', negotiation(V3_0)),
    sasl,
    authOk,
    parameter,
    message('K', Buffer.concat([int32s(77), int32s(5)])),
    ready,
  ])
  const forPg = Buffer.concat([sasl, authOk, parameter, message('K', Buffer.concat([int32s(77), int32s(5)])), ready])
  for (let split = 1; split < fromServer.length; split++) {
    const seen: Buffer[] = []
    let minor = -1
    const read = startupReader(
      { phase: 'auth', protocol: { min: 0, max: 2 }, onProtocolVersion: (m) => (minor = m) },
      (bytes) => seen.push(bytes),
    )
    const first = read(fromServer.subarray(0, split))
    const second = read(fromServer.subarray(split))
    if (first !== undefined || second !== 'done' || !Buffer.concat(seen).equals(forPg) || minor !== 0) {
      t.fail(`split at ${split}: ${String(first)} ${String(second)}, minor ${minor}`)
      return
    }
  }
  t.pass('split at every byte: pg sees the start-up without NegotiateProtocolVersion; the session is 3.0')

  const read32 = (bytes: Buffer, protocol?: { min: number; max: number }) => {
    let minor = -1
    const verdict = startupReader({
      phase: 'auth',
      ...(protocol ? { protocol } : {}),
      onProtocolVersion: (m) => (minor = m),
    })(bytes)
    return { verdict, minor }
  }
  t.same(
    read32(Buffer.concat([authOk, key, ready]), { min: 0, max: 2 }),
    { verdict: 'done', minor: 2 },
    'no negotiation: 3.2, a 32-byte key',
  )
  const longKeyIn30 = read32(Buffer.concat([authOk, key, ready]))
  t.ok(
    longKeyIn30.verdict instanceof PgSslError && longKeyIn30.verdict.code === 'PROTOCOL_VIOLATION',
    'a 32-byte key in 3.0 is refused',
  )
  const twice = read32(Buffer.concat([message('v', negotiation(V3_0)), message('v', negotiation(V3_0))]), {
    min: 0,
    max: 2,
  })
  t.match(twice.verdict, { code: 'PROTOCOL_VIOLATION', message: 'received duplicate protocol negotiation message' })
  t.match(
    read32(message('v', negotiation(V3_0))).verdict,
    { message: /asks for no changes/ },
    '3.0 asked for: a negotiation to 3.0 is no change',
  )
})

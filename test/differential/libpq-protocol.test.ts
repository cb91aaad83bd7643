/**
 * min_protocol_version and max_protocol_version compared with libpq 18 (ctypes) on the same
 * servers: PostgreSQL 18 speaks protocol 3.2, PostgreSQL 15 only 3.0 and answers a request for 3.2
 * with NegotiateProtocolVersion. Both must agree on connecting, on the version the session runs
 * in (PQfullProtocolVersion against report.protocolVersion) and on libpq's words when they refuse;
 * in 3.2 the cancel request carries the server's 32-byte key and still cancels. A peer that
 * answers with a malformed negotiation is refused by both in the same words.
 */
import { createServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { connect, sslCodeOf } from '../../lib/index.js'
import { availableServers, startCluster } from '../../scripts/harness.js'
import { pgMessage } from '../../scripts/peer-support.js'
import { libpq18Connect, libpq18ConnectAsync, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const problem = libpq18Problem()
if (problem && process.env.CI === 'true') throw new Error(`libpq 18 is required in CI: ${problem}`)

const SETTINGS = [
  '',
  'max_protocol_version=3.0',
  'max_protocol_version=3.2',
  'max_protocol_version=latest',
  'min_protocol_version=3.2',
  'min_protocol_version=latest',
  'min_protocol_version=3.0 max_protocol_version=latest',
  'min_protocol_version=3.2 max_protocol_version=3.0',
  'max_protocol_version=3.1',
  'min_protocol_version=4',
]

const versionName = (full: number): string => `${Math.floor(full / 10000)}.${full % 10000}`
/** libpq's message without its "connection to server at ... failed: " prefix. */
const libpqWords = (error: string): string => error.split('\n')[0]!.replace(/^connection to server at .*? failed: /, '')

for (const major of [18, 15]) {
  const binaries = availableServers().find((b) => b.major === major)
  t.test(`PostgreSQL ${major}`, { skip: problem ?? (binaries ? false : `no PostgreSQL ${major}`) }, async (t) => {
    const cluster = await startCluster({ ssl: true, binaries: binaries! })
    t.teardown(() => cluster.stop())
    for (const setting of SETTINGS) {
      const server = `host=${cluster.host} port=${cluster.port} user=${cluster.user} dbname=postgres`
      const conninfo = `${server} sslmode=require ${setting}`
      const libpq = libpq18Connect(conninfo, { HOME: '/nonexistent' })
      const ours = await connect({ connectionString: conninfo, env: {} }).then(
        async (client) => {
          const version = client.security.protocolVersion
          await client.end()
          return { ok: true, version, message: '', code: '' }
        },
        (error: Error) => ({ ok: false, version: '', message: error.message, code: sslCodeOf(error) ?? '' }),
      )
      const name = setting || '(defaults)'
      t.equal(ours.ok, libpq.ok, `${name}: libpq ${libpq.ok ? 'connects' : `fails: ${libpqWords(libpq.error)}`}`)
      if (libpq.ok)
        t.equal(ours.version, versionName(libpq.protocol), `${name}: both run protocol ${versionName(libpq.protocol)}`)
      else t.equal(ours.message, libpqWords(libpq.error), `${name}: libpq's words (${ours.code})`)
    }
    endsWithNoOpenSockets(t)
  })
}

t.test(
  'protocol 3.2: the long cancel key cancels',
  { skip: availableServers().some((b) => b.major >= 18) ? false : 'no PostgreSQL 18' },
  async (t) => {
    const cluster = await startCluster({ ssl: true, binaries: availableServers().find((b) => b.major >= 18)! })
    t.teardown(() => cluster.stop())
    const client = await connect({
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      sslmode: 'require',
      max_protocol_version: 'latest',
      env: {},
    })
    t.equal(client.security.protocolVersion, '3.2')
    const sleeping = client.query('select pg_sleep(30)')
    setTimeout(() => client.cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery), 300).unref()
    const error = await sleeping.then(
      () => undefined,
      (e: { code?: string }) => e,
    )
    t.equal(error?.code, '57014', 'the query was cancelled (query_canceled)')
    t.equal((await client.query('select 1 as one')).rows[0].one, 1, 'the session goes on')
    await client.end()
  },
)

/** A peer that answers every start-up with `negotiation` as NegotiateProtocolVersion's body, then waits. */
async function negotiatingPeer(t: Test, negotiation: Buffer): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => socket.write(pgMessage('v', negotiation)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return (server.address() as { port: number }).port
}

const body = (version: number, count: number, ...names: string[]) => {
  const head = Buffer.alloc(8)
  head.writeInt32BE(version, 0)
  head.writeInt32BE(count, 4)
  return Buffer.concat([head, ...names.map((n) => Buffer.from(`${n}\0`))])
}

t.test('a malformed negotiation: refused by both, in the same words', { skip: problem ?? false }, async (t) => {
  for (const [what, negotiation] of [
    ['a higher version', body(0x30003, 0)],
    ['3.1', body(0x30001, 0)],
    ['no change', body(0x30002, 0)],
    ['an option never asked for', body(0x30000, 1, '_pq_.compression')],
  ] as const) {
    const port = await negotiatingPeer(t, negotiation)
    const conninfo = `host=127.0.0.1 port=${port} user=app sslmode=disable max_protocol_version=latest`
    const libpq = await libpq18ConnectAsync(conninfo, { HOME: '/nonexistent' })
    const error = await connect({ connectionString: conninfo, env: {} }).then(
      async (client) => {
        await client.end()
        return undefined
      },
      (e: Error) => e,
    )
    t.notOk(libpq.ok)
    t.equal(sslCodeOf(error), 'PROTOCOL_VIOLATION', what)
    t.equal(error?.message, libpqWords(libpq.error), `${what}: libpq's words`)
  }
})

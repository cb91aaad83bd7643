/**
 * Cancelling a query goes out as libpq 17+ sends it: to the session's server, with the session's
 * sslmode, verification and policy, and the whole cancel key — in every dialect. A relay in front
 * of the real server records the first bytes of each connection, so the wire says whether a cancel
 * request was sent inside TLS (SSLRequest first) or in the clear (CancelRequest first).
 */
import t from 'tap'
import pg from 'pg'
import { createServer, connect as connectTcp, type Socket } from 'node:net'
import { cancelQuery, connect, SslClient, type SslPolicy } from '../../lib/index.js'
import { fixture, privateCopy, startCluster, TEST_PASSWORD } from '../../scripts/harness.js'
import { startOpenGaussAuthPeer } from '../../scripts/opengauss-auth-peer.js'
import { isolatedEnv, rejection, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true })
t.teardown(() => cluster.stop())

const SSL_REQUEST = 80877103
const CANCEL_REQUEST = 80877102

interface Relay {
  readonly port: number
  /** The request code each connection began with (after its length word). */
  readonly firstCodes: number[]
  close(): Promise<void>
}

/**
 * A TCP relay to the cluster; with `refuseSslAfterFirst` it answers 'N' itself to SSLRequests after the first
 * connection.
 */
async function startRelay(options: { refuseSslAfterFirst?: boolean } = {}): Promise<Relay> {
  const firstCodes: number[] = []
  const open = new Set<Socket>()
  const server = createServer((client) => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => {})
    client.once('data', (first: Buffer) => {
      const code = first.length >= 8 ? first.readInt32BE(4) : -1
      firstCodes.push(code)
      if (options.refuseSslAfterFirst && firstCodes.length > 1 && code === SSL_REQUEST) {
        client.write('N')
        client.once('data', (next: Buffer) =>
          forward(client, next.length >= 8 ? next : Buffer.alloc(0), () => firstCodes.push(next.readInt32BE(4))),
        )
        return
      }
      forward(client, first)
    })
  })
  const forward = (client: Socket, first: Buffer, onNext?: () => void): void => {
    onNext?.()
    const backend = connectTcp(cluster.port, cluster.host, () => backend.write(first))
    open.add(backend)
    backend.on('close', () => {
      open.delete(backend)
      client.destroy()
    })
    backend.on('error', () => {})
    client.on('close', () => backend.destroy())
    client.pipe(backend)
    backend.pipe(client)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    firstCodes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

async function runningQuery(client: { query(text: string): Promise<unknown> }): Promise<{ settled: Promise<unknown> }> {
  const settled = client.query('select pg_sleep(30)').then(
    () => undefined,
    (error: unknown) => error,
  )
  await new Promise((r) => setTimeout(r, 200)) // the query is running on the server
  return { settled }
}

t.test('postgres dialect: cancelQuery() sends the cancel inside TLS, verified as the session was', async (t) => {
  const relay = await startRelay()
  t.teardown(() => relay.close())
  const client = await connect({
    host: '127.0.0.1',
    port: relay.port,
    user: cluster.user,
    env: isolatedEnv(),
    sslmode: 'verify-full',
    sslrootcert: fixture('ca.crt'),
  })
  const { settled } = await runningQuery(client)
  const started = Date.now()
  const outcome = await cancelQuery(client)
  t.match(outcome, { encrypted: true, serverCertificateVerified: true, protocol: /^TLSv1\.[23]$/ })
  t.match(await settled, { code: '57014' }, 'the query was cancelled (SQLSTATE 57014)')
  t.ok(Date.now() - started < 5000)
  t.same(
    relay.firstCodes,
    [SSL_REQUEST, SSL_REQUEST],
    'both the session and the cancel began with SSLRequest on the wire',
  )
  await client.end()
})

t.test(
  "postgres dialect: pg's cancel(client, query) API goes through the library too; pg itself sends it in the clear",
  async (t) => {
    const relay = await startRelay()
    t.teardown(() => relay.close())
    const options = {
      host: '127.0.0.1',
      port: relay.port,
      user: cluster.user,
      env: isolatedEnv(),
      sslmode: 'verify-full' as const,
      sslrootcert: fixture('ca.crt'),
    }
    const client = await connect(options)
    const query = client.query('select pg_sleep(30)')
    const settled = query.then(
      () => undefined,
      (e: unknown) => e,
    )
    await new Promise((r) => setTimeout(r, 200))
    new SslClient(options).cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery)
    t.match(await settled, { code: '57014' })
    t.same(relay.firstCodes, [SSL_REQUEST, SSL_REQUEST])
    await client.end()

    // The control: plain pg, TLS session, cancel request in plaintext.
    const rawRelay = await startRelay()
    t.teardown(() => rawRelay.close())
    const raw = new pg.Client({
      host: '127.0.0.1',
      port: rawRelay.port,
      user: cluster.user,
      database: cluster.database,
      ssl: { ca: await import('node:fs').then((fs) => fs.readFileSync(fixture('ca.crt'))) },
    })
    await raw.connect()
    const rawQuery = raw.query('select pg_sleep(30)').then(
      () => undefined,
      (e: unknown) => e,
    )
    await new Promise((r) => setTimeout(r, 200))
    const canceller = new pg.Client({ host: '127.0.0.1', port: rawRelay.port, user: cluster.user })
    ;(canceller as unknown as { cancel(c: unknown, q: unknown): void }).cancel(
      raw,
      (raw as unknown as { activeQuery: unknown }).activeQuery,
    )
    t.match(await rawQuery, { code: '57014' })
    t.same(rawRelay.firstCodes, [SSL_REQUEST, CANCEL_REQUEST], 'pg sent its cancel request unencrypted')
    await raw.end()
    // pg's canceller is a client whose connection the server closes after the request: nothing to end.
  },
)

t.test('a cancel obeys the policy: no plaintext cancel where the policy forbids plaintext', async (t) => {
  const policy: SslPolicy = { allowPlaintextFallback: false }
  for (const [name, extra, expectEncryptedFallback] of [
    ['prefer + allowPlaintextFallback: false', { policy }, undefined],
    ['prefer (libpq: a cancel falls back like a connection)', {}, false],
  ] as const) {
    const relay = await startRelay({ refuseSslAfterFirst: true })
    const client = await connect({
      host: '127.0.0.1',
      port: relay.port,
      user: cluster.user,
      env: isolatedEnv(),
      sslmode: 'prefer',
      ...extra,
    })
    t.equal(client.security.encrypted, true, `${name}: the session is encrypted`)
    const { settled } = await runningQuery(client)
    if (expectEncryptedFallback === undefined) {
      const error = await rejection(cancelQuery(client))
      t.equal(error.code, 'POLICY_VIOLATION', `${name}: ${error.message}`)
      t.equal(relay.firstCodes.includes(CANCEL_REQUEST), false, 'no cancel request went out in the clear')
      await client.end()
      t.ok((await settled) !== undefined, 'the query ended with the connection')
    } else {
      const outcome = await cancelQuery(client)
      t.equal(outcome.encrypted, expectEncryptedFallback, `${name}: sent in plaintext after the server said N`)
      t.match(await settled, { code: '57014' })
      t.same(relay.firstCodes, [SSL_REQUEST, SSL_REQUEST, CANCEL_REQUEST])
      await client.end()
    }
    await relay.close()
  }
})

t.test('opengauss and gaussdb dialects: cancel over TLS 1.2 through the openGauss peer', async (t) => {
  const peer = await startOpenGaussAuthPeer(cluster, 'sha256', TEST_PASSWORD, { tls: true })
  t.teardown(() => peer.close())
  for (const dialect of ['opengauss', 'gaussdb'] as const) {
    const client = await connect({
      host: peer.host,
      port: peer.port,
      user: cluster.user,
      password: TEST_PASSWORD,
      dialect,
      sslmode: 'verify-ca',
      sslrootcert: privateCopy('ca.crt'),
      env: isolatedEnv(),
    })
    const { settled } = await runningQuery(client)
    const outcome = await cancelQuery(client)
    t.match(outcome, { encrypted: true, serverCertificateVerified: true, protocol: 'TLSv1.2' }, dialect)
    t.match(await settled, { code: '57014' }, `${dialect}: cancelled`)
    await client.end()
  }
  t.same(peer.cancels, [{ tls: true }, { tls: true }], 'the peer received both cancel requests inside TLS')
})

const needs18 =
  cluster.binaries.major < 18 ? `the server is PostgreSQL ${cluster.binaries.version}; protocol 3.2 needs 18` : false
t.test(
  'openGauss dialect against PostgreSQL 18: protocol 3.2 is negotiated and the whole 32-byte cancel ' +
    'key is kept and used',
  { skip: needs18 },
  async (t) => {
    const client = await connect({
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      dialect: 'opengauss',
      sslmode: 'verify-ca',
      sslrootcert: privateCopy('ca.crt'),
      env: isolatedEnv(),
    })
    t.equal(
      client.security.protocolVersion,
      '3.2',
      `NegotiateProtocolVersion named 3.2 (report: ${client.security.protocolVersion})`,
    )
    const key = (SslClient as unknown as { cancelKeyOf(c: SslClient): { processId: number; key: Buffer } }).cancelKeyOf(
      client,
    )
    t.equal(key.key.length, 32, 'the whole key, where pg reads 4 bytes')
    t.equal(key.processId, (client as unknown as { processID: number }).processID)
    const { settled } = await runningQuery(client)
    await cancelQuery(client)
    t.match(await settled, { code: '57014' }, 'the cancel with the whole key was accepted')
    await client.end()
  },
)

endsWithNoOpenSockets(t)

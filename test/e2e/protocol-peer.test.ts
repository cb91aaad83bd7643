/**
 * Behaviour no real server shows on demand — a peer that never answers, answers the SSLRequest
 * with 'E' or garbage, or injects plaintext after 'S' — reproduced by a tiny protocol test peer on
 * 127.0.0.1 (it is a test peer, not a PostgreSQL server). Plus several hosts, one of them real.
 */
import t, { type Test } from 'tap'
import { createServer, type Server, type Socket } from 'node:net'
import { connect, type PgSslError } from '../../lib/index.js'
import { startCluster } from '../../scripts/harness.js'
import { isolatedEnv, openSocketCount, socketsSettleTo, endsWithNoOpenSockets } from '../support.js'

async function testPeer(
  onConnection: (socket: Socket) => void,
): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    onConnection(socket)
    // Keep reading (and ignoring) so that the peer notices when the client closes.
    socket.on('data', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as { port: number }).port, server, sockets }
}

/** Answers the 8-byte SSLRequest with `reply`. */
const answering = (reply: Buffer) => (socket: Socket) => socket.once('data', () => socket.write(reply))

async function failure(options: Parameters<typeof connect>[0]): Promise<PgSslError> {
  try {
    const client = await connect(options)
    await client.end()
  } catch (error) {
    return error as PgSslError
  }
  throw new Error('expected a failure')
}

const base = { host: '127.0.0.1', user: 'app', env: isolatedEnv() }

t.test('a peer that never answers: CONNECT_TIMEOUT, and the socket is closed', async (t) => {
  const peer = await testPeer(() => {})
  const before = await openSocketCount()
  const started = Date.now()
  const error = await failure({ ...base, port: peer.port, sslmode: 'prefer', connectionTimeoutMillis: 300 })
  t.equal(error.code, 'CONNECT_TIMEOUT')
  t.equal(error.setting, 'connect_timeout')
  t.ok(Date.now() - started < 5000, 'gave up by itself')
  for (let i = 0; i < 100 && peer.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 20))
  t.equal(peer.sockets.size, 0, 'the peer saw the connection closed')
  t.ok((await socketsSettleTo(before)) <= before, 'no socket left open')
})

t.test("an 'E' answer to SSLRequest is not trusted and not retried in plaintext (libpq)", async (t) => {
  const peer = await testPeer(answering(Buffer.from('E')))
  const error = await failure({ ...base, port: peer.port, sslmode: 'prefer' })
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /error response during SSL exchange/)
  t.equal(error.attempts?.length, 1)
})

t.test("plaintext injected after 'S' is refused (CVE-2021-23222)", async (t) => {
  const peer = await testPeer(answering(Buffer.from('SR\0\0\0\x08\0\0\0\0')))
  const error = await failure({ ...base, port: peer.port, sslmode: 'require' })
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /unencrypted data after SSL response/)
})

t.test('an answer that is not S, N or E', async (t) => {
  const peer = await testPeer(answering(Buffer.from('H')))
  const error = await failure({ ...base, port: peer.port, sslmode: 'require' })
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /invalid response to SSL negotiation/)
})

t.test('a peer that closes during the handshake: SSL_HANDSHAKE_FAILED, then prefer tries plaintext', async (t) => {
  const peer = await testPeer((socket) =>
    socket.once('data', () => socket.write('S', () => socket.once('data', () => socket.destroy()))),
  )
  const error = await failure({ ...base, port: peer.port, sslmode: 'prefer', connectionTimeoutMillis: 3000 })
  t.match(
    error.attempts,
    [{ ssl: true, failure: { code: 'SSL_HANDSHAKE_FAILED' } }, { ssl: false }],
    'the handshake failure let prefer retry in plaintext',
  )
})

t.test('several hosts are tried in order; the report names the one that answered', async (t) => {
  const closed = await testPeer(() => {})
  const port = closed.port
  await new Promise<void>((resolve) => closed.server.close(() => resolve()))
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const client = await connect({
    ...base,
    host: `127.0.0.1,${cluster.host}`,
    port: `${port},${cluster.port}`,
    sslmode: 'require',
  })
  t.equal(client.security.port, cluster.port)
  t.match(client.security.attempts, [
    { port, result: 'failed', failure: { code: 'CONNECTION_FAILED' } },
    { port: cluster.port, result: 'connected' },
  ])
  await client.end()
  const error = await failure({ ...base, port, sslmode: 'require' })
  t.equal(error.code, 'CONNECTION_FAILED')
})

// ---------------------------------------------------------------------------------------------
// Servers that are not PostgreSQL, or misbehave after the start-up packet: refused at once, with
// no connect_timeout, while the peer keeps the socket open (so only our check can end it).

const SSL_REQUEST_CODE = 80877103
/** A peer that refuses SSL ('N') and answers the start-up packet with `reply`, then keeps the socket open. */
const afterStartup = (reply: Buffer) => (socket: Socket) => {
  socket.on('data', (chunk: Buffer) => {
    if (chunk.length === 8 && chunk.readUInt32BE(4) === SSL_REQUEST_CODE) socket.write('N')
    else if (chunk.length > 8) socket.write(reply)
  })
}
const message = (type: string, body: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head.write(type, 0)
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
const AUTH_OK = message('R', Buffer.alloc(4))

async function fastFailure(t: Test, port: number, extra: Parameters<typeof connect>[0] = {}): Promise<PgSslError> {
  const before = await openSocketCount()
  const started = Date.now()
  const error = await failure({ ...base, port, sslmode: 'disable', ...extra })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1000, `refused in ${elapsed} ms, not waited for`)
  t.ok((await socketsSettleTo(before)) <= before, 'no socket left open')
  return error
}

t.test('an HTTP server: "expected authentication request from server, but received H", at once', async (t) => {
  const peer = await testPeer(afterStartup(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')))
  const error = await fastFailure(t, peer.port)
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /expected authentication request from server, but received H/)
  const og = await fastFailure(t, peer.port, { dialect: 'opengauss' })
  t.equal(og.code, 'PROTOCOL_VIOLATION', 'the openGauss start-up checks the same')
  t.match(og.message, /expected authentication request from server, but received H/)
})

t.test('an authentication request announcing 2 GB is refused before anything is buffered', async (t) => {
  const head = Buffer.alloc(9)
  head.write('R', 0)
  head.writeUInt32BE(0x7ffffff0, 1)
  const peer = await testPeer(afterStartup(head))
  const error = await fastFailure(t, peer.port)
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /invalid authentication request \(length 2147483632\)/)
  const big = Buffer.alloc(5)
  big.write('E', 0)
  big.writeUInt32BE(40000, 1)
  const errorPeer = await testPeer(afterStartup(big))
  t.match((await fastFailure(t, errorPeer.port)).message, /invalid error message \(length 40000\)/)
})

t.test('garbage after a valid start is refused', async (t) => {
  const peer = await testPeer(afterStartup(Buffer.concat([AUTH_OK, Buffer.from('garbage that is no message')])))
  const error = await fastFailure(t, peer.port)
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.match(error.message, /unexpected message type "g"/)
  const huge = Buffer.alloc(5)
  huge.write('S', 0)
  huge.writeUInt32BE(1_000_000, 1)
  const parameterPeer = await testPeer(afterStartup(Buffer.concat([AUTH_OK, huge])))
  t.match(
    (await fastFailure(t, parameterPeer.port)).message,
    /lost synchronization with server: got message type "S", length 1000000/,
  )
})

t.test("a server that sends 'S' then closes: prefer's error keeps both attempts' reasons", async (t) => {
  // SSL handshake cut off, then the plaintext retry meets an HTTP-speaking peer.
  let connections = 0
  const peer = await testPeer((socket) => {
    connections++
    if (connections === 1)
      socket.once('data', () => socket.write('S', () => socket.once('data', () => socket.destroy())))
    else afterStartup(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))(socket)
  })
  const error = await failure({ ...base, port: peer.port, sslmode: 'prefer' })
  t.equal(error.code, 'PROTOCOL_VIOLATION', 'the last attempt decides the code')
  t.match(
    error.message,
    /expected authentication request from server, but received H \(earlier attempt: SSL handshake failed/,
  )
  t.match(error.attempts, [
    { ssl: true, failure: { code: 'SSL_HANDSHAKE_FAILED' } },
    { ssl: false, failure: { code: 'PROTOCOL_VIOLATION' } },
  ])
})

t.test('a real server is not disturbed by the check (start-up messages of every kind pass)', async (t) => {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  for (const sslmode of ['disable', 'require'] as const) {
    const client = await connect({ ...base, port: cluster.port, sslmode })
    const { rows } = await client.query('select 1 as one')
    t.equal(rows[0].one, 1, sslmode)
    await client.end()
  }
})

endsWithNoOpenSockets(t)

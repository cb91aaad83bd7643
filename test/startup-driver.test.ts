/**
 * The start-up guard's driver and the hand-over on a real loopback socket, played as pg plays
 * them (connect(), then a 'data' listener): a refused chunk reaches no 'data' listener, and the
 * two socket methods taken for the start-up — emit (guardStartup) and connect (adoptConnected) —
 * are the socket's own again once the start-up is over or refused. The framer's rules themselves
 * are test/protocol-framer.test.ts's.
 */
import { once } from 'node:events'
import net, { type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import { guardStartup } from '../lib/postgres/connect/startup-guard.js'
import { adoptConnected } from '../lib/postgres/pg-handover.js'

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
const authenticationOk = message('R', Buffer.from([0, 0, 0, 0]))
const readyForQuery = message('Z', Buffer.from('I'))

/** A loopback server that sends `bytes` to the one client that connects, and a socket connected to it. */
async function connectedPair(t: Test, bytes: Buffer): Promise<Socket> {
  const server = net.createServer((peer) => {
    peer.on('error', () => {})
    peer.write(bytes)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  t.teardown(() => {
    socket.destroy()
    server.close()
  })
  return socket
}

const own = (socket: Socket, name: 'emit' | 'connect') =>
  socket[name] === (Object.getPrototypeOf(socket) as Socket)[name]

t.test('a whole start-up: pg sees every byte, and the socket is its own again', async (t) => {
  const socket = await connectedPair(t, Buffer.concat([authenticationOk, readyForQuery]))
  let authenticationCodes = 0
  guardStartup(socket, { phase: 'auth', onAuthenticationRequest: () => void authenticationCodes++ })
  adoptConnected(socket)
  t.notOk(own(socket, 'emit'), 'the guard is in front of every listener during the start-up')
  t.notOk(own(socket, 'connect'), "pg's connect() is answered by the hand-over")

  const seen: Buffer[] = []
  t.equal(socket.connect(5432, 'ignored'), socket, 'connect() returns the socket, as Node does')
  socket.on('data', (chunk: Buffer) => seen.push(chunk))
  t.ok(own(socket, 'connect'), "the socket's own connect() is back after pg's one call")
  await once(socket, 'connect')
  while (Buffer.concat(seen).length < authenticationOk.length + readyForQuery.length) await once(socket, 'data')

  t.same(Buffer.concat(seen), Buffer.concat([authenticationOk, readyForQuery]), "pg's listener saw every byte")
  t.equal(authenticationCodes, 1, 'the auth guard was asked about AuthenticationOk')
  t.ok(own(socket, 'emit'), "ReadyForQuery: the socket's own emit is back, the session pays nothing")
  t.notOk(socket.destroyed)
})

t.test('a refused chunk reaches no listener, the socket ends coded, emit is given back', async (t) => {
  const socket = await connectedPair(t, Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))
  guardStartup(socket, { phase: 'auth' })
  adoptConnected(socket).connect(5432, 'ignored')
  const seen: Buffer[] = []
  socket.on('data', (chunk: Buffer) => seen.push(chunk))
  const [error] = (await once(socket, 'error')) as [PgSslError]
  t.equal(error.code, 'PROTOCOL_VIOLATION')
  t.same(seen, [], 'the listener never saw the refused bytes')
  t.ok(socket.destroyed)
  t.ok(own(socket, 'emit') && own(socket, 'connect'), 'nothing of the socket stays replaced')
})

t.test('an early close gives emit back too', async (t) => {
  const socket = await connectedPair(t, Buffer.alloc(0))
  guardStartup(socket, { phase: 'auth' })
  adoptConnected(socket).connect(5432, 'ignored')
  socket.on('data', () => {})
  socket.destroy()
  await once(socket, 'close')
  t.ok(own(socket, 'emit'))
})

t.test('an answer that takes time: what the server sends meanwhile is held, then read in order', async (t) => {
  const sasl = message('R', Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('OAUTHBEARER\0\0')]))
  // Sent before the answer, as a server that does not wait would: held until the answer is sent.
  const socket = await connectedPair(t, Buffer.concat([sasl, authenticationOk, readyForQuery]))
  const sent: string[] = []
  let release: () => void = () => {}
  const order: string[] = []
  guardStartup(socket, {
    phase: 'auth',
    onAuthenticationRequest: (code) => void order.push(`request ${code}`),
    sasl: {
      answerer: {
        takes: () => true,
        answer: () =>
          new Promise((resolve) => {
            release = () => resolve({ send: Buffer.from('token') })
          }),
      },
      send: (bytes) => {
        order.push('answer sent')
        sent.push(bytes.toString())
      },
    },
  })
  adoptConnected(socket).connect(5432, 'ignored')
  const seen: Buffer[] = []
  socket.on('data', (chunk: Buffer) => seen.push(chunk))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(order, ['request 10'], 'nothing after the SASL request is read while its answer is made')
  t.same(seen, [], 'pg sees nothing of the exchange')
  release()
  while (Buffer.concat(seen).length < authenticationOk.length + readyForQuery.length) await once(socket, 'data')
  t.same(order, ['request 10', 'answer sent', 'request 0'], 'the answer goes out before the rest is read')
  t.same(sent, ['token'])
  t.same(Buffer.concat(seen), Buffer.concat([authenticationOk, readyForQuery]), 'then pg sees the rest, in order')
  t.ok(own(socket, 'emit'), 'and the socket is its own again')
})

t.test('an answer that fails ends the socket with its coded error', async (t) => {
  const sasl = message('R', Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('OAUTHBEARER\0\0')]))
  const socket = await connectedPair(t, sasl)
  guardStartup(socket, {
    phase: 'auth',
    sasl: {
      answerer: { takes: () => true, answer: () => Promise.resolve({ end: new PgSslError('OAUTH_FAILED', 'no') }) },
      send: () => t.fail('nothing is sent'),
    },
  })
  adoptConnected(socket).connect(5432, 'ignored')
  const [error] = (await once(socket, 'error')) as [PgSslError]
  t.equal(error.code, 'OAUTH_FAILED')
  t.ok(socket.destroyed && own(socket, 'emit'))
})

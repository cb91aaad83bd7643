/** Pieces the protocol test peers share: message framing, FATAL errors, relaying to PostgreSQL. */
import { connect as netConnect, type Socket } from 'node:net'

export function pgMessage(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

export function fatalError(sqlstate: string, text: string): Buffer {
  return pgMessage('E', Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${text}\0\0`, 'utf8'))
}

/** Open a connection to the real server, send `first`, then pipe both ways until either closes. */
export function relayToBackend(
  client: Socket,
  upstream: { host: string; port: number },
  first: Buffer,
  open: Set<Socket>,
): void {
  const backend = netConnect(upstream.port, upstream.host)
  open.add(backend)
  backend.on('close', () => {
    open.delete(backend)
    client.destroy()
  })
  backend.on('error', () => client.destroy())
  client.on('close', () => backend.destroy())
  backend.write(first)
  client.removeAllListeners('data')
  client.pipe(backend)
  backend.pipe(client)
}

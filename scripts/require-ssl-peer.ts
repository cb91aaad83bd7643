/**
 * A protocol TEST PEER (not openGauss): it stands in front of a real PostgreSQL and behaves like
 * openGauss's postmaster with require_ssl=on — a plaintext start-up is refused with FATAL
 * SQLSTATE 57P03 "SSL connection is required by the database system" — while an SSLRequest and
 * everything after it (the TLS session) are passed through to the real server untouched.
 * PostgreSQL itself refuses plaintext with 28000 instead, which is why this peer exists.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net'

const SSL_REQUEST_CODE = 80877103

function fatal57P03(): Buffer {
  const fields = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', '57P03'],
    ['M', 'SSL connection is required by the database system'],
  ]
  const body = Buffer.concat([...fields.map(([k, v]) => Buffer.from(`${k}${v}\0`, 'utf8')), Buffer.from([0])])
  const header = Buffer.alloc(5)
  header.write('E', 0)
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

export interface RequireSslPeer {
  readonly host: '127.0.0.1'
  readonly port: number
  close(): Promise<void>
}

export async function startRequireSslPeer(upstream: { host: string; port: number }): Promise<RequireSslPeer> {
  const open = new Set<Socket>()
  const server: Server = createServer((client) => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => {})
    client.once('data', (first: Buffer) => {
      const isSslRequest = first.length >= 8 && first.readInt32BE(0) === 8 && first.readInt32BE(4) === SSL_REQUEST_CODE
      if (!isSslRequest) {
        client.end(fatal57P03())
        return
      }
      const backend = netConnect(upstream.port, upstream.host)
      open.add(backend)
      backend.on('close', () => {
        open.delete(backend)
        client.destroy()
      })
      backend.on('error', () => client.destroy())
      client.on('close', () => backend.destroy())
      backend.write(first)
      client.pipe(backend)
      backend.pipe(client)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

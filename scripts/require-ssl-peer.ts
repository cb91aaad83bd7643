/**
 * A protocol TEST PEER (not openGauss): it stands in front of a real PostgreSQL and behaves like
 * openGauss's postmaster with require_ssl=on — a plaintext start-up is refused with FATAL
 * SQLSTATE 57P03 "SSL connection is required by the database system" — while an SSLRequest and
 * everything after it (the TLS session) are passed through to the real server untouched.
 * PostgreSQL itself refuses plaintext with 28000 instead, which is why this peer exists.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { fatalError, relayToBackend } from './peer-support.js'

const SSL_REQUEST_CODE = 80877103

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
        client.end(fatalError('57P03', 'SSL connection is required by the database system'))
        return
      }
      relayToBackend(client, upstream, first, open)
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

/**
 * A userspace relay on 127.0.0.1 that delays each direction by a fixed time (the kernel's netem is
 * not available here), for scripts/bench-latency.ts. It also counts round trips as the client
 * lives them: a client flight is a run of bytes the client sends after it last heard from the
 * server, so each flight but the first waited a whole round trip for the server's answer. The TCP
 * handshake is the kernel's and is not delayed: every variant saves the same one round trip.
 */
import net, { type Server, type Socket } from 'node:net'

export interface RelayedConnection {
  /** Runs of client bytes, each after the server had spoken (the first after connecting). */
  clientFlights: number
  serverFlights: number
}

export interface LatencyRelay {
  readonly port: number
  /** Every connection relayed so far, in the order the clients connected. */
  readonly connections: readonly RelayedConnection[]
  close(): Promise<void>
}

export async function latencyRelay(target: { host: string; port: number }, oneWayMs: number): Promise<LatencyRelay> {
  const connections: RelayedConnection[] = []
  const sockets = new Set<Socket>()
  const server: Server = net.createServer((client) => {
    const seen: RelayedConnection = { clientFlights: 0, serverFlights: 0 }
    connections.push(seen)
    let last: 'client' | 'server' | undefined
    const upstream = net.connect(target.port, target.host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.setNoDelay(true)
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
      s.on('close', () => sockets.delete(s))
    }
    // Timers of one delay fire in the order they were set: each direction keeps its byte order.
    const forward = (from: Socket, to: Socket, side: 'client' | 'server'): void => {
      from.on('data', (chunk: Buffer) => {
        if (last !== side) {
          if (side === 'client') seen.clientFlights++
          else seen.serverFlights++
          last = side
        }
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk)
        }, oneWayMs)
      })
      from.on('end', () => setTimeout(() => to.end(), oneWayMs))
    }
    forward(client, upstream, 'client')
    forward(upstream, client, 'server')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

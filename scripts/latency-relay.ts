/**
 * A userspace relay on 127.0.0.1 that delays each direction by a fixed time (the kernel's netem is
 * not available here), for scripts/bench-latency.ts and bench-latency-mysql.ts. It also counts
 * round trips as the client lives them: a client flight is a run of bytes the client sends after
 * it last heard from the server, so each flight but the first waited a whole round trip for the
 * server's answer. The TCP handshake is the kernel's and is not delayed: every variant saves the
 * same one round trip.
 */
import { spawn } from 'node:child_process'
import net, { type Server, type Socket } from 'node:net'
import { createInterface } from 'node:readline'

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

/** One connection's connect time and the round trips its client waited for. */
export interface RelayedSample {
  readonly connectMs: number
  readonly roundTrips: number
}

/** The client flights of the connections `relay` took since it had `before` of them. */
export function flightsSince(relay: LatencyRelay, before: number): number {
  return relay.connections.slice(before).reduce((n, c) => n + c.clientFlights, 0)
}

/** Long enough for a close sent now to have crossed the relay. */
export function closeCrossed(oneWayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, oneWayMs * 2 + 5))
}

/**
 * A reference client in a worker process (a ctypes script): for each request it gets the line
 * "N settings-json" and answers one JSON line, a list of {connect: ms} or {error}. The round trips
 * are the relay's count over the request, shared out among its N connections.
 */
export function relayedWorker(
  label: string,
  command: readonly string[],
  env: Record<string, string>,
  oneWayMs: number,
): { run(relay: LatencyRelay, settings: object, n: number): Promise<RelayedSample[]>; stop(): void } {
  const worker = spawn(command[0]!, command.slice(1), { env })
  const lines = createInterface({ input: worker.stdout })[Symbol.asyncIterator]()
  return {
    async run(relay, settings, n) {
      const before = relay.connections.length
      worker.stdin.write(`${n} ${JSON.stringify(settings)}\n`)
      const { value } = await lines.next()
      const answer = JSON.parse(String(value)) as Array<{ connect: number }> | { error: string }
      if (!Array.isArray(answer)) throw new Error(`${label}: ${answer.error}`)
      await closeCrossed(oneWayMs)
      const flights = flightsSince(relay, before)
      return answer.map((a) => ({ connectMs: a.connect, roundTrips: flights / n }))
    },
    stop: () => worker.kill(),
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

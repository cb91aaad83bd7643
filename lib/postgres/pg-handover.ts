/**
 * Handing pg a socket this library connected, once per attempt: pg calls stream.connect() and
 * waits for 'connect', and attaches its listeners to its connection each time; between attempts
 * the listeners pg attached go and the application's stay. Only public Node and EventEmitter API
 * is used here (pg's private members are pg-internals.ts's).
 */
import { Socket } from 'node:net'

export type Listener = (...args: unknown[]) => void

/** The listeners on `emitter` now (the application's, before the first attempt). */
export function snapshotListeners(emitter: NodeJS.EventEmitter): Map<string | symbol, Listener[]> {
  return new Map(emitter.eventNames().map((name) => [name, emitter.rawListeners(name) as Listener[]]))
}

/** Remove every listener that was not there when the snapshot was taken. */
export function restoreListeners(emitter: NodeJS.EventEmitter, snapshot: Map<string | symbol, Listener[]>): void {
  for (const name of emitter.eventNames()) {
    const keep = snapshot.get(name) ?? []
    for (const listener of emitter.rawListeners(name) as Listener[]) {
      if (!keep.includes(listener)) emitter.removeListener(name, listener)
    }
  }
}

/**
 * pg calls stream.connect() and waits for 'connect'; the socket is connected already, so answer
 * at once (next tick, after pg has attached its listeners) and let data flow. The one call is
 * answered and the socket's own connect() is back: nothing of the socket stays replaced.
 *
 * Why an instance's method and not a stream of our own in front of the socket: pg calls
 * stream.connect(port, host) whatever the stream (pg/lib/connection.js), and a second connect()
 * on an open socket reconnects its handle. A Duplex of ours would not be the TLS socket that
 * pg-pool's connection timeout destroys and applications ask for getPeerCertificate() —
 * connection.stream is the live socket, as in pg (docs/architecture.md, "The start-up core").
 */
export function adoptConnected(stream: Socket): Socket {
  const ownConnect = stream.connect
  stream.connect = function (this: Socket) {
    // Assigned, never deleted: a deleted property sends the socket to V8's slow dictionary mode.
    this.connect = ownConnect
    process.nextTick(() => {
      this.emit('connect')
      this.resume()
    })
    return this
  } as Socket['connect']
  return stream
}

/** A socket never connected nor used: pg's own, made for this client, which the first attempt takes. */
export function isUnconnected(socket: unknown): socket is Socket {
  return (
    socket instanceof Socket &&
    !socket.connecting &&
    !socket.destroyed &&
    socket.readyState === 'closed' &&
    socket.remoteAddress === undefined
  )
}

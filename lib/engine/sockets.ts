/**
 * Sockets closed of our own accord. On the PostgreSQL side the socket of the attempt under way is
 * `client.connection.stream`, as in pg, so code that holds
 * it (pg-pool's connection timeout, an application's error handling) can end it. A destroy that
 * does not come from the executor ends the whole negotiation, as it ends pg's connection: no
 * further attempt, no other host. The executor's own closes go through closeQuietly().
 */
import type { Socket } from 'node:net'

const quiet = new WeakSet<object>()

/** Close a socket of the executor's own accord (failed attempt, timeout, abort). */
export function closeQuietly(socket: Socket | undefined): void {
  if (!socket) return
  // A TLS socket closes the socket under it: that close is ours too. Node keeps that socket in the
  // private `_parent` (tls.TLSSocket has no public accessor); without it, the close looks external.
  for (let s: Socket | undefined = socket; s; s = (s as { _parent?: Socket })._parent) quiet.add(s)
  socket.destroy()
}

/** Call `onExternalDestroy` when someone else destroys `socket`; returns the undo. */
export function watchExternalDestroy(socket: Socket, onExternalDestroy: () => void): () => void {
  const original = socket.destroy
  socket.destroy = function destroy(this: Socket, error?: Error) {
    // Node destroys a socket itself after the peer's FIN (autoDestroy) or with an error; an
    // outside destroy() comes without an error on a socket still open for reading.
    if (!quiet.has(socket) && !socket.destroyed && error === undefined && !socket.readableEnded) onExternalDestroy()
    return original.call(this, error)
  } as Socket['destroy']
  // Put the original back rather than delete the own property: deleting a property sends the
  // socket to V8's slow dictionary mode for the rest of its life (every query pays for it).
  return () => {
    socket.destroy = original
  }
}

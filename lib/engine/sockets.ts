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

/**
 * `socket` was destroyed by someone else: not through closeQuietly(), not by Node after an error,
 * not after the peer's FIN (the readable side then ended) — an outside destroy() of a socket that
 * was still open. Read from the socket's own state, so it holds from the moment destroy() returns.
 */
export function destroyedExternally(socket: Socket): boolean {
  return socket.destroyed && !quiet.has(socket) && socket.errored == null && !socket.readableEnded
}

/**
 * Call `onExternalDestroy` when someone else destroys `socket`; returns the undo. Told at the
 * socket's 'close' (which follows every destroy), or at the undo when the socket is already
 * destroyed and its 'close' is still to come. Nothing of the socket is replaced, and no listener
 * order matters: the executor's code after a close runs in a later microtask, when every 'close'
 * listener has run; the client also asks destroyedExternally() where it decides (client.aborted).
 */
export function watchExternalDestroy(socket: Socket, onExternalDestroy: () => void): () => void {
  let closed = false
  const onClose = (): void => {
    closed = true
    if (destroyedExternally(socket)) onExternalDestroy()
  }
  socket.once('close', onClose)
  return () => {
    socket.off('close', onClose)
    if (!closed && destroyedExternally(socket)) onExternalDestroy()
  }
}

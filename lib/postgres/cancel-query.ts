/** The public cancelQuery(): the secure cancel (connect/cancel.ts) for an SslClient's session. */
import type { CancelOutcome } from './connect/cancel.js'
import { cancelRequests, SslClient } from './client.js'

/**
 * Cancel the query `client` is running, as libpq 17+ does (PQcancelBlocking): over a new
 * connection to the same server with the session's own sslmode, verification and SSL policy, and
 * the whole cancel key. Resolves once the server has taken the request (the query then fails with
 * SQLSTATE 57014, if it was still running), with what the request went over.
 */
export async function cancelQuery(client: SslClient): Promise<CancelOutcome> {
  return (await cancelRequests()).sendCancel(SslClient.cancelRequestOf(client))
}

/** Helpers shared by the end-to-end tests (not a test file itself). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SslClient } from '../lib/client.js'

/**
 * An environment with nothing in it but an empty HOME, so neither PG* variables of the machine
 * nor a ~/.postgresql directory can change what a test connects with.
 */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: mkdtempSync(join(tmpdir(), 'pg-sslmode-home-')), ...extra }
}

export interface ServerSslView {
  ssl: boolean
  version: string | null
  cipher: string | null
  clientDn: string | null
}

/** What the server says about this very connection (pg_stat_ssl): the independent proof. */
export async function serverView(client: SslClient): Promise<ServerSslView> {
  const { rows } = await client.query<{ ssl: boolean; version: string | null; cipher: string | null; client_dn: string | null }>(
    'select ssl, version, cipher, client_dn from pg_stat_ssl where pid = pg_backend_pid()',
  )
  const row = rows[0]!
  return { ssl: row.ssl, version: row.version, cipher: row.cipher, clientDn: row.client_dn }
}

/** Open sockets of this process (TCP and TLS handles), for leak checks. */
export async function openSocketCount(): Promise<number> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length
}

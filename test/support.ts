/** Helpers shared by the end-to-end tests (not a test file itself). */
import { mkdtempSync, readFileSync } from 'node:fs'
import forge from 'node-forge'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SslClient } from '../lib/postgres/client.js'
import type { PgSslError } from '../lib/engine/errors.js'

/** The built `pg-sslmode` executable: the file package.json's "bin" names, as npm links it. */
export const CLI_BIN = join(
  import.meta.dirname,
  '..',
  (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { bin: Record<string, string> })
    .bin['pg-sslmode']!,
)

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
  const { rows } = await client.query<{
    ssl: boolean
    version: string | null
    cipher: string | null
    client_dn: string | null
  }>('select ssl, version, cipher, client_dn from pg_stat_ssl where pid = pg_backend_pid()')
  const row = rows[0]!
  return { ssl: row.ssl, version: row.version, cipher: row.cipher, clientDn: row.client_dn }
}

/** Open sockets of this process (TCP and TLS handles), for leak checks. */
export async function openSocketCount(): Promise<number> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<PgSslError> {
  try {
    const value = await promise
    if (value && typeof (value as { end?: unknown }).end === 'function') await (value as { end(): Promise<void> }).end()
  } catch (error) {
    return error as PgSslError
  }
  throw new Error('expected the connection to fail')
}

/** A certificate made at test time (for dates relative to now, or forged signatures). */
export function testCertificate(opts: {
  cn: string
  issuerCert: string
  signingKey: string
  notBefore?: Date
  notAfter?: Date
  serial?: string
}): { certPem: string; keyPem: string } {
  const issuer = forge.pki.certificateFromPem(readFileSync(opts.issuerCert, 'utf8'))
  const signingKey = forge.pki.privateKeyFromPem(readFileSync(opts.signingKey, 'utf8'))
  const keys = forge.pki.rsa.generateKeyPair(1024)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = opts.serial ?? '4242'
  cert.validity.notBefore = opts.notBefore ?? new Date('2025-01-01T00:00:00Z')
  cert.validity.notAfter = opts.notAfter ?? new Date('2125-01-01T00:00:00Z')
  cert.setSubject([{ name: 'commonName', value: opts.cn }])
  cert.setIssuer(issuer.subject.attributes)
  cert.sign(signingKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) }
}

/**
 * Open sockets once closing ones have closed: polls until at most `expected` remain or 2 s pass.
 * (Fewer is fine: a socket counted in `expected` may belong to an earlier test that was closing.)
 */
export async function socketsSettleTo(expected: number, timeoutMs = 2000): Promise<number> {
  const until = Date.now() + timeoutMs
  let count = await openSocketCount()
  while (count > expected && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25))
    count = await openSocketCount()
  }
  return count
}

/**
 * The last test of an end-to-end file: every TCP and TLS socket the file opened is closed by the
 * time its tests are done (checked before the teardowns stop the servers, which would close them).
 * Call it after the last assertion: inside a test body tap runs a subtest as soon as it is made.
 */
export function endsWithNoOpenSockets(t: import('tap').Test): void {
  t.test('no socket is left open by this file', async (t) => {
    const left = await socketsSettleTo(0, 3000)
    t.equal(
      left,
      0,
      left === 0
        ? 'every socket closed'
        : `${left} TCP/TLS socket(s) still open: ${process.getActiveResourcesInfo().join(', ')}`,
    )
  })
}

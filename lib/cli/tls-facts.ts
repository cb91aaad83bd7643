/**
 * What a PostgreSQL server's TLS is, read without verifying anything and without logging in, so
 * that `probe` can say it even when verification or authentication fails: whether it answers the
 * SSLRequest with 'S', and for each TLS version whether a handshake at exactly that version
 * completes, with the certificate chain it presents (scan-tls.ts makes the handshakes).
 */
import type { X509Certificate } from 'node:crypto'
import net from 'node:net'
import { summarizeCertificate, type CertificateSummary } from '../engine/report.js'
import { handshake, sslAnswer, sslReady } from './scan-tls.js'

export interface TlsFacts {
  /** The TCP connection could be made. */
  readonly reachable: boolean
  /** The SSLRequest's answer: true 'S', false 'N', 'unknown' when none came. */
  readonly ssl: boolean | 'unknown'
  readonly versions: Readonly<Record<'TLSv1.2' | 'TLSv1.3', boolean>>
  /** The chain the server presents, leaf first (from the highest version that completed). */
  readonly chain: readonly CertificateSummary[]
  readonly error?: string
}

export async function tlsFacts(host: string, port: number, timeoutMs = 5000): Promise<TlsFacts> {
  const versions = { 'TLSv1.2': false, 'TLSv1.3': false }
  let ssl: boolean | 'unknown'
  try {
    ssl = await sslAnswer(host, port, timeoutMs)
  } catch (error) {
    const message = (error as Error).message
    const reachable = !/^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|no answer)/.test(message)
    return { reachable, ssl: 'unknown', versions, chain: [], error: message }
  }
  let chain: readonly X509Certificate[] = []
  if (ssl) {
    const servername = net.isIP(host) ? undefined : host
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const result = await handshake(() => sslReady(host, port, timeoutMs), { version, servername }, timeoutMs).catch(
        () => undefined,
      )
      versions[version] = result !== undefined
      if (result?.chain.length) chain = result.chain
    }
  }
  return { reachable: true, ssl, versions, chain: chain.map((c) => summarizeCertificate(c)!) }
}

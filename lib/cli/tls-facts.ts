/**
 * What a PostgreSQL server's TLS is, read without verifying anything and without logging in, so
 * that `probe` can say it even when verification or authentication fails: whether it answers the
 * SSLRequest with 'S', and for each TLS version whether a handshake at exactly that version
 * completes, with the certificate chain it presents. Nothing but the SSLRequest and a TLS
 * handshake is sent; every socket is closed, each step bounded by `timeoutMs`.
 */
import { X509Certificate } from 'node:crypto'
import net from 'node:net'
import tls, { type SecureVersion } from 'node:tls'
import { summarizeCertificate, type CertificateSummary } from '../engine/report.js'

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

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

type Answer = { kind: 'unreachable'; error: string } | { kind: 'answer'; byte: string; socket: net.Socket }

/** Open TCP, send the SSLRequest, read its one-byte answer. */
function sslRequest(host: string, port: number, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const fail = (error: string): void => {
      socket.destroy()
      resolve({ kind: 'unreachable', error })
    }
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs / 1000} s`))
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
    socket.once('connect', () => socket.write(SSL_REQUEST))
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0)
      socket.removeAllListeners('error')
      resolve({ kind: 'answer', byte: chunk.subarray(0, 1).toString('latin1'), socket })
    })
  })
}

/** A handshake at exactly `version` on a socket that answered 'S': the chain, or undefined. */
function handshake(
  socket: net.Socket,
  host: string,
  version: SecureVersion,
  timeoutMs: number,
): Promise<X509Certificate[] | undefined> {
  return new Promise((resolve) => {
    const secure = tls.connect({
      socket,
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(net.isIP(host) ? {} : { servername: host }),
    })
    const done = (chain: X509Certificate[] | undefined): void => {
      secure.destroy()
      socket.destroy()
      resolve(chain)
    }
    secure.setTimeout(timeoutMs, () => done(undefined))
    secure.once('error', () => done(undefined))
    secure.once('secureConnect', () => {
      const chain: X509Certificate[] = []
      let cert = secure.getPeerCertificate(true)
      while (cert?.raw && chain.length < 10) {
        chain.push(new X509Certificate(cert.raw))
        if (!cert.issuerCertificate || cert.issuerCertificate === cert) break
        cert = cert.issuerCertificate
      }
      done(secure.getProtocol() === version ? chain : undefined)
    })
  })
}

export async function tlsFacts(host: string, port: number, timeoutMs = 5000): Promise<TlsFacts> {
  const versions = { 'TLSv1.2': false, 'TLSv1.3': false }
  let chain: X509Certificate[] = []
  let ssl: boolean | 'unknown' = 'unknown'
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const answer = await sslRequest(host, port, timeoutMs)
    if (answer.kind === 'unreachable') return { reachable: false, ssl, versions, chain: [], error: answer.error }
    ssl = answer.byte === 'S' ? true : answer.byte === 'N' ? false : 'unknown'
    if (ssl !== true) {
      answer.socket.destroy()
      break
    }
    const presented = await handshake(answer.socket, host, version, timeoutMs)
    versions[version] = presented !== undefined
    if (presented?.length) chain = presented
  }
  return { reachable: true, ssl, versions, chain: chain.map((c) => summarizeCertificate(c)!) }
}

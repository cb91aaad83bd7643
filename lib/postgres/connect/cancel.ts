/**
 * Cancelling a running query, as libpq 17+ does it (PQcancelCreate / PQcancelBlocking in
 * fe-cancel.c): the cancel connection goes to the server the session is connected to and
 * negotiates SSL with the session's own settings — the same sslmode and its fallbacks, the same
 * root CA, CRLs, host-name check and client certificate, the same SSL policy — and only then sends
 * CancelRequest with the session's whole cancel key. pg's own cancel() opens a plain TCP
 * connection whatever the session used; older libpq did too.
 *
 * Under the policy, a cancel that would go out in plaintext where the policy forbids it is refused
 * like a connection (POLICY_VIOLATION). openGauss servers take a CancelRequest after SSLRequest as
 * PostgreSQL's do (ProcessStartupPacket), so the openGauss dialects cancel over TLS as well.
 */
import type { Socket } from 'node:net'
import { PgSslError, withAttempts } from '../../engine/errors.js'
import type { ConnectionSettings } from '../connection-settings.js'
import type { AttemptRecord } from '../../engine/report.js'
import { attemptRecord, classify, finalError, mayFollow, type Failure } from './failure.js'
import { prepare } from './prepare.js'
import { tlsOptionsFor } from './tls-options.js'
import { checkPeer } from '../../engine/peer-check.js'
import { negotiateSsl, openSocket } from './transport.js'
import { closeQuietly } from '../../engine/sockets.js'

const CANCEL_REQUEST_CODE = 80877102
/** How long the server may take to close a cancel connection, when connect_timeout does not say. */
const DEFAULT_CANCEL_TIMEOUT_MS = 10_000

export interface CancelKey {
  readonly processId: number
  /** 4 bytes (protocol 3.0), up to 256 (3.2). */
  readonly key: Buffer
}

/** What the cancel request went over. */
export interface CancelOutcome {
  readonly host: string
  readonly port: number
  readonly encrypted: boolean
  readonly serverCertificateVerified: boolean
  /** TLS version of the cancel connection, or null in plaintext. */
  readonly protocol: string | null
  readonly attempts: readonly AttemptRecord[]
}

/** The CancelRequest packet: length, code 80877102, process ID, key. */
export function cancelRequestPacket(key: CancelKey): Buffer {
  const head = Buffer.alloc(12)
  head.writeInt32BE(12 + key.key.length, 0)
  head.writeInt32BE(CANCEL_REQUEST_CODE, 4)
  head.writeUInt32BE(key.processId, 8)
  return Buffer.concat([head, key.key])
}

/** What a cancel request needs of the session; session and key are absent when it has none. */
export interface CancelRequest {
  /** The server the session is connected to (its report's host and port). */
  readonly session?: { readonly host: string; readonly port: number }
  readonly key?: CancelKey
  /** The session's settings; read only once the request can be made. */
  readonly settings: () => ConnectionSettings
}

/** Send a cancel request for the session, with the session's own SSL settings. */
export async function sendCancel(request: CancelRequest): Promise<CancelOutcome> {
  const { session, key } = request
  if (!session) {
    throw new PgSslError('CONNECTION_FAILED', 'cannot cancel: the client is not connected', {
      hint: 'cancel a query of a connected client',
    })
  }
  if (!key) {
    throw new PgSslError(
      'PROTOCOL_VIOLATION',
      'cannot cancel: the server sent no cancel key (BackendKeyData) for this session',
    )
  }
  const settings = request.settings()
  const prepared = await prepare(settings)
  let index = prepared.endpoints.findIndex((e) => e.host === session.host && e.port === session.port)
  if (index < 0) index = 0
  const endpoint = prepared.endpoints[index]!
  const plan = prepared.plans[index]!
  const timeoutMs = prepared.config.connectTimeoutMs || DEFAULT_CANCEL_TIMEOUT_MS
  const records: AttemptRecord[] = []
  const failures: Failure[] = []
  for (const spec of plan.attempts) {
    const previous = failures.at(-1)
    if (previous !== undefined && !mayFollow(spec, previous, settings.dialect)) break
    let stream: Socket | undefined
    const record = (result: AttemptRecord['result'], error?: PgSslError): void =>
      void records.push(attemptRecord(endpoint, spec, false, result, error))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      closeQuietly(stream)
    }, timeoutMs)
    try {
      stream = await openSocket(endpoint, prepared.config.keepAlive)
      let protocol: string | null = null
      if (spec.ssl) {
        const answer = await negotiateSsl(stream, tlsOptionsFor(spec, endpoint, prepared), {
          direct: spec.direct === true,
          verifiesChain: spec.verifyChain,
          onTlsSocket: (tls) => {
            stream = tls
          },
        })
        if (answer.kind === 'refused') {
          throw new PgSslError(
            'SSL_DISABLED_ON_SERVER',
            'server does not support SSL, but SSL was required (cancel request)',
            { setting: 'sslmode' },
          )
        }
        stream = answer.socket
        protocol = answer.session.protocol
        await checkPeer(answer.session, spec, endpoint, prepared.material, settings.policy)
      }
      await deliver(stream, cancelRequestPacket(key))
      record('connected')
      return {
        host: endpoint.host,
        port: endpoint.port,
        encrypted: spec.ssl,
        serverCertificateVerified: spec.ssl && spec.verifyChain,
        protocol,
        attempts: records,
      }
    } catch (error) {
      const failure = classify(error, timedOut, timeoutMs)
      record('failed', failure.error)
      failures.push(failure)
      if (timedOut) break
    } finally {
      clearTimeout(timer)
      closeQuietly(stream)
    }
  }
  throw withAttempts(finalError(failures, plan, settings.policy), records)
}

/** Write the request and wait until the server closes the connection (it answers nothing). */
function deliver(stream: Socket, packet: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve()
    stream.once('close', done)
    stream.once('end', done)
    stream.on('error', done) // a reset after the request is the server closing too
    stream.resume()
    stream.write(packet)
  })
}

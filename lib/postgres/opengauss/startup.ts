/**
 * The start-up and authentication of an openGauss/GaussDB session, run before pg takes the socket
 * (pg would read openGauss's code 10 as PostgreSQL's SASL): the driver of the exchange
 * (exchange.ts) over the socket. What the server sends is framed with the same framer and libpq's
 * rules as pg's start-up (protocol/); each authentication request goes to the auth guard before
 * anything is answered. Everything after AuthenticationOk (parameters, backend key,
 * ReadyForQuery) is put back into the socket for pg to read.
 */
import type { Socket } from 'node:net'
import { PgSslError } from '../../engine/errors.js'
import { BackendFramer } from '../protocol/framer.js'
import { AUTHENTICATION, authenticationCode } from '../protocol/messages.js'
import { BEFORE_AUTHENTICATION } from '../protocol/startup-rules.js'
import { OpenGaussExchange } from './exchange.js'

export interface OpenGaussAuthInput {
  readonly params: Record<string, string>
  /** pg's password: a string, or a function that gives one (pg allows both). */
  readonly password: unknown
  readonly user: string
  /** The protocol minor version to ask for (3.51 unless max_protocol_version says otherwise). */
  readonly protocolMinor?: number
  /** The auth guard (connect/auth-guard.ts): an error returned ends the start-up before any answer. */
  readonly onAuthenticationRequest?: (code: number, body: Buffer) => PgSslError | undefined
}

export interface OpenGaussStartup {
  /**
   * The protocol version the session runs in: the one asked for, or the one a PostgreSQL server
   * named in NegotiateProtocolVersion.
   */
  readonly protocolVersion: string
  /** With protocol minor < 50 and a SHA256 exchange: the server proved it knows the password. */
  readonly serverSignatureVerified: boolean
}

/** Run the start-up on `socket`; resolves after AuthenticationOk with the rest left unread. */
export function authenticate(socket: Socket, input: OpenGaussAuthInput): Promise<OpenGaussStartup> {
  const exchange = new OpenGaussExchange(input.user, input.protocolMinor ?? 51)
  const framer = new BackendFramer(BEFORE_AUTHENTICATION)
  return new Promise((resolve, reject) => {
    const pending: Buffer[] = []
    let busy = false
    const finish = (error: unknown, rest?: Buffer): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.pause()
      if (error) {
        reject(error)
        return
      }
      const unread = Buffer.concat([...(rest ? [rest] : []), ...pending])
      if (unread.length > 0) socket.unshift(unread)
      resolve({ protocolVersion: exchange.protocolVersion, serverSignatureVerified: exchange.serverSignatureVerified })
    }
    const onError = (error: Error): void =>
      finish(
        error instanceof PgSslError
          ? error
          : new PgSslError('CONNECTION_FAILED', `connection lost during authentication: ${error.message}`, {
              cause: error,
            }),
      )
    const onClose = (): void =>
      finish(new PgSslError('CONNECTION_FAILED', 'server closed the connection during authentication'))
    // One chunk at a time, in order: a password may take a while, and what arrives meanwhile waits.
    const pump = async (): Promise<void> => {
      busy = true
      try {
        for (let chunk = pending.shift(); chunk; chunk = pending.shift()) {
          for (const message of framer.messages(chunk)) {
            if (message.type === AUTHENTICATION) {
              const refused = input.onAuthenticationRequest?.(authenticationCode(message.body), message.body)
              if (refused) throw refused
            }
            const step = exchange.receive(message)
            if (step.kind === 'authenticated') return finish(undefined, chunk.subarray(message.end))
            if (step.kind === 'password') socket.write(step.answer(await passwordFor(input)))
          }
        }
      } catch (error) {
        return finish(error)
      } finally {
        busy = false
      }
    }
    const onData = (chunk: Buffer): void => {
      pending.push(chunk)
      if (!busy) void pump()
    }
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.write(exchange.startupMessage(input.params))
    socket.resume()
  })
}

async function passwordFor(input: OpenGaussAuthInput): Promise<string> {
  const given = typeof input.password === 'function' ? await (input.password as () => unknown)() : input.password
  const password = typeof given === 'string' ? given : undefined
  if (password === undefined) {
    const problem = 'the server requested password authentication, but no password was given'
    throw new PgSslError('SERVER_REJECTED', problem, { setting: 'password', hint: 'set password (or PGPASSWORD)' })
  }
  return password
}

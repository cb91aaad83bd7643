/**
 * What listens to a start-up on its socket before pg does, for one attempt: openGauss's own
 * authentication (opengauss/startup.ts) when the dialect asks for it, then the start-up guard
 * (startup-guard.ts) until ReadyForQuery, answering a SASL exchange pg cannot run (sasl.ts) — and,
 * for protocol 3.2, the start-up packet pg is to send instead of its own 3.0 one. What they learn
 * becomes the attempt's StartupFacts.
 */
import type { Socket } from 'node:net'
import type pg from '../pg.js'
import { startupParameters } from '../pg-internals.js'
import { startupPacket } from '../protocol/messages.js'
import { guardStartup } from './startup-guard.js'
import type { StartOptions, StartupFacts } from './target.js'

export interface StartTaps {
  /** What the start-up established, read once pg's start-up is over. */
  readonly facts: () => StartupFacts
  /** The start-up packet pg is to send (protocol 3.2 allowed), or undefined for pg's own. */
  readonly startupPacket: ((params: Record<string, string>) => Buffer) | undefined
}

/**
 * Run openGauss's authentication when `start` asks for it, and put the guard on `stream`. The
 * whole cancel key goes to `onBackendKey` (pg cuts it to 4 bytes when protocol 3.2 sends more).
 */
export async function tapStartup(
  stream: Socket,
  client: InstanceType<typeof pg.Client>,
  start: StartOptions,
  onBackendKey: (processId: number, key: Buffer) => void,
): Promise<StartTaps> {
  const { onAuthenticationRequest, openGauss, protocol, sasl } = start
  const guarded = onAuthenticationRequest ? { onAuthenticationRequest } : {}
  const parameters: Record<string, string> = {}
  let facts: Omit<StartupFacts, 'parameters'> = { protocolVersion: '3.0', serverSignatureVerified: false }
  if (openGauss) {
    // With the same framing and checks as pg's start-up; pg is given the socket after AuthenticationOk.
    // openGauss's code is loaded for openGauss connections only.
    const { authenticate } = await import('../opengauss/startup.js')
    facts = await authenticate(stream, {
      protocolMinor: openGauss.protocolMinor,
      params: startupParameters(client),
      user: client.user ?? '',
      password: client.password,
      ...guarded,
    })
    start.onAuthenticated()
  }
  // A server that is not PostgreSQL, or misbehaves, is refused at once.
  guardStartup(stream, {
    phase: openGauss ? 'after-auth' : 'auth',
    onBackendKey,
    ...(start.readParameters
      ? {
          onParameterStatus: (name: string, value: string) => {
            parameters[name] = value
          },
        }
      : {}),
    onProtocolVersion: (minor) => {
      facts = { ...facts, protocolVersion: `3.${minor}` }
    },
    ...(protocol ? { protocol } : {}),
    ...(sasl ? { sasl: { answerer: sasl, send: (bytes: Buffer) => stream.write(bytes) } } : {}),
    ...guarded,
  })
  return {
    facts: () => ({ ...facts, parameters }),
    startupPacket: protocol && protocol.max > 0 ? (params) => startupPacket(protocol.max, params) : undefined,
  }
}

/**
 * resolve(): everything connect() decides before the network — merged settings with the source
 * of each value, and the attempt plan per host — without opening a socket. Certificate files are
 * loaded and checked, so a resolve() that succeeds fails no file check in connect().
 */
import type { Dialect } from './dialects.js'
import type { ConnectOptions } from './options.js'
import type { Plan } from './plan.js'
import { describeSettings, type Setting } from './settings/merge.js'
import { connectionSettings } from './connection-settings.js'

export interface ResolvedEndpoint {
  readonly host: string
  readonly port: number
  /** hostaddr when given, else host. */
  readonly address: string
  readonly transport: 'tcp' | 'unix'
  readonly plan: Plan
  /**
   * Where this host's password comes from when a password file supplies it: "passfile:FILE:LINE" (the password is never
   * shown).
   */
  readonly passwordSource?: string
}

export interface Resolution {
  /** Every keyword with a value, and where it came from. password and sslpassword are "***". */
  readonly settings: Readonly<Record<string, Setting>>
  readonly dialect: Dialect
  readonly endpoints: readonly ResolvedEndpoint[]
}

export async function resolve(options: ConnectOptions = {}): Promise<Resolution> {
  // The connect machinery loads when first needed (client.ts says why).
  const { prepare } = await import('./connect/prepare.js')
  const prepared = await prepare(connectionSettings(options))
  return {
    settings: describeSettings(prepared.settings),
    dialect: prepared.settings.dialect,
    endpoints: prepared.endpoints.map((endpoint, i) => ({
      host: endpoint.host,
      port: endpoint.port,
      address: endpoint.address,
      transport: endpoint.socketPath ? 'unix' : 'tcp',
      plan: prepared.plans[i]!,
      ...(endpoint.passfile ? { passwordSource: `passfile:${endpoint.passfile.file}:${endpoint.passfile.line}` } : {}),
    })),
  }
}

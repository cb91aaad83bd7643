/**
 * What the executor needs of a client (SslClient implements it): sockets to use, a start-up on a
 * socket, giving an attempt up, and aborts. Defined here so that the executor never imports the
 * client above it.
 */
import type { Socket } from 'node:net'
import type { PgSslError } from '../../engine/errors.js'
import type { SecurityReport } from '../../engine/report.js'
import type { ExpiryWarning } from '../../engine/policy/enforce.js'
import type { ProtocolRange } from '../protocol/version.js'
import type { SaslAnswerer } from './sasl.js'

/** The executor's view of a client: sockets to use, a start-up on a socket, giving one up, aborts. */
export interface StartupTarget extends NodeJS.EventEmitter {
  /** The socket for the next attempt (pg's own, unconnected, the first time); shown as connection.stream. */
  nextSocket(): Socket
  /** Show `stream` (the TLS socket after the handshake) as connection.stream. */
  expose(stream: Socket): void
  startOn(stream: Socket, start: StartOptions): Promise<StartupFacts>
  abandonAttempt(): void
  /** One value from a query on the connected session, as the server's text (target_session_attrs checks). */
  askServer(sql: string): Promise<string | undefined>
  /** The executor's handler for end() or an outside destroy of connection.stream during negotiation. */
  onAbort(handler: (() => void) | undefined): void
  readonly aborted: boolean
}

/** How a start-up runs: what it tells, what checks each authentication request, and openGauss's protocol. */
export interface StartOptions {
  /** Called at AuthenticationOk. */
  readonly onAuthenticated: () => void
  /** The auth guard: an error returned ends the start-up before any answer is sent. */
  readonly onAuthenticationRequest?: (code: number, body: Buffer) => PgSslError | undefined
  /** The openGauss dialects: the start-up is openGauss's, asking for this protocol minor version. */
  readonly openGauss?: { readonly protocolMinor: number }
  /** The `postgres` dialect: min_protocol_version and max_protocol_version (3.0 when absent). */
  readonly protocol?: ProtocolRange
  /** A SASL exchange run in pg's place (sasl.ts): SCRAM with scram_client_key / scram_server_key. */
  readonly sasl?: SaslAnswerer
  /**
   * target_session_attrs needs the server's ParameterStatus values (in_hot_standby,
   * default_transaction_read_only): read them. Otherwise they are not decoded (pg reads them too).
   */
  readonly readParameters?: boolean
}

/** What a successful negotiation yields: the report (built when first asked), and the policy's certificate warnings. */
export interface Negotiated {
  readonly report: () => SecurityReport
  readonly warnings: readonly ExpiryWarning[]
}

/** The error of a negotiation ended from outside (pg's words for a connection that went away). */
export const TERMINATED = 'Connection terminated unexpectedly'

/** What a start-up established besides the connection: the protocol version, and openGauss's server proof. */
export interface StartupFacts {
  /**
   * The `postgres` dialect: 3.0, or 3.2 when max_protocol_version asked for it and the server has it; the openGauss
   * dialects: the version asked for (3.51 by default) or the one a PostgreSQL server named.
   */
  readonly protocolVersion: string
  /** openGauss SHA256 under a protocol below 3.50: the server's signature was checked. */
  readonly serverSignatureVerified: boolean
  /** The ParameterStatus values the server reported during the start-up; empty unless readParameters was asked. */
  readonly parameters: Readonly<Record<string, string>>
}

/**
 * The SASL exchanges pg cannot run, answered on the socket in pg's place (the start-up guard hands
 * each SASL request here instead of to pg, and pg sees only the AuthenticationOk that ends it):
 * SCRAM-SHA-256 with scram_client_key / scram_server_key (protocol/scram.ts). The mechanism is
 * chosen as libpq's pg_SASL_init chooses it, which is pg's choice too (auth-guard.ts reports it):
 * SCRAM-SHA-256-PLUS when offered over TLS and channel_binding is not disable.
 */
import { PgSslError } from '../../engine/errors.js'
import { serverEndPointHash } from '../../engine/tls/channel-binding.js'
import { saslMechanisms } from '../protocol/messages.js'
import { ScramExchange, type ScramMechanism } from '../protocol/scram.js'

export const SASL = 10
export const SASL_CONTINUE = 11
export const SASL_FINAL = 12

/** Answers the SASL requests of one attempt: the bytes to send back, none (at the final message), or a refusal. */
export interface SaslAnswerer {
  answer(code: number, body: Buffer): Buffer | undefined
}

export interface ScramKeyInput {
  readonly clientKey: Buffer | undefined
  readonly serverKey: Buffer | undefined
  /** The password, for a key not given (libpq: a server key with a password). */
  readonly password: string | undefined
  readonly channelBinding: 'disable' | 'prefer' | 'require'
  /** The server's certificate (DER) when the attempt runs over TLS. */
  readonly serverCertificate: Buffer | undefined
}

/** SASLInitialResponse ('p'): the mechanism, then the length-prefixed initial response. */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  const name = Buffer.from(`${mechanism}\0`, 'utf8')
  const head = Buffer.alloc(5)
  head[0] = 0x70
  head.writeInt32BE(4 + name.length + 4 + data.length, 1)
  const length = Buffer.alloc(4)
  length.writeInt32BE(data.length, 0)
  return Buffer.concat([head, name, length, data])
}

/** SASLResponse ('p'): the data alone. */
export function saslResponse(data: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head[0] = 0x70
  head.writeInt32BE(4 + data.length, 1)
  return Buffer.concat([head, data])
}

/** libpq's SCRAM, with the keys in place of the password. */
export function scramWithKeys(input: ScramKeyInput): SaslAnswerer {
  let exchange: ScramExchange | undefined
  return {
    answer(code, body) {
      const data = body.subarray(4).toString('utf8')
      if (code === SASL) {
        const mechanism = chooseScram(saslMechanisms(body), input)
        const tls = input.serverCertificate
        exchange = new ScramExchange({
          mechanism,
          binding:
            mechanism === 'SCRAM-SHA-256-PLUS'
              ? { data: serverEndPointHash(tls!) }
              : { couldBind: tls !== undefined && input.channelBinding !== 'disable' },
          clientKey: input.clientKey,
          serverKey: input.serverKey,
          password: input.password,
        })
        return saslInitialResponse(mechanism, Buffer.from(exchange.clientFirst(), 'utf8'))
      }
      if (!exchange) throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SASL state')
      if (code === SASL_CONTINUE) return saslResponse(Buffer.from(exchange.clientFinal(data), 'utf8'))
      exchange.verifyServerFinal(data)
      return undefined
    },
  }
}

function chooseScram(mechanisms: readonly string[], input: ScramKeyInput): ScramMechanism {
  if (mechanisms.includes('SCRAM-SHA-256-PLUS') && input.serverCertificate && input.channelBinding !== 'disable')
    return 'SCRAM-SHA-256-PLUS'
  if (mechanisms.includes('SCRAM-SHA-256')) return 'SCRAM-SHA-256'
  throw new PgSslError('UNSUPPORTED_AUTH', "none of the server's SASL authentication mechanisms are supported", {
    hint: `the server offered ${mechanisms.join(', ') || 'none'}; scram_client_key and scram_server_key are SCRAM keys`,
  })
}

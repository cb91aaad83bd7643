/**
 * The SASL exchanges pg cannot run, answered on the socket in pg's place (the start-up guard hands
 * each SASL request here, and pg sees only the AuthenticationOk that ends it): SCRAM-SHA-256 with
 * scram_client_key / scram_server_key (protocol/scram.ts) and OAUTHBEARER (protocol/oauthbearer.ts,
 * oauth.ts). SCRAM with a password stays pg's. The mechanism is chosen as libpq's pg_SASL_init
 * chooses it (protocol/sasl-choice.ts), which the auth guard has checked already.
 */
import { PgSslError } from '../../engine/errors.js'
import { serverEndPointHash } from '../../engine/tls/channel-binding.js'
import { saslMechanisms } from '../protocol/messages.js'
import { chooseSaslMechanism } from '../protocol/sasl-choice.js'
import { ScramExchange } from '../protocol/scram.js'

export const SASL = 10
export const SASL_CONTINUE = 11
export const SASL_FINAL = 12

/** What to do with one SASL request: bytes to send back, and the end of the attempt (a refusal, or a retry). */
export interface SaslReply {
  readonly send?: Buffer
  readonly end?: PgSslError
}

/** Answers the SASL requests of one attempt that pg cannot answer. */
export interface SaslAnswerer {
  /** AuthenticationSASL: whether this exchange is answered here (false: pg runs it, with the password). */
  takes(body: Buffer): boolean
  /** A request of an exchange this answerer took; a promise while a token is being fetched. */
  answer(code: number, body: Buffer): SaslReply | Promise<SaslReply>
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

/** libpq's SCRAM, with the keys in place of the password: the answers of one exchange. */
export function scramWithKeys(input: ScramKeyInput): (code: number, body: Buffer) => SaslReply {
  let exchange: ScramExchange | undefined
  return (code, body) => {
    const data = body.subarray(4).toString('utf8')
    if (code === SASL) {
      const tls = input.serverCertificate
      const mechanism = chooseSaslMechanism(saslMechanisms(body), tls !== undefined, input.channelBinding)
      if (mechanism === 'OAUTHBEARER') throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SASL state')
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
      return { send: saslInitialResponse(mechanism, Buffer.from(exchange.clientFirst(), 'utf8')) }
    }
    if (!exchange) throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SASL state')
    if (code === SASL_CONTINUE) return { send: saslResponse(Buffer.from(exchange.clientFinal(data), 'utf8')) }
    exchange.verifyServerFinal(data)
    return {}
  }
}

/** The exchanges of one attempt that are run here: SCRAM with keys, OAUTHBEARER; the rest is pg's. */
export interface SaslParties {
  readonly tls: boolean
  readonly channelBinding: 'disable' | 'prefer' | 'require'
  readonly scramWithKeys?: ((code: number, body: Buffer) => SaslReply) | undefined
  readonly oauthBearer?: ((code: number, body: Buffer) => SaslReply | Promise<SaslReply>) | undefined
}

export function saslAnswerer(parties: SaslParties): SaslAnswerer {
  let current: SaslParties['oauthBearer']
  return {
    takes(body) {
      const mechanism = chooseSaslMechanism(saslMechanisms(body), parties.tls, parties.channelBinding)
      current = mechanism === 'OAUTHBEARER' ? parties.oauthBearer : parties.scramWithKeys
      return current !== undefined
    },
    answer(code, body) {
      if (!current) throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SASL state')
      return current(code, body)
    },
  }
}

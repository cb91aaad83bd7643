/**
 * OAUTHBEARER in pg's place (PostgreSQL 18's `oauth` method): the exchange of protocol/
 * oauthbearer.ts driven for one attempt, and the token fetched from the application's
 * oauthBearerToken function — the counterpart of libpq's PQAUTHDATA_OAUTH_BEARER_TOKEN hook, which
 * it is asked exactly when libpq would ask its hook: when the discovery URI is known and no token
 * is. The token leaves the process only after the SSL policy's tokensRequireVerifyFull rule
 * allowed the attempt, and appears in no error, report, event or log. Loaded when a server first
 * asks for OAUTHBEARER (attempt.ts, executor.ts), not with the rest of the connect machinery.
 */
import { PgSslError } from '../../engine/errors.js'
import {
  OAuthBearerExchange,
  type OAuthBearerRequest,
  type OAuthBearerTokenProvider,
  OAuthFlow,
  type OAuthStep,
} from '../protocol/oauthbearer.js'
import { type TokenContext, tokenAllowed } from './token-policy.js'

export type { OAuthBearerRequest, OAuthBearerTokenProvider }
// The flow is made here for attempt.ts, which loads this module only when a server asks for OAUTHBEARER.
export { OAuthFlow }
import { SASL, SASL_FINAL, type SaslReply, saslInitialResponse, saslResponse } from './sasl.js'

/** A discovery exchange ended: the connection is made again once the token is known (libpq's oauth_want_retry). */
export class TokenRetry extends PgSslError {
  constructor() {
    super('OAUTH_FAILED', 'retrying connection with new bearer token')
  }
}

/** The application's token for the flow's request: libpq's setup_token_request with a user hook. */
export async function fetchToken(flow: OAuthFlow, context: TokenContext): Promise<string> {
  const refused = tokenAllowed(context)
  if (refused) throw refused
  if (!context.provider) {
    throw new PgSslError('OAUTH_FAILED', 'no OAuth flows are available', {
      setting: 'oauthBearerToken',
      hint:
        'libpq would run its libpq-oauth device flow here; pass connect() an oauthBearerToken function: ' +
        'async ({ openidConfiguration, scope }) => token',
    })
  }
  const request: OAuthBearerRequest = {
    ...flow.request(),
    issuer: flow.issuerId!,
    clientId: flow.settings.clientId!,
    clientSecret: context.clientSecret,
    ...context.endpoint,
  }
  let token: unknown
  try {
    token = await context.provider(request)
  } catch (error) {
    throw new PgSslError('OAUTH_FAILED', 'user-defined OAuth flow failed', {
      setting: 'oauthBearerToken',
      cause: error,
    })
  }
  if (typeof token !== 'string' || token === '')
    throw new PgSslError('OAUTH_FAILED', 'user-defined OAuth flow did not provide a token', {
      setting: 'oauthBearerToken',
    })
  // RFC 7628's value: visible characters, space, tab, CR, LF — the server refuses anything else.
  if (!/^[\x21-\x7e \t\r\n]+$/.test(token)) {
    throw new PgSslError('OAUTH_FAILED', 'the OAuth token has characters an OAUTHBEARER message cannot carry', {
      setting: 'oauthBearerToken',
      hint: 'a bearer token is made of visible ASCII characters (RFC 6750 b64token)',
    })
  }
  return token
}

/** One attempt's OAUTHBEARER exchange: the answers to AuthenticationSASL, -Continue and -Final. */
export function oauthBearerAnswers(
  flow: OAuthFlow,
  context: TokenContext,
): (code: number, body: Buffer) => SaslReply | Promise<SaslReply> {
  let exchange: OAuthBearerExchange | undefined
  const reply = (step: OAuthStep, initial: boolean): SaslReply => {
    if (!('send' in step)) throw new PgSslError('OAUTH_FAILED', 'invalid OAuth exchange state')
    if (initial && exchange!.tokenSent) {
      const refused = tokenAllowed(context)
      if (refused) return { end: refused }
    }
    const bytes = Buffer.from(step.send, 'utf8')
    const send = initial ? saslInitialResponse('OAUTHBEARER', bytes) : saslResponse(bytes)
    return 'retry' in step ? { send, end: new TokenRetry() } : { send }
  }
  return (code, body) => {
    if (code === SASL) {
      exchange = new OAuthBearerExchange(flow)
      const step = exchange.start()
      if ('tokenNeeded' in step) {
        return fetchToken(flow, context).then((token) => reply(exchange!.withToken(token), true))
      }
      return reply(step, true)
    }
    if (!exchange) throw new PgSslError('PROTOCOL_VIOLATION', 'invalid SASL state')
    return reply(exchange.challenge(body.subarray(4), code === SASL_FINAL), false)
  }
}

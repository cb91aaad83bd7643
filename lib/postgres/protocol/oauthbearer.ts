/**
 * The client side of SASL OAUTHBEARER (RFC 7628) as libpq 18 runs it (fe-auth-oauth.c), pure:
 * the server's challenge in, what to send and what to do next out. Across the connections of one
 * connect() (libpq: across the attempts of one PGconn) an OAuthFlow keeps what was learnt — the
 * issuer identifier, the discovery URI, the scope, the token — so that a discovery exchange is
 * followed by one connection that sends the token:
 *
 *   no token, no discovery URI → "auth=" (empty): the server answers its error result with the
 *   discovery URI and scope → a dummy answer, the token is asked for, and the connection is made
 *   again with it ("retrying connection with new bearer token");
 *   a well-known oauth_issuer, or a token from an earlier connection → the token at once.
 */
import { PgSslError } from '../../engine/errors.js'
import { OAuthJsonError, parseOAuthError } from './oauth-json.js'

const KVSEP = '\x01'
const WELL_KNOWN = '/.well-known/'
const SUFFIXES = ['openid-configuration', 'oauth-authorization-server']

const oauthError = (message: string, hint?: string): PgSslError =>
  new PgSslError('OAUTH_FAILED', message, hint ? { hint } : {})

/** The oauth_* settings a flow starts from. */
export interface OAuthSettings {
  readonly issuer: string | undefined
  readonly clientId: string | undefined
  readonly scope: string | undefined
  /** PGOAUTHDEBUG=UNSAFE: http:// discovery URIs are allowed (libpq's testing switch). */
  readonly unsafeDebugging: boolean
}

/** What the token provider is asked for: libpq's PGoauthBearerRequest inputs. */
export interface TokenRequest {
  readonly openidConfiguration: string
  readonly scope: string | undefined
}

/** What oauthBearerToken is asked: libpq's request (discovery URI, scope) and the connection it is for. */
export interface OAuthBearerRequest extends TokenRequest {
  /** oauth_issuer's issuer identifier, as checked against the server's discovery URI. */
  readonly issuer: string
  readonly clientId: string
  /** oauth_client_secret, for a flow that needs it (client credentials); undefined when not set. */
  readonly clientSecret: string | undefined
  readonly host: string
  readonly port: number
  readonly user: string | undefined
}

export type OAuthBearerTokenProvider = (request: OAuthBearerRequest) => string | Promise<string>

/** libpq's issuer_from_well_known_uri (RFC 8414): the issuer identifier a discovery URI names. */
export function issuerFromWellKnownUri(uri: string, unsafeDebugging: boolean): string {
  const lower = uri.slice(0, 8).toLowerCase()
  const authority = lower.startsWith('https://') ? 8 : unsafeDebugging && lower.startsWith('http://') ? 7 : -1
  if (authority < 0) throw oauthError(`OAuth discovery URI "${uri}" must use HTTPS`)
  const rest = uri.slice(authority)
  if (/[?#]/.test(rest)) throw oauthError(`OAuth discovery URI "${uri}" must not contain query or fragment components`)
  const start = rest.indexOf(WELL_KNOWN)
  if (start < 0) throw oauthError(`OAuth discovery URI "${uri}" is not a .well-known URI`)
  const after = start + WELL_KNOWN.length
  const suffix = SUFFIXES.find((s) => rest.startsWith(s, after))
  const end = suffix === undefined ? -1 : after + suffix.length
  if (end < 0 || (end < rest.length && rest[end] !== '/'))
    throw oauthError(`OAuth discovery URI "${uri}" uses an unsupported .well-known suffix`)
  // Not at the end: then at the very start of the path (IETF style), never in its middle.
  if (end < rest.length && rest.indexOf('/') !== start)
    throw oauthError(`OAuth discovery URI "${uri}" uses an invalid format`)
  return uri.slice(0, authority + start) + rest.slice(end)
}

/** What libpq keeps on the PGconn between the attempts of one connection. */
export class OAuthFlow {
  readonly settings: OAuthSettings
  issuerId: string | undefined
  discoveryUri: string | undefined
  scope: string | undefined
  /** The bearer token: held until the connection succeeds or fails, never shown. */
  token: string | undefined
  /** A discovery exchange ended: connect again to the same host once the token is known. */
  wantRetry = false

  constructor(settings: OAuthSettings) {
    this.settings = settings
    this.scope = settings.scope
  }

  /** libpq's setup_oauth_parameters: once per connection. */
  setUp(): void {
    if (this.issuerId !== undefined) return
    const { issuer, clientId, unsafeDebugging } = this.settings
    if (!issuer || !clientId)
      throw oauthError('server requires OAuth authentication, but oauth_issuer and oauth_client_id are not both set')
    if (issuer.includes(WELL_KNOWN)) {
      this.issuerId = issuerFromWellKnownUri(issuer, unsafeDebugging)
      this.discoveryUri = issuer
    } else this.issuerId = issuer
  }

  /** The request for the token provider (libpq calls its hook only with a discovery URI). */
  request(): TokenRequest {
    return { openidConfiguration: this.discoveryUri!, scope: this.scope }
  }

  /** libpq's handle_oauth_sasl_error: the server's error result, remembered for the next connection. */
  readServerError(data: Buffer): void {
    if (data.includes(0)) throw oauthError("server's error message contained an embedded NULL, and was discarded")
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data)
    } catch {
      throw oauthError("server's error response is not valid UTF-8")
    }
    let result: ReturnType<typeof parseOAuthError>
    try {
      result = parseOAuthError(text)
    } catch (error) {
      if (!(error instanceof OAuthJsonError)) throw error
      throw oauthError(`failed to parse server's error response: ${error.message}`)
    }
    if (result.discoveryUri !== undefined) {
      const issuer = issuerFromWellKnownUri(result.discoveryUri, this.settings.unsafeDebugging)
      if (issuer !== this.issuerId) {
        throw oauthError(
          `server's discovery document at ${result.discoveryUri} (issuer "${issuer}") is incompatible with ` +
            `oauth_issuer (${this.issuerId})`,
          'the server (pg_hba.conf issuer=) and oauth_issuer must name the same issuer, byte for byte',
        )
      }
      if (this.discoveryUri === undefined) this.discoveryUri = result.discoveryUri
      else if (this.discoveryUri !== result.discoveryUri) {
        throw oauthError(
          `server's discovery document has moved to ${result.discoveryUri} ` +
            `(previous location was ${this.discoveryUri})`,
        )
      }
    }
    // The server may not override a scope already set.
    if (result.scope !== undefined && this.scope === undefined) this.scope = result.scope
    if (result.status === undefined) throw oauthError('server sent error response without a status')
    if (result.status !== 'invalid_token') throw oauthError(`server rejected OAuth bearer token: ${result.status}`)
  }
}

/** The client's initial response: the token, or an empty auth value that asks for discovery. */
export function initialResponse(token: string | undefined): string {
  return `n,,${KVSEP}auth=${token === undefined ? '' : `Bearer ${token}`}${KVSEP}${KVSEP}`
}

/** What the exchange wants next. */
export type OAuthStep =
  | { readonly send: string }
  | { readonly tokenNeeded: TokenRequest }
  | { readonly send: string; readonly retry: true }

/** One OAUTHBEARER exchange over one connection (libpq's oauth_exchange and its steps). */
export class OAuthBearerExchange {
  readonly #flow: OAuthFlow
  #step: 'init' | 'sent' | 'server-error' = 'init'
  /** The token went out: require_auth's "client finished authentication". */
  tokenSent = false

  constructor(flow: OAuthFlow) {
    this.#flow = flow
  }

  /** AuthenticationSASL: the initial response, or a token to ask for first. */
  start(): OAuthStep {
    const flow = this.#flow
    flow.setUp()
    if (flow.token === undefined && flow.discoveryUri !== undefined) return { tokenNeeded: flow.request() }
    return this.#initial()
  }

  /** The token the provider gave (after `tokenNeeded`). */
  withToken(token: string): OAuthStep {
    this.#flow.token = token
    return this.#initial()
  }

  #initial(): OAuthStep {
    this.#step = 'sent'
    this.tokenSent = this.#flow.token !== undefined
    return { send: initialResponse(this.#flow.token) }
  }

  /** AuthenticationSASLContinue (final: AuthenticationSASLFinal) with the server's data. */
  challenge(data: Buffer, final: boolean): OAuthStep {
    if (this.#step === 'server-error') throw oauthError('server sent additional OAuth data after error')
    if (this.#step !== 'sent') throw oauthError('invalid OAuth exchange state')
    // OAUTHBEARER has no additional data on success.
    if (final) throw oauthError('server sent unexpected additional OAuth data')
    const flow = this.#flow
    flow.readServerError(data)
    if (this.tokenSent) {
      // The token was refused: the server's FATAL follows; anything else is refused above.
      this.#step = 'server-error'
      return { send: KVSEP }
    }
    if (flow.discoveryUri === undefined)
      throw oauthError('server requires OAuth authentication, but no discovery metadata was provided')
    flow.wantRetry = true
    return { send: KVSEP, retry: true }
  }
}

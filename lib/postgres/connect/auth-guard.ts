/**
 * The guards libpq puts on the server's authentication requests, applied to each request before
 * pg sees it (the start-up guard hands them here), so that no password leaves the client for a
 * method the settings forbid (fe-auth.c check_expected_areq, pg_SASL_init; fe-connect.c for the
 * require_auth grammar):
 * - require_auth: a comma list of methods (password, md5, gss, sspi, scram-sha-256, oauth, none —
 *   and in the openGauss dialects sha256, md5_sha256, sm3), or the same list negated with "!";
 * - channel_binding=require: only SASL, with SCRAM-SHA-256-PLUS, and bound at AuthenticationOk;
 * - sslcertmode=require: at AuthenticationOk, a certificate was asked for and sent;
 * - the SSL policy's channelBinding and allowedAuthMethods rules, as POLICY_VIOLATION.
 * It also records which method the server used, for the report.
 */
import { PgSslError } from '../../engine/errors.js'
import { violation } from '../../engine/policy/enforce.js'
import type { SslPolicy } from '../../engine/policy/policy.js'
import { saslMechanisms } from '../protocol/messages.js'
import { chooseSaslMechanism, requireAuthMethodOf, type SaslMechanism } from '../protocol/sasl-choice.js'

const OK = 0
const CLEARTEXT = 3
const MD5 = 5
const GSS = 7
const GSS_CONTINUE = 8
const SSPI = 9
const SASL = 10
const SASL_CONTINUE = 11
const SASL_FINAL = 12
// openGauss's own codes (its libpq): 10 is SHA256 there, 11 MD5_SHA256, 13 SM3.
const OG_SHA256 = 10
const OG_MD5_SHA256 = 11
const OG_SM3 = 13

const POSTGRES_METHODS = ['password', 'md5', 'gss', 'sspi', 'scram-sha-256', 'oauth'] as const
const OPENGAUSS_METHODS = ['password', 'md5', 'gss', 'sha256', 'md5_sha256', 'sm3'] as const

export interface RequireAuth {
  /** The setting as given, for messages. */
  readonly text: string
  readonly allowed: ReadonlySet<string>
  /** Whether the server must authenticate the client at all ("none" not allowed). */
  readonly authRequired: boolean
}

/** require_auth, parsed with libpq's rules; errors are INVALID_SETTING before any connection. */
export function parseRequireAuth(text: string, openGauss: boolean): RequireAuth | undefined {
  if (text === '') return undefined
  const known: readonly string[] = openGauss ? OPENGAUSS_METHODS : POSTGRES_METHODS
  const invalid = (message: string): PgSslError =>
    new PgSslError('INVALID_SETTING', message, {
      setting: 'require_auth',
      hint: `use a comma list of ${[...known, 'none'].join(', ')}, all plain or all negated with "!"`,
    })
  let allowed = new Set<string>()
  let authRequired = true
  let negated = false
  text.split(',').forEach((raw, index) => {
    let method = raw.trim()
    if (method.startsWith('!')) {
      if (index === 0) {
        allowed = new Set(known)
        authRequired = false
      } else if (!negated)
        throw invalid(`negative require_auth method "${method}" cannot be mixed with non-negative methods`)
      negated = true
      method = method.slice(1)
    } else if (negated) throw invalid(`require_auth method "${method}" cannot be mixed with negative methods`)
    if (method === 'none') {
      if (negated === authRequired) throw invalid(`require_auth method "${raw.trim()}" is specified more than once`)
      authRequired = negated
      return
    }
    if (!known.includes(method)) throw invalid(`invalid require_auth value: "${method}"`)
    if (negated ? !allowed.has(method) : allowed.has(method))
      throw invalid(`require_auth method "${raw.trim()}" is specified more than once`)
    if (negated) allowed.delete(method)
    else allowed.add(method)
  })
  return { text, allowed, authRequired }
}

export interface AuthGuardOptions {
  readonly requireAuth: RequireAuth | undefined
  readonly channelBinding: 'disable' | 'prefer' | 'require'
  readonly policy: SslPolicy
  readonly openGauss: boolean
  /** The attempt runs over TLS. */
  readonly tls: boolean
  /** sslcertmode=require: the check at AuthenticationOk (tls/certificate-request.ts). */
  readonly certificateCheck?: () => PgSslError | undefined
  /** A password was given (option, connection string, PGPASSWORD, password file, function). */
  readonly hasPassword: boolean
  /** scram_client_key was given: SCRAM needs no password (libpq 18), the other methods still do. */
  readonly scramClientKey?: boolean
  /**
   * The password is a token credential (credential.ts): the policy's tokensRequireVerifyFull
   * refusal for this attempt, asked before the token function is called.
   */
  readonly tokenRefused?: () => PgSslError | undefined
}

/** What the guard saw, for the report. */
export interface AuthenticationSeen {
  method: string
  channelBinding: boolean
}

/** One guard per attempt: `check` is given each authentication request (code and body) in order. */
export class AuthGuard {
  readonly seen: AuthenticationSeen = { method: 'none', channelBinding: false }
  #finished = false
  #plus = false

  readonly #options: AuthGuardOptions

  constructor(options: AuthGuardOptions) {
    this.#options = options
  }

  check(code: number, body: Buffer): PgSslError | undefined {
    if (code === OK) return this.#atAuthenticationOk()
    const { openGauss } = this.#options
    const sasl = !openGauss && (code === SASL || code === SASL_CONTINUE || code === SASL_FINAL)
    const method = this.#methodOf(code)
    const problem = sasl ? this.#checkSasl(code, body) : this.#checkRequest(code, method)
    if (problem) return problem
    if (
      code === CLEARTEXT ||
      code === MD5 ||
      code === SASL_FINAL ||
      (openGauss && (code === OG_SHA256 || code === OG_MD5_SHA256 || code === OG_SM3))
    )
      this.#finished = true
    return undefined
  }

  /**
   * A SASL request, in libpq's order: check_expected_areq (require_auth allows some SASL method),
   * then pg_SASL_init (the mechanism chosen, require_auth for it, channel_binding, the password).
   */
  #checkSasl(code: number, body: Buffer): PgSslError | undefined {
    const { requireAuth } = this.#options
    if (requireAuth && !requireAuth.allowed.has('scram-sha-256') && !requireAuth.allowed.has('oauth'))
      return this.#authRefused(describeRequest(code, false))
    if (code !== SASL) return this.#checkChannelBinding(code, true)
    let mechanism: SaslMechanism
    try {
      mechanism = chooseSaslMechanism(saslMechanisms(body), this.#options.tls, this.#options.channelBinding)
    } catch (error) {
      return error as PgSslError
    }
    this.#plus = mechanism === 'SCRAM-SHA-256-PLUS'
    this.seen.method = mechanism === 'OAUTHBEARER' ? 'oauth' : this.#plus ? 'scram-sha-256-plus' : 'scram-sha-256'
    this.seen.channelBinding = this.#plus
    if (requireAuth && !requireAuth.allowed.has(requireAuthMethodOf(mechanism)))
      return this.#authRefused(`server requested ${mechanism} authentication`)
    const problem = this.#checkMethod(code, this.seen.method) ?? this.#checkChannelBinding(code, true)
    // OAUTHBEARER: the client's side is done once the token is sent (libpq's client_finished_auth);
    // this attempt either sends it or ends before AuthenticationOk.
    if (!problem && mechanism === 'OAUTHBEARER') this.#finished = true
    return problem
  }

  /** AuthenticationOk: was authentication done, with what the settings and the policy demand? */
  #atAuthenticationOk(): PgSslError | undefined {
    const { requireAuth, channelBinding, policy } = this.#options
    if (requireAuth?.authRequired && !this.#finished) return this.#authRefused('server did not complete authentication')
    if (!policyAllows(policy, this.seen.method)) {
      return violation(
        policy,
        'allowedAuthMethods',
        `one of ${policy.allowedAuthMethods!.join(', ')}`,
        `the server authenticated the client with ${this.seen.method}`,
      )
    }
    if (channelBinding === 'require' && !this.seen.channelBinding) {
      return new PgSslError(
        'CHANNEL_BINDING_REQUIRED',
        'channel binding required, but server authenticated client without channel binding',
        { setting: 'channel_binding' },
      )
    }
    if (policy.channelBinding === 'require' && !this.seen.channelBinding) {
      return violation(
        policy,
        'channelBinding',
        'SCRAM authentication bound to the TLS session (SCRAM-SHA-256-PLUS)',
        `the server authenticated the client with ${this.seen.method}`,
      )
    }
    return this.#options.certificateCheck?.()
  }

  /** A request that is not SASL: noted for the report (SASL: #checkSasl), then checked. */
  #checkRequest(code: number, method: string): PgSslError | undefined {
    this.seen.method = method
    return this.#checkMethod(code, method) ?? this.#checkChannelBinding(code, false)
  }

  /** require_auth, the policy's methods and a password to send — before any password leaves. */
  #checkMethod(code: number, method: string): PgSslError | undefined {
    const { requireAuth, policy, openGauss } = this.#options
    const sasl = code === SASL && !openGauss
    if (requireAuth && !sasl && !requireAuth.allowed.has(method))
      return this.#authRefused(describeRequest(code, openGauss))
    if (!policyAllows(policy, method)) {
      return violation(
        policy,
        'allowedAuthMethods',
        `one of ${policy.allowedAuthMethods!.join(', ')}`,
        `the server asked for ${method} authentication`,
      )
    }
    // libpq's "fe_sendauth: no password supplied", before pg would send an empty one.
    const needsPassword =
      code === CLEARTEXT ||
      code === MD5 ||
      (code === SASL && method !== 'oauth') ||
      (openGauss && (code === OG_MD5_SHA256 || code === OG_SM3))
    const keyInstead = code === SASL && this.#options.scramClientKey === true
    if (needsPassword && !this.#options.hasPassword && !keyInstead) {
      return new PgSslError(
        'PASSWORD_REQUIRED',
        `fe_sendauth: no password supplied (the server asked for ${method} authentication)`,
        { setting: 'password' },
      )
    }
    return needsPassword && !keyInstead ? this.#options.tokenRefused?.() : undefined
  }

  /** channel_binding=require (libpq) and the policy's channelBinding rule, on each request. */
  #checkChannelBinding(code: number, sasl: boolean): PgSslError | undefined {
    const { channelBinding, policy } = this.#options
    if (channelBinding === 'require' && !this.#options.tls) {
      return new PgSslError('CHANNEL_BINDING_REQUIRED', 'channel binding required, but SSL not in use', {
        setting: 'channel_binding',
      })
    }
    if (channelBinding !== 'require' && policy.channelBinding !== 'require') return undefined
    const refuse = (message: string): PgSslError =>
      channelBinding === 'require'
        ? new PgSslError('CHANNEL_BINDING_REQUIRED', message, { setting: 'channel_binding' })
        : violation(
            policy,
            'channelBinding',
            'SCRAM authentication bound to the TLS session (SCRAM-SHA-256-PLUS)',
            message,
          )
    if (!sasl) return refuse("channel binding required but not supported by server's authentication request")
    if (code === SASL && !this.#plus) {
      return refuse(
        'channel binding is required, but server did not offer an authentication method that ' +
          'supports channel binding',
      )
    }
    return undefined
  }

  #methodOf(code: number): string {
    if (code === CLEARTEXT) return 'password'
    if (code === MD5) return 'md5'
    if (code === GSS || code === GSS_CONTINUE) return 'gss'
    if (code === SSPI) return 'sspi'
    if (this.#options.openGauss) {
      if (code === OG_SHA256) return 'sha256'
      if (code === OG_MD5_SHA256) return 'md5_sha256'
      if (code === OG_SM3) return 'sm3'
    }
    return code === SASL || code === SASL_CONTINUE || code === SASL_FINAL ? 'scram-sha-256' : `unknown (${code})`
  }

  #authRefused(reason: string): PgSslError {
    return new PgSslError(
      'AUTH_METHOD_NOT_ALLOWED',
      `authentication method requirement "${this.#options.requireAuth!.text}" failed: ${reason}`,
      { setting: 'require_auth' },
    )
  }
}

/** libpq's auth_method_description(). */
function describeRequest(code: number, openGauss: boolean): string {
  if (code === CLEARTEXT) return 'server requested a cleartext password'
  if (code === MD5) return 'server requested a hashed password'
  if (code === GSS || code === GSS_CONTINUE) return 'server requested GSSAPI authentication'
  if (code === SSPI) return 'server requested SSPI authentication'
  if (openGauss && code === OG_SHA256) return 'server requested sha256 authentication'
  if (openGauss && code === OG_MD5_SHA256) return 'server requested md5_sha256 authentication'
  if (openGauss && code === OG_SM3) return 'server requested sm3 authentication'
  if (code === SASL || code === SASL_CONTINUE || code === SASL_FINAL) return 'server requested SASL authentication'
  return 'server requested an unknown authentication type'
}

/** The policy's allowedAuthMethods: scram-sha-256 also admits its channel-bound form. */
function policyAllows(policy: SslPolicy, method: string): boolean {
  const allowed = policy.allowedAuthMethods as readonly string[] | undefined
  return !allowed || allowed.includes(method) || (method === 'scram-sha-256-plus' && allowed.includes('scram-sha-256'))
}

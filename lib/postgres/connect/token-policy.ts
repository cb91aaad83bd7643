/**
 * Where a token may go: the SSL policy's tokensRequireVerifyFull rule, checked before any token
 * function is called — for OAuth's bearer tokens (oauth.ts) and for password tokens
 * (credential.ts). Apart from oauth.ts so that a connection that uses neither does not load
 * OAuth's code.
 */
import type { PgSslError } from '../../engine/errors.js'
import { violation } from '../../engine/policy/enforce.js'
import type { SslPolicy } from '../../engine/policy/policy.js'
import type { AttemptSpec } from '../plan.js'
import type { OAuthBearerTokenProvider } from '../protocol/oauthbearer.js'
import type { TokenEndpoint } from './credential.js'

/** Where a token would go: the attempt, for the policy, and the endpoint, for the request. */
export interface TokenContext {
  readonly spec: AttemptSpec
  readonly policy: SslPolicy
  /** The endpoint, as a password token is asked for it (credential.ts). */
  readonly endpoint: TokenEndpoint
  readonly clientSecret: string | undefined
  readonly provider: OAuthBearerTokenProvider | undefined
}

/** tokensRequireVerifyFull: a bearer token only over TLS that verified the chain and the host name. */
export function tokenAllowed(context: Pick<TokenContext, 'spec' | 'policy'>): PgSslError | undefined {
  const { spec, policy } = context
  if (!policy.tokensRequireVerifyFull || (spec.ssl && spec.verifyChain && spec.verifyHostname)) return undefined
  const observed = !spec.ssl
    ? 'this attempt runs without SSL'
    : spec.verifyChain
      ? 'this attempt does not verify the host name (verify-ca)'
      : 'this attempt does not verify the server certificate'
  return violation(policy, 'tokensRequireVerifyFull', 'a bearer token to be sent only over verify-full', observed)
}

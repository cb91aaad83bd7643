/**
 * Which credential a connection logged in with, for the report (never its value), and token
 * credentials: a password function marked as one (tokenPassword, rdsIamToken) is a short-lived
 * token — asked afresh for each attempt with the endpoint it is for (an RDS IAM token names its
 * host and port), and held to the SSL policy's tokensRequireVerifyFull like an OAuth bearer token.
 */
import type { ConnectionConfig } from './connection-config.js'

const TOKEN_KIND = Symbol.for('pg-sslmode.token-kind')

export type TokenKind = 'token' | 'aws-rds-iam-token'

/** The endpoint a token is asked for. */
export interface TokenEndpoint {
  readonly host: string
  readonly port: number
  readonly user: string | undefined
}

export type TokenFunction = (endpoint: TokenEndpoint) => string | Promise<string>

/** A password function that is a token credential. */
export type TokenPassword = (() => Promise<string>) & { readonly [TOKEN_KIND]: TokenKind; readonly of: TokenFunction }

/**
 * Mark `token` as a token credential: `password: tokenPassword(async ({ host }) => ...)`. It is
 * called for every attempt (each host its own token), and never over an attempt weaker than
 * verify-full when the policy says tokensRequireVerifyFull.
 */
export function tokenPassword(token: TokenFunction, kind: TokenKind = 'token'): TokenPassword {
  if (typeof token !== 'function') throw new TypeError('tokenPassword takes a function: (endpoint) => token')
  const unbound = async (): Promise<string> => {
    throw new TypeError('a token password is called by pg-sslmode with the endpoint it is for')
  }
  return Object.assign(unbound, { [TOKEN_KIND]: kind, of: token }) as TokenPassword
}

export function tokenKindOf(password: unknown): TokenKind | undefined {
  return typeof password === 'function' ? (password as Partial<TokenPassword>)[TOKEN_KIND] : undefined
}

export type CredentialKind =
  | 'none'
  | 'password'
  | 'password-file'
  | 'password-function'
  | TokenKind
  | 'scram-keys'
  | 'oauth-bearer-token'

/** What the server was given, from the method it asked for and where the password came from. */
export function credentialOf(
  method: string,
  config: ConnectionConfig,
  password: { readonly function?: unknown; readonly given: boolean; readonly fromFile: boolean },
): CredentialKind {
  if (method === 'none' || method === 'gss' || method === 'sspi') return 'none'
  if (method === 'oauth') return 'oauth-bearer-token'
  if (method.startsWith('scram-sha-256') && config.scramKeys?.client) return 'scram-keys'
  if (password.function !== undefined) return tokenKindOf(password.function) ?? 'password-function'
  if (password.given) return 'password'
  return password.fromFile ? 'password-file' : 'none'
}

/** The password function to give pg for one attempt: a token password is bound to its endpoint. */
export function attemptPasswordFunction(
  password: () => string | Promise<string>,
  endpoint: TokenEndpoint,
): () => string | Promise<string> {
  return tokenKindOf(password) ? () => (password as TokenPassword).of(endpoint) : password
}

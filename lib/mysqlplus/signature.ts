/**
 * QingCloud API request signing (the provider's "签名方法" page), used by the MySQL Plus switch:
 * parameters sorted by name, names and values RFC 3986-encoded (upper-case hex, %20 for a space),
 * string to sign "GET\n/iaas/\n" + the query, HMAC-SHA256 with the secret key, base64, and that
 * URL-encoded as the `signature` parameter. The provider's worked example is reproduced by
 * test/mysqlplus-signature.test.ts.
 */
import { createHmac } from 'node:crypto'

export type ApiParams = Readonly<Record<string, string | number>>

/** RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** The parameters sorted by name (byte order), encoded, joined with "&". */
export function canonicalQuery(params: ApiParams): string {
  return Object.keys(params)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${encodeRfc3986(name)}=${encodeRfc3986(String(params[name]))}`)
    .join('&')
}

/** base64(HMAC-SHA256(secret, "GET\n" + path + "\n" + canonical query)). */
export function signature(params: ApiParams, secretAccessKey: string, path = '/iaas/', method = 'GET'): string {
  return createHmac('sha256', secretAccessKey)
    .update(`${method}\n${path}\n${canonicalQuery(params)}`)
    .digest('base64')
}

/** The query string to send: the canonical query and its signature. */
export function signedQuery(params: ApiParams, secretAccessKey: string, path = '/iaas/'): string {
  return `${canonicalQuery(params)}&signature=${encodeRfc3986(signature(params, secretAccessKey, path))}`
}

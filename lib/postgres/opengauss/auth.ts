/**
 * openGauss / GaussDB password authentication, which pg cannot do: openGauss reuses request code
 * 10 (SASL in PostgreSQL) for its own SHA256 exchange. Algorithms as in openGauss's libpq
 * (sha2.cpp, fe-auth.cpp) and its JDBC driver (RFC5802Algorithm):
 *
 *   K         = PBKDF2-HMAC-SHA1(password, salt (64 hex chars → 32 bytes), iterations, 32)
 *   ServerKey = HMAC-SHA256(K, "Sever Key")          (sic)
 *   ClientKey = HMAC-SHA256(K, "Client Key");  StoredKey = SHA256(ClientKey)
 *   SHA256 response     = hex(HMAC-SHA256(StoredKey, token (8 hex → 4 bytes)) XOR ClientKey)
 *   server signature    = hex(HMAC-SHA256(ServerKey, token))
 *   MD5_SHA256 response = "md5" + hex(MD5(salt_hex + hex(ServerKey) + hex(StoredKey) + md5salt)),
 *                         with the default 2048 iterations
 */
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto'

/**
 * Iterations when the server does not send a count (protocol 3.50 and older, and MD5_SHA256): the
 * value openGauss's JDBC and Go drivers assume. The server sends the real count only under 3.51
 * (auth.cpp); a password stored with another count (auth_iteration_count) fails without it.
 */
export const DEFAULT_ITERATIONS = 2048

interface Keys {
  serverKey: Buffer
  clientKey: Buffer
  storedKey: Buffer
}

function keys(password: string, saltHex: string, iterations: number): Keys {
  const k = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(saltHex, 'hex'), iterations, 32, 'sha1')
  const clientKey = createHmac('sha256', k).update('Client Key').digest()
  return {
    serverKey: createHmac('sha256', k).update('Sever Key').digest(),
    clientKey,
    storedKey: createHash('sha256').update(clientKey).digest(),
  }
}

/** The 64-hex-character proof the client sends for AUTH_REQ_SHA256. */
export function sha256Response(password: string, saltHex: string, tokenHex: string, iterations: number): string {
  const { clientKey, storedKey } = keys(password, saltHex, iterations)
  const signature = createHmac('sha256', storedKey).update(Buffer.from(tokenHex, 'hex')).digest()
  for (let i = 0; i < signature.length; i++) signature[i]! ^= clientKey[i]!
  return signature.toString('hex')
}

/** What an openGauss server proves it knows the password with (protocol < 3.50). */
export function sha256ServerSignature(password: string, saltHex: string, tokenHex: string, iterations: number): string {
  return createHmac('sha256', keys(password, saltHex, iterations).serverKey)
    .update(Buffer.from(tokenHex, 'hex'))
    .digest('hex')
}

/** The response to AUTH_REQ_MD5_SHA256. */
export function md5Sha256Response(password: string, saltHex: string, md5Salt: Buffer): string {
  const { serverKey, storedKey } = keys(password, saltHex, DEFAULT_ITERATIONS)
  const digest = createHash('md5')
    .update(saltHex + serverKey.toString('hex') + storedKey.toString('hex'))
    .update(md5Salt)
    .digest('hex')
  return `md5${digest}`
}

/**
 * The answer to a SHA256 request for a password stored as MD5 (openGauss's libpq:
 * pg_sha256_encrypt_for_md5): "sha256" + hex(SHA256(md5 hex of password+user, then the md5 salt)).
 */
export function sha256ForMd5Response(user: string, password: string, md5Salt: Buffer): string {
  const md5 = createHash('md5')
    .update(password + user)
    .digest('hex')
  return `sha256${createHash('sha256').update(md5).update(md5Salt).digest('hex')}`
}

/** Constant-time comparison of two hex strings (for a server signature, or a test peer). */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** PostgreSQL's MD5 password response: "md5" + md5(md5(password + user) + salt). */
export function postgresMd5Response(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(password + user)
    .digest('hex')
  return `md5${createHash('md5').update(inner).update(salt).digest('hex')}`
}

/**
 * One OpenSSL SecureContext per distinct (trusted roots, CRLs, client certificate, key, TLS
 * versions): building a context parses every PEM again inside OpenSSL, so connections with the
 * same material share one instead of building it per connection. The material buffers come from
 * the file cache (material-files.ts) and stay the same objects while the files do not change.
 */
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls'
import { objectId } from './identity.js'
import type { TlsMaterial } from './material.js'
import { materialStats } from './file-cache.js'

const MAX_CONTEXTS = 32
const contexts = new Map<string, SecureContext>()

export interface ContextRequest {
  readonly verifyChain: boolean
  readonly minVersion: SecureVersion
  readonly maxVersion: SecureVersion | undefined
  /** OpenSSL cipher list (TLS 1.2 names and TLS 1.3 suites, colon-separated). */
  readonly ciphers?: string
}

export function secureContextFor(material: TlsMaterial, request: ContextRequest): SecureContext {
  const useRoots = request.verifyChain && material.ca !== undefined
  const parts = [
    // The roots by identity: the same buffers while their file (or the system store) is unchanged.
    useRoots ? material.ca!.map((b) => objectId(b as object)).join('.') : '-',
    useRoots && material.crl ? material.crl.map(objectId).join('.') : '-',
    material.cert && material.key ? `${objectId(material.cert)}/${objectId(material.key)}` : '-',
    request.minVersion,
    request.maxVersion ?? '-',
    request.ciphers ?? '-',
  ]
  const key = parts.join('|')
  const hit = contexts.get(key)
  if (hit) return hit
  materialStats.secureContexts++
  const context = createSecureContext({
    minVersion: request.minVersion,
    ...(request.maxVersion ? { maxVersion: request.maxVersion } : {}),
    ...(request.ciphers ? { ciphers: request.ciphers } : {}),
    ...(useRoots ? { ca: [...material.ca!] } : {}),
    ...(useRoots && material.crl ? { crl: [...material.crl] } : {}),
    ...(material.cert && material.key ? { cert: material.cert, key: material.key } : {}),
  })
  if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!)
  contexts.set(key, context)
  return context
}

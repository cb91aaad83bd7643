/**
 * Verification of a server's presented chain against the loaded roots and CRLs, cached by the
 * certificates' fingerprints and the material's identity, so a pool re-verifies nothing until a
 * certificate or CRL could have changed state (at most ten minutes, never past an expiry date).
 */
import type { X509Certificate } from 'node:crypto'
import { verifyChain, type ChainResult } from './chain.js'
import { objectId } from './identity.js'
import { materialStats } from './file-cache.js'
import type { TlsMaterial } from './material.js'

const MAX_AGE_MS = 10 * 60_000
const MAX_ENTRIES = 256

const cache = new Map<string, { result: ChainResult; until: number }>()

export function verifyServerCertificate(
  presented: readonly X509Certificate[],
  material: TlsMaterial,
  now = new Date(),
): ChainResult {
  const roots = material.roots ?? []
  const key = [
    presented.map((c) => c.fingerprint256).join(','),
    roots.length ? objectId(roots) : 0,
    material.crlList ? material.crlList.map(objectId).join('.') : '-',
  ].join('|')
  const hit = cache.get(key)
  if (hit && hit.until > now.getTime()) return hit.result
  materialStats.verifications++
  const result = verifyChain({ presented, roots, ...(material.crlList ? { crls: material.crlList } : {}), now })
  const boundaries = [
    now.getTime() + MAX_AGE_MS,
    ...presented.map((c) => new Date(c.validTo).getTime()),
    ...(material.crlList ?? []).map((c) => c.nextUpdate?.getTime() ?? Infinity),
  ]
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!)
  cache.set(key, { result, until: Math.min(...boundaries) })
  return result
}

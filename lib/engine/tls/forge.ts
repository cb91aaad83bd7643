/**
 * node-forge, loaded only when a CRL is read (its ASN.1 reader is what CRLs need; nothing else
 * does): about 40 modules an application without sslcrl/sslcrldir never loads. loadForge() is
 * awaited where CRL files are read (material-files.ts, cert-directories.ts); everything that parses or
 * builds a CRL runs after it and takes forge() synchronously.
 */
import type Forge from 'node-forge'

let loaded: typeof Forge | undefined

export async function loadForge(): Promise<typeof Forge> {
  if (!loaded) {
    const module = (await import('node-forge')) as { default?: typeof Forge } & typeof Forge
    loaded = module.default ?? module
  }
  return loaded
}

export function forge(): typeof Forge {
  if (!loaded) throw new Error('internal error: node-forge used before loadForge() (a CRL read without it)')
  return loaded
}

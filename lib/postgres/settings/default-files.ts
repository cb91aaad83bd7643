/**
 * The files no setting named, where libpq (and GaussDB(DWS)'s console bundle) would find them:
 * ~/.postgresql's client certificate, key, root certificate and CRL, ~/.pgpass, and the three
 * files of an unpacked dws_ssl_cert.zip. Each fills only what no source set.
 */
import { join } from 'node:path'
import type { Setting } from './tls-spellings.js'

/** libpq's default client files under ~/.postgresql, used only when they exist. */
const DEFAULT_FILES: ReadonlyArray<[keyword: string, file: string]> = [
  ['sslcert', 'postgresql.crt'],
  ['sslkey', 'postgresql.key'],
  ['sslrootcert', 'root.crt'],
  ['sslcrl', 'root.crl'],
]

/** The files of an unpacked dws_ssl_cert.zip (the .cipher/.rand pair is found beside client.crt). */
const BUNDLE_FILES: ReadonlyArray<[keyword: string, file: string]> = [
  ['sslcert', 'client.crt'],
  ['sslkey', 'client.key'],
  ['sslrootcert', 'cacert.pem'],
]

/** A GaussDB(DWS) console bundle directory names the three files no other source named. */
export function putBundleFiles(values: Record<string, Setting>, certDir: string | undefined): void {
  if (!certDir) return
  for (const [name, file] of BUNDLE_FILES) {
    if (values[name] === undefined) values[name] = { value: join(certDir, file), source: `sslcertdir:${certDir}` }
  }
}

/** The default files' paths under one home directory: [keyword, path], ~/.pgpass last. */
type DefaultPaths = ReadonlyArray<readonly [keyword: string, path: string]>

/** The paths of the home directory the last connection used: joined once, not for every connection. */
let lastHome: { readonly home: string; readonly paths: DefaultPaths } | undefined

function defaultPaths(home: string): DefaultPaths {
  if (lastHome?.home !== home) {
    const paths = DEFAULT_FILES.map(([name, file]) => [name, join(home, '.postgresql', file)] as const)
    lastHome = { home, paths: [...paths, ['passfile', join(home, '.pgpass')]] }
  }
  return lastHome.paths
}

/** libpq's default files under ~/.postgresql, and its default password file, where they exist. */
export function putDefaultFiles(
  values: Record<string, Setting>,
  home: string,
  io: { fileExists(path: string): boolean },
  notVerified: boolean,
): void {
  // PGPASSFILE and passfile= come first, as any source of the other keywords.
  for (const [name, path] of defaultPaths(home)) {
    if (values[name] !== undefined) continue
    // pg's sslmode=no-verify: nothing is verified, so no root certificate or CRL is looked up.
    if (notVerified && (name === 'sslrootcert' || name === 'sslcrl')) continue
    if (io.fileExists(path)) values[name] = { value: path, source: `default-file:${name}` }
  }
}

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

/** libpq's default files under ~/.postgresql, and its default password file, where they exist. */
export function putDefaultFiles(
  values: Record<string, Setting>,
  home: string,
  io: { fileExists(path: string): boolean },
  notVerified: boolean,
): void {
  for (const [name, file] of DEFAULT_FILES) {
    if (values[name] !== undefined) continue
    // pg's sslmode=no-verify: nothing is verified, so no root certificate or CRL is looked up.
    if (notVerified && (name === 'sslrootcert' || name === 'sslcrl')) continue
    const path = join(home, '.postgresql', file)
    if (io.fileExists(path)) values[name] = { value: path, source: `default-file:${name}` }
  }
  // PGPASSFILE and passfile= come first.
  const pgpass = join(home, '.pgpass')
  if (values.passfile === undefined && io.fileExists(pgpass))
    values.passfile = { value: pgpass, source: 'default-file:passfile' }
}

/**
 * sslrootcert=system: the roots OpenSSL's default verify paths hold, as libpq loads them with
 * SSL_CTX_set_default_verify_paths() — the file SSL_CERT_FILE (default OPENSSLDIR/cert.pem) and
 * the hashed directories SSL_CERT_DIR (default OPENSSLDIR/certs, a colon-separated list). Not
 * Node's bundled Mozilla list: a CA the administrator added to the machine is trusted, one they
 * removed is not, exactly as for psql on the same machine.
 *
 * OPENSSLDIR is the system OpenSSL's: the first of the usual locations that exists (Debian and
 * Ubuntu /usr/lib/ssl, Red Hat /etc/pki/tls, Alpine and SUSE /etc/ssl, Homebrew, macOS).
 */
import { X509Certificate } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { PgSslError } from '../errors.js'

const OPENSSL_DIRS = [
  '/usr/lib/ssl',
  '/etc/pki/tls',
  '/etc/ssl',
  '/opt/homebrew/etc/openssl@3',
  '/usr/local/etc/openssl@3',
  '/usr/local/etc/openssl',
  '/private/etc/ssl',
]

export interface TrustStoreEnvironment {
  readonly SSL_CERT_FILE?: string | undefined
  readonly SSL_CERT_DIR?: string | undefined
}

export interface SystemStore {
  /** What was read, for the report: "system (file …, directories …)". */
  readonly description: string
  readonly pems: readonly Buffer[]
  readonly roots: readonly X509Certificate[]
}

const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED )?CERTIFICATE-----[\s\S]*?-----END (?:TRUSTED )?CERTIFICATE-----/g
/** OpenSSL's by_dir lookup reads only <subject hash>.<n> names. */
const HASHED_NAME = /^[0-9a-f]{8}\.\d+$/

export function systemStoreLocations(env: TrustStoreEnvironment): { file: string; dirs: string[] } {
  const base = OPENSSL_DIRS.find((d) => existsSync(d)) ?? '/usr/lib/ssl'
  return {
    file: env.SSL_CERT_FILE || join(base, 'cert.pem'),
    dirs: (env.SSL_CERT_DIR || join(base, 'certs')).split(':').filter(Boolean),
  }
}

let cached: { key: string; store: SystemStore } | undefined

/** The system roots; re-read when the file or a directory changes. Missing locations hold nothing (as for OpenSSL). */
export function loadSystemStore(env: TrustStoreEnvironment): SystemStore {
  const { file, dirs } = systemStoreLocations(env)
  const key = [file, ...dirs].map((p) => `${p}:${mtimeOf(p)}`).join('|')
  if (cached?.key === key) return cached.store
  const pems: Buffer[] = []
  const seen = new Set<string>()
  const add = (text: string): void => {
    for (const match of text.matchAll(PEM_CERTIFICATE)) {
      const pem = Buffer.from(match[0].replaceAll('TRUSTED CERTIFICATE', 'CERTIFICATE'))
      try {
        const fingerprint = new X509Certificate(pem).fingerprint256
        if (!seen.has(fingerprint)) {
          seen.add(fingerprint)
          pems.push(pem)
        }
      } catch {
        // OpenSSL skips what it cannot parse in the default paths too.
      }
    }
  }
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(path, 'latin1')
    } catch {
      return undefined
    }
  }
  const fileText = read(file)
  if (fileText !== undefined) add(fileText)
  for (const dir of dirs) {
    let names: string[] = []
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    for (const name of names.filter((n) => HASHED_NAME.test(n)).sort()) {
      const text = read(join(dir, name))
      if (text !== undefined) add(text)
    }
  }
  if (pems.length === 0) {
    throw new PgSslError(
      'ROOT_CERT_MISSING',
      `sslrootcert=system: the system trust store holds no certificates (file "${file}", directories ` +
        `${dirs.map((d) => `"${d}"`).join(', ') || 'none'})`,
      {
        setting: 'sslrootcert',
        hint: 'install the system CA bundle (Debian: ca-certificates), or point SSL_CERT_FILE / SSL_CERT_DIR at one',
      },
    )
  }
  const store: SystemStore = {
    description: `system (file ${file}, directories ${dirs.join(':') || 'none'})`,
    pems,
    roots: pems.map((p) => new X509Certificate(p)),
  }
  cached = { key, store }
  return store
}

function mtimeOf(path: string): string {
  try {
    const s = statSync(path)
    return `${s.mtimeMs}/${s.ino}/${s.size}`
  } catch {
    return '-'
  }
}

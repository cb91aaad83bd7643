/**
 * The Python references of the differential tests: python3's configparser, and psycopg2 (libpq's
 * own conninfo parser through parse_dsn) in a virtualenv the tests create once and reuse.
 * In CI a missing python3 or psycopg2 fails the test loudly; elsewhere the test is skipped with
 * a message.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ORACLES = dirname(fileURLToPath(import.meta.url))

export function python3(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim()
  return found || undefined
}

/**
 * Runs a Python oracle script with JSON on stdin and returns its parsed JSON output. The script
 * sees no PG* variable of this machine: only PATH and the given variables.
 */
export function runOracle<T>(
  python: string,
  script: string,
  input: unknown,
  env: Record<string, string> = {},
  args: string[] = [],
): T {
  const out = execFileSync(python, [join(ORACLES, script), ...args], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', ...env },
  })
  return JSON.parse(out) as T
}

/** runOracle without blocking the event loop: for oracles that talk to servers living in this process. */
export function runOracleAsync<T>(
  python: string,
  script: string,
  input: unknown,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      [join(ORACLES, script), ...args],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', ...env },
      },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as T)),
    )
    child.stdin!.end(JSON.stringify(input))
  })
}

/**
 * A python with psycopg2 importable: a venv under the temp directory, made on first use.
 * pip is tried from the configured local wheels first (this workplace has no PyPI), then normally.
 */
export function psycopg2Python(): { python?: string; problem?: string } {
  const system = python3()
  if (!system) return { problem: 'python3 not found' }
  const venv = join(tmpdir(), 'pg-sslmode-psycopg2-venv')
  const python = join(venv, 'bin', 'python')
  const works = (): boolean =>
    spawnSync(python, ['-c', 'import psycopg2.extensions'], { encoding: 'utf8' }).status === 0
  if (existsSync(python) && works()) return { python }
  const made = spawnSync(system, ['-m', 'venv', venv], { encoding: 'utf8' })
  if (made.status !== 0) return { problem: `python3 -m venv failed: ${made.stderr.trim()}` }
  const pip = join(venv, 'bin', 'pip')
  const quiet = ['install', '-q', '--disable-pip-version-check', 'psycopg2-binary']
  if (spawnSync(pip, [...quiet, '--no-index'], { encoding: 'utf8' }).status !== 0) {
    const online = spawnSync(pip, quiet, { encoding: 'utf8', timeout: 300_000 })
    if (online.status !== 0)
      return { problem: `pip install psycopg2-binary failed: ${online.stderr.trim().split('\n').pop()}` }
  }
  return works() ? { python } : { problem: 'psycopg2 was installed but does not import' }
}

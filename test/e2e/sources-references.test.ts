/**
 * A user's existing database.ini and pg_service.conf mean the same here as for psycopg2 and psql:
 * the same files connect (or fail) the same way against the same real servers, and the server's
 * pg_stat_ssl says whether each session is encrypted. Required when CI=true.
 */
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '../../lib/index.js'
import { fixture, startClusters } from '../../scripts/harness.js'
import { psycopg2Python, runOracle } from '../oracles/python.js'
import { serverView, endsWithNoOpenSockets } from '../support.js'

type Seen = 'encrypted' | 'plaintext' | 'failed'

const clusters = await startClusters({
  sslOn: { ssl: true },
  sslOff: { ssl: false },
  requireSsl: { ssl: true, requireSsl: true },
})
t.teardown(() => clusters.stopAll())
const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-refs-'))
const home = mkdtempSync(join(tmpdir(), 'pg-sslmode-home-'))

async function ours(options: Parameters<typeof connect>[0]): Promise<{ seen: Seen; detail: string }> {
  try {
    const client = await connect({ ...options, env: { HOME: home, ...(options?.env ?? {}) } })
    const view = await serverView(client)
    await client.end()
    return { seen: view.ssl ? 'encrypted' : 'plaintext', detail: client.security.outcome }
  } catch (error) {
    return { seen: 'failed', detail: `${(error as { code?: string }).code}: ${(error as Error).message}` }
  }
}

const CASES: Array<{ name: string; cluster: 'sslOn' | 'sslOff' | 'requireSsl'; lines: string[] }> = []
for (const cluster of ['sslOn', 'sslOff', 'requireSsl'] as const) {
  for (const sslmode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
    CASES.push({
      name: `${cluster} sslmode=${sslmode}`,
      cluster,
      lines: [`sslmode = ${sslmode}`, `sslrootcert: ${fixture('ca.crt')}`],
    })
  }
  CASES.push({
    name: `${cluster} wrong CA, require`,
    cluster,
    lines: ['sslmode=require', `sslrootcert=${fixture('other-ca.crt')}`],
  })
  CASES.push({ name: `${cluster} no CA, verify-ca`, cluster, lines: ['sslmode=verify-ca'] })
}

const { python, problem } = psycopg2Python()
if (!python) {
  if (process.env.CI === 'true') t.fail(`psycopg2 is required on CI for the database.ini comparison: ${problem}`)
  else t.comment(`skipping the psycopg2 comparison: ${problem}`)
} else {
  t.test('database.ini: psycopg2 and pg-sslmode connect the same way', async (t) => {
    const files = CASES.map((c, i) => {
      const cluster = clusters[c.cluster]
      const path = join(dir, `case-${i}.ini`)
      // The seed's layout, with a [DEFAULT] section and interpolation as users write them.
      writeFileSync(
        path,
        `[DEFAULT]\nhost = ${cluster.host}\n\n[postgresql]\nport=${cluster.port}\ndatabase = ` +
          `${cluster.database}\nuser = ${cluster.user}\napplication_name = ini-%(user)s\n${c.lines.join('\n')}\n`,
      )
      return { ini: path, section: 'postgresql' }
    })
    const reference = runOracle<Array<{ ssl?: boolean; error?: string }>>(python, 'psycopg2_connect_oracle.py', files, {
      HOME: home,
    })
    for (const [i, c] of CASES.entries()) {
      const theirs = reference[i]!
      const seen: Seen = theirs.error ? 'failed' : theirs.ssl ? 'encrypted' : 'plaintext'
      const mine = await ours({ ini: files[i]!.ini })
      t.equal(
        mine.seen,
        seen,
        `${c.name}: psycopg2 ${seen}${theirs.error ? ` (${theirs.error})` : ''}, pg-sslmode ` +
          `${mine.seen} (${mine.detail})`,
      )
    }
  })
}

const psql = spawnSync('sh', ['-c', 'command -v psql'], { encoding: 'utf8' }).stdout.trim()
if (!psql) {
  if (process.env.CI === 'true') t.fail('psql is required on CI for the service-file comparison')
  else t.comment('psql not found: skipping the service-file comparison')
} else {
  t.test('pg_service.conf: psql and pg-sslmode connect the same way', async (t) => {
    const services = join(dir, 'pg_service.conf')
    const lines: string[] = []
    const names: string[] = []
    for (const cluster of ['sslOn', 'sslOff', 'requireSsl'] as const) {
      for (const sslmode of ['disable', 'prefer', 'require', 'verify-full']) {
        const name = `${cluster}-${sslmode}`
        names.push(name)
        const c = clusters[cluster]
        lines.push(
          `[${name}]`,
          `host=${c.host}`,
          `port=${c.port}`,
          `user=${c.user}`,
          `dbname=${c.database}`,
          `sslmode=${sslmode}`,
          `sslrootcert=${fixture('ca.crt')}`,
          '',
        )
      }
    }
    writeFileSync(services, lines.join('\n'))
    for (const name of names) {
      const theirs = await new Promise<Seen>((resolve) =>
        execFile(
          psql,
          ['-X', '-w', '-A', '-t', '-c', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', `service=${name}`],
          { env: { PATH: process.env.PATH ?? '', HOME: home, PGSERVICEFILE: services } },
          (error, stdout) => resolve(error ? 'failed' : stdout.trim() === 't' ? 'encrypted' : 'plaintext'),
        ),
      )
      const mine = await ours({ connectionString: `service=${name}`, env: { PGSERVICEFILE: services } })
      t.equal(mine.seen, theirs, `service ${name}: psql ${theirs}, pg-sslmode ${mine.seen} (${mine.detail})`)
    }
  })
}

endsWithNoOpenSockets(t)

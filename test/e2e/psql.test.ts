/**
 * Differential test against libpq itself: for every server configuration, sslmode and root CA
 * situation, psql (libpq) and pg-sslmode must agree on whether the connection is made and whether
 * it is encrypted. Required when CI=true; elsewhere skipped with a message if psql is absent.
 */
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { connect } from '../../lib/index.js'
import { SSL_MODES } from '../../lib/postgres/settings/keywords.js'
import { availableServers, fixture, startCluster, type Cluster, type ClusterOptions } from '../../scripts/harness.js'
import { isolatedEnv, serverView, endsWithNoOpenSockets } from '../support.js'

const psql = spawnSync('sh', ['-c', 'command -v psql'], { encoding: 'utf8' }).stdout.trim()
if (!psql) {
  if (process.env.CI === 'true')
    t.fail('psql (libpq) is required on CI for the comparison with libpq: install postgresql-client')
  else t.comment('psql not found: skipping the comparison with libpq (install postgresql-client to run it)')
  t.end()
} else {
  const libpqVersion = spawnSync(psql, ['--version'], { encoding: 'utf8' }).stdout.trim()
  t.comment(`comparing with ${libpqVersion}`)

  type Seen = 'encrypted' | 'plaintext' | 'failed'

  /** psql's answer: did it connect, and does the server say the session is SSL? */
  function viaPsql(conninfo: string, home: string): Promise<{ seen: Seen; detail: string }> {
    return new Promise((resolve) => {
      execFile(
        psql,
        ['-X', '-w', '-A', '-t', '-c', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', conninfo],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, PGCONNECT_TIMEOUT: '10' }, timeout: 30_000 },
        (error, stdout, stderr) => {
          if (error) resolve({ seen: 'failed', detail: stderr.trim().split('\n')[0] ?? '' })
          else resolve({ seen: stdout.trim() === 't' ? 'encrypted' : 'plaintext', detail: stdout.trim() })
        },
      )
    })
  }

  async function viaUs(conninfo: string, home: string): Promise<{ seen: Seen; detail: string }> {
    try {
      const client = await connect({ connectionString: conninfo, env: { HOME: home } })
      const server = await serverView(client)
      await client.end()
      if (server.ssl !== client.security.encrypted)
        return { seen: 'failed', detail: 'report disagrees with pg_stat_ssl' }
      return { seen: server.ssl ? 'encrypted' : 'plaintext', detail: client.security.outcome }
    } catch (error) {
      return { seen: 'failed', detail: `${(error as { code?: string }).code}: ${(error as Error).message}` }
    }
  }

  const SERVERS: Record<string, Omit<ClusterOptions, 'binaries'>> = {
    'ssl=on require_ssl=on': { ssl: true, requireSsl: true },
    'ssl=on require_ssl=off': { ssl: true },
    'ssl=off': { ssl: false },
    'ssl=on, SSL rejected by pg_hba, plaintext allowed': {
      ssl: true,
      hbaTcpLines: ['hostssl all all 127.0.0.1/32 reject', 'hostnossl all all 127.0.0.1/32 trust'],
    },
    'ssl=on with an expired certificate': { ssl: true, serverCert: 'server-expired' },
    'ssl=on with a certificate for another host': { ssl: true, serverCert: 'server-otherhost' },
    'ssl=on with a revoked certificate': { ssl: true, serverCert: 'server-revoked' },
  }
  const ROOTS: Record<string, string | undefined> = {
    'no root CA': undefined,
    'right root CA': `sslrootcert=${fixture('ca.crt')}`,
    'right root CA and its CRL': `sslrootcert=${fixture('ca.crt')} sslcrl=${fixture('ca-revoking.crl')}`,
    'wrong root CA': `sslrootcert=${fixture('other-ca.crt')}`,
    'no root CA, a CRL (ignored without a root, as in libpq)': `sslcrl=${fixture('ca-revoking.crl')}`,
  }

  const binaries = availableServers()[0]!
  t.test(`libpq and pg-sslmode agree (server PostgreSQL ${binaries.version})`, async (t) => {
    const clusters: Record<string, Cluster> = {}
    t.teardown(() => Promise.all(Object.values(clusters).map((c) => c.stop())))
    await Promise.all(
      Object.entries(SERVERS).map(async ([name, opts]) => (clusters[name] = await startCluster({ ...opts, binaries }))),
    )
    const home = isolatedEnv().HOME!
    let compared = 0
    for (const [serverName, cluster] of Object.entries(clusters)) {
      for (const mode of SSL_MODES) {
        for (const [rootName, root] of Object.entries(ROOTS)) {
          const conninfo =
            `host=${cluster.host} port=${cluster.port} user=${cluster.user} ` +
            `dbname=${cluster.database} sslmode=${mode}${root ? ` ${root}` : ''}`
          const [libpq, ours] = await Promise.all([viaPsql(conninfo, home), viaUs(conninfo, home)])
          t.equal(
            ours.seen,
            libpq.seen,
            `${serverName}, sslmode=${mode}, ${rootName}: libpq ${libpq.seen} (${libpq.detail}), ` +
              `pg-sslmode ${ours.seen} (${ours.detail})`,
          )
          compared++
        }
      }
    }
    t.equal(compared, Object.keys(SERVERS).length * 6 * Object.keys(ROOTS).length)
  })
  endsWithNoOpenSockets(t)
}

/**
 * sslnegotiation=direct (PostgreSQL 17+): TLS starts at once with ALPN "postgresql", no SSLRequest.
 * Against the embedded PostgreSQL 18; a server without direct SSL (15) must fail cleanly.
 */
import t from 'tap'
import { connect } from '../../lib/index.js'
import { availableServers, fixture, startCluster } from '../../scripts/harness.js'
import {
  isolatedEnv,
  openSocketCount,
  socketsSettleTo,
  rejection,
  serverView,
  endsWithNoOpenSockets,
} from '../support.js'

const modern = availableServers().find((b) => b.major >= 17)
const old = availableServers().find((b) => b.major < 17)

t.test(
  'direct negotiation against PostgreSQL 17+',
  { skip: modern ? false : 'no PostgreSQL 17+ server binaries' },
  async (t) => {
    const cluster = await startCluster({ ssl: true, binaries: modern! })
    t.teardown(() => cluster.stop())
    const base = { host: cluster.host, port: cluster.port, user: cluster.user, env: isolatedEnv() }
    const client = await connect({
      ...base,
      sslmode: 'verify-full',
      sslrootcert: fixture('ca.crt'),
      sslnegotiation: 'direct',
    })
    t.equal(client.security.negotiation, 'direct')
    t.equal(client.security.outcome, 'encrypted-verified')
    t.equal((await serverView(client)).ssl, true, 'the server confirms SSL')
    await client.end()
    const viaEnv = await connect({
      ...base,
      env: { ...isolatedEnv(), PGSSLNEGOTIATION: 'direct', PGSSLMODE: 'require' },
    })
    t.equal(viaEnv.security.negotiation, 'direct')
    await viaEnv.end()
    const classic = await connect({ ...base, sslmode: 'require' })
    t.equal(classic.security.negotiation, 'postgres')
    await classic.end()
    t.equal(
      (await rejection(connect({ ...base, sslmode: 'prefer', sslnegotiation: 'direct' }))).code,
      'INVALID_SETTING',
    )
  },
)

t.test(
  'direct negotiation against a server without it fails, leaving no socket',
  { skip: old ? false : 'no PostgreSQL < 17 server binaries' },
  async (t) => {
    const cluster = await startCluster({ ssl: true, binaries: old! })
    t.teardown(() => cluster.stop())
    const before = await openSocketCount()
    const error = await rejection(
      connect({
        host: cluster.host,
        port: cluster.port,
        user: cluster.user,
        env: isolatedEnv(),
        sslmode: 'require',
        sslnegotiation: 'direct',
        connectionTimeoutMillis: 5000,
      }),
    )
    t.ok(
      ['SSL_HANDSHAKE_FAILED', 'CONNECTION_FAILED', 'PROTOCOL_VIOLATION'].includes(error.code),
      `${error.code}: ${error.message}`,
    )
    t.ok((await socketsSettleTo(before)) <= before)
  },
)

endsWithNoOpenSockets(t)

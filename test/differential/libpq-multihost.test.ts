/**
 * Host lists: which failure on the first host lets libpq go on to the next one. Compared with
 * libpq 18 (ctypes) on the same servers: only a host that cannot be reached (or times out, or
 * answers 57P03 "cannot connect now") is skipped; a certificate, host-name, SSL, pg_hba or
 * password failure ends the whole connection (fe-connect.c: try_next_host is set only for those).
 */
import t from 'tap'
import { connect, sslCodeOf } from '../../lib/index.js'
import { fixture, freePort, startClusters, TEST_PASSWORD } from '../../scripts/harness.js'
import { startRequireSslPeer } from '../../scripts/require-ssl-peer.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const problem = libpq18Problem()
if (problem && process.env.CI === 'true') throw new Error(`libpq 18 is required in CI: ${problem}`)

const cl = await startClusters({
  good: { ssl: true },
  otherhost: {
    ssl: true,
    serverCertFile: fixture('server-otherhost.crt'),
    serverKeyFile: fixture('server-otherhost.key'),
  },
  expired: { ssl: true, serverCertFile: fixture('server-expired.crt'), serverKeyFile: fixture('server-expired.key') },
  sslOff: { ssl: false },
  reject: { ssl: true, hbaTcpLines: ['hostssl all all 127.0.0.1/32 reject', 'host all all 127.0.0.1/32 reject'] },
  password: {
    ssl: true,
    hbaTcpLines: ['hostssl all all 127.0.0.1/32 scram-sha-256'],
    setupSql: [`ALTER ROLE app PASSWORD '${TEST_PASSWORD}'`],
  },
})
t.teardown(() => cl.stopAll())
const dead = await freePort()

const cases: Array<[name: string, firstPort: number, sslmode: string, libpqMovesOn: boolean]> = [
  ['first host refuses the TCP connection', dead, 'verify-full', true],
  ["first host's certificate names another host", cl.otherhost.port, 'verify-full', false],
  ["first host's certificate has expired", cl.expired.port, 'verify-full', false],
  ['first host has SSL off (require)', cl.sslOff.port, 'require', false],
  ["first host's pg_hba.conf rejects", cl.reject.port, 'require', false],
  ['first host refuses the password', cl.password.port, 'require', false],
]

for (const [name, firstPort, sslmode, libpqMovesOn] of cases) {
  t.test(name, { skip: problem ?? false }, async (t) => {
    const conninfo =
      `host=localhost,localhost port=${firstPort},${cl.good.port} user=app dbname=app ` +
      `sslmode=${sslmode} sslrootcert=${fixture('ca.crt')} password=wrong-password connect_timeout=5`
    const libpq = libpq18Connect(conninfo, { HOME: '/nonexistent' })
    t.equal(
      libpq.ok,
      libpqMovesOn,
      `libpq 18: ${libpq.ok ? 'connected to the second host' : libpq.error.trim().split('\n')[0]}`,
    )
    const ours = await connect({ connectionString: conninfo, env: {} }).then(
      async (client) => {
        const port = client.security.port
        await client.end()
        return { ok: true, port, code: undefined }
      },
      (error: unknown) => ({ ok: false, port: undefined, code: sslCodeOf(error) }),
    )
    t.equal(ours.ok, libpq.ok, `pg-sslmode agrees (${ours.ok ? `connected to port ${ours.port}` : ours.code})`)
    if (ours.ok) t.equal(ours.port, cl.good.port, 'the second host')
  })
}

t.test(
  '57P03 "cannot connect now" on the first host: the next host is tried (fe-connect.c try_next_host)',
  async (t) => {
    const peer = await startRequireSslPeer(cl.good) // answers a plaintext start-up with 57P03
    t.teardown(() => peer.close())
    const ports = `${peer.port},${cl.good.port}`
    const client = await connect({
      connectionString: `host=127.0.0.1,127.0.0.1 port=${ports} user=app dbname=app sslmode=disable`,
      env: {},
    })
    t.equal(client.security.port, cl.good.port)
    t.match(client.security.attempts, [
      { port: peer.port, result: 'failed', failure: { sqlstate: '57P03' } },
      { port: cl.good.port, result: 'connected' },
    ])
    await client.end()
  },
)

endsWithNoOpenSockets(t)

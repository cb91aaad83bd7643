/**
 * Every timeout bounds every phase: a TCP connect that never completes (a listener whose accept
 * queue is full: the kernel drops the SYNs) and a TLS handshake that never starts (a peer that
 * answers 'S' and then nothing) end with connect_timeout, with pg's connectionTimeoutMillis and
 * with pg-pool's; end() settles meanwhile, and a host list moves on to the next host — as libpq 18
 * does on the same peers.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createServer } from 'node:net'
import { connect, createPool, SslClient, type ConnectOptions } from '../../lib/index.js'
import { startCluster } from '../../scripts/harness.js'
import { hostilePostgres } from '../hostile-peers.js'
import { libpq18ConnectAsync, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets, isolatedEnv, rejection, socketsSettleTo, openSocketCount } from '../support.js'

/**
 * A TCP listener that never accepts, its queue filled by connections of its own (so that they are
 * not this process's sockets): further connects stall, the kernel dropping their SYNs.
 */
const STALLED_LISTENER = [
  'import socket, sys',
  's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
  'port = s.getsockname()[1]',
  'fillers = []',
  'for _ in range(2):',
  '    f = socket.socket(); f.setblocking(False)',
  '    try: f.connect(("127.0.0.1", port))',
  '    except BlockingIOError: pass',
  '    fillers.append(f)',
  'print(port, flush=True)',
  'sys.stdin.read()',
].join('\n')

async function stalledListener(): Promise<{ port: number }> {
  const child = spawn('python3', ['-c', STALLED_LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = Number(
    await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
  )
  await new Promise((r) => setTimeout(r, 200))
  t.teardown(() => {
    child.stdin!.end()
    child.kill()
  })
  return { port }
}

const stallTls = await hostilePostgres('stall')
t.teardown(() => stallTls.close())
const stallTcp = await stalledListener()
const base: ConnectOptions = { host: '127.0.0.1', user: 'app', password: 'not-sent', env: isolatedEnv() }

for (const [phase, port] of [
  ['the TLS handshake', stallTls.port],
  ['the TCP connect', stallTcp.port],
] as const) {
  t.test(`a stalled ${phase}: connect_timeout, connectionTimeoutMillis and pg-pool's timeout end it`, async (t) => {
    const before = await openSocketCount()
    let started = Date.now()
    const bySeconds = await rejection(connect({ ...base, port, sslmode: 'require', connect_timeout: 2 }))
    t.equal(bySeconds.code, 'CONNECT_TIMEOUT', `connect_timeout=2: ${bySeconds.message}`)
    t.ok(Date.now() - started < 4000, `ended after ${Date.now() - started} ms`)
    started = Date.now()
    const byMillis = await rejection(connect({ ...base, port, sslmode: 'require', connectionTimeoutMillis: 300 }))
    t.equal(byMillis.code, 'CONNECT_TIMEOUT')
    t.ok(Date.now() - started < 2000, `connectionTimeoutMillis=300 ended after ${Date.now() - started} ms`)
    const pool = createPool({ ...base, port, sslmode: 'require', connectionTimeoutMillis: 300, connectRetry: false })
    started = Date.now()
    await t.rejects(pool.query('select 1'), /timeout/i, "pool.query rejects (pg-pool's connection timeout)")
    t.ok(Date.now() - started < 2000, `pool.query ended after ${Date.now() - started} ms`)
    await pool.end()
    t.ok((await socketsSettleTo(before)) <= before, 'no socket left open')
  })

  t.test(`end() settles while ${phase} is stalled`, async (t) => {
    const client = new SslClient({ ...base, port, sslmode: 'require' })
    client.connect().catch(() => undefined)
    await new Promise((r) => setTimeout(r, 100))
    const started = Date.now()
    await client.end()
    t.ok(Date.now() - started < 2000, `end() returned after ${Date.now() - started} ms`)
  })
}

t.test("a start-up that stalls after 'N': connect_timeout ends it", async (t) => {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => socket.write('N')) // and then nothing, whatever the start-up says
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const started = Date.now()
  const error = await rejection(
    connect({
      ...base,
      port: (server.address() as { port: number }).port,
      sslmode: 'prefer',
      connectionTimeoutMillis: 300,
    }),
  )
  t.equal(error.code, 'CONNECT_TIMEOUT')
  t.ok(Date.now() - started < 2000, `ended after ${Date.now() - started} ms`)
})

const libpqProblem = libpq18Problem()
t.test(
  'libpq 18 times out on the same peers',
  { skip: libpqProblem && process.env.CI !== 'true' ? libpqProblem : false },
  async (t) => {
    for (const port of [stallTls.port, stallTcp.port]) {
      const started = Date.now()
      const result = await libpq18ConnectAsync(
        `host=127.0.0.1 port=${port} user=app sslmode=require connect_timeout=2`,
        isolatedEnv(),
      )
      t.equal(result.ok, false)
      t.match(result.error, /timeout expired/, `libpq: ${result.error.trim()}`)
      t.ok(Date.now() - started < 5000)
    }
  },
)

t.test('a host list moves on from a stalled host, as libpq 18 does', async (t) => {
  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  for (const stalled of [stallTls.port, stallTcp.port]) {
    const conninfo =
      `host=127.0.0.1,127.0.0.1 port=${stalled},${cluster.port} user=${cluster.user} ` +
      `dbname=postgres sslmode=require connect_timeout=2`
    const client = await connect({ connectionString: conninfo, env: isolatedEnv() })
    t.equal(client.security.port, cluster.port, 'the second host answered')
    t.match(client.security.attempts[0], { port: stalled, result: 'failed', failure: { code: 'CONNECT_TIMEOUT' } })
    await client.end()
    if (!libpqProblem) {
      const libpq = await libpq18ConnectAsync(conninfo, isolatedEnv())
      t.same(
        { ok: libpq.ok, port: libpq.port },
        { ok: true, port: String(cluster.port) },
        'libpq 18 goes on to the same host',
      )
    }
  }
})

endsWithNoOpenSockets(t)

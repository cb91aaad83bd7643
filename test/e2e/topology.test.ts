/**
 * A real primary and a streaming hot standby (pg_basebackup -R), each with its own certificate
 * and host name: target_session_attrs and load_balance_hosts compared with libpq 18 on the same
 * servers, then a pool that rides through a failover under load. Needs a PostgreSQL build with
 * pg_basebackup (Debian's; .ci/run installs it): skipped with the reason otherwise.
 */
import t from 'tap'
import { connect, createPool, type SecurityEvent } from '../../lib/index.js'
import { availableServers, fixture, startCluster, standbyProblem, type Cluster } from '../../scripts/harness.js'
import { libpq18Connect, libpq18ConnectAsync, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const binaries = availableServers().find((b) => b.source === 'system')
const why = binaries ? undefined : "no PostgreSQL build with pg_basebackup (install Debian's postgresql)"
if (why && process.env.CI === 'true') throw new Error(`streaming replication is required in CI: ${why}`)

let primary: Cluster | undefined
let standby: Cluster | undefined
if (!why) {
  primary = await startCluster({ ssl: true, binaries: binaries!, serverCert: 'server' }) // CN localhost
  const problem = standbyProblem(primary)
  if (problem) throw new Error(problem)
  // 127.0.0.1
  standby = await startCluster({ ssl: true, binaries: binaries!, standbyOf: primary, serverCert: 'server-ip' })
  t.teardown(async () => {
    await standby!.stop()
    await primary!.stop()
  })
}

/** Primary by its name, standby by its address: each checked against its own certificate. */
const hosts = (order: 'primary-first' | 'standby-first'): string => {
  const p = `localhost:${primary!.port}`
  const s = `127.0.0.1:${standby!.port}`
  const list = order === 'primary-first' ? [p, s] : [s, p]
  const ca = encodeURIComponent(fixture('ca.crt'))
  return `postgresql://app@${list.join(',')}/app?sslmode=verify-full&sslrootcert=${ca}`
}

const libpqWhy = libpq18Problem()
for (const attrs of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const) {
  for (const order of ['primary-first', 'standby-first'] as const) {
    t.test(
      `target_session_attrs=${attrs}, ${order}: the same host as libpq 18`,
      { skip: why ?? libpqWhy ?? false },
      async (t) => {
        const uri = `${hosts(order)}&target_session_attrs=${attrs}`
        const libpq = libpq18Connect(uri, { HOME: '/nonexistent' })
        const ours = await connect({ connectionString: uri, env: {} }).then(
          async (client) => {
            const port = client.security.port
            const verified = client.security.hostnameVerified
            await client.end()
            return { ok: true, port: String(port), verified, error: '' }
          },
          (error: Error) => ({ ok: false, port: '', verified: false, error: error.message }),
        )
        t.equal(
          ours.ok,
          libpq.ok,
          `libpq: ${libpq.ok ? `port ${libpq.port}` : libpq.error.split('\n')[0]}; pg-sslmode: ` +
            `${ours.ok ? `port ${ours.port}` : ours.error}`,
        )
        t.equal(ours.port, libpq.port, 'the same host')
        if (ours.ok) t.equal(ours.verified, true, 'its certificate verified against its own name')
      },
    )
  }
}

/**
 * A relay in front of a cluster that drops the in_hot_standby and default_transaction_read_only
 * ParameterStatus messages of the start-up, as a server older than PostgreSQL 14 would not send
 * them: libpq and pg-sslmode must then ask the server (plaintext, so the relay can read it).
 * With `drop: false` it passes everything on. `sentTypes()`: the type of every message the
 * client sent after its start-up packet, in order (for a relay that serves one connection).
 */
async function startSilentRelay(
  target: Cluster,
  { drop = true } = {},
): Promise<{ port: number; sentTypes(): string; close(): Promise<void> }> {
  const sent: Buffer[] = []
  const { createServer, connect: tcp } = await import('node:net')
  const open = new Set<import('node:net').Socket>()
  const server = createServer((client) => {
    open.add(client)
    const backend = tcp(target.port, target.host)
    open.add(backend)
    for (const s of [client, backend]) {
      s.on('error', () => {})
      s.on('close', () => {
        open.delete(s)
        client.destroy()
        backend.destroy()
      })
    }
    client.pipe(backend)
    client.on('data', (chunk: Buffer) => sent.push(chunk))
    let buffer = Buffer.alloc(0)
    let startup = true
    backend.on('data', (chunk: Buffer) => {
      if (!startup) return void client.write(chunk)
      buffer = Buffer.concat([buffer, chunk])
      while (buffer.length >= 5 && buffer.length >= 1 + buffer.readUInt32BE(1)) {
        const length = buffer.readUInt32BE(1)
        const message = buffer.subarray(0, 1 + length)
        buffer = buffer.subarray(1 + length)
        const name = message[0] === 0x53 ? message.subarray(5).toString('utf8').split('\0')[0] : ''
        if (!drop || (name !== 'in_hot_standby' && name !== 'default_transaction_read_only')) client.write(message)
        if (message[0] === 0x5a) {
          startup = false
          if (buffer.length) client.write(buffer)
          buffer = Buffer.alloc(0)
          break
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    sentTypes: () => {
      const bytes = Buffer.concat(sent)
      let types = ''
      // The start-up packet has no type byte (its length comes first); every later message has one.
      for (let i = bytes.readUInt32BE(0); i + 5 <= bytes.length; i += 1 + bytes.readUInt32BE(i + 1))
        types += String.fromCharCode(bytes[i]!)
      return types
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

t.test(
  'servers that do not report in_hot_standby: the session is asked (SHOW / pg_is_in_recovery), as libpq 18 does',
  { skip: why ?? libpqWhy ?? false },
  async (t) => {
    const p = await startSilentRelay(primary!)
    const s = await startSilentRelay(standby!)
    t.teardown(async () => {
      await p.close()
      await s.close()
    })
    for (const attrs of ['read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const) {
      const conninfo =
        `host=127.0.0.1,127.0.0.1 port=${s.port},${p.port} user=app dbname=app ` +
        `sslmode=disable target_session_attrs=${attrs}`
      const libpq = await libpq18ConnectAsync(conninfo, { HOME: '/nonexistent' })
      const ours = await connect({ connectionString: conninfo, env: {} }).then(
        async (client) => {
          const port = String(client.security.port)
          await client.end()
          return port
        },
        (error: Error) => `error: ${error.message}`,
      )
      t.equal(
        ours,
        libpq.ok ? libpq.port : `error: ${libpq.error}`,
        `${attrs}: the same host as libpq 18 (${libpq.port === String(p.port) ? 'the primary' : 'the standby'})`,
      )
    }
  },
)

t.test(
  'servers that report in_hot_standby: nothing is asked, the start-up parameters decide (as libpq 14+)',
  { skip: why ?? false },
  async (t) => {
    const cases = [
      [primary!, 'read-write'],
      [primary!, 'primary'],
      [standby!, 'read-only'],
      [standby!, 'standby'],
      [standby!, 'prefer-standby'],
    ] as const
    for (const drop of [false, true]) {
      for (const [server, attrs] of cases) {
        const relay = await startSilentRelay(server, { drop })
        const conninfo = `host=127.0.0.1 port=${relay.port} user=app dbname=app sslmode=disable`
        const client = await connect({ connectionString: `${conninfo} target_session_attrs=${attrs}`, env: {} })
        await client.end()
        const types = relay.sentTypes()
        await relay.close()
        // Without the parameters (the control) the session is asked: the detector sees a Query.
        t.equal(types, drop ? 'QX' : 'X', `${attrs}${drop ? ', parameters dropped' : ''}: messages sent ${types}`)
      }
    }
  },
)

t.test(
  'load_balance_hosts=random spreads connections over both hosts; disable always takes the first',
  { skip: why ?? false },
  async (t) => {
    const seen = new Map<number, number>()
    for (let i = 0; i < 40; i++) {
      const client = await connect({ connectionString: `${hosts('primary-first')}&load_balance_hosts=random`, env: {} })
      seen.set(client.security.port, (seen.get(client.security.port) ?? 0) + 1)
      await client.end()
    }
    t.equal(seen.size, 2, `both hosts were chosen: ${JSON.stringify([...seen])}`)
    for (const count of seen.values()) t.ok(count >= 5, 'neither is rare (40 connections, p(fail) < 1e-6)')
    const first = await connect({ connectionString: `${hosts('primary-first')}&load_balance_hosts=disable`, env: {} })
    t.equal(first.security.port, primary!.port)
    await first.end()
  },
)

t.test(
  'load_balance_hosts=random resolves a host name and shuffles its addresses (libpq 16); the name is ' +
    'still what is verified',
  { skip: why ?? false },
  async (t) => {
    const { lookup } = await import('node:dns/promises')
    const addresses = (await lookup('localhost', { all: true })).map((a) => a.address)
    t.comment(`localhost resolves to ${addresses.join(', ')}; the primary listens on 127.0.0.1 only`)
    for (let i = 0; i < 20; i++) {
      const client = await connect({
        connectionString:
          `postgresql://app@localhost:${primary!.port}/app?sslmode=verify-full&sslro` +
          `otcert=${encodeURIComponent(fixture('ca.crt'))}&load_balance_hosts=random`,
        env: {},
      })
      t.equal(
        client.security.hostnameVerified,
        true,
        `connection ${i + 1}: verified as "localhost" whichever address answered`,
      )
      await client.end()
    }
  },
)

t.test(
  'a read-write pool rides through a failover: stop the primary, promote the standby',
  { skip: why ?? false },
  async (t) => {
    const events: SecurityEvent[] = []
    const pool = createPool({
      connectionString: `${hosts('primary-first')}&target_session_attrs=read-write`,
      env: {},
      max: 20,
      connectionTimeoutMillis: 30_000,
      onSecurityEvent: (e) => void events.push(e),
    })
    pool.on('error', () => {})
    await pool.query('create table if not exists failover_t (i int)')
    const total = 2000
    let next = 0
    let answered = 0
    const acquireFailures: string[] = []
    const inFlight: string[] = []
    let failover: Promise<void> | undefined
    let promoteStart = 0
    let promotedAt = 0
    let firstAfter = 0
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++
        if (i === 400) {
          failover = (async () => {
            await primary!.stop()
            promoteStart = Date.now()
            await standby!.promote()
            promotedAt = Date.now()
          })()
        }
        let client
        try {
          client = await pool.connect()
        } catch (error) {
          acquireFailures.push((error as Error).message)
          continue
        }
        try {
          await client.query('insert into failover_t values ($1)', [i])
          answered++
          if (promoteStart && !firstAfter) firstAfter = Date.now()
          client.release()
        } catch (error) {
          inFlight.push((error as Error).message)
          client.release(error as Error)
        }
      }
    }
    await Promise.all(Array.from({ length: 20 }, worker))
    await failover
    t.equal(answered + acquireFailures.length + inFlight.length, total, 'every query settled')
    t.same(acquireFailures, [], 'no query that never reached a server failed')
    t.ok(inFlight.length <= 40, `only statements in flight failed (${inFlight.length})`)
    t.ok(
      inFlight.every((m) => /terminat|ECONNRESET|not queryable|read-only|shutting down/i.test(m)),
      'each with a clear error',
    )
    const client = await pool.connect()
    t.equal(client.security.port, standby!.port, 'the pool is on the promoted standby')
    t.equal(client.security.outcome, 'encrypted-verified')
    t.equal(client.security.hostnameVerified, true)
    client.release()
    // The audit trail shows the switch: connections to the old primary, then verified ones to the new.
    const ports = events.flatMap((e) => (e.type === 'security' ? [e.report.port] : []))
    t.ok(
      ports.includes(primary!.port) && ports.lastIndexOf(standby!.port) > ports.lastIndexOf(primary!.port),
      'the audit events show connections moving from the old primary to the promoted standby',
    )
    const retries = events.filter((e) => e.type === 'connect-retry')
    t.comment(`${retries.length} connect-retry events while no host was read-write`)
    t.comment(
      `answered ${answered}, in flight ${inFlight.length}; promotion took ` +
        `${promotedAt - promoteStart} ms; first answer ${firstAfter - promoteStart} ms after the promotion began`,
    )
    await pool.end()
  },
)

endsWithNoOpenSockets(t)

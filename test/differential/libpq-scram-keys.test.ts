/**
 * scram_client_key and scram_server_key compared with libpq 18 (ctypes) on the same PostgreSQL 18
 * server, over TLS (SCRAM-SHA-256-PLUS) and in plaintext: the keys of a role derived from its
 * stored salt and iteration count, alone, together, with and without a password, wrong, malformed,
 * for a role that logs in with md5 and one with trust, with channel_binding and require_auth. Both
 * must agree on connecting and on libpq's words when they refuse; the keys appear in no error and
 * no report. Then channel binding to servers whose certificates are signed with RSASSA-PSS and
 * ECDSA, where the hash to bind with is not SHA-256.
 */
import { execFileSync } from 'node:child_process'
import { createHmac, pbkdf2Sync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { connect, sslCodeOf } from '../../lib/index.js'
import { availableServers, startCluster } from '../../scripts/harness.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const problem = libpq18Problem()
if (problem && process.env.CI === 'true') throw new Error(`libpq 18 is required in CI: ${problem}`)
const server18 = availableServers().find((b) => b.major >= 18)

const PASSWORD = 'scram-keys-test-password'
/** libpq's message without its "connection to server at ... failed: " prefix and FATAL's padding. */
const libpqWords = (error: string): string =>
  error
    .split('\n')[0]!
    .replace(/^connection to server at .*? failed: /, '')
    .replace(/^FATAL: {2}/, '')

t.test('SCRAM keys against libpq 18', { skip: problem ?? (server18 ? false : 'no PostgreSQL 18') }, async (t) => {
  const cluster = await startCluster({
    ssl: true,
    binaries: server18!,
    hbaTcpLines: [
      'host all u_scram 127.0.0.1/32 scram-sha-256',
      'host all u_md5 127.0.0.1/32 md5',
      'host all all 127.0.0.1/32 trust',
    ],
    setupSql: [
      `SET password_encryption = 'scram-sha-256'`,
      `CREATE ROLE u_scram LOGIN PASSWORD '${PASSWORD}'`,
      `SET password_encryption = 'md5'`,
      `CREATE ROLE u_md5 LOGIN PASSWORD '${PASSWORD}'`,
    ],
  })
  t.teardown(() => cluster.stop())
  const { client: CK, server: SK, stored } = await keysOf(cluster, 'u_scram', PASSWORD)
  t.equal(SK, stored, 'the server key derived here is the one the server stores')
  const OTHER = Buffer.alloc(32, 7).toString('base64')

  const cases = [
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK}`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK} password=wrong`,
    `user=u_scram scram_client_key=${CK}`,
    `user=u_scram scram_client_key=${CK} password=${PASSWORD}`,
    `user=u_scram scram_server_key=${SK} password=${PASSWORD}`,
    `user=u_scram scram_server_key=${SK}`,
    `user=u_scram scram_client_key=${OTHER} scram_server_key=${SK}`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${OTHER}`,
    `user=u_scram scram_server_key=${OTHER} password=${PASSWORD}`,
    `user=u_scram scram_client_key=notbase64!!`,
    `user=u_scram scram_client_key=AAAAAAAAAAAAAAAAAAAAAA==`,
    `user=u_scram scram_server_key=''`,
    `user=u_md5 scram_client_key=${CK} scram_server_key=${SK}`,
    `user=u_md5 scram_client_key=${CK} scram_server_key=${SK} password=${PASSWORD}`,
    `user=app scram_client_key=${CK} scram_server_key=${SK}`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK} channel_binding=require`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK} channel_binding=disable`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK} require_auth=password`,
    `user=u_scram scram_client_key=${CK} scram_server_key=${SK} require_auth=scram-sha-256`,
  ]
  const shown = (text: string) => text.replaceAll(CK, '<ClientKey>').replaceAll(SK, '<ServerKey>')
  for (const sslmode of ['require', 'disable']) {
    for (const keys of cases) {
      const conninfo = `host=${cluster.host} port=${cluster.port} dbname=postgres sslmode=${sslmode} ${keys}`
      const name = shown(`sslmode=${sslmode} ${keys}`)
      const libpq = libpq18Connect(conninfo, { HOME: '/nonexistent' })
      const ours = await connect({ connectionString: conninfo, env: { HOME: '/nonexistent' } }).then(
        async (client) => {
          const report = JSON.stringify(client.security)
          await client.end()
          const { channelBinding: bound, credential } = client.security
          return { ok: true, message: '', code: '', seen: report, bound, credential }
        },
        (error: Error) => ({
          ok: false,
          message: error.message,
          code: sslCodeOf(error) ?? '',
          seen: `${error.message} ${JSON.stringify(error)} ${(error as { hint?: string }).hint ?? ''}`,
          bound: false,
          credential: '',
        }),
      )
      t.equal(ours.ok, libpq.ok, `${name}: libpq ${libpq.ok ? 'connects' : `fails: ${libpqWords(libpq.error)}`}`)
      if (!libpq.ok) t.match(ours.message, libpqWords(libpq.error), `${name}: libpq's words (${ours.code})`)
      if (libpq.ok && keys.startsWith('user=u_scram')) {
        t.equal(ours.bound, sslmode === 'require' && !keys.includes('disable'), `${name}: bound as libpq binds`)
        const credential = keys.includes('scram_client_key') ? 'scram-keys' : 'password'
        t.equal(ours.credential, credential, `${name}: the report says ${credential}`)
      }
      t.notOk(ours.seen.includes(CK) || ours.seen.includes(SK), `${name}: no key in the error or report`)
    }
  }
  endsWithNoOpenSockets(t)
})

/**
 * The keys of `password` for a role the server stores as SCRAM, from its salt and iteration count
 * in pg_authid (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>), and the ServerKey the
 * server stores.
 */
async function keysOf(cluster: { host: string; port: number; user: string }, role: string, password: string) {
  const admin = await connect({
    host: cluster.host,
    port: cluster.port,
    user: cluster.user,
    sslmode: 'disable',
    env: {},
  })
  const { rows } = await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])
  await admin.end()
  const [, iterations, salt, stored] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$[^:]+:(.+)$/.exec(rows[0].rolpassword)!
  const salted = pbkdf2Sync(password, Buffer.from(salt!, 'base64'), Number(iterations), 32, 'sha256')
  const key = (name: string) => createHmac('sha256', salted).update(name).digest().toString('base64')
  return { client: key('Client Key'), server: key('Server Key'), stored: stored! }
}

const CERTIFICATES = {
  'RSASSA-PSS with SHA-384': [
    ['-algorithm', 'RSA'],
    ['-sigopt', 'rsa_padding_mode:pss', '-sha384'],
  ],
  'ECDSA with SHA-512': [['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-sha512']],
} as const
for (const [name, [keyArgs, signArgs]] of Object.entries(CERTIFICATES)) {
  t.test(
    `channel binding to a certificate signed with ${name}, as libpq 18 binds`,
    {
      skip: problem ?? (server18 ? false : 'no PostgreSQL 18'),
    },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'scram-binding-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      const key = join(dir, 'server.key')
      const cert = join(dir, 'server.crt')
      execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'pipe' })
      execFileSync(
        'openssl',
        ['req', '-new', '-x509', '-key', key, '-out', cert, '-subj', '/CN=localhost', ...signArgs],
        {
          stdio: 'pipe',
        },
      )
      const cluster = await startCluster({
        ssl: true,
        binaries: server18!,
        serverCertFile: cert,
        serverKeyFile: key,
        hbaTcpLines: ['host all u_scram 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust'],
        setupSql: [`SET password_encryption = 'scram-sha-256'`, `CREATE ROLE u_scram LOGIN PASSWORD '${PASSWORD}'`],
      })
      t.teardown(() => cluster.stop())
      const keys = await keysOf(cluster, 'u_scram', PASSWORD)
      const server = `host=${cluster.host} port=${cluster.port} dbname=postgres user=u_scram sslmode=require`
      for (const [label, credentials] of [
        ['the SCRAM keys', `scram_client_key=${keys.client} scram_server_key=${keys.server}`],
        ['the password (pg runs SCRAM)', `password=${PASSWORD}`],
      ]) {
        const conninfo = `${server} channel_binding=require ${credentials}`
        const libpq = libpq18Connect(conninfo, { HOME: '/nonexistent' })
        t.ok(libpq.ok, `${label}: libpq 18 binds (${libpq.ok ? 'connects' : libpq.error})`)
        const ours = await connect({ connectionString: conninfo, env: { HOME: '/nonexistent' } }).then(
          async (client) => {
            const { channelBinding, authentication } = client.security
            await client.end()
            return `${authentication}, bound: ${channelBinding}`
          },
          (error: Error) => `failed: ${error.message}`,
        )
        t.equal(ours, 'scram-sha-256-plus, bound: true', `${label}: bound as libpq binds`)
      }
      endsWithNoOpenSockets(t)
    },
  )
}

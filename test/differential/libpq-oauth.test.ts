/**
 * OAuth (SASL OAUTHBEARER) against libpq 18 on a real PostgreSQL 18 whose pg_hba.conf says
 * `oauth`, with a validator module built here with gcc (fixtures/oauth/validator.c: the token
 * "good-<role>" logs in as <role>). libpq runs through ctypes with an authentication-data hook
 * that answers PQAUTHDATA_OAUTH_BEARER_TOKEN; pg-sslmode with an oauthBearerToken function. Both
 * must agree on connecting, on libpq's words when they refuse, and on what the application is
 * asked for (discovery URI and scope, and how often); the token appears in no error, report or
 * event. Then the policy rule tokensRequireVerifyFull, which libpq does not have.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { connect, sslCodeOf, type OAuthBearerRequest } from '../../lib/index.js'
import { availableServers, fixture, privateCopy, startCluster } from '../../scripts/harness.js'
import { libpq18OAuth, libpq18Problem } from '../oracles/libpq18.js'
import { endsWithNoOpenSockets } from '../support.js'

const server18 = availableServers().find((b) => b.major >= 18)
const SOURCE = fileURLToPath(new URL('../../fixtures/oauth/validator.c', import.meta.url))

/** Why the validator module cannot be built here, or undefined when it can. */
function gccProblem(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'pipe' })
    return undefined
  } catch {
    return 'gcc not found (Debian package gcc): the OAuth validator module is built with it'
  }
}
const problem = libpq18Problem() ?? gccProblem() ?? (server18 ? undefined : 'no PostgreSQL 18')
if (problem && process.env.CI === 'true') throw new Error(`the OAuth test is required in CI: ${problem}`)

const ISSUER = 'https://issuer.example'
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`
const SCOPE = 'openid db'
/** libpq's message without its "connection to server at ... failed: " prefix and FATAL's padding. */
const libpqWords = (error: string): string =>
  error
    .split('\n')
    .map((line) => line.replace(/^connection to server at .*? failed: /, '').replace(/^FATAL: {2}/, ''))
    .filter((line) => line !== 'retrying connection with new bearer token')[0]!
    // A deliberate difference (README): no libpq-oauth plugin to install, a function to give instead.
    .replace(' (try installing the libpq-oauth package)', '')

t.test('OAUTHBEARER against libpq 18', { skip: problem ?? false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oauth-validator-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const module = join(dir, 'validator.so')
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', `-DPG_MAJOR_NUM=${server18!.major * 100}`, '-o', module, SOURCE])
  chmodSync(dir, 0o755) // the server runs as an unprivileged user when the tests run as root
  const cluster = await startCluster({
    ssl: true,
    binaries: server18!,
    settings: { oauth_validator_libraries: `'${module}'` },
    hbaTcpLines: [`host all all 127.0.0.1/32 oauth issuer="${ISSUER}" scope="${SCOPE}" delegate_ident_mapping=1`],
    roles: ['alice'],
  })
  t.teardown(() => cluster.stop())
  const server = `host=${cluster.host} port=${cluster.port} dbname=postgres user=alice`
  const CASES: Array<{ settings: string; token: string | null }> = [
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app`, token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=${DISCOVERY} oauth_client_id=app`, token: 'good-alice' },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER}/.well-known/oauth-authorization-server oauth_client_id=app`,
      token: 'good-alice',
    },
    { settings: `sslmode=disable oauth_issuer=${ISSUER} oauth_client_id=app`, token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app oauth_scope=custom`, token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app`, token: 'good-bob' },
    { settings: `sslmode=require oauth_issuer=${DISCOVERY} oauth_client_id=app`, token: 'good-bob' },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app`, token: null },
    { settings: `sslmode=require oauth_issuer=${ISSUER}`, token: 'good-alice' },
    { settings: 'sslmode=require oauth_client_id=app', token: 'good-alice' },
    { settings: 'sslmode=require', token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=https://other.example oauth_client_id=app`, token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=${ISSUER}/ oauth_client_id=app`, token: 'good-alice' },
    {
      settings: 'sslmode=require oauth_issuer=http://issuer.example/.well-known/openid-configuration oauth_client_id=a',
      token: 'good-alice',
    },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER}/.well-known/openid-configuration?x=1 oauth_client_id=a`,
      token: 'good-alice',
    },
    { settings: `sslmode=require oauth_issuer=${ISSUER}/.well-known/jwks oauth_client_id=a`, token: 'good-alice' },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER}/a/.well-known/openid-configuration/b oauth_client_id=a`,
      token: 'good-alice',
    },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app require_auth=oauth`, token: 'good-alice' },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app require_auth=!oauth`, token: 'good-alice' },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app require_auth=scram-sha-256`,
      token: 'good-alice',
    },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app require_auth=password,md5`,
      token: 'good-alice',
    },
    {
      settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app channel_binding=require`,
      token: 'good-alice',
    },
    { settings: `sslmode=require oauth_issuer=${ISSUER} oauth_client_id=app password=secret`, token: 'good-alice' },
  ]
  const libpq = libpq18OAuth(
    CASES.map((c) => ({ conninfo: `${server} ${c.settings}`, token: c.token })),
    { HOME: '/nonexistent' },
  )
  for (const [i, { settings, token }] of CASES.entries()) {
    const reference = libpq[i]!
    const requests: OAuthBearerRequest[] = []
    const events: unknown[] = []
    const ours = await connect({
      connectionString: `${server} ${settings}`,
      env: { HOME: '/nonexistent' },
      onSecurityEvent: (event) => events.push(event),
      ...(token === null
        ? {}
        : {
            oauthBearerToken: async (request: OAuthBearerRequest) => {
              requests.push(request)
              return token
            },
          }),
    }).then(
      async (client) => {
        const report = client.security
        await client.end()
        return { ok: true, message: '', code: '', seen: JSON.stringify(report), report }
      },
      (error: Error) => ({
        ok: false,
        message: error.message,
        code: sslCodeOf(error) ?? '',
        seen: `${error.message} ${JSON.stringify(error)} ${(error as { hint?: string }).hint ?? ''}`,
        report: undefined,
      }),
    )
    const name = `${settings} (token ${token ?? 'none'})`
    t.equal(ours.ok, reference.ok, `${name}: libpq ${reference.ok ? 'connects' : `fails: ${reference.error}`}`)
    if (!reference.ok) t.match(ours.message, libpqWords(reference.error), `${name}: libpq's words (${ours.code})`)
    t.same(
      requests.map((r) => ({ openid_configuration: r.openidConfiguration, scope: r.scope ?? null })),
      token === null ? [] : reference.requests,
      `${name}: asked for the token as libpq's hook is asked`,
    )
    if (ours.report) {
      t.equal(ours.report.authentication, 'oauth', `${name}: the report says oauth`)
      t.equal(ours.report.credential, 'oauth-bearer-token', `${name}: logged in with a bearer token`)
    }
    if (token) {
      t.notOk(
        `${ours.seen} ${JSON.stringify(events)}`.includes(token),
        `${name}: the token in no error, report or event`,
      )
    }
  }

  t.test('tokensRequireVerifyFull: no token is fetched or sent over anything weaker', async (t) => {
    for (const [sslmode, extra] of [
      ['require', ''],
      ['verify-ca', ` sslrootcert=${fixture('ca.crt')}`],
      ['disable', ''],
    ] as const) {
      let asked = 0
      const error = await connect({
        connectionString: `${server} sslmode=${sslmode}${extra} oauth_issuer=${DISCOVERY} oauth_client_id=app`,
        env: { HOME: '/nonexistent' },
        policy: { tokensRequireVerifyFull: true },
        oauthBearerToken: () => {
          asked++
          return 'good-alice'
        },
      }).then(
        (client) => client.end().then(() => undefined),
        (e: Error) => e,
      )
      t.match(error, { code: 'POLICY_VIOLATION', rule: 'tokensRequireVerifyFull' }, `sslmode=${sslmode}: refused`)
      t.equal(asked, 0, `sslmode=${sslmode}: the token function was not called`)
    }
    const client = await connect({
      connectionString:
        `${server.replace(cluster.host, 'localhost')} sslmode=verify-full sslrootcert=${fixture('ca.crt')} ` +
        `oauth_issuer=${ISSUER} oauth_client_id=app`,
      env: { HOME: '/nonexistent' },
      policy: 'recommended',
      sslcert: fixture('client.crt'),
      sslkey: privateCopy('client.key'),
      oauthBearerToken: () => 'good-alice',
    })
    t.equal(client.security.authentication, 'oauth', 'verify-full: the token is sent (the recommended preset)')
    t.equal(client.security.attempts.length, 2, 'a discovery connection, then the one with the token')
    await client.end()
  })
  endsWithNoOpenSockets(t)
})

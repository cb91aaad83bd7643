/**
 * The connect loop's pure parts, without a server: the host order (passes × hosts, load
 * balancing), libpq's rule for trying the next host (PQconnectPoll's try_next_host), the retry
 * decision after a failed round, the connection config read once from the settings, and the
 * error made whole with its attempts. The loop itself runs against real servers in
 * test/e2e/topology.test.ts, timeouts.test.ts, load-restart.test.ts and the matrices.
 */
import t from 'tap'
import { PgSslError, withAttempts } from '../lib/engine/errors.js'
import { connectionConfig } from '../lib/postgres/connect/connection-config.js'
import { Failure, HostFailure, hostFailure } from '../lib/postgres/connect/failure.js'
import { afterFailedRound, backoffDelay } from '../lib/postgres/connect/retry.js'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import { hostTries } from '../lib/postgres/host-order.js'
import { planAttempts } from '../lib/postgres/plan.js'
import type { Endpoint } from '../lib/postgres/settings/endpoints.js'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'

const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
const settings = (options: Parameters<typeof connectionSettings>[0]) =>
  connectionSettings({ env: {}, ...options }, noFiles)

const endpoint = (host: string): Endpoint => ({ host, hostName: host, address: host, port: 5432 })
const endpoints = ['a', 'b', 'c'].map(endpoint)
const plan = planAttempts({ sslmode: 'prefer', dialect: 'postgres', rootCert: 'none', transport: 'tcp' })
const plans = endpoints.map(() => plan)
const names = (tries: ReturnType<typeof hostTries>) => tries.map((h) => `${h.want}:${h.endpoint.host}`)

t.test('the host order: passes × hosts', async (t) => {
  const base = { endpoints, plans, loadBalance: false }
  t.same(names(hostTries({ ...base, targetSessionAttrs: 'any' })), ['any:a', 'any:b', 'any:c'], 'as given')
  t.same(
    names(hostTries({ ...base, targetSessionAttrs: 'prefer-standby' })),
    ['standby:a', 'standby:b', 'standby:c', 'any:a', 'any:b', 'any:c'],
    'prefer-standby: a standby first, then any host (libpq 14+)',
  )
  t.same(names(hostTries({ ...base, targetSessionAttrs: 'primary' })), ['primary:a', 'primary:b', 'primary:c'])
  // A fixed "random": Fisher–Yates with 0 moves each last element to the front.
  const shuffled = hostTries({ ...base, targetSessionAttrs: 'prefer-standby', loadBalance: true }, () => 0)
  t.same(
    names(shuffled),
    ['standby:b', 'standby:c', 'standby:a', 'any:b', 'any:c', 'any:a'],
    'load_balance_hosts=random: shuffled once per connection, the same order in both passes',
  )
  const own = [endpoint('x'), endpoint('y')]
  const ownPlans = [plan, planAttempts({ sslmode: 'disable', dialect: 'postgres', rootCert: 'none', transport: 'tcp' })]
  const paired = hostTries({ endpoints: own, plans: ownPlans, targetSessionAttrs: 'any', loadBalance: true }, () => 0)
  t.same(
    paired.map((h) => [h.endpoint.host, h.plan.requestedMode]),
    [
      ['y', 'disable'],
      ['x', 'prefer'],
    ],
    'each host keeps its own plan when shuffled',
  )
})

t.test("libpq's try_next_host: which failures let the next host be tried", async (t) => {
  const rejected = (sqlstate: string) =>
    new Failure('rejected', new PgSslError('SERVER_REJECTED', `rejected ${sqlstate}`, { sqlstate }))
  const refused = new Failure('other', new PgSslError('CONNECTION_FAILED', 'connection refused'))
  const mismatch = new Failure('other', new PgSslError('TARGET_SESSION_ATTRS_MISMATCH', 'session is read-only'))
  const reached = { reached: true, timedOut: false }
  const cases: Array<[string, Failure[], { reached: boolean; timedOut: boolean }, boolean]> = [
    ['not reached (refused, DNS)', [refused], { reached: false, timedOut: false }, true],
    ['timed out', [refused], { reached: true, timedOut: true }, true],
    ['57P03 cannot connect now', [rejected('57P03')], reached, true],
    ['of the wrong kind', [mismatch], reached, true],
    ['password authentication failed', [rejected('28P01')], reached, false],
    ['no pg_hba.conf entry', [rejected('28000')], reached, false],
    ['closed after connecting', [refused], reached, false],
  ]
  for (const [what, failures, how, next] of cases) {
    const failure = hostFailure(failures, plan, {}, how)
    t.type(failure, HostFailure)
    t.equal(failure.nextHostAllowed, next, `${what}: ${next ? 'next host' : 'stop'}`)
    t.equal(failure.error.code, failures.at(-1)?.error.code, 'the error is the one libpq reports')
  }
})

t.test('after a failed round: stop, budget spent, or wait', async (t) => {
  const retry = { initialDelayMillis: 100, maxDelayMillis: 1000, budgetMillis: 5000 }
  const refused = new PgSslError('CONNECTION_FAILED', 'x', {
    cause: Object.assign(new Error('r'), { code: 'ECONNREFUSED' }),
  })
  const badPassword = new PgSslError('SERVER_REJECTED', 'password', { sqlstate: '28P01' })
  const starting = new PgSslError('SERVER_REJECTED', 'starting up', { sqlstate: '57P03' })
  t.same(afterFailedRound(undefined, [refused], 0, 0), { kind: 'stop' }, 'no connectRetry: one round, as libpq')
  t.same(afterFailedRound(retry, [], 0, 0), { kind: 'stop' }, 'nothing was tried (ended from outside)')
  t.same(afterFailedRound(retry, [refused, badPassword], 0, 0), { kind: 'stop' }, 'one host failed for good')
  t.same(
    afterFailedRound(retry, [refused, starting], 2, 100, () => 0.5),
    { kind: 'wait', delayMillis: backoffDelay(2, retry, () => 0.5), reason: 'SQLSTATE 57P03' },
    'every host transient: wait, with the last reason',
  )
  t.same(
    afterFailedRound(retry, [refused], 3, 4900, () => 1),
    { kind: 'budget-spent' },
    'the wait would pass the budget',
  )
})

t.test('the connection config: read once, typed, frozen, refused before traffic', async (t) => {
  const config = connectionConfig(
    settings({
      connectionString:
        'host=a,b target_session_attrs=read-write load_balance_hosts=random sslcertmode=require ' +
        'channel_binding=require require_auth=scram-sha-256 connect_timeout=1 keepalives_idle=7 sslsni=0 ' +
        'ssl_min_protocol_version=TLSv1.3',
    }),
  )
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.tls) && Object.isFrozen(config.keepAlive), 'frozen')
  t.match(config, {
    dialect: 'postgres',
    targetSessionAttrs: 'read-write',
    loadBalance: true,
    sslCertMode: 'require',
    channelBinding: 'require',
    requireAuth: { text: 'scram-sha-256' },
    openGaussProtocolMinor: undefined,
    connectTimeoutMs: 2000,
    keepAlive: { enable: true, initialDelayMs: 7000 },
    tls: { minVersion: 'TLSv1.3', minVersionStated: true, sni: false },
    passwordGiven: false,
    host: 'a,b',
  })
  t.equal(connectionConfig(settings({ connect_timeout: 1500 } as never)).connectTimeoutMs, 1_500_000, 'seconds')
  t.equal(connectionConfig(settings({ connectionString: 'connect_timeout=10' })).connectTimeoutMs, 10_000)
  t.equal(connectionConfig(settings({})).tls.minVersionStated, false, "the default minimum is not the user's")
  t.equal(connectionConfig(settings({ password: 'secret' })).passwordGiven, true)
  t.equal(connectionConfig(settings({ dialect: 'opengauss' })).openGaussProtocolMinor, 51, "gsql's 3.51")
  t.throws(
    () => connectionConfig(settings({ dialect: 'opengauss', connectionString: 'max_protocol_version=3.7' })),
    { code: 'INVALID_SETTING', setting: 'max_protocol_version' },
    'an openGauss protocol it cannot ask for',
  )
  t.throws(() => connectionConfig(settings({ connectionString: 'require_auth=kerberos' })), {
    code: 'INVALID_SETTING',
  })
})

t.test('the error a connect ends with is made whole, not patched', async (t) => {
  const cause = new Error('ECONNREFUSED')
  const last = new PgSslError('CONNECTION_FAILED', 'could not connect', { setting: 'host', cause })
  const attempts = [{ host: 'a', result: 'failed' }]
  const whole = withAttempts(last, attempts)
  t.not(whole, last)
  t.match(whole, { code: 'CONNECTION_FAILED', message: 'could not connect', setting: 'host', hint: last.hint })
  t.equal(whole.cause, cause, 'the same cause')
  t.equal(whole.stack, last.stack, 'the stack of where it happened')
  t.equal(whole.attempts, attempts)
  t.equal(last.attempts, undefined, 'the original is left as it was')
})

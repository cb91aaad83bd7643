/** Which connection failures connectRetry waits for, how long it waits, and its option's checks. */
import t from 'tap'
import { PgSslError } from '../lib/index.js'
import { backoffDelay, transientReason } from '../lib/postgres/connect/retry.js'
import { connectRetryOf } from '../lib/postgres/settings/connect-retry.js'

const errno = (code: string): Error => Object.assign(new Error(code), { code })

t.test('transient: the server is not up yet or is going away', async (t) => {
  t.equal(transientReason(new PgSslError('CONNECTION_FAILED', 'x', { cause: errno('ECONNREFUSED') })), 'ECONNREFUSED')
  t.equal(
    transientReason(
      new PgSslError('CONNECTION_FAILED', 'x', {
        cause: new PgSslError('CONNECTION_FAILED', 'y', { cause: errno('ECONNRESET') }),
      }),
    ),
    'ECONNRESET',
    'found down the cause chain',
  )
  t.match(
    transientReason(new PgSslError('CONNECTION_FAILED', 'server closed the connection during SSL negotiation')),
    /closed the connection/,
  )
  t.equal(transientReason(new PgSslError('SERVER_REJECTED', 'starting up', { sqlstate: '57P03' })), 'SQLSTATE 57P03')
  t.equal(transientReason(new PgSslError('SERVER_REJECTED', 'terminating', { sqlstate: '57P01' })), 'SQLSTATE 57P01')
  t.equal(
    transientReason(new PgSslError('SSL_HANDSHAKE_FAILED', 'reset', { cause: errno('ECONNRESET') })),
    'ECONNRESET',
  )
})

t.test('never transient: what waiting cannot fix', async (t) => {
  t.equal(
    transientReason(new PgSslError('CONNECTION_FAILED', 'x', { cause: errno('ENOTFOUND') })),
    undefined,
    'a host name that does not resolve',
  )
  t.equal(transientReason(new PgSslError('CONNECTION_FAILED', 'x', { cause: errno('EACCES') })), undefined)
  t.equal(transientReason(new PgSslError('SSL_HANDSHAKE_FAILED', 'alert')), undefined, 'a TLS alert')
  t.equal(transientReason(new PgSslError('SERVER_REJECTED', 'no pg_hba.conf entry', { sqlstate: '28000' })), undefined)
  t.equal(transientReason(new PgSslError('SERVER_REJECTED', 'too many connections', { sqlstate: '53300' })), undefined)
  t.equal(
    transientReason(new PgSslError('SSL_REQUIRED_BY_SERVER', 'x', { sqlstate: '57P03' })),
    undefined,
    'openGauss require_ssl says 57P03 too, and means it',
  )
  for (const code of [
    'CERT_VERIFY_FAILED',
    'HOSTNAME_MISMATCH',
    'POLICY_VIOLATION',
    'PASSWORD_REQUIRED',
    'INVALID_SETTING',
    'CONNECT_TIMEOUT',
    'PROTOCOL_VIOLATION',
    'SSL_DISABLED_ON_SERVER',
  ] as const) {
    t.equal(transientReason(new PgSslError(code, 'x', { cause: errno('ECONNRESET') })), undefined, code)
  }
})

t.test('backoff: doubles from initialDelayMillis up to maxDelayMillis, jittered within the upper half', async (t) => {
  const s = { budgetMillis: 10_000, initialDelayMillis: 50, maxDelayMillis: 1_000 }
  t.same(
    [0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, s, () => 1)),
    [50, 100, 200, 400, 800, 1000, 1000],
  )
  t.same(
    [0, 1, 5].map((n) => backoffDelay(n, s, () => 0)),
    [25, 50, 500],
  )
  t.equal(
    backoffDelay(1_000, s, () => 1),
    1000,
    'no overflow after many retries',
  )
})

t.test('connectRetry option: defaults, budget from connectionTimeoutMillis, checks', async (t) => {
  t.equal(connectRetryOf(undefined, 5000), undefined)
  t.equal(connectRetryOf(false, 5000), undefined)
  t.same(connectRetryOf(true, undefined), { budgetMillis: 10_000, initialDelayMillis: 50, maxDelayMillis: 1_000 })
  t.same(
    connectRetryOf(true, 2500),
    { budgetMillis: 2500, initialDelayMillis: 50, maxDelayMillis: 1_000 },
    "the pool's connection timeout is the budget",
  )
  t.same(connectRetryOf({ budgetMillis: 700 }, 2500)!.budgetMillis, 700)
  t.throws(() => connectRetryOf({ budget: 3 }, 0), {
    code: 'INVALID_SETTING',
    message: /unknown connectRetry field "budget"/,
  })
  t.throws(() => connectRetryOf({ maxDelayMillis: Number.NaN }, 0), { code: 'INVALID_SETTING' })
  t.throws(() => connectRetryOf({ initialDelayMillis: 2000 }, 0), {
    code: 'INVALID_SETTING',
    message: /larger than maxDelayMillis/,
  })
  t.throws(() => connectRetryOf('yes', 0), { code: 'INVALID_SETTING' })
})

/**
 * The connect loop: settings → plan → attempts → report. prepare() does everything that can fail
 * before traffic; hostTries() (host-order.ts) lists the hosts to try, in order; a round tries
 * them until one connects or libpq would not go on (HostFailure.nextHostAllowed); on each host the
 * plan's SSL choices run while mayFollow() allows the next after a failure, exactly as libpq's
 * PQconnectPoll decides; connectRetry may then run another round. One attempt is attempt.ts.
 */
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { detailsOf, PgSslError, withAttempts } from '../../engine/errors.js'
import { publish } from '../../engine/policy/audit.js'
import type { AttemptRecord } from '../../engine/report.js'
import type { ConnectionSettings } from '../connection-settings.js'
import { type HostTry, hostTries } from '../host-order.js'
import { showTlsParameters } from '../pg-internals.js'
import { type Connected, type ConnectRun, type HostRun, HostSockets, runAttempt, tokenContext } from './attempt.js'
import type { AttemptSpec } from '../plan.js'
import { attemptRecord, classify, Failure, HostFailure, hostFailure, mayFollow, publicError } from './failure.js'
import { sslParameters } from './pg-config.js'
import { prepare } from './prepare.js'
import { afterFailedRound, type RetryCounters } from './retry.js'
import { type Negotiated, type StartupTarget, TERMINATED } from './target.js'

/**
 * What SslClient.connect() runs: prepare (no network), then rounds of host tries, for this
 * client; `counters` are the pool's, when a pool made the client.
 */
export async function negotiate(
  client: StartupTarget,
  resolved: ConnectionSettings,
  counters?: RetryCounters,
): Promise<Negotiated> {
  const started = performance.now()
  const prepared = await prepare(resolved)
  const run: ConnectRun = { client, prepared, records: [], prepareMs: performance.now() - started }
  // As pg's: the TLS settings and material in effect.
  showTlsParameters(client, sslParameters(prepared))
  const { config, settings } = prepared
  // The fields hostTries reads, not a copy of the whole config (once per connect).
  const { targetSessionAttrs, loadBalance } = config
  const tries = hostTries({ targetSessionAttrs, loadBalance, endpoints: prepared.endpoints, plans: prepared.plans })
  let last: PgSslError | undefined
  for (let retries = 0; ; retries++) {
    const round = await tryHosts(run, tries, retries)
    if (!Array.isArray(round)) {
      // As libpq's pqClearOAuthToken on success: the token is not kept once the session is up.
      if (run.oauth) run.oauth.token = undefined
      if (retries > 0 && counters) counters.recovered++
      return { report: round.report, warnings: [...prepared.warnings, ...round.warnings] }
    }
    last = round.at(-1)?.error ?? last
    if (client.aborted) break
    const elapsed = Math.round(performance.now() - started)
    const next = afterFailedRound(
      settings.connectRetry,
      round.map((f) => f.error),
      retries,
      elapsed,
    )
    if (next.kind === 'stop') break
    if (next.kind === 'budget-spent') {
      if (counters) counters.exhausted++
      throw publicError(budgetSpent(last!, retries, elapsed, settings.connectRetry!.budgetMillis, run.records))
    }
    publish(
      {
        type: 'connect-retry',
        time: new Date().toISOString(),
        host: config.host,
        retry: retries + 1,
        delayMillis: next.delayMillis,
        elapsedMillis: elapsed,
        reason: next.reason,
        code: last!.code,
        message: last!.message,
      },
      { onSecurityEvent: settings.onSecurityEvent, auditLogs: settings.auditLogs, emitter: client },
    )
    await waitUnlessAborted(client, next.delayMillis, counters)
  }
  // Ended from outside (end(), or connection.stream destroyed): pg's words for it.
  if (client.aborted) {
    throw new PgSslError('CONNECTION_FAILED', TERMINATED, { attempts: run.records, ...(last ? { cause: last } : {}) })
  }
  throw publicError(withAttempts(last!, run.records))
}

/** One round: the hosts in order, until one connects (its result) or libpq would not go on (every failure). */
async function tryHosts(
  run: ConnectRun,
  tries: readonly HostTry[],
  retries: number,
): Promise<Connected | HostFailure[]> {
  const failures: HostFailure[] = []
  for (const host of tries) {
    if (run.client.aborted) break
    const outcome = await tryHost(run, host, retries)
    if (!(outcome instanceof HostFailure)) return outcome
    failures.push(outcome)
    if (!outcome.nextHostAllowed) break
  }
  return failures
}

/** One host: the plan's SSL choices, each while libpq's retry rules allow it after the last failure. */
async function tryHost(run: ConnectRun, host: HostTry, retries: number): Promise<Connected | HostFailure> {
  const { client, prepared } = run
  const { config } = prepared
  const sockets = new HostSockets(client, config.connectTimeoutMs)
  const on = { host, sockets, firstRecord: run.records.length, retries }
  const failures: Failure[] = []
  try {
    for (const spec of host.plan.attempts) {
      const previous = failures.at(-1)
      if (client.aborted) break
      if (previous !== undefined && !mayFollow(spec, previous, config.dialect)) break
      const sameSocket = sockets.reusesSocket(spec)
      try {
        return await attemptWithToken(run, on, spec)
      } catch (error) {
        const failure = classify(error, sockets.timedOut, config.connectTimeoutMs)
        sockets.closeFailed()
        run.records.push(attemptRecord(host.endpoint, spec, sameSocket, 'failed', failure.error))
        failures.push(failure)
        // A host of the wrong kind is not tried again with another SSL choice (libpq).
        if (sockets.timedOut || failure.error.code === 'TARGET_SESSION_ATTRS_MISMATCH') break
      }
    }
  } finally {
    sockets.release()
  }
  return hostFailure(failures, host.plan, prepared.settings.policy, sockets)
}

/**
 * One attempt, made again once when an OAuth discovery exchange ended it (libpq's oauth_want_retry:
 * a new connection to the same address, which sends the token the application gave for the
 * discovery URI the server named).
 */
async function attemptWithToken(run: ConnectRun, on: HostRun, spec: AttemptSpec): Promise<Connected> {
  try {
    return await runAttempt(run, on, spec)
  } catch (error) {
    const flow = run.oauth
    if (!flow?.wantRetry || run.client.aborted) throw error
    // A flow exists: the server asked for OAUTHBEARER, so oauth.ts is loaded already.
    const { fetchToken, TokenRetry } = await import('./oauth.js')
    const ended = error instanceof Failure ? error.error : error
    if (!(ended instanceof TokenRetry)) throw error
    flow.wantRetry = false
    on.sockets.closeFailed()
    run.records.push(attemptRecord(on.host.endpoint, spec, false, 'failed', ended))
    flow.token = await fetchToken(flow, tokenContext(run, on, spec))
    return await runAttempt(run, on, spec)
  }
}

/** The last error, saying that connectRetry's budget is spent; with every attempt made. */
function budgetSpent(
  last: PgSslError,
  retries: number,
  elapsed: number,
  budgetMillis: number,
  attempts: readonly AttemptRecord[],
): PgSslError {
  const message =
    `${last.message} (gave up after ${retries} connection ${retries === 1 ? 'retry' : 'retries'} in ` +
    `${(elapsed / 1000).toFixed(1)} s: connectRetry budget ${budgetMillis} ms)`
  return new PgSslError(last.code, message, { ...detailsOf(last), attempts, cause: last })
}

/**
 * The pause between two rounds of attempts. A fresh, unconnected socket is connection.stream
 * meanwhile, so pg-pool's connection timeout (which destroys connection.stream) ends the wait.
 */
function waitUnlessAborted(client: StartupTarget, ms: number, counters: RetryCounters | undefined): Promise<void> {
  client.expose(new Socket())
  if (counters) {
    counters.retries++
    counters.waiting++
  }
  const since = Date.now()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      client.onAbort(undefined)
      if (counters) {
        counters.waiting--
        counters.waitedMillis += Date.now() - since
      }
      resolve()
    }
    const timer = setTimeout(done, ms)
    client.onAbort(done)
  })
}

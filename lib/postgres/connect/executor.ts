/**
 * The executor: settings → plan → attempts → report. The loop is small on purpose: the plan says
 * which attempts exist, `classify` says what a failure was, `mayFollow` says whether the next
 * attempt is allowed after it, exactly as libpq's PQconnectPoll decides.
 */
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { TERMINATED, type Negotiated, type StartupTarget } from './target.js'
import type { ResolvedSettings } from '../connection-settings.js'
import { closeQuietly } from '../../engine/sockets.js'
import type { ExpiryWarning } from '../../engine/policy/enforce.js'
import { detailsOf, ERROR_CODES, PgSslError } from '../../engine/errors.js'
import { publish } from '../../engine/policy/audit.js'
import { backoffDelay, transientReason, type RetryCounters } from './retry.js'
import { mismatchError, shuffledOrder, targetSessionMismatch, type TargetSessionAttrs } from './session-attrs.js'
import type { AttemptRecord, SecurityReport } from '../../engine/report.js'
import { buildReport } from '../report-build.js'
import { attemptRecord, classify, finalError, mayFollow, publicError, type Failure } from './failure.js'
import type { Plan } from '../plan.js'
import { connectTimeoutMs, keepAliveOf, prepare, type Prepared } from './prepare.js'
import { startUp } from './startup.js'
import { AuthGuard } from './auth-guard.js'
import { DIALECTS } from '../dialects.js'
import { sslParameters } from './pg-config.js'
import { showTlsParameters, useAttemptPassword } from '../pg-internals.js'
import { settingValue } from '../settings/resolve.js'
import { tlsOptionsFor } from './tls-options.js'
import { checkPeer } from '../../engine/peer-check.js'
import { negotiateSsl, openSocket, openSocketShuffled, type Endpoint, type TlsSessionFacts } from './transport.js'

/**
 * What SslClient.connect() runs: prepare (no network), then the attempts, for this client;
 * `counters` are the pool's, when a pool made the client.
 */
export async function negotiate(
  client: StartupTarget,
  resolved: ResolvedSettings,
  counters?: RetryCounters,
): Promise<Negotiated> {
  const started = performance.now()
  const prepared = await prepare(resolved)
  const preparedAt = performance.now()
  const { settings } = prepared
  // As pg's: the TLS settings and material in effect.
  showTlsParameters(client, sslParameters(prepared))
  const records: AttemptRecord[] = []
  let lastError: PgSslError | undefined
  const attrs = (settingValue(settings, 'target_session_attrs') ?? 'any') as TargetSessionAttrs
  // prefer-standby: a first pass that takes only a standby, then a second that takes any host.
  const passes: TargetSessionAttrs[] = attrs === 'prefer-standby' ? ['standby', 'any'] : [attrs]
  // load_balance_hosts=random (libpq 16): the host list in a random order, once per connection.
  const order =
    settingValue(settings, 'load_balance_hosts') === 'random'
      ? shuffledOrder(prepared.endpoints.length)
      : prepared.endpoints.map((_, i) => i)
  for (let retries = 0; ; retries++) {
    const failures: PgSslError[] = []
    everyPass: for (const want of passes) {
      for (const i of order) {
        if (client.aborted) break everyPass
        try {
          const { report, warnings } = await connectEndpoint(
            prepared,
            prepared.endpoints[i]!,
            prepared.plans[i]!,
            records,
            client,
            retries,
            preparedAt - started,
            want,
          )
          if (retries > 0 && counters) counters.recovered++
          return { report, warnings: [...prepared.warnings, ...warnings] }
        } catch (error) {
          failures.push(error as PgSslError)
          // libpq (PQconnectPoll) tries the next host only when this one could not be reached, timed
          // out, answered 57P03 "cannot connect now" or was of the wrong kind; anything else ends it.
          if (!nextHostAllowed.has(error as object)) break everyPass
        }
      }
    }
    lastError = failures.at(-1) ?? lastError
    if (client.aborted || !settings.connectRetry || failures.length === 0) break
    // Every host must have failed for a reason waiting can fix.
    const reasons = failures.map(transientReason)
    if (reasons.some((r) => r === undefined)) break
    const elapsed = Math.round(performance.now() - started)
    const delay = backoffDelay(retries, settings.connectRetry)
    if (elapsed + delay >= settings.connectRetry.budgetMillis) {
      if (counters) counters.exhausted++
      lastError = new PgSslError(
        lastError!.code,
        `${lastError!.message} (gave up after ${retries} connection ` +
          `${retries === 1 ? 'retry' : 'retries'} in ${(elapsed / 1000).toFixed(1)} s: connectRetry ` +
          `budget ${settings.connectRetry.budgetMillis} ms)`,
        {
          ...detailsOf(lastError!),
          cause: lastError,
        },
      )
      break
    }
    publish(
      {
        type: 'connect-retry',
        time: new Date().toISOString(),
        host: settings.values.host?.value,
        retry: retries + 1,
        delayMillis: delay,
        elapsedMillis: elapsed,
        reason: reasons.at(-1)!,
        code: lastError!.code,
        message: lastError!.message,
      },
      { onSecurityEvent: settings.onSecurityEvent, auditLogs: settings.auditLogs, emitter: client },
    )
    await waitUnlessAborted(client, delay, counters)
  }
  // Ended from outside (end(), or connection.stream destroyed): pg's words for it.
  if (client.aborted)
    lastError = new PgSslError('CONNECTION_FAILED', TERMINATED, { ...(lastError ? { cause: lastError } : {}) })
  lastError!.attempts = records
  throw publicError(lastError!)
}

/** Endpoint failures after which libpq goes on to the next host (connectEndpoint marks them). */
const nextHostAllowed = new WeakSet<object>()

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

async function connectEndpoint(
  prepared: Prepared,
  endpoint: Endpoint,
  plan: Plan,
  records: AttemptRecord[],
  client: StartupTarget,
  connectRetries: number,
  prepareMs: number,
  want: TargetSessionAttrs,
): Promise<{ report: SecurityReport; warnings: ExpiryWarning[] }> {
  const { settings } = prepared
  const timeoutMs = connectTimeoutMs(settings)
  const open = new Set<Socket>()
  let timedOut = false
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true
          for (const s of open) closeQuietly(s)
        }, timeoutMs)
      : undefined
  // end(), or an outside destroy of connection.stream: close everything, try nothing more.
  client.onAbort(() => {
    for (const s of open) closeQuietly(s)
    closeQuietly(reusable)
  })
  const track = <S extends Socket>(s: S): S => {
    open.add(s)
    s.once('close', () => open.delete(s))
    return s
  }

  const certModeRequire = settingValue(settings, 'sslcertmode') === 'require'
  const shuffleAddresses = settingValue(settings, 'load_balance_hosts') === 'random'
  const keyLogFile = settingValue(settings, 'sslkeylogfile')
  const channelBinding = (settingValue(settings, 'channel_binding') ?? 'prefer') as 'disable' | 'prefer' | 'require'
  const failures: Failure[] = []
  let reusable: Socket | undefined // plain socket left by an 'N' answer
  /** A TCP connection to this endpoint was made (libpq then does not try the next host on failure). */
  let reached = false
  const firstRecord = records.length
  try {
    for (const spec of plan.attempts) {
      const previous = failures.at(-1)
      if (client.aborted) break
      if (previous !== undefined && !mayFollow(spec, previous, settings.dialect)) break
      const sameSocket = !spec.ssl && reusable !== undefined
      const record = (result: AttemptRecord['result'], error?: PgSslError): void =>
        void records.push(attemptRecord(endpoint, spec, sameSocket, result, error))
      let stream: Socket | undefined
      const begun = performance.now()
      let tcpAt = begun
      let answerAt: number | undefined
      let tlsAt: number | undefined
      try {
        if (sameSocket) {
          stream = reusable!
          reusable = undefined
        } else {
          closeQuietly(reusable)
          reusable = undefined
          stream = track(
            await (shuffleAddresses
              ? openSocketShuffled(endpoint, keepAliveOf(settings), () => track(client.nextSocket()))
              : openSocket(endpoint, keepAliveOf(settings), track(client.nextSocket()))),
          )
          tcpAt = performance.now()
          reached = true
        }
        let session: TlsSessionFacts | undefined
        let warnings: ExpiryWarning[] = []
        let diagnostics: string[] = []
        if (spec.ssl) {
          const answer = await negotiateSsl(stream, tlsOptionsFor(spec, endpoint, prepared), {
            direct: spec.direct === true,
            watchCertificateRequest: certModeRequire,
            keyLogFile,
            onTlsSocket: (tls) => client.expose(track(tls)),
            onAnswer: () => {
              answerAt = performance.now()
            },
          })
          tlsAt = performance.now()
          if (answer.kind === 'refused') {
            reusable = answer.socket
            throw new PgSslError(
              'SSL_DISABLED_ON_SERVER',
              'server does not support SSL, but SSL was required (client requires SSL, server has SSL disabled)',
              {
                setting: 'sslmode',
                hint: 'the server answered the SSLRequest with "N": ssl is off on the server',
              },
            )
          }
          stream = answer.socket
          session = answer.session
          ;({ warnings, diagnostics } = checkPeer(session, spec, endpoint, prepared.material, settings.policy))
        }
        const authGuard = new AuthGuard({
          requireAuth: prepared.requireAuth,
          channelBinding,
          policy: settings.policy,
          openGauss: DIALECTS[settings.dialect].openGaussAuthentication,
          tls: session !== undefined,
          hasPassword:
            settings.values.password !== undefined ||
            settings.passwordFunction !== undefined ||
            endpoint.passfile !== undefined,
          ...(certModeRequire ? { certificateCheck: () => clientCertificateExchanged(session, prepared) } : {}),
        })
        useEndpointPassword(client, endpoint, settings)
        const checkedAt = performance.now()
        const startup = await startUp(stream, client, (code, body) => authGuard.check(code, body))
        const readyAt = performance.now()
        const mismatch = await targetSessionMismatch(want, startup.parameters, (sql) => client.askServer(sql))
        if (mismatch) {
          client.abandonAttempt()
          throw mismatchError(mismatch, want)
        }
        record('connected')
        const ms = (x: number): number => Math.round(x * 1000) / 1000
        const timings = {
          prepareMs: ms(prepareMs),
          tcpConnectMs: ms(tcpAt - begun),
          sslRequestMs: answerAt !== undefined ? ms(answerAt - tcpAt) : null,
          tlsHandshakeMs: tlsAt !== undefined ? ms(tlsAt - (answerAt ?? tcpAt)) : null,
          peerCheckMs: tlsAt !== undefined ? ms(checkedAt - tlsAt) : null,
          startupMs: ms(readyAt - checkedAt),
        }
        const report = buildReport({
          plan,
          endpoint,
          spec,
          session,
          endpointRecords: records.slice(firstRecord),
          allRecords: records,
          clientCertificateLoaded: prepared.material.cert !== undefined,
          rootCertificateFile: prepared.material.files.sslrootcert,
          keyPassphraseFile: prepared.material.files.keyPassphrase,
          policySources: settings.policySources,
          diagnostics,
          authentication: authGuard.seen,
          keyLogFile: session ? keyLogFile : undefined,
          connectRetries,
          startup,
          timings,
        })
        return { report, warnings }
      } catch (error) {
        const classified = classify(error, timedOut, timeoutMs)
        if (stream && stream !== reusable) closeQuietly(stream)
        record('failed', classified.error)
        failures.push(classified)
        // A host of the wrong kind is not tried again with another SSL choice (libpq).
        if (timedOut || classified.error.code === 'TARGET_SESSION_ATTRS_MISMATCH') break
      }
    }
  } finally {
    if (timer) clearTimeout(timer)
    client.onAbort(undefined)
    closeQuietly(reusable)
  }
  const error = finalError(failures, plan, settings.policy)
  // The server was never reached, the attempt timed out, or it said 57P03 (libpq: try_next_host).
  if (
    !reached ||
    timedOut ||
    failures.some(
      (f) =>
        (f.error.sqlstate === '57P03' && f.kind === 'rejected') || f.error.code === 'TARGET_SESSION_ATTRS_MISMATCH',
    )
  )
    nextHostAllowed.add(error)
  throw error
}

/**
 * sslcertmode=require, checked at AuthenticationOk as libpq checks it (fe-auth.c): the server must
 * have asked for a client certificate, and one must have been sent.
 */
function clientCertificateExchanged(session: TlsSessionFacts | undefined, prepared: Prepared): PgSslError | undefined {
  const hint = ERROR_CODES.CLIENT_CERT_REQUIRED.hint
  if (session?.certificateRequest === 'unknown') {
    return new PgSslError(
      'CLIENT_CERT_REQUIRED',
      'sslcertmode=require: could not tell whether the server requested an SSL certificate (the ' +
        'handshake could not be read)',
      { setting: 'sslcertmode', hint },
    )
  }
  if (session?.certificateRequest !== 'requested')
    return new PgSslError('CLIENT_CERT_REQUIRED', 'server did not request an SSL certificate', {
      setting: 'sslcertmode',
      hint,
    })
  if (prepared.material.cert === undefined)
    return new PgSslError('CLIENT_CERT_REQUIRED', 'server accepted connection without a valid SSL certificate', {
      setting: 'sslcertmode',
      hint,
    })
  return undefined
}

/**
 * When the application gave no password: the password file's entry for this host (prepare.ts),
 * or none, for this attempt — as libpq reads ~/.pgpass per host.
 */
function useEndpointPassword(client: StartupTarget, endpoint: Endpoint, settings: ResolvedSettings): void {
  if (settings.values.password !== undefined || settings.passwordFunction !== undefined) return
  useAttemptPassword(client, endpoint.passfile?.password)
}

/**
 * One attempt on one host, with one SSL choice: a socket (or the plain one an 'N' answer left),
 * SSLRequest or direct TLS and the handshake, the checks on the handshake, the start-up with the
 * auth guard, the target_session_attrs check — and the report when it connected. A failure is
 * thrown as it happened; the connect loop (executor.ts) classifies it and decides what follows.
 */
import { performance } from 'node:perf_hooks'
import type { Socket } from 'node:net'
import { ERROR_CODES, PgSslError } from '../../engine/errors.js'
import type { ExpiryWarning } from '../../engine/policy/enforce.js'
import { checkPeer } from '../../engine/peer-check.js'
import type { AttemptRecord, ConnectTimings, SecurityReport } from '../../engine/report.js'
import { closeQuietly } from '../../engine/sockets.js'
import type { HostTry } from '../host-order.js'
import type { AttemptSpec } from '../plan.js'
import { useAttemptPassword } from '../pg-internals.js'
import { reportWhenAsked } from '../report-build.js'
import { DIALECTS } from '../dialects.js'
import { AuthGuard } from './auth-guard.js'
import { type SaslAnswerer, saslAnswerer, type SaslReply, scramWithKeys } from './sasl.js'
import type { oauthBearerAnswers } from './oauth.js'
import { type TokenContext, tokenAllowed } from './token-policy.js'
import { attemptPasswordFunction, credentialOf, type TokenEndpoint, tokenKindOf } from './credential.js'
import { effectiveUser } from '../settings/merge.js'
import type { OAuthFlow } from '../protocol/oauthbearer.js'
import { attemptRecord } from './failure.js'
import type { Prepared } from './prepare.js'
import { mismatchError, targetSessionMismatch } from './session-attrs.js'
import { startUp } from './startup.js'
import type { StartupFacts, StartupTarget } from './target.js'
import { tlsOptionsFor } from './tls-options.js'
import { negotiateSsl, openSocket, openSocketShuffled, type TlsSessionFacts } from './transport.js'

/** What every attempt of one connect() shares. */
export interface ConnectRun {
  readonly client: StartupTarget
  readonly prepared: Prepared
  /** Every attempt made, in order, across hosts and rounds: the report's and the error's attempts. */
  readonly records: AttemptRecord[]
  readonly prepareMs: number
  /**
   * OAuth (the postgres dialect): what the attempts of this connection learnt, the token included;
   * made when a server first asks for OAUTHBEARER.
   */
  oauth?: OAuthFlow
}

/** A connected attempt: the report, and certificates the policy warns about. */
export interface Connected {
  /** Builds the report when first asked (reportOf). */
  readonly report: () => SecurityReport
  readonly warnings: readonly ExpiryWarning[]
}

/**
 * The sockets of one host's attempts: every one is closed when the host's connect_timeout fires
 * or the connection is ended from outside; the plain socket an 'N' answer leaves is kept for the
 * next attempt (libpq's allow/prefer go on in plaintext on the same connection).
 */
export class HostSockets {
  timedOut = false
  /** A TCP connection to this host was made (libpq then does not try the next host on failure). */
  reached = false
  /** The plain socket left by an 'N' answer. */
  reusable: Socket | undefined
  /** The socket of the attempt under way. */
  current: Socket | undefined
  readonly #open = new Set<Socket>()
  readonly #timer: NodeJS.Timeout | undefined
  readonly #client: StartupTarget

  constructor(client: StartupTarget, timeoutMs: number) {
    this.#client = client
    this.#timer =
      timeoutMs > 0
        ? setTimeout(() => {
            this.timedOut = true
            this.#closeAll()
          }, timeoutMs)
        : undefined
    // end(), or an outside destroy of connection.stream: close everything, try nothing more.
    client.onAbort(() => this.#closeAll())
  }

  /** A plaintext attempt goes on on the socket an 'N' answer left, as libpq's does. */
  reusesSocket(spec: AttemptSpec): boolean {
    return !spec.ssl && this.reusable !== undefined
  }

  track<S extends Socket>(s: S): S {
    this.#open.add(s)
    s.once('close', () => this.#open.delete(s))
    return s
  }

  /** After a failed attempt: its socket closes, unless it is the plain one kept for the next. */
  closeFailed(): void {
    if (this.current && this.current !== this.reusable) closeQuietly(this.current)
    this.current = undefined
  }

  /** The host is done with: the timer stops, the abort handler goes, a kept socket closes. */
  release(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#client.onAbort(undefined)
    closeQuietly(this.reusable)
  }

  #closeAll(): void {
    for (const s of this.#open) closeQuietly(s)
    closeQuietly(this.reusable)
  }
}

/** One host being tried: its entry in the host order, its sockets, where its attempts begin in the records. */
export interface HostRun {
  readonly host: HostTry
  readonly sockets: HostSockets
  readonly firstRecord: number
  /** The connection retries made before this round (the report's connectRetries). */
  readonly retries: number
}

/** One attempt: resolves when the session is ready, or throws what went wrong. */
export async function runAttempt(run: ConnectRun, on: HostRun, spec: AttemptSpec): Promise<Connected> {
  const { client, prepared } = run
  const { endpoint, want } = on.host
  const sameSocket = on.sockets.reusesSocket(spec)
  const begun = performance.now()
  let stream = await attemptSocket(run, on, sameSocket)
  const tcpAt = sameSocket ? begun : performance.now()
  const secured = spec.ssl ? await secure(run, on, spec, stream) : undefined
  if (secured) stream = secured.stream
  const session = secured?.session
  const { warnings, diagnostics } = session
    ? await checkPeer(session, spec, endpoint, prepared.material, prepared.settings.policy)
    : { warnings: [], diagnostics: [] }
  const authGuard = authGuardFor(prepared, on.host, spec, session)
  const passwordFunction = prepared.settings.passwordFunction
  // A password function is asked again for every attempt (a token for each host); with no password
  // given: this host's password-file entry, or none (as libpq).
  if (passwordFunction) useAttemptPassword(client, attemptPasswordFunction(passwordFunction, tokenEndpoint(run, on)))
  else if (!prepared.config.passwordGiven) useAttemptPassword(client, endpoint.passfile?.password)
  const checkedAt = performance.now()
  const minor = prepared.config.openGaussProtocolMinor
  const sasl = await saslFor(run, on, spec, session)
  const startup = await startUp(stream, client, {
    onAuthenticationRequest: (code, body) => authGuard.check(code, body),
    ...(minor === undefined ? {} : { openGauss: { protocolMinor: minor } }),
    ...(prepared.config.protocol ? { protocol: prepared.config.protocol } : {}),
    ...(sasl ? { sasl } : {}),
    ...(want === 'any' ? {} : { readParameters: true }),
  })
  const readyAt = performance.now()
  const mismatch = await targetSessionMismatch(want, startup.parameters, (sql) => client.askServer(sql))
  if (mismatch) {
    client.abandonAttempt()
    throw mismatchError(mismatch, want)
  }
  run.records.push(attemptRecord(endpoint, spec, sameSocket, 'connected'))
  const ms = (x: number): number => Math.round(x * 1000) / 1000
  const { answerAt, tlsAt } = secured ?? {}
  const timings = {
    prepareMs: ms(run.prepareMs),
    tcpConnectMs: ms(tcpAt - begun),
    sslRequestMs: answerAt !== undefined ? ms(answerAt - tcpAt) : null,
    tlsHandshakeMs: tlsAt !== undefined ? ms(tlsAt - (answerAt ?? tcpAt)) : null,
    peerCheckMs: tlsAt !== undefined ? ms(checkedAt - tlsAt) : null,
    startupMs: ms(readyAt - checkedAt),
  }
  return { report: reportOf(run, on, spec, { session, startup, timings, diagnostics, authGuard }), warnings }
}

/** The attempt's socket: the plain one an 'N' answer left, or a new TCP (or Unix) connection. */
async function attemptSocket(run: ConnectRun, on: HostRun, sameSocket: boolean): Promise<Socket> {
  const { sockets } = on
  if (sameSocket) {
    const kept = sockets.reusable!
    sockets.current = kept
    sockets.reusable = undefined
    return kept
  }
  closeQuietly(sockets.reusable)
  sockets.reusable = undefined
  const { endpoint } = on.host
  const { config } = run.prepared
  const next = (): Socket => sockets.track(run.client.nextSocket())
  const stream = sockets.track(
    await (config.loadBalance
      ? openSocketShuffled(endpoint, config.keepAlive, next)
      : openSocket(endpoint, config.keepAlive, next())),
  )
  sockets.current = stream
  sockets.reached = true
  return stream
}

interface Secured {
  readonly stream: Socket
  readonly session: TlsSessionFacts
  /** When the server answered the SSLRequest (undefined with direct TLS), and when the handshake ended. */
  readonly answerAt: number | undefined
  readonly tlsAt: number
}

/** SSLRequest (or direct TLS) and the handshake. An 'N' answer keeps the plain socket for the next attempt. */
async function secure(run: ConnectRun, on: HostRun, spec: AttemptSpec, stream: Socket): Promise<Secured> {
  const { prepared, client } = run
  let answerAt: number | undefined
  const answer = await negotiateSsl(stream, tlsOptionsFor(spec, on.host.endpoint, prepared), {
    direct: spec.direct === true,
    watchCertificateRequest: prepared.config.sslCertMode === 'require',
    keyLogFile: prepared.config.sslKeyLogFile,
    verifiesChain: spec.verifyChain,
    onTlsSocket: (tls) => client.expose(on.sockets.track(tls)),
    onAnswer: () => {
      answerAt = performance.now()
    },
  })
  const tlsAt = performance.now()
  if (answer.kind === 'refused') {
    on.sockets.reusable = answer.socket
    throw new PgSslError(
      'SSL_DISABLED_ON_SERVER',
      'server does not support SSL, but SSL was required (client requires SSL, server has SSL disabled)',
      { setting: 'sslmode', hint: 'the server answered the SSLRequest with "N": ssl is off on the server' },
    )
  }
  on.sockets.current = answer.socket
  return { stream: answer.socket, session: answer.session, answerAt, tlsAt }
}

/**
 * The SASL exchanges run in pg's place (sasl.ts), the postgres dialect only: SCRAM with the keys,
 * OAUTHBEARER; SCRAM with a password stays pg's.
 */
async function saslFor(
  run: ConnectRun,
  on: HostRun,
  spec: AttemptSpec,
  session: TlsSessionFacts | undefined,
): Promise<SaslAnswerer | undefined> {
  const { config } = run.prepared
  if (DIALECTS[config.dialect].openGaussAuthentication) return undefined
  // Neither keys nor OAuth: pg runs every SASL exchange (the auth guard has checked each request).
  if (!config.scramKeys && !config.oauth) return undefined
  return saslAnswerer({
    tls: session !== undefined,
    channelBinding: config.channelBinding,
    scramWithKeys: config.scramKeys ? await scramFor(run, on, session) : undefined,
    oauthBearer: config.oauth ? oauthOnDemand(run, on, spec) : undefined,
  })
}

/**
 * The OAUTHBEARER answers of this attempt, made only if the server asks for OAUTHBEARER: OAuth's
 * code (oauth.ts) is loaded then, and the first answer waits for it.
 */
function oauthOnDemand(run: ConnectRun, on: HostRun, spec: AttemptSpec): ReturnType<typeof oauthBearerAnswers> {
  let answers: ReturnType<typeof oauthBearerAnswers> | undefined
  return (code, body) => {
    if (answers) return answers(code, body)
    return import('./oauth.js').then((oauth) => {
      run.oauth ??= new oauth.OAuthFlow(run.prepared.config.oauth!)
      answers ??= oauth.oauthBearerAnswers(run.oauth, tokenContext(run, on, spec))
      return answers(code, body)
    })
  }
}

/** The endpoint of this attempt, as a token is asked for it. */
function tokenEndpoint(run: ConnectRun, on: HostRun): TokenEndpoint {
  const { endpoint } = on.host
  return { host: endpoint.host, port: endpoint.port, user: effectiveUser(run.prepared.settings) }
}

/** Where a bearer token of this attempt would go. */
export function tokenContext(run: ConnectRun, on: HostRun, spec: AttemptSpec): TokenContext {
  const { settings } = run.prepared
  return {
    spec,
    policy: settings.policy,
    endpoint: tokenEndpoint(run, on),
    clientSecret: settings.values.oauth_client_secret?.value,
    provider: settings.oauthBearerToken,
  }
}

/**
 * SCRAM with scram_client_key / scram_server_key. Only a server key without a client key needs
 * the password (libpq ignores it otherwise): asked for here, once per attempt.
 */
async function scramFor(
  run: ConnectRun,
  on: HostRun,
  session: TlsSessionFacts | undefined,
): Promise<(code: number, body: Buffer) => SaslReply> {
  const { config, settings } = run.prepared
  const keys = config.scramKeys!
  let password: string | undefined
  if (!keys.client) {
    const given = settings.passwordFunction
      ? await attemptPasswordFunction(settings.passwordFunction, tokenEndpoint(run, on))()
      : settings.values.password?.value
    password = typeof given === 'string' ? given : on.host.endpoint.passfile?.password
  }
  return scramWithKeys({
    clientKey: keys.client,
    serverKey: keys.server,
    password,
    channelBinding: config.channelBinding,
    serverCertificate: session?.peerCertificate?.raw,
  })
}

function authGuardFor(
  prepared: Prepared,
  host: HostTry,
  spec: AttemptSpec,
  session: TlsSessionFacts | undefined,
): AuthGuard {
  const { config, settings } = prepared
  return new AuthGuard({
    requireAuth: config.requireAuth,
    channelBinding: config.channelBinding,
    policy: settings.policy,
    openGauss: DIALECTS[config.dialect].openGaussAuthentication,
    tls: session !== undefined,
    hasPassword: config.passwordGiven || host.endpoint.passfile !== undefined,
    scramClientKey: config.scramKeys?.client !== undefined,
    ...(tokenKindOf(settings.passwordFunction)
      ? { tokenRefused: () => tokenAllowed({ spec, policy: settings.policy }) }
      : {}),
    ...(config.sslCertMode === 'require'
      ? { certificateCheck: () => clientCertificateExchanged(session, prepared) }
      : {}),
  })
}

interface AttemptFacts {
  readonly session: TlsSessionFacts | undefined
  readonly startup: StartupFacts
  readonly timings: ConnectTimings
  readonly diagnostics: readonly string[]
  readonly authGuard: AuthGuard
}

/** The report of the attempt that connected, built when first asked for (reportWhenAsked). */
function reportOf(run: ConnectRun, on: HostRun, spec: AttemptSpec, facts: AttemptFacts): () => SecurityReport {
  const { prepared, records } = run
  const { session } = facts
  return reportWhenAsked({
    plan: on.host.plan,
    endpoint: on.host.endpoint,
    spec,
    session,
    endpointRecords: records.slice(on.firstRecord),
    allRecords: records,
    clientCertificateLoaded: prepared.material.cert !== undefined,
    rootCertificateFile: prepared.material.files.sslrootcert,
    keyPassphraseFile: prepared.material.files.keyPassphrase,
    policySources: prepared.settings.policySources,
    diagnostics: facts.diagnostics,
    authentication: facts.authGuard.seen,
    credential: credentialOf(facts.authGuard.seen.method, prepared.config, {
      function: prepared.settings.passwordFunction,
      given: prepared.settings.values.password !== undefined,
      fromFile: on.host.endpoint.passfile !== undefined,
    }),
    keyLogFile: session ? prepared.config.sslKeyLogFile : undefined,
    connectRetries: on.retries,
    startup: facts.startup,
    timings: facts.timings,
  })
}

/**
 * sslcertmode=require, checked at AuthenticationOk as libpq checks it (fe-auth.c): the server must
 * have asked for a client certificate, and one must have been sent.
 */
function clientCertificateExchanged(session: TlsSessionFacts | undefined, prepared: Prepared): PgSslError | undefined {
  const hint = ERROR_CODES.CLIENT_CERT_REQUIRED.hint
  const refused = (message: string): PgSslError =>
    new PgSslError('CLIENT_CERT_REQUIRED', message, { setting: 'sslcertmode', hint })
  if (session?.certificateRequest === 'unknown') {
    return refused(
      'sslcertmode=require: could not tell whether the server requested an SSL certificate (the ' +
        'handshake could not be read)',
    )
  }
  if (session?.certificateRequest !== 'requested') return refused('server did not request an SSL certificate')
  if (prepared.material.cert === undefined) return refused('server accepted connection without a valid SSL certificate')
  return undefined
}

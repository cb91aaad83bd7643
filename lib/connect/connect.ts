/**
 * connect(): settings → plan → attempts → report. The loop is small on purpose: the plan says
 * which attempts exist, `classify` says what a failure was, `mayFollow` says whether the next
 * attempt is allowed after it, exactly as libpq's PQconnectPoll decides.
 */
import type { Socket } from 'node:net'
import type { X509Certificate } from 'node:crypto'
import { TLSSocket, type ConnectionOptions, type SecureVersion } from 'node:tls'
import { userInfo } from 'node:os'
import pg from 'pg'
import { attachReport, SslClient } from '../client.js'
import { DIALECTS } from '../dialects.js'
import { PgSslError } from '../errors.js'
import { outcomeOf, summarizeCertificate, type AttemptRecord, type Fallback, type SecurityReport } from '../report.js'
import type { ConnectOptions } from '../options.js'
import { resolveSettings, settingValue, type ResolvedSettings } from '../settings/resolve.js'
import { certificateNames, matchHostname } from '../tls/hostname.js'
import { secureContextFor } from '../tls/context.js'
import { loadTlsMaterial, type TlsMaterial } from '../tls/material.js'
import { endpointsOf } from './endpoints.js'
import { planAttempts, type AttemptSpec, type Plan } from './plan.js'
import { negotiateSsl, openSocket, serverNameForSni, type Endpoint, type TlsSessionFacts } from './transport.js'

/** Connects with libpq's sslmode semantics and returns a connected pg client with `security`. */
export async function connect(options: ConnectOptions = {}): Promise<SslClient> {
  const settings = resolveSettings(options)
  const prepared = await prepare(settings)
  return execute(prepared)
}

export interface Prepared {
  readonly settings: ResolvedSettings
  readonly endpoints: readonly Endpoint[]
  readonly material: TlsMaterial
  readonly plans: readonly Plan[]
}

/** Everything that can fail before network traffic: settings, files, the plan. */
export async function prepare(settings: ResolvedSettings): Promise<Prepared> {
  const endpoints = endpointsOf(settings)
  const rules = DIALECTS[settings.dialect]
  const sendClientCertificate = settingValue(settings, 'sslcertmode') !== 'disable'
  // Dialect and mode rules first: verify-full under openGauss fails before any file is read.
  planAttempts({ sslmode: settings.sslmode, dialect: settings.dialect, rootCert: 'file', transport: 'tcp' })
  const usesTls = settings.sslmode !== 'disable' && endpoints.some((e) => !e.socketPath)
  const material: TlsMaterial = usesTls
    ? await loadTlsMaterial({
        ...optional('sslrootcert', settingValue(settings, 'sslrootcert')),
        ...optional('sslcrl', settingValue(settings, 'sslcrl')),
        ...optional('sslcrldir', settingValue(settings, 'sslcrldir')),
        ...optional('sslcert', settingValue(settings, 'sslcert')),
        ...optional('sslkey', settingValue(settings, 'sslkey')),
        ...optional('sslpassword', settings.values.sslpassword?.value),
        sendClientCertificate,
        systemRootCert: rules.knowsSystemRootCert,
      })
    : { rootCert: 'none', files: {} }
  const plans = endpoints.map((endpoint) =>
    planAttempts({
      sslmode: settings.sslmode,
      dialect: settings.dialect,
      rootCert: material.rootCert,
      transport: endpoint.socketPath ? 'unix' : 'tcp',
    }),
  )
  return { settings, endpoints, material, plans }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string }
}

/** A failed attempt, classified for the retry decision. */
class Failure {
  constructor(
    /** rejected = ErrorResponse before AuthenticationOk, the only server refusal libpq retries. */
    readonly kind: 'ssl-refused' | 'handshake' | 'rejected' | 'other',
    readonly error: PgSslError,
  ) {}
}

export async function execute(prepared: Prepared): Promise<SslClient> {
  const records: AttemptRecord[] = []
  let lastError: PgSslError | undefined
  for (let i = 0; i < prepared.endpoints.length; i++) {
    try {
      return await connectEndpoint(prepared, prepared.endpoints[i]!, prepared.plans[i]!, records)
    } catch (error) {
      lastError = error as PgSslError
    }
  }
  lastError!.attempts = records
  throw lastError
}

async function connectEndpoint(prepared: Prepared, endpoint: Endpoint, plan: Plan, records: AttemptRecord[]): Promise<SslClient> {
  const { settings } = prepared
  const timeoutMs = connectTimeoutMs(settings)
  const open = new Set<Socket>()
  let timedOut = false
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true
          for (const s of open) s.destroy()
        }, timeoutMs)
      : undefined
  const track = <S extends Socket>(s: S): S => {
    open.add(s)
    s.once('close', () => open.delete(s))
    return s
  }

  let failure: Failure | undefined
  const failures: Failure[] = []
  let reusable: Socket | undefined // plain socket left by an 'N' answer
  const firstRecord = records.length
  try {
    for (const spec of plan.attempts) {
      if (failure !== undefined && !mayFollow(spec, failure, prepared)) break
      const sameSocket = !spec.ssl && reusable !== undefined
      const record = (result: AttemptRecord['result'], error?: PgSslError): void => {
        records.push({
          host: endpoint.host,
          port: endpoint.port,
          ssl: spec.ssl,
          verifyChain: spec.verifyChain,
          verifyHostname: spec.verifyHostname,
          sameSocket,
          result,
          ...(error ? { failure: failureSummary(error) } : {}),
        })
      }
      let stream: Socket | undefined
      try {
        if (sameSocket) {
          stream = reusable!
          reusable = undefined
        } else {
          reusable?.destroy()
          reusable = undefined
          stream = track(await openSocket(endpoint, keepAliveOf(settings)))
        }
        let session: TlsSessionFacts | undefined
        if (spec.ssl) {
          const answer = await negotiateSsl(stream, tlsOptionsFor(spec, endpoint, prepared))
          if (answer.kind === 'refused') {
            reusable = answer.socket
            throw new PgSslError('SSL_DISABLED_ON_SERVER', 'server does not support SSL, but SSL was required (client requires SSL, server has SSL disabled)', {
              setting: 'sslmode',
              hint: 'the server answered the SSLRequest with "N": ssl is off on the server',
            })
          }
          stream = track(answer.socket)
          session = answer.session
          if (spec.verifyHostname) checkHostname(session.peerCertificate, endpoint.host)
        }
        const client = await startUp(stream, prepared)
        record('connected')
        const report = buildReport(prepared, plan, endpoint, spec, session, records.slice(firstRecord), records)
        attachReport(client, report)
        return client
      } catch (error) {
        const classified = classify(error, timedOut, timeoutMs)
        if (stream && stream !== reusable) stream.destroy()
        record('failed', classified.error)
        failures.push(classified)
        failure = classified
        if (timedOut) break
      }
    }
  } finally {
    if (timer) clearTimeout(timer)
    reusable?.destroy()
  }
  throw finalError(failures, plan)
}

/** Whether `next` may run after `failure` (libpq's retry rules, per dialect). */
function mayFollow(next: AttemptSpec, failure: Failure, prepared: Prepared): boolean {
  const rejectedWithRetry =
    failure.kind === 'rejected' &&
    (failure.error.sqlstate !== '57P03' || DIALECTS[prepared.settings.dialect].retriesOtherSslChoiceAfter57P03)
  switch (next.trigger) {
    case 'first':
      return true
    case 'ssl-failed':
      return failure.kind === 'ssl-refused' || failure.kind === 'handshake' || rejectedWithRetry
    case 'plaintext-rejected':
      return rejectedWithRetry
  }
}

function classify(error: unknown, timedOut: boolean, timeoutMs: number): Failure {
  if (timedOut) {
    const timeout = new PgSslError('CONNECT_TIMEOUT', `connection attempt timed out after ${timeoutMs / 1000} s`, { setting: 'connect_timeout', cause: error })
    return new Failure('other', timeout)
  }
  if (error instanceof Failure) return error
  if (error instanceof PgSslError) {
    switch (error.code) {
      case 'SSL_DISABLED_ON_SERVER':
        return new Failure('ssl-refused', error)
      case 'SSL_HANDSHAKE_FAILED':
      case 'CERT_VERIFY_FAILED':
        return new Failure('handshake', error)
      default:
        return new Failure('other', error)
    }
  }
  return new Failure('other', new PgSslError('CONNECTION_FAILED', `connection failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }))
}

/**
 * The error the user sees when no attempt connected. Usually the last one; but when prefer's SSL
 * attempt failed verification or its handshake and the plaintext retry was then refused, the SSL
 * failure is what the user must fix, so it is the one thrown.
 */
function finalError(failures: readonly Failure[], plan: Plan): PgSslError {
  const last = failures[failures.length - 1]!.error
  const sslFailure = failures.find((f) => f.kind === 'handshake')?.error
  if (last.code === 'SSL_REQUIRED_BY_SERVER' && sslFailure) {
    return new PgSslError(sslFailure.code, `${sslFailure.message}; the plaintext retry was refused too (${last.message})`, {
      ...(sslFailure.reason ? { reason: sslFailure.reason } : {}),
      ...(sslFailure.setting ? { setting: sslFailure.setting } : {}),
      hint: sslFailure.hint,
      cause: sslFailure,
    })
  }
  if (last.code === 'SSL_REQUIRED_BY_SERVER' && plan.requestedMode === 'allow' && last.sqlstate === '57P03') {
    return new PgSslError(last.code, last.message, {
      sqlstate: '57P03',
      setting: 'sslmode',
      hint: `PostgreSQL's libpq does not retry with SSL after SQLSTATE 57P03; openGauss's does: use dialect 'opengauss' or 'gaussdb' for an openGauss server, or sslmode=require`,
    })
  }
  return last
}

function failureSummary(error: PgSslError): NonNullable<AttemptRecord['failure']> {
  return {
    code: error.code,
    message: error.message,
    ...(error.sqlstate ? { sqlstate: error.sqlstate } : {}),
    ...(error.reason ? { reason: error.reason } : {}),
  }
}

function connectTimeoutMs(settings: ResolvedSettings): number {
  const raw = settingValue(settings, 'connect_timeout')
  if (raw === undefined) return 0
  const seconds = Number(raw)
  if (seconds <= 0) return 0
  // libpq rounds up small integer timeouts to 2 s; a pg-style millisecond option is kept exact.
  return settings.values.connect_timeout!.source === 'option' ? seconds * 1000 : Math.max(2, Math.floor(seconds)) * 1000
}

function keepAliveOf(settings: ResolvedSettings): { enable: boolean; initialDelayMs: number } {
  const idle = settingValue(settings, 'keepalives_idle')
  return { enable: settingValue(settings, 'keepalives') !== '0', initialDelayMs: idle ? Number(idle) * 1000 : 0 }
}

function tlsOptionsFor(spec: AttemptSpec, endpoint: Endpoint, prepared: Prepared): ConnectionOptions {
  const { settings, material } = prepared
  const rules = DIALECTS[settings.dialect]
  const min = settings.values.ssl_min_protocol_version
  const max = settingValue(settings, 'ssl_max_protocol_version') as SecureVersion | undefined
  const servername = serverNameForSni(endpoint.host, settingValue(settings, 'sslsni') !== '0')
  const secureContext = secureContextFor(material, {
    verifyChain: spec.verifyChain,
    // The dialect's bounds apply unless the user set one (gsql pins TLS 1.2).
    minVersion: min && min.source !== 'default' ? (min.value as SecureVersion) : rules.defaultMinTls,
    maxVersion: max ?? rules.defaultMaxTls,
  })
  return {
    secureContext,
    ...(servername ? { servername } : {}),
    // Chain verification by OpenSSL against our roots only; the host name is checked by libpq's rules.
    rejectUnauthorized: spec.verifyChain,
    checkServerIdentity: () => undefined,
  }
}

function checkHostname(cert: X509Certificate | undefined, host: string): void {
  const names = certificateNames(cert?.subjectAltName, cert?.subject)
  const check = matchHostname(host, names)
  if (!check.matched) {
    const shown = check.examined.length > 0 ? check.examined.map((n) => `"${n}"`).join(', ') : 'no names'
    throw new PgSslError('HOSTNAME_MISMATCH', `server certificate for ${shown} does not match host name "${host}"`, { setting: 'host' })
  }
}

/** Hand an established socket to pg and run the PostgreSQL start-up (authentication) on it. */
async function startUp(stream: Socket, prepared: Prepared): Promise<SslClient> {
  const client = new SslClient({ ...pgConfig(prepared.settings), stream: adoptConnected(stream) as unknown as pg.ClientConfig['stream'], ssl: false })
  let authenticated = false
  ;(client as unknown as { connection: NodeJS.EventEmitter }).connection.once('authenticationOk', () => {
    authenticated = true
  })
  try {
    await client.connect()
    return client
  } catch (error) {
    // Late socket errors of a failed client must not become unhandled 'error' events.
    client.on('error', () => {})
    stream.destroy()
    throw startupFailure(error, authenticated, stream)
  }
}

/**
 * pg calls stream.connect() and waits for 'connect'; the socket is connected already, so answer
 * at once (next tick, after pg has attached its listeners) and let data flow.
 */
function adoptConnected(stream: Socket): Socket {
  stream.connect = function (this: Socket) {
    process.nextTick(() => {
      this.emit('connect')
      this.resume()
    })
    return this
  } as Socket['connect']
  return stream
}

function startupFailure(error: unknown, authenticated: boolean, stream: Socket): Failure {
  if (error instanceof pg.DatabaseError) {
    const sqlstate = error.code ?? ''
    const message = error.message
    // After AuthenticationOk libpq retries nothing (e.g. "database does not exist").
    const kind = authenticated ? 'other' : 'rejected'
    // PostgreSQL: no pg_hba line for plaintext ("..., no encryption"); openGauss require_ssl: 57P03.
    const plaintextRefused =
      !(stream instanceof TLSSocket) && ((sqlstate === '28000' && /no encryption/.test(message)) || (sqlstate === '57P03' && /ssl/i.test(message)))
    if (plaintextRefused && !authenticated) {
      const refused = new PgSslError('SSL_REQUIRED_BY_SERVER', `server requires SSL, client disabled it: ${message} (SQLSTATE ${sqlstate})`, {
        sqlstate,
        setting: 'sslmode',
        cause: error,
      })
      return new Failure(kind, refused)
    }
    return new Failure(kind, new PgSslError('SERVER_REJECTED', `server rejected the connection: ${message} (SQLSTATE ${sqlstate})`, { sqlstate, cause: error }))
  }
  if (error instanceof PgSslError) return new Failure('other', error)
  const code = (error as { code?: unknown })?.code
  if (stream instanceof TLSSocket && typeof code === 'string' && code.startsWith('ERR_SSL_')) {
    // With TLS 1.3 the server checks our certificate after our side of the handshake is done, so
    // its refusal (an alert) arrives during start-up. libpq does not fall back after this either.
    const alert = new PgSslError('SSL_HANDSHAKE_FAILED', `SSL error during start-up: ${(error as Error).message}`, {
      cause: error,
      hint: /certificate|unknown ca/i.test((error as Error).message)
        ? 'the server refused the client certificate: check sslcert/sslkey and that the server trusts their CA'
        : undefined,
    })
    return new Failure('other', alert)
  }
  const failed = new PgSslError('CONNECTION_FAILED', `connection start-up failed: ${(error as Error)?.message ?? String(error)}`, { cause: error })
  return new Failure('other', failed)
}

function pgConfig(settings: ResolvedSettings): pg.ClientConfig {
  const v = (name: string): string | undefined => settingValue(settings, name)
  // Explicit values everywhere, so pg never falls back to process.env (the caller may pass its own env).
  const user = v('user') ?? userInfo().username
  const config: pg.ClientConfig & Record<string, unknown> = {
    ...settings.passThrough,
    user,
    database: v('dbname') ?? user,
    host: v('host') ?? 'localhost',
    port: Number(settings.values.port?.value.split(',')[0] || 5432),
  }
  if (settings.passwordFunction) config.password = settings.passwordFunction
  else if (settings.values.password !== undefined) config.password = settings.values.password.value
  const appName = v('application_name') ?? v('fallback_application_name')
  if (appName !== undefined) config.application_name = appName
  if (v('options') !== undefined) config.options = v('options')
  if (v('client_encoding') !== undefined) config.client_encoding = v('client_encoding')
  const replication = v('replication')
  if (replication !== undefined) config.replication = replication === 'database' ? 'database' : ['1', 'true', 'on', 'yes'].includes(replication)
  if (v('channel_binding') === 'prefer' && settings.passThrough.enableChannelBinding === undefined) config.enableChannelBinding = true
  return config
}

function buildReport(
  prepared: Prepared,
  plan: Plan,
  endpoint: Endpoint,
  spec: AttemptSpec,
  session: TlsSessionFacts | undefined,
  endpointRecords: readonly AttemptRecord[],
  allRecords: readonly AttemptRecord[],
): SecurityReport {
  const encrypted = session !== undefined
  const verified = encrypted && spec.verifyChain
  const firstSsl = endpointRecords[0]?.ssl
  let fallback: Fallback = 'none'
  if (endpointRecords.length > 1) fallback = firstSsl && !encrypted ? 'plaintext-after-ssl' : !firstSsl && encrypted ? 'ssl-after-plaintext' : 'none'
  return {
    requestedMode: plan.requestedMode,
    effectiveMode: plan.effectiveMode,
    dialect: plan.dialect,
    transport: plan.transport,
    host: endpoint.host,
    port: endpoint.port,
    encrypted,
    serverCertificateVerified: verified,
    hostnameVerified: encrypted && spec.verifyHostname,
    protocol: session?.protocol ?? null,
    cipher: session?.cipher ?? null,
    cipherStandardName: session?.cipherStandardName ?? null,
    clientCertificateSent: encrypted && prepared.material.cert !== undefined,
    fallback,
    outcome: outcomeOf(encrypted, verified),
    attempts: [...allRecords],
    serverCertificate: summarizeCertificate(session?.peerCertificate),
    rootCertificate: spec.verifyChain ? (prepared.material.files.sslrootcert ?? null) : null,
    notes: fallbackNotes(plan, fallback, endpointRecords),
  }
}

function fallbackNotes(plan: Plan, fallback: Fallback, records: readonly AttemptRecord[]): string[] {
  const notes = [...plan.notes]
  const first = records[0]?.failure
  if (fallback === 'plaintext-after-ssl' && first) notes.push(`fell back to plaintext after the SSL attempt failed: ${first.message}`)
  if (fallback === 'ssl-after-plaintext' && first) notes.push(`retried with SSL after the server rejected plaintext: ${first.message}`)
  return notes
}

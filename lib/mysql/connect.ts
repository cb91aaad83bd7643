/**
 * mysql2 connections with MySQL's ssl-mode semantics and pg-sslmode's engine. mysql2 keeps the
 * protocol (authentication, queries, pools); pg-sslmode owns the socket and the TLS session:
 *
 * 1. The TCP socket reaches mysql2 through a gate (handshake.ts) that holds the server's first
 *    packet back until pg-sslmode has read it: not MySQL → PROTOCOL_VIOLATION; no CLIENT_SSL →
 *    plaintext (DISABLED, PREFERRED — reported as a fallback) or a refusal (REQUIRED and up,
 *    before mysql2 could send credentials); otherwise TLS.
 * 2. mysql2's `config.ssl` is answered per connection, so mysql2 itself sends the SSL request with
 *    its own capability flags and sequence numbers, and then calls `startTLS` — which pg-sslmode
 *    replaces for its own connections: the handshake runs with the engine's TLS context, OpenSSL's
 *    verdict decides, the engine explains, MySQL's host-name rule and the SSL policy are checked —
 *    all before mysql2 sends the credentials on the verified session.
 * 3. The authentication packets are watched (policy allowedAuthMethods; the report's method), and
 *    when the server says OK the connection's `security` report is ready.
 *
 * mysql2's own TLS code is not used for these connections: it skips the host-name check for IP
 * addresses, ignores CRL options and resumes cached sessions without verifying again.
 */
import { connect as netConnect, isIP } from 'node:net'
import { ERROR_CODES, PgSslError, type PgSslErrorCode } from '../engine/errors.js'
import { publish, type EventSinks } from '../engine/policy/audit.js'
import { violation } from '../engine/policy/enforce.js'
import type { AttemptRecord, ConnectTimings, SecurityReport } from '../engine/report.js'
import { outcomeOf, summarizeCertificate } from '../engine/report.js'
import type { TlsSessionFacts } from '../engine/tls/session.js'
import { runTlsHandshake } from '../engine/tls/handshake.js'
import { closeQuietly } from '../engine/sockets.js'
import { checkPeer, type PeerCheck } from '../engine/peer-check.js'
import { installOnMysql2, streamOf, useTlsSession, type Mysql2Connection } from './mysql2-internals.js'
import { AuthWatch, completePacketLength, HelloGate, parseFirstPacket, type ServerHello } from './handshake.js'
import { requiresTls, usesTls, verifiesChain, type MysqlSslMode } from './modes.js'
import { inMysqlTerms, type PreparedMysql } from './prepare.js'
import { mysqlSettingValue } from './settings.js'

/** What pg-sslmode proves about a MySQL connection: the PostgreSQL report's fields, in MySQL's names. */
export interface MysqlSecurityReport extends SecurityReport<MysqlSslMode, 'mysql'> {
  /** The version string of the server's handshake (e.g. "10.11.14-MariaDB-0+deb12u2"). */
  readonly serverVersion: string
}

/** One connection's progress, from the gate to the server's OK. */
interface ConnectionState {
  prepared?: PreparedMysql
  readonly sinks: EventSinks
  /** Whether mysql2 should run TLS: answered through the connection's config.ssl. */
  useTls: boolean
  hello?: ServerHello
  readonly records: AttemptRecord[]
  fallback: boolean
  failure?: PgSslError
  session?: TlsSessionFacts
  peer?: PeerCheck
  authMethod?: string
  report?: MysqlSecurityReport
  /** Reads the authentication packets, on the gate in plaintext and on the TLS socket after it. */
  watch?: AuthWatch
  readonly times: {
    start: number
    tcp?: number
    hello?: number
    tlsStart?: number
    tlsEnd?: number
    checked?: number
    authEnd?: number
  }
}

const STATES = new WeakMap<object, ConnectionState>()
/** Per-connection config objects already given a gate: mysql2 older than 3.x shares one per pool. */
const CONFIGS = new WeakSet<object>()
/** What config.ssl says while TLS is on: truthy, so mysql2 takes the session as secure (it is). */
const TLS_ON = Object.freeze({ managedBy: 'pg-sslmode' })

/**
 * The `stream` option for mysql2: called once per connection with that connection's own config.
 * `prepare` runs before the TCP connection is opened, so a bad file fails with no traffic.
 */
export function mysqlStreamFactory(
  prepare: () => Promise<PreparedMysql>,
  sinks: EventSinks,
  onState?: (state: ConnectionState) => void,
) {
  if (!installOnMysql2(startTls, (connection) => STATES.get(streamOf(connection))?.report)) {
    throw new PgSslError('MYSQL2_UNSUPPORTED', 'the installed mysql2 has no Connection.startTLS', { setting: 'mysql2' })
  }
  return (opts: { config: Record<string, unknown> }): HelloGate => {
    const config = opts.config
    if (CONFIGS.has(config)) {
      throw new PgSslError(
        'MYSQL2_UNSUPPORTED',
        'this mysql2 shares one connection config between pooled connections, so pg-sslmode cannot ' +
          'decide TLS per connection',
        { setting: 'mysql2' },
      )
    }
    CONFIGS.add(config)
    const state: ConnectionState = {
      sinks,
      useTls: false,
      records: [],
      fallback: false,
      times: { start: performance.now() },
    }
    onState?.(state)
    Object.defineProperty(config, 'ssl', {
      get: () => (state.useTls ? TLS_ON : false),
      set: () => undefined,
      configurable: true,
      enumerable: true,
    })
    const watch = new AuthWatch({
      onSwitch: (plugin) => authMethodSeen(state, plugin),
      onMoreData: (data) => authStepSeen(state, data),
      onEnd: (ok) => authEnded(state, ok),
    })
    const gate = new HelloGate(
      undefined,
      (first) => judgeHello(state, first),
      (chunk) => {
        // Between the handshake and TLS the server has nothing to say: unencrypted bytes here would
        // be read by mysql2 as the answer to a login sent on a session not yet verified.
        if (state.useTls)
          throw fail(
            state,
            new PgSslError(
              'PROTOCOL_VIOLATION',
              'the server sent unencrypted data after its handshake, before the TLS session',
              { setting: 'host', hint: 'something between client and server may be injecting data' },
            ),
          )
        watch.see(chunk)
      },
    )
    STATES.set(gate, state)
    state.watch = watch
    prepare().then(
      (prepared) => {
        state.prepared = prepared
        if (gate.destroyed) return
        const raw = netConnect({ host: prepared.host, port: prepared.port })
        raw.setNoDelay(true)
        if (config.enableKeepAlive) raw.setKeepAlive(true, Number(config.keepAliveInitialDelay ?? 0))
        raw.once('error', (error) => {
          if (state.times.tcp === undefined) markConnectionFailed(error, prepared)
        })
        raw.once('connect', () => (state.times.tcp = performance.now()))
        gate.attach(raw)
      },
      (error) => {
        state.failure = error as PgSslError
        auditRefusal(error, sinks, undefined)
        gate.destroy(error as Error)
      },
    )
    return gate
  }
}

function judgeHello(state: ConnectionState, first: Buffer): void {
  const prepared = state.prepared!
  state.times.hello = performance.now()
  let packet: ReturnType<typeof parseFirstPacket>
  try {
    packet = parseFirstPacket(first, `${prepared.host}:${prepared.port}`)
  } catch (error) {
    state.records.push({
      host: prepared.host,
      port: prepared.port,
      ssl: false,
      verifyChain: false,
      verifyHostname: false,
      sameSocket: false,
      result: 'failed',
      failure: { code: 'PROTOCOL_VIOLATION', message: (error as Error).message },
    })
    throw fail(state, error as PgSslError)
  }
  const extra = first.length - (completePacketLength(first) ?? first.length)
  if (extra > 0) {
    // The server speaks again before the client has answered its handshake: bytes mysql2 would
    // read as the answer to a login it has not sent yet (an OK would end it, unverified). The
    // MariaDB client fails here too (2026); PostgreSQL's equivalent is CVE-2021-23222.
    const message = `the server sent ${extra} bytes after its handshake before the client answered`
    state.records.push({
      host: prepared.host,
      port: prepared.port,
      ssl: false,
      verifyChain: false,
      verifyHostname: false,
      sameSocket: false,
      result: 'failed',
      failure: { code: 'PROTOCOL_VIOLATION', message },
    })
    throw fail(
      state,
      new PgSslError('PROTOCOL_VIOLATION', message, {
        setting: 'host',
        hint:
          'a MySQL server waits for the client after its handshake: something between client and ' +
          'server may be injecting data',
      }),
    )
  }
  if (packet.kind === 'error') return // mysql2 reports the server's error (too many connections, host blocked...)
  const hello = packet.hello
  state.hello = hello
  const mode = prepared.mode
  const where = { host: prepared.host, port: prepared.port, sameSocket: false }
  if (!hello.offersSsl && usesTls(mode)) {
    const refusal = {
      code: 'SSL_DISABLED_ON_SERVER' as const,
      message: "the server's handshake does not offer SSL (no CLIENT_SSL capability)",
    }
    state.records.push({
      ...where,
      ssl: true,
      verifyChain: verifiesChain(mode),
      verifyHostname: mode === 'VERIFY_IDENTITY',
      result: 'failed',
      failure: refusal,
    })
    if (requiresTls(mode)) {
      throw fail(
        state,
        new PgSslError(
          'SSL_DISABLED_ON_SERVER',
          "SSL connection error: SSL is required but the server doesn't support it",
          {
            setting: 'ssl-mode',
            hint:
              `turn TLS on at the server (MySQL Plus: pg-sslmode mysqlplus ssl on), or use ` +
              `ssl-mode=PREFERRED if plaintext is acceptable`,
          },
        ),
      )
    }
    const policy = prepared.settings.policy
    if (policy.allowPlaintextFallback === false) {
      throw fail(
        state,
        violation(
          policy,
          'allowPlaintextFallback',
          'no plaintext fallback',
          'the server does not offer SSL and ssl-mode PREFERRED would continue in plaintext',
        ),
      )
    }
    state.fallback = true
  }
  state.useTls = hello.offersSsl && usesTls(mode)
  state.authMethod = hello.authPlugin
  if (!state.useTls) {
    checkAuthMethod(state, hello.authPlugin) // the credentials follow at once
    state.records.push({
      ...where,
      sameSocket: state.fallback,
      ssl: false,
      verifyChain: false,
      verifyHostname: false,
      result: 'connected',
    })
  }
}

/** pg-sslmode's startTLS for the connections it made; mysql2's own for any other. */
function startTls(
  this: Mysql2Connection,
  onSecure: (error?: Error) => void,
  original: (onSecure: (error?: Error) => void) => void,
): void {
  const gate = streamOf(this)
  const state = STATES.get(gate)
  if (!state || !(gate instanceof HelloGate)) {
    original.call(this, onSecure)
    return
  }
  const prepared = state.prepared!
  const mode = prepared.mode
  const record = {
    host: prepared.host,
    port: prepared.port,
    ssl: true,
    verifyChain: verifiesChain(mode),
    verifyHostname: mode === 'VERIFY_IDENTITY',
    sameSocket: false,
  }
  gate.removeAllListeners('data') // mysql2's reader moves to the TLS session, as in its own startTLS
  const raw = gate.detach()
  const refuse = (error: unknown): void => {
    const coded = inMysqlTerms(error) as PgSslError
    state.records.push({
      ...record,
      result: 'failed',
      failure: {
        code: coded.code ?? 'SSL_HANDSHAKE_FAILED',
        message: coded.message,
        ...(coded.reason ? { reason: coded.reason } : {}),
      },
    })
    fail(state, coded)
    // Through the stream, not onSecure: mysql2 stamps HANDSHAKE_SSL_ERROR on an error given to the
    // startTLS callback, and the stable code must reach the caller as it was made.
    gate.destroy(coded)
  }
  state.times.tlsStart = performance.now()
  runTlsHandshake(raw, prepared.tlsOptions!).then(({ socket: tls, session }) => {
    state.times.tlsEnd = performance.now()
    try {
      state.peer = checkPeer(
        session,
        { verifyChain: record.verifyChain, verifyHostname: false },
        {},
        prepared.material,
        prepared.settings.policy,
      )
      if (record.verifyHostname) checkMysqlHostname(session, prepared.host)
      checkAuthMethod(state, state.hello?.authPlugin)
    } catch (error) {
      closeQuietly(tls)
      refuse(error)
      return
    }
    state.times.checked = performance.now()
    state.session = session
    state.records.push({ ...record, result: 'connected' })
    STATES.set(tls, state)
    const watch = state.watch!
    const mysql2 = useTlsSession(this, tls)
    tls.on('data', (chunk: Buffer) => {
      try {
        watch.see(chunk)
      } catch (error) {
        closeQuietly(tls)
        gate.destroy(error as Error) // refused before mysql2 answers the request
        return
      }
      mysql2.read(chunk)
    })
    tls.on('error', (error) => mysql2.fail(error))
    tls.on('end', () => gate.push(null))
    tls.on('close', () => gate.destroy())
    onSecure()
  }, refuse)
}

/**
 * VERIFY_IDENTITY as the MySQL client checks it: X509_check_host, else X509_check_ip_asc (client.cc
 * ssl_verify_server_cert).
 */
export function checkMysqlHostname(session: Pick<TlsSessionFacts, 'peerCertificate'>, host: string): void {
  const cert = session.peerCertificate
  // Node's checkHost/checkIP with their default options are OpenSSL's functions with flags 0, as
  // the client calls them; checkIP takes only canonical addresses, so the host is first read the
  // way X509_check_ip_asc reads it (a2i_ipadd).
  const ip = opensslIpAddress(host)
  if (cert && (cert.checkHost(host) !== undefined || (ip !== undefined && cert.checkIP(ip) !== undefined))) return
  const names =
    cert?.subjectAltName ??
    (cert ? `no subjectAltName; subject ${cert.subject.replace(/\n/g, ', ')}` : 'no certificate')
  throw new PgSslError(
    'HOSTNAME_MISMATCH',
    `SSL connection error: Failed to verify the server certificate via X509 certificate matching ` +
      `functions: the certificate (${names}) does not match host "${host}"`,
    {
      setting: 'host',
      hint:
        'connect with a host name or IP address the certificate names (MySQL matches the subject ' +
        'CN only when there is no DNS name), or use ssl-mode=VERIFY_CA',
    },
  )
}

/**
 * An IP address as OpenSSL's a2i_ipadd reads it (crypto/x509/v3_utl.c): IPv6 when it holds a ':';
 * IPv4 as sscanf("%d.%d.%d.%d") does — so 127.000.000.001 is 127.0.0.1 — each part 0-255, nothing
 * but white space after. Returns the canonical form Node's checkIP takes, or undefined.
 */
export function opensslIpAddress(host: string): string | undefined {
  if (host.includes(':')) return isIP(host) === 6 ? host : undefined
  const match = /^\s*([+-]?\d+)\.\s*([+-]?\d+)\.\s*([+-]?\d+)\.\s*([+-]?\d+)(?:\s[\s\S]*)?$/.exec(host)
  if (!match) return undefined
  const parts = match.slice(1, 5).map((p) => Number(p))
  return parts.every((n) => n >= 0 && n <= 255) ? parts.join('.') : undefined
}

function authMethodSeen(state: ConnectionState, plugin: string): void {
  checkAuthMethod(state, plugin)
  state.authMethod = plugin
  // mysql2's sha256_password asks for the server's key at once when the connection is not encrypted.
  if (plugin === 'sha256_password') checkPasswordEncryption(state, plugin)
}

function authStepSeen(state: ConnectionState, data: Buffer): void {
  // caching_sha2_password's "perform full authentication": over plaintext mysql2 would fetch the key next.
  if (state.authMethod === 'caching_sha2_password' && data.length === 1 && data[0] === 0x04)
    checkPasswordEncryption(state, state.authMethod)
}

/**
 * Over an unencrypted connection caching_sha2_password (full authentication) and sha256_password
 * encrypt the password to an RSA key the server sends — the same connection a man in the middle
 * could answer with a key of its own. The MySQL 8 client refuses unless --get-server-public-key or
 * --server-public-key-path is given (sql-common/client_authentication.cc); so does pg-sslmode,
 * before mysql2 asks for the key. Over TLS the password goes on the session, as the client sends it.
 */
function checkPasswordEncryption(state: ConnectionState, plugin: string): void {
  const prepared = state.prepared
  if (
    state.useTls ||
    !prepared ||
    prepared.serverPublicKey ||
    mysqlSettingValue(prepared.settings, 'get-server-public-key') === '1'
  )
    return
  throw fail(
    state,
    new PgSslError(
      'INSECURE_PASSWORD_EXCHANGE',
      `Authentication plugin '${plugin}' reported error: Authentication requires secure connection ` +
        `(the server would send the RSA key to encrypt the password to over an unencrypted connection)`,
      {
        setting: 'ssl-mode',
        hint:
          "use ssl-mode=REQUIRED or stronger, or give server-public-key-path (the server's RSA " +
          'public key); get-server-public-key=1 trusts whatever key arrives',
      },
    ),
  )
}

function checkAuthMethod(state: ConnectionState, plugin: string | undefined): void {
  const allowed = state.prepared?.settings.policy.allowedAuthMethods
  if (!allowed || plugin === undefined) return
  if (!(allowed as readonly string[]).includes(plugin)) {
    throw fail(
      state,
      violation(
        state.prepared!.settings.policy,
        'allowedAuthMethods',
        `one of ${allowed.join(', ')}`,
        `the server asks for ${plugin}`,
      ),
    )
  }
}

function authEnded(state: ConnectionState, ok: boolean): void {
  state.times.authEnd = performance.now()
  if (!ok || !state.prepared || !state.hello) return
  const report = buildMysqlReport(state)
  state.report = report
  const time = new Date().toISOString()
  publish({ type: 'security', time, report }, state.sinks)
  if (report.fallback !== 'none') publish({ type: 'fallback', time, report }, state.sinks)
  for (const warning of [...state.prepared.warnings, ...(state.peer?.warnings ?? [])])
    publish({ type: 'certificate-expiring', time, host: report.host, ...warning }, state.sinks)
}

function buildMysqlReport(state: ConnectionState): MysqlSecurityReport {
  const prepared = state.prepared!
  const session = state.useTls ? state.session : undefined
  const encrypted = session !== undefined
  const verified = encrypted && verifiesChain(prepared.mode)
  const t = state.times
  const timings: ConnectTimings = {
    prepareMs: prepared.prepareMs,
    tcpConnectMs: (t.tcp ?? t.start) - t.start,
    sslRequestMs: null,
    tlsHandshakeMs: encrypted ? t.tlsEnd! - t.tlsStart! : null,
    peerCheckMs: encrypted ? t.checked! - t.tlsEnd! : null,
    startupMs: (t.authEnd ?? t.start) - (t.hello ?? t.start) - (encrypted ? t.checked! - t.tlsStart! : 0),
  }
  const notes = [...prepared.notes]
  if (state.fallback)
    notes.push(
      "fell back to plaintext: the server's handshake does not offer SSL and ssl-mode PREFERRED continues without it",
    )
  return {
    requestedMode: prepared.upgradedFrom ?? prepared.settings.sslMode,
    effectiveMode: prepared.mode,
    dialect: 'mysql',
    transport: 'tcp',
    host: prepared.host,
    port: prepared.port,
    encrypted,
    serverCertificateVerified: verified,
    hostnameVerified: encrypted && prepared.mode === 'VERIFY_IDENTITY',
    protocol: session?.protocol ?? null,
    negotiation: encrypted ? 'mysql' : null,
    cipher: session?.cipher ?? null,
    cipherStandardName: session?.cipherStandardName ?? null,
    clientCertificateSent: encrypted && prepared.material.cert !== undefined,
    fallback: state.fallback ? 'plaintext-after-ssl' : 'none',
    outcome: outcomeOf(encrypted, verified),
    attempts: [...state.records],
    serverCertificate: summarizeCertificate(session?.peerCertificate),
    rootCertificate: verified
      ? (prepared.material.files.sslrootcert ?? prepared.material.files.sslrootcertdir ?? null)
      : null,
    notes,
    policy: { sources: [...prepared.settings.policySources], upgradedFrom: prepared.upgradedFrom },
    authentication: state.authMethod ?? 'none',
    channelBinding: false,
    keyLogFile: null,
    protocolVersion: String(state.hello!.protocolVersion),
    timings,
    connectRetries: 0,
    diagnostics: [...(state.peer?.diagnostics ?? [])],
    serverVersion: state.hello!.serverVersion,
  }
}

/** Remember the refusal (connectMysql rethrows it with the attempts) and hand it back for throwing. */
function fail(state: ConnectionState, error: PgSslError): PgSslError {
  state.failure ??= error
  auditRefusal(error, state.sinks, state.prepared?.host)
  return error
}

/**
 * A policy refusal is an event (audit log, onSecurityEvent), whether made before connecting or during the handshake.
 */
export function auditRefusal(error: unknown, sinks: EventSinks, host: string | undefined): void {
  if (!(error instanceof PgSslError) || error.code !== 'POLICY_VIOLATION') return
  publish(
    {
      type: 'policy-violation',
      time: new Date().toISOString(),
      rule: error.rule ?? '',
      required: error.required ?? '',
      observed: error.observed ?? '',
      message: error.message,
      host,
    },
    sinks,
  )
}

/** A network error stays mysql2's (ECONNREFUSED...) and also carries pg-sslmode's code, as server errors do. */
function markConnectionFailed(error: Error, prepared: PreparedMysql): void {
  annotate(
    error,
    'CONNECTION_FAILED',
    `check that a MySQL server listens on ${prepared.host}:${prepared.port} and accepts TCP connections`,
  )
}

export function annotate(error: Error, sslCode: PgSslErrorCode, hint: string = ERROR_CODES[sslCode].hint): void {
  if ((error as { sslCode?: unknown }).sslCode !== undefined) return
  Object.defineProperties(error, {
    sslCode: { value: sslCode, enumerable: false },
    sslHint: { value: hint, enumerable: false },
    sslMessage: { value: error.message, enumerable: false },
  })
}

export function stateOf(key: object): ConnectionState | undefined {
  return STATES.get(key)
}

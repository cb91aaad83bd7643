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
import { connect as netConnect } from 'node:net'
import { ERROR_CODES, PgSslError, type PgSslErrorCode } from '../engine/errors.js'
import type { EventSinks } from '../engine/policy/audit.js'
import { violation } from '../engine/policy/enforce.js'
import { checkPeer } from '../engine/peer-check.js'
import { closeQuietly } from '../engine/sockets.js'
import { runTlsHandshake } from '../engine/tls/handshake.js'
import { authEnded, authMethodSeen, authStepSeen, checkAuthMethod } from './auth-checks.js'
import { AuthWatch, completePacketLength, HelloGate, parseFirstPacket } from './handshake.js'
import { checkMysqlHostname } from './hostname.js'
import { requiresTls, usesTls, verifiesChain } from './modes.js'
import { installOnMysql2, type Mysql2Connection, streamOf, useTlsSession } from './mysql2-internals.js'
import { inMysqlTerms, type PreparedMysql } from './prepare.js'
import { type ConnectionState, fail, STATES } from './state.js'
import { auditRefusal } from '../engine/policy/audit.js'

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

/** Read the server's first packet before mysql2 may answer it: MySQL or not, SSL offered or not. */
function judgeHello(state: ConnectionState, first: Buffer): void {
  const prepared = state.prepared!
  state.times.hello = performance.now()
  let packet: ReturnType<typeof parseFirstPacket>
  try {
    packet = parseFirstPacket(first, `${prepared.host}:${prepared.port}`)
  } catch (error) {
    throw refuseHello(state, error as PgSslError)
  }
  const extra = first.length - (completePacketLength(first) ?? first.length)
  if (extra > 0) {
    // The server speaks again before the client has answered its handshake: bytes mysql2 would
    // read as the answer to a login it has not sent yet (an OK would end it, unverified). The
    // MariaDB client fails here too (2026); PostgreSQL's equivalent is CVE-2021-23222.
    const message = `the server sent ${extra} bytes after its handshake before the client answered`
    const hint =
      'a MySQL server waits for the client after its handshake: something between client and ' +
      'server may be injecting data'
    throw refuseHello(state, new PgSslError('PROTOCOL_VIOLATION', message, { setting: 'host', hint }))
  }
  if (packet.kind === 'error') return // mysql2 reports the server's error (too many connections, host blocked...)
  const hello = packet.hello
  state.hello = hello
  const mode = prepared.mode
  if (!hello.offersSsl && usesTls(mode)) sslNotOffered(state)
  state.useTls = hello.offersSsl && usesTls(mode)
  state.authMethod = hello.authPlugin
  if (!state.useTls) {
    checkAuthMethod(state, hello.authPlugin) // the credentials follow at once
    state.records.push({ ...plainAttempt(prepared), sameSocket: state.fallback, result: 'connected' })
  }
}

/** The plaintext attempt of this connection, as the report lists it. */
function plainAttempt(prepared: PreparedMysql) {
  return {
    host: prepared.host,
    port: prepared.port,
    ssl: false,
    verifyChain: false,
    verifyHostname: false,
    sameSocket: false,
  }
}

/** A first packet that is not a MySQL server's handshake (or has bytes after it): recorded and refused. */
function refuseHello(state: ConnectionState, error: PgSslError): PgSslError {
  const failure = { code: 'PROTOCOL_VIOLATION' as const, message: error.message }
  state.records.push({ ...plainAttempt(state.prepared!), result: 'failed', failure })
  return fail(state, error)
}

/**
 * The server's handshake does not offer SSL where the mode uses it: REQUIRED and up refuse,
 * PREFERRED goes on in plaintext — unless the policy forbids the fallback.
 */
function sslNotOffered(state: ConnectionState): void {
  const prepared = state.prepared!
  const mode = prepared.mode
  const failure = {
    code: 'SSL_DISABLED_ON_SERVER' as const,
    message: "the server's handshake does not offer SSL (no CLIENT_SSL capability)",
  }
  state.records.push({
    ...plainAttempt(prepared),
    ssl: true,
    verifyChain: verifiesChain(mode),
    verifyHostname: mode === 'VERIFY_IDENTITY',
    result: 'failed',
    failure,
  })
  if (requiresTls(mode)) {
    const hint =
      'turn TLS on at the server (MySQL Plus: pg-sslmode mysqlplus ssl on), or use ' +
      'ssl-mode=PREFERRED if plaintext is acceptable'
    const message = "SSL connection error: SSL is required but the server doesn't support it"
    throw fail(state, new PgSslError('SSL_DISABLED_ON_SERVER', message, { setting: 'ssl-mode', hint }))
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
  const handshake = runTlsHandshake(raw, prepared.tlsOptions!, { verifiesChain: record.verifyChain })
  handshake.then(async ({ socket: tls, session }) => {
    state.times.tlsEnd = performance.now()
    try {
      state.peer = await checkPeer(
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

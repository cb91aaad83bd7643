/**
 * One connection's settings as the executor uses them: read from the resolved settings once,
 * when the connection is prepared (prepare.ts), typed and frozen. The connect loop, the TLS
 * options, the guards, openGauss's start-up and cancel requests read these fields — nothing after
 * prepare() looks a setting up by its keyword. A value that cannot be used (require_auth,
 * max_protocol_version in the openGauss dialects) is refused here, before any traffic.
 */
import type { SecureVersion } from 'node:tls'
import { DIALECTS, type Dialect } from '../dialects.js'
import type { TargetSessionAttrs } from '../host-order.js'
import { openGaussProtocolMinor } from '../opengauss/protocol-minor.js'
import type { ConnectionSettings } from '../connection-settings.js'
import { settingValue } from '../settings/merge.js'
import { parseRequireAuth, type RequireAuth } from './auth-guard.js'
import { PgSslError } from '../../engine/errors.js'
import { protocolRange, type ProtocolRange } from '../protocol/version.js'
import { pgBase64Decode, SCRAM_KEY_LENGTH } from '../protocol/scram.js'
import type { OAuthSettings } from '../protocol/oauthbearer.js'

export interface ConnectionConfig {
  readonly dialect: Dialect
  readonly targetSessionAttrs: TargetSessionAttrs
  /** load_balance_hosts=random: the hosts, and each host name's addresses, tried in a random order. */
  readonly loadBalance: boolean
  readonly sslCertMode: 'disable' | 'allow' | 'require'
  readonly sslKeyLogFile: string | undefined
  readonly sslNegotiation: 'postgres' | 'direct'
  readonly channelBinding: 'disable' | 'prefer' | 'require'
  /** require_auth, parsed (libpq's grammar). */
  readonly requireAuth: RequireAuth | undefined
  /** The openGauss dialects: the protocol minor version the start-up asks for (max_protocol_version). */
  readonly openGaussProtocolMinor: number | undefined
  /** The `postgres` dialect: min_protocol_version and max_protocol_version, as libpq 18 reads them. */
  readonly protocol: ProtocolRange | undefined
  /** connect_timeout per host, in milliseconds; 0 for none. */
  readonly connectTimeoutMs: number
  readonly keepAlive: { readonly enable: boolean; readonly initialDelayMs: number }
  readonly tls: {
    /** ssl_min_protocol_version, and whether it was stated (else the dialect's own minimum applies). */
    readonly minVersion: SecureVersion | undefined
    readonly minVersionStated: boolean
    readonly maxVersion: SecureVersion | undefined
    /** sslsni: send the host name in SNI. */
    readonly sni: boolean
  }
  /** scram_client_key / scram_server_key (libpq 18), decoded: SCRAM is then run in pg's place (sasl.ts). */
  readonly scramKeys: ScramKeys | undefined
  /**
   * oauth_issuer, oauth_client_id, oauth_scope (libpq 18), read when the server asks for
   * OAUTHBEARER — as libpq, not before (a SCRAM server never looks at them). oauth_client_secret
   * stays in the settings: it is handed only to the token function. The postgres dialect only.
   */
  readonly oauth: OAuthSettings | undefined
  /** A password or a password function was given (the password file is looked up only without one). */
  readonly passwordGiven: boolean
  /** The host setting as written, for events. */
  readonly host: string | undefined
}

export function connectionConfig(settings: ConnectionSettings): ConnectionConfig {
  const value = (name: string): string | undefined => settingValue(settings, name)
  const openGauss = DIALECTS[settings.dialect].openGaussAuthentication
  const requireAuth = parseRequireAuth(value('require_auth') ?? '', openGauss)
  const minor = openGauss ? openGaussProtocolMinor(value('max_protocol_version')) : undefined
  if (openGauss && value('min_protocol_version')) {
    throw new PgSslError('INVALID_SETTING', 'min_protocol_version is not a setting of the openGauss dialects', {
      setting: 'min_protocol_version',
      hint: 'gsql has no min_protocol_version: max_protocol_version chooses the version asked for (docs/dialects.md)',
    })
  }
  const protocol = openGauss ? undefined : protocolRange(value('min_protocol_version'), value('max_protocol_version'))
  const idle = value('keepalives_idle')
  const min = settings.values.ssl_min_protocol_version
  return Object.freeze({
    dialect: settings.dialect,
    targetSessionAttrs: (value('target_session_attrs') ?? 'any') as TargetSessionAttrs,
    loadBalance: value('load_balance_hosts') === 'random',
    sslCertMode: (value('sslcertmode') ?? 'allow') as ConnectionConfig['sslCertMode'],
    sslKeyLogFile: value('sslkeylogfile'),
    sslNegotiation: value('sslnegotiation') === 'direct' ? 'direct' : 'postgres',
    channelBinding: (value('channel_binding') ?? 'prefer') as ConnectionConfig['channelBinding'],
    requireAuth,
    openGaussProtocolMinor: minor,
    protocol,
    connectTimeoutMs: connectTimeoutMs(settings),
    keepAlive: Object.freeze({
      enable: value('keepalives') !== '0',
      initialDelayMs: idle ? Number(idle) * 1000 : 0,
    }),
    tls: Object.freeze({
      minVersion: value('ssl_min_protocol_version') as SecureVersion | undefined,
      minVersionStated: min !== undefined && min.source !== 'default',
      maxVersion: value('ssl_max_protocol_version') as SecureVersion | undefined,
      sni: value('sslsni') !== '0',
    }),
    scramKeys: scramKeysOf(settings, openGauss),
    oauth: oauthOf(settings, openGauss),
    passwordGiven: settings.values.password !== undefined || settings.passwordFunction !== undefined,
    host: settings.values.host?.value,
  } satisfies ConnectionConfig)
}

function connectTimeoutMs(settings: ConnectionSettings): number {
  const raw = settingValue(settings, 'connect_timeout')
  if (raw === undefined) return 0
  const seconds = Number(raw)
  if (seconds <= 0) return 0
  // libpq rounds up small integer timeouts to 2 s; a pg-style millisecond option is kept exact.
  return settings.values.connect_timeout!.source === 'option' ? seconds * 1000 : Math.max(2, Math.floor(seconds)) * 1000
}

/** The two SCRAM keys, never shown (util.inspect, JSON): they log in as the role does. */
export class ScramKeys {
  readonly #client: Buffer | undefined
  readonly #server: Buffer | undefined
  constructor(client: Buffer | undefined, server: Buffer | undefined) {
    this.#client = client
    this.#server = server
  }
  get client(): Buffer | undefined {
    return this.#client
  }
  get server(): Buffer | undefined {
    return this.#server
  }
  toJSON(): string {
    return '[SCRAM keys]'
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[SCRAM keys]'
  }
}

function oauthOf(settings: ConnectionSettings, openGauss: boolean): OAuthSettings | undefined {
  if (openGauss) {
    const given = ['oauth_issuer', 'oauth_client_id', 'oauth_client_secret', 'oauth_scope'].find(
      (name) => settings.values[name] !== undefined,
    )
    if (given) {
      throw new PgSslError('INVALID_SETTING', `${given} is not a setting of the openGauss dialects`, {
        setting: given,
        hint: 'gsql has no OAuth: openGauss logs in with its own SHA256 exchange and a password',
      })
    }
    return undefined
  }
  return Object.freeze({
    issuer: settings.values.oauth_issuer?.value,
    clientId: settings.values.oauth_client_id?.value,
    scope: settings.values.oauth_scope?.value,
    unsafeDebugging: settings.oauthUnsafeDebugging,
  })
}

/** libpq 18's connectOptions2: each key base64 (PostgreSQL's decoder) of exactly 32 bytes; its words. */
function scramKeysOf(settings: ConnectionSettings, openGauss: boolean): ScramKeys | undefined {
  const decode = (side: 'client' | 'server'): Buffer | undefined => {
    const setting = `scram_${side}_key`
    // Present even when empty: libpq 18 decodes "" and refuses its length 0.
    const text = settings.values[setting]?.value
    if (text === undefined) return undefined
    if (openGauss) {
      throw new PgSslError('INVALID_SETTING', `${setting} is not a setting of the openGauss dialects`, {
        setting,
        hint: 'gsql has no SCRAM keys: openGauss logs in with its own SHA256 exchange and a password',
      })
    }
    const key = pgBase64Decode(text)
    const hint = `give the role's SCRAM ${side === 'client' ? 'ClientKey' : 'ServerKey'} as base64 of its 32 bytes`
    if (key === undefined) throw new PgSslError('INVALID_SETTING', `invalid SCRAM ${side} key`, { setting, hint })
    if (key.length !== SCRAM_KEY_LENGTH) {
      throw new PgSslError('INVALID_SETTING', `invalid SCRAM ${side} key length: ${key.length}`, { setting, hint })
    }
    return key
  }
  const client = decode('client')
  const server = decode('server')
  return client || server ? new ScramKeys(client, server) : undefined
}

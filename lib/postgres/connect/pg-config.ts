/**
 * The pg.ClientConfig for a client: explicit values everywhere, so pg never falls back to
 * process.env (the caller may have passed its own env) and never does TLS itself.
 */
import type pg from 'pg'
import { effectiveUser, settingValue } from '../settings/merge.js'
import type { ConnectionSettings } from '../connection-settings.js'
import type { Prepared } from './prepare.js'
import { NO_PASSWORD } from '../pg-internals.js'

export function pgConfig(settings: ConnectionSettings): pg.ClientConfig {
  const v = (name: string): string | undefined => settingValue(settings, name)
  const user = effectiveUser(settings)
  const config: pg.ClientConfig & Record<string, unknown> = {
    ...settings.passThrough,
    user,
    database: v('dbname') ?? user,
    // Informational for pg (client.host/port): the sockets are opened by this library.
    host: v('host')?.split(',')[0] || 'localhost',
    port: Number(settings.values.port?.value.split(',')[0] || 5432),
    // TLS and TCP keep-alives are handled on the socket by this library, not by pg.
    ssl: false,
  }
  if (settings.passwordFunction) config.password = settings.passwordFunction
  else if (settings.values.password !== undefined) config.password = settings.values.password.value
  // No password from our sources: pg must not look in process.env.PGPASSWORD or ~/.pgpass itself.
  else config.password = NO_PASSWORD as unknown as () => string
  const appName = v('application_name') ?? v('fallback_application_name')
  if (appName !== undefined) config.application_name = appName
  if (v('options') !== undefined) config.options = v('options')
  if (v('client_encoding') !== undefined) config.client_encoding = v('client_encoding')
  const replication = v('replication')
  if (replication !== undefined)
    config.replication = replication === 'database' ? 'database' : ['1', 'true', 'on', 'yes'].includes(replication)
  // pg offers SCRAM-SHA-256-PLUS only with enableChannelBinding: on unless channel_binding=disable
  // (and always for require, whatever the pg option says).
  const binding = v('channel_binding') ?? 'prefer'
  if (binding === 'require' || (binding === 'prefer' && settings.passThrough.enableChannelBinding === undefined))
    config.enableChannelBinding = true
  if (binding === 'disable') config.enableChannelBinding = false
  return config
}

/**
 * What `client.connectionParameters.ssl` shows, as pg's does: false without TLS, else the TLS
 * settings and the material in effect (the roots, client certificate and CRLs as loaded; the key
 * non-enumerable, as pg makes it, so that logging the client never shows it).
 */
export function sslParameters(prepared: Prepared): false | Record<string, unknown> {
  const plan = prepared.plans[0]
  const ssl = plan?.attempts.filter((a) => a.ssl) ?? []
  if (!plan || ssl.length === 0) return false
  const { material } = prepared
  const verify = ssl.some((a) => a.verifyChain)
  const { minVersion: min, maxVersion: max } = prepared.config.tls
  const view: Record<string, unknown> = {
    sslmode: plan.effectiveMode,
    rejectUnauthorized: verify,
    ...(verify && material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.crl ? { crl: material.crl } : {}),
    ...(prepared.endpoints[0]?.hostName ? { servername: prepared.endpoints[0].hostName } : {}),
    ...(min ? { minVersion: min } : {}),
    ...(max ? { maxVersion: max } : {}),
  }
  if (material.key) Object.defineProperty(view, 'key', { value: material.key, enumerable: false })
  return view
}

/**
 * pg's `connectionParameters.ssl` before connecting: the ssl option itself (a copy here, where pg
 * changes the caller's object), its key readable but not enumerable, as pg makes it.
 */
export function sslOptionAsPgShowsIt(ssl: unknown): unknown {
  if (typeof ssl !== 'object' || ssl === null) return ssl
  const shown: Record<string, unknown> = { ...(ssl as Record<string, unknown>) }
  const key = (ssl as { key?: unknown }).key
  if (key !== undefined)
    Object.defineProperty(shown, 'key', { value: key, enumerable: false, writable: true, configurable: true })
  return shown
}

/**
 * The options the settings layer reads: everything pg.ClientConfig takes (but `ssl`, `stream` and
 * pg's own connection-string handling, which this library replaces), plus libpq keywords and the
 * sources (connection string, environment, ini, certificate bundle). The policy options are added
 * one layer up (lib/options.ts).
 */
import type pg from 'pg'
import type { Dialect } from '../dialects.js'
import type { SslMode } from './keywords.js'
import type { IniSource } from './database-ini.js'
import type { ConnectRetryOptions } from './connect-retry.js'

export type Environment = Readonly<Record<string, string | undefined>>

type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
type Flag = '0' | '1' | 0 | 1 | boolean

/** libpq connection keywords, by their libpq names. Files are paths, never contents. */
export interface LibpqKeywordOptions {
  host?: string
  hostaddr?: string
  port?: number | string
  dbname?: string
  user?: string
  connect_timeout?: number | string
  client_encoding?: string
  options?: string
  application_name?: string
  fallback_application_name?: string
  keepalives?: Flag
  keepalives_idle?: number | string
  replication?: string
  sslmode?: SslMode
  requiressl?: Flag
  /** 'direct' (PostgreSQL 17+): TLS at once with ALPN "postgresql", no SSLRequest round trip. */
  sslnegotiation?: 'postgres' | 'direct'
  sslcert?: string
  sslkey?: string
  sslcertmode?: 'disable' | 'allow' | 'require'
  /** Passphrase of an encrypted sslkey. Never shown in errors or reports. */
  sslpassword?: string
  sslrootcert?: string
  service?: string
  sslcrl?: string
  sslcrldir?: string
  sslsni?: Flag
  ssl_min_protocol_version?: TlsVersionName
  ssl_max_protocol_version?: TlsVersionName
  /**
   * The PostgreSQL protocol (libpq 18): `3.0`, `3.2` or `latest`. The postgres dialect asks for
   * max_protocol_version (default 3.0, or the latest when min_protocol_version asks for more) and
   * refuses a server below min_protocol_version; the openGauss dialects: see docs/dialects.md.
   */
  min_protocol_version?: '3.0' | '3.2' | 'latest'
  max_protocol_version?: '3.0' | '3.2' | 'latest' | '3.50' | '3.51'
  gssencmode?: 'disable' | 'prefer'
  channel_binding?: 'disable' | 'prefer'
}

export interface SettingsOptions
  extends Omit<
      pg.ClientConfig,
      | 'ssl'
      | 'stream'
      | 'connectionString'
      | 'port'
      | 'host'
      | 'user'
      | 'options'
      | 'application_name'
      | 'client_encoding'
      | 'replication'
      | 'keepAlive'
      | 'sslnegotiation'
    >,
    LibpqKeywordOptions {
  /** libpq `key=value` conninfo or a `postgresql://` URI. */
  connectionString?: string
  /** Where PG* variables are read from. Defaults to process.env. */
  env?: Environment
  /**
   * A psycopg2-style ini file (read with Python configparser's rules): a path, or the path and
   * section (default section: postgresql). Its keys count as explicit options.
   */
  ini?: string | IniSource
  /**
   * An unpacked GaussDB(DWS) certificate bundle (client.crt, client.key, cacert.pem,
   * client.key.cipher/.rand); env PGSSLCERTDIR. Fills sslcert, sslkey and sslrootcert where
   * nothing else set them.
   */
  sslcertdir?: string
  /** Server family: PostgreSQL (default), openGauss or GaussDB(DWS). */
  dialect?: Dialect
  keepAlive?: boolean
  /**
   * pg's ssl option, translated into the libpq settings with the same meaning (README, "pg's ssl
   * option"): true → verify-full against the system store; an object's ca/cert/key/crl are used
   * as given; rejectUnauthorized: false → require. libpq keywords win over it.
   */
  ssl?: boolean | SslMode | 'no-verify' | PgSslObject
  /**
   * Retry opening the connection while the server is not up yet or going away (refused, reset
   * before start-up, SQLSTATE 57P03/57P01/57P02), with jittered backoff, within a budget
   * (docs/pools.md). Off for connect() and SslClient (as libpq); createPool() turns it on.
   */
  connectRetry?: boolean | ConnectRetryOptions
  /** pg's option: the Promise implementation connect(), end() and query() return (deprecated in pg 8, honoured). */
  Promise?: PromiseConstructorLike
}

/** The fields of pg's ssl object that have a libpq meaning; any other field is refused by name. */
export interface PgSslObject {
  rejectUnauthorized?: boolean
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer | Array<string | Buffer>
  key?: string | Buffer
  passphrase?: string
  crl?: string | Buffer | Array<string | Buffer>
  servername?: string
  minVersion?: TlsVersionName
  maxVersion?: TlsVersionName
}

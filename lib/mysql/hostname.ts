/**
 * MySQL's host-name rule for VERIFY_IDENTITY, as the MySQL 8 client applies it: OpenSSL's
 * X509_check_host / X509_check_ip_asc with flags 0 (sql-common/client.cc).
 */
import { isIP } from 'node:net'
import { PgSslError } from '../engine/errors.js'
import type { TlsSessionFacts } from '../engine/tls/session.js'

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

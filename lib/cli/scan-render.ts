/** `pg-sslmode scan`'s text report (the JSON is the ScanReport itself). */
import type { ScanReport } from './scan.js'

export function renderScan(report: ScanReport): string {
  const { host, port } = report.target
  if (!report.reachable) return `pg-sslmode scan — ${host}:${port}: ${report.findings[0]?.message ?? 'unreachable'}\n`
  const yes = (v: boolean | string): string => (v === true ? 'yes' : v === false ? 'no' : String(v))
  const lines = [`pg-sslmode scan — ${host}:${port}`, '']
  const mysql = report.target.kind === 'mysql'
  if (report.serverVersion) lines.push(`server version: ${report.serverVersion}`)
  lines.push(`TLS (${mysql ? 'CLIENT_SSL offered' : 'SSLRequest answered S'}): ${yes(report.ssl)}`)
  for (const [version, ok] of Object.entries(report.protocols)) {
    const suites = report.ciphers[version as keyof ScanReport['ciphers']] ?? []
    lines.push(
      `  ${version.padEnd(8)} ${ok ? 'offered' : 'not offered'}${suites.length ? `: ${suites.join(' ')}` : ''}`,
    )
  }
  lines.push(`key exchange groups: ${report.groups.join(', ') || 'none'}`)
  lines.push(`client certificate requested: ${report.clientCertificate}`)
  lines.push(`plaintext start-up accepted: ${yes(report.plaintext)}`)
  if (!mysql) lines.push(`direct SSL (PostgreSQL 17+): ${yes(report.directSsl)}`)
  report.chain.forEach((c, i) => {
    lines.push(
      '',
      `${i === 0 ? 'certificate' : `chain [${i}]`}: ${c.subject}`,
      `  issuer ${c.issuer}`,
      `  valid ${c.validFrom} to ${c.validTo}`,
      `  key ${c.keyType}${c.keyBits ? ` ${c.keyBits} bits` : ''}${c.curve ? ` (${c.curve})` : ''}, ` +
        `signed ${c.signatureAlgorithm}`,
      ...(c.subjectAltName ? [`  SAN ${c.subjectAltName}`] : []),
      `  SHA-256 ${c.fingerprint256}`,
    )
  })
  lines.push('', report.findings.length ? 'findings:' : 'no findings')
  for (const f of report.findings) lines.push(`  ${f.severity.toUpperCase().padEnd(8)} ${f.message}`)
  return `${lines.join('\n')}\n`
}

/**
 * The `pg-sslmode` command.
 *
 *   pg-sslmode check [CONNECTION-STRING] [--ini FILE[:SECTION]] [--dialect D] [--sslcertdir DIR] [--json] [--no-color]
 *
 * Settings come from the same places as connect(): the arguments, then the PG* environment.
 */
import { parseArgs } from 'node:util'
import type { Dialect } from '../postgres/dialects.js'
import type { ConnectOptions } from '../postgres/options.js'
import { checkMaterial, type CheckReport, type Finding } from './check.js'
import { probe, type ProbeReport } from './probe.js'
import { mysqlplusMain } from './mysqlplus.js'

const USAGE = `usage: pg-sslmode check [CONNECTION-STRING] [--ini FILE[:SECTION]] [--dialect postgres|opengauss|gaussdb]
                        [--sslcertdir DIR] [--json] [--no-color]
       pg-sslmode probe CONNECTION-STRING [--policy PRESET|FILE] [--ini ...] [--dialect ...] [--sslcertdir DIR] [--json]

check  checks the SSL material of a connection without connecting: files, permissions, PEM, key
       and certificate, passphrase, chain to the root, expiry (warns under 30 days), CRL freshness.
       Exit code 0 when nothing failed, 1 otherwise.
probe  connects to a live server once per sslmode and prints what each yields (the client x server
       table row of that server), the TLS versions it accepts and its certificate; with --policy,
       whether it can satisfy that policy. Sends no query but select 1. Exit code 0, or 1 when
       --policy is not satisfied.
       pg-sslmode mysqlplus ssl on|off --cluster CLUSTER-ID [--zone ZONE] [-f CONFIG] [--yes]
       (see pg-sslmode mysqlplus --help)
Exit code 2 for a usage error.`

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (argv[0] === 'mysqlplus') return mysqlplusMain(argv.slice(1), { out, err: process.stderr, stdin: process.stdin })
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ini: { type: 'string' },
        dialect: { type: 'string' },
        sslcertdir: { type: 'string' },
        policy: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    out.write(`${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const [command, connectionString, ...rest] = parsed.positionals
  if (
    parsed.values.help ||
    (command !== 'check' && command !== 'probe') ||
    rest.length > 0 ||
    (command === 'probe' && !connectionString)
  ) {
    out.write(`${USAGE}\n`)
    return parsed.values.help ? 0 : 2
  }
  const options: ConnectOptions = {}
  if (connectionString !== undefined) options.connectionString = connectionString
  if (parsed.values.dialect !== undefined) options.dialect = parsed.values.dialect as Dialect
  if (parsed.values.sslcertdir !== undefined) options.sslcertdir = parsed.values.sslcertdir
  if (parsed.values.ini !== undefined) {
    const [file, section] = splitIni(parsed.values.ini)
    options.ini = section ? { file, section } : file
  }
  if (command === 'probe') {
    const report = await probe(options, parsed.values.policy)
    out.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : renderProbe(report))
    return report.policy && !report.policy.satisfied ? 1 : 0
  }
  const report = await checkMaterial(options)
  const color = !parsed.values['no-color'] && !process.env.NO_COLOR && Boolean((out as NodeJS.WriteStream).isTTY)
  out.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : render(report, color))
  return report.ok ? 0 : 1
}

export function renderProbe(report: ProbeReport): string {
  const onOff = (v: boolean | 'unknown'): string => (v === 'unknown' ? '?' : v ? 'on' : 'off')
  const lines = [
    `pg-sslmode probe — ${report.host ?? '?'}:${report.port ?? '?'}: server ` +
      `ssl=${onOff(report.server.ssl)}, require_ssl=${onOff(report.server.requireSsl)}`,
    '',
  ]
  const width = Math.max(...report.modes.map((m) => m.result.length))
  lines.push(`${'sslmode'.padEnd(12)} ${'result'.padEnd(width)}  TLS`)
  for (const m of report.modes) {
    const tls = m.protocol ? `${m.protocol} ${m.cipher}` : m.code ? `[${m.code}]` : ''
    lines.push(
      `${m.mode.padEnd(12)} ${m.result.padEnd(width)}  ${tls}${m.fallback !== 'none' ? ` (${m.fallback})` : ''}`,
    )
  }
  lines.push(
    '',
    `TLS versions accepted: ${
      Object.entries(report.tlsVersions)
        .filter(([, ok]) => ok)
        .map(([v]) => v)
        .join(', ') || 'none'
    }`,
  )
  const c = report.certificate
  if (c)
    lines.push(
      `certificate: ${c.subject}`,
      `  issuer ${c.issuer}`,
      `  SAN ${c.subjectAltName ?? 'none'}`,
      `  valid ${c.validFrom} to ${c.validTo}`,
      `  SHA-256 ${c.fingerprint256}`,
    )
  if (report.policy)
    lines.push('', `policy: ${report.policy.satisfied ? 'satisfied' : 'NOT satisfied'} — ${report.policy.detail}`)
  return `${lines.join('\n')}\n`
}

/** "file.ini:section" → ["file.ini", "section"]; a Windows drive colon is not a section. */
function splitIni(value: string): [string, string | undefined] {
  const at = value.lastIndexOf(':')
  return at > 1 ? [value.slice(0, at), value.slice(at + 1)] : [value, undefined]
}

const PAINT = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m', reset: '\x1b[0m' }

export function render(report: CheckReport, color: boolean): string {
  const label = (f: Finding): string => {
    const text = f.status === 'fail' ? 'FAIL' : f.status.toUpperCase()
    return color ? `${PAINT[f.status]}${text.padEnd(4)}${PAINT.reset}` : text.padEnd(4)
  }
  const width = Math.max(...report.findings.map((f) => f.check.length))
  const lines = [`pg-sslmode check — dialect ${report.dialect}, sslmode ${report.sslmode}`, '']
  for (const f of report.findings) {
    lines.push(`${label(f)}  ${f.check.padEnd(width)}  ${f.detail}${f.code ? ` [${f.code}]` : ''}`)
    if (f.hint && f.status !== 'ok') lines.push(`${' '.repeat(6 + width)}  hint: ${f.hint}`)
  }
  const failed = report.findings.filter((f) => f.status === 'fail').length
  const warned = report.findings.filter((f) => f.status === 'warn').length
  lines.push(
    '',
    report.ok
      ? `ok (${warned} warning${warned === 1 ? '' : 's'})`
      : `${failed} problem${failed === 1 ? '' : 's'} found`,
  )
  return `${lines.join('\n')}\n`
}

/**
 * The `pg-sslmode` command.
 *
 *   pg-sslmode check [CONNECTION-STRING] [--ini FILE[:SECTION]] [--dialect D] [--sslcertdir DIR] [--json] [--no-color]
 *   pg-sslmode probe CONNECTION-STRING [--policy PRESET|FILE] ...
 *   pg-sslmode mysqlplus ssl on|off ...   pg-sslmode help [COMMAND]   pg-sslmode --version
 *
 * Settings come from the same places as connect(): the arguments, then the PG* environment.
 */
import { parseArgs } from 'node:util'
import type { Dialect } from '../postgres/dialects.js'
import type { ConnectOptions } from '../postgres/options.js'
import { checkMaterial, type CheckReport, type Finding } from './check.js'
import { probe, type ProbeReport } from './probe.js'
import { mysqlplusMain } from './mysqlplus.js'
import { closest } from '../postgres/settings/suggest.js'
import { VERSION } from './version.js'

const COMMANDS = ['check', 'probe', 'scan', 'mysqlplus', 'help'] as const

const HELP = {
  check: `usage: pg-sslmode check [CONNECTION-STRING] [--ini FILE[:SECTION]] [--dialect postgres|opengauss|gaussdb]
                        [--sslcertdir DIR] [--json] [--no-color]

  Checks the SSL material of a connection without connecting: files, permissions, PEM, key and
  certificate, passphrase, chain to the root, expiry (warns under 30 days), CRL freshness, and the
  SSL policy in force (PGSSLPOLICY). Exit code 0 when nothing failed, 1 otherwise, 2 for a usage
  error.`,
  probe: `usage: pg-sslmode probe CONNECTION-STRING [--policy PRESET|FILE] [--ini FILE[:SECTION]]
                        [--dialect postgres|opengauss|gaussdb] [--sslcertdir DIR] [--json]

  Connects to a live server once per sslmode and prints what each yields (that server's row of the
  client x server table), the TLS versions it accepts and its certificate; with --policy, whether
  it can satisfy that policy. Sends no query but select 1. Exit code 0, or 1 when --policy is not
  satisfied or the server could not be reached, 2 for a usage error.`,
  scan: `usage: pg-sslmode scan TARGET [--json] [--html FILE]

  Audits what a PostgreSQL or openGauss server (TARGET: a connection string, a URI or host:port)
  or a MySQL server (mysql://host[:port]) allows: the TLS versions (1.0 to 1.3) and cipher suites
  it accepts, its key-exchange groups, its certificate chain, whether it asks for a client
  certificate, whether it accepts a plaintext start-up (read up to the authentication request:
  no credentials are ever sent),
  direct SSL, and findings with a severity. Exit code 0, 1 when a high or critical finding was
  made or the server could not be reached, 2 for a usage error. --html FILE also writes the report
  as one self-contained page.`,
  mysqlplus: `usage: pg-sslmode mysqlplus ssl on|off --cluster CLUSTER-ID [--zone ZONE] [-f CONFIG] [--yes]

  Switches SSL of a MySQL Plus cluster through its API (pg-sslmode mysqlplus --help for more).`,
}

const USAGE = `usage: pg-sslmode <command> [arguments]

commands:
  check [CONNECTION-STRING]   check the SSL material of a connection, without connecting
  probe CONNECTION-STRING     what each sslmode yields against a live server
  scan TARGET                 what a server allows: TLS versions, ciphers, certificate, plaintext
  mysqlplus ssl on|off        switch SSL of a MySQL Plus cluster through its API

  pg-sslmode help COMMAND (or COMMAND --help) shows a command's options.
  pg-sslmode --version prints the version.
Exit code 2 for a usage error.`

/** A usage error: what was wrong, then the usage it breaks. */
function usageError(out: NodeJS.WritableStream, problem: string, usage: string): number {
  out.write(`pg-sslmode: ${problem}\n\n${usage}\n`)
  return 2
}

/** parseArgs's error, in the command's words (Node's own text suggests "--" for unknown options). */
function argumentProblem(error: unknown): string {
  const { code, message } = error as { code?: string; message: string }
  const option = /'(-[^' ]*)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return `option ${option} needs a value`
  return message
}

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [first, ...after] = argv
  if (first === 'mysqlplus') return mysqlplusMain(after, { out, err: process.stderr, stdin: process.stdin })
  if (first === '--version' || first === '-V') {
    out.write(`pg-sslmode ${VERSION}\n`)
    return 0
  }
  if (first === undefined || first === '--help' || first === '-h') {
    out.write(`${USAGE}\n`)
    return first === undefined ? 2 : 0
  }
  if (first === 'help') {
    const topic = after[0]
    if (topic === undefined) out.write(`${USAGE}\n`)
    else if (topic in HELP) out.write(`${HELP[topic as keyof typeof HELP]}\n`)
    else return unknownCommand(out, topic)
    return 0
  }
  if (first === 'scan') return scanCommand(after, out)
  if (first !== 'check' && first !== 'probe') {
    if (first.startsWith('-')) return usageError(out, `unknown option ${first}`, USAGE)
    return unknownCommand(out, first)
  }
  return runCommand(first, after, out)
}

async function scanCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const parsed = commandArguments('scan', argv, out, { json: BOOLEAN, html: { type: 'string' } })
  if (typeof parsed === 'number') return parsed
  const [target, ...rest] = parsed.positionals
  if (!target) return usageError(out, 'scan needs a target (a connection string, a URI or host:port)', HELP.scan)
  if (rest.length > 0) return usageError(out, `unexpected argument "${rest[0]}"`, HELP.scan)
  const terminal = (process.stderr as NodeJS.WriteStream).isTTY === true
  const { scan } = await import('./scan.js')
  const { renderScan } = await import('./scan-render.js')
  const report = await scan(target, {
    progress: terminal ? (line) => process.stderr.write(`\r\x1b[2Kscanning: ${line}`) : undefined,
  })
  if (terminal) process.stderr.write('\r\x1b[2K')
  out.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : renderScan(report))
  if (typeof parsed.values.html === 'string') {
    const { renderScanHtml } = await import('./scan-html.js')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(parsed.values.html, renderScanHtml(report))
  }
  const serious = report.findings.some((f) => f.severity === 'critical' || f.severity === 'high')
  return !report.reachable || serious ? 1 : 0
}

const BOOLEAN = { type: 'boolean', default: false } as const
type OptionSpec = { type: 'string' } | typeof BOOLEAN

/** A command's arguments, or the exit code of --help (0) or of a usage error (2), already written. */
function commandArguments(
  command: keyof typeof HELP,
  argv: string[],
  out: NodeJS.WritableStream,
  options: Record<string, OptionSpec>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | number {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...options, help: { ...BOOLEAN, short: 'h' } },
    })
  } catch (error) {
    return usageError(out, argumentProblem(error), HELP[command])
  }
  if (parsed.values.help) {
    out.write(`${HELP[command]}\n`)
    return 0
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals }
}

function unknownCommand(out: NodeJS.WritableStream, name: string): number {
  const suggestion = closest(name, COMMANDS)
  return usageError(out, `unknown command "${name}"${suggestion ? `: did you mean "${suggestion}"?` : ''}`, USAGE)
}

async function runCommand(command: 'check' | 'probe', argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const parsed = commandArguments(command, argv, out, {
    ini: { type: 'string' },
    dialect: { type: 'string' },
    sslcertdir: { type: 'string' },
    ...(command === 'probe' ? { policy: { type: 'string' } } : { 'no-color': BOOLEAN }),
    json: BOOLEAN,
  })
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  const [connectionString, ...rest] = parsed.positionals
  if (rest.length > 0) return usageError(out, `unexpected argument "${rest[0]}"`, HELP[command])
  if (command === 'probe' && !connectionString) return usageError(out, 'probe needs a connection string', HELP.probe)
  const options: ConnectOptions = {}
  if (connectionString !== undefined) options.connectionString = connectionString
  if (typeof values.dialect === 'string') options.dialect = values.dialect as Dialect
  if (typeof values.sslcertdir === 'string') options.sslcertdir = values.sslcertdir
  if (typeof values.ini === 'string') {
    const [file, section] = splitIni(values.ini)
    options.ini = section ? { file, section } : file
  }
  if (command === 'probe') {
    const report = await probe(options, values.policy as string | undefined)
    out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderProbe(report))
    return !report.reachable || (report.policy && !report.policy.satisfied) ? 1 : 0
  }
  const report = await checkMaterial(options)
  const color = !values['no-color'] && !process.env.NO_COLOR && Boolean((out as NodeJS.WriteStream).isTTY)
  out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : render(report, color))
  return report.ok ? 0 : 1
}

export function renderProbe(report: ProbeReport): string {
  const onOff = (v: boolean | 'unknown'): string => (v === 'unknown' ? '?' : v ? 'on' : 'off')
  const where = `${report.host ?? 'localhost'}:${report.port ?? 5432}`
  if (!report.reachable) {
    return `pg-sslmode probe — ${where}: could not be reached (${report.unreachable ?? 'no connection'})\n`
  }
  const { ssl, requireSsl } = report.server
  const lines = [`pg-sslmode probe — ${where}: server ssl=${onOff(ssl)}, require_ssl=${onOff(requireSsl)}`, '']
  const width = Math.max(...report.modes.map((m) => m.result.length))
  lines.push(`${'sslmode'.padEnd(12)} ${'result'.padEnd(width)}  TLS, or where it stopped`)
  for (const m of report.modes) {
    const tls = m.protocol ? `${m.protocol} ${m.cipher}` : m.code ? `at ${m.step} [${m.code}]` : ''
    lines.push(
      `${m.mode.padEnd(12)} ${m.result.padEnd(width)}  ${tls}${m.fallback !== 'none' ? ` (${m.fallback})` : ''}`,
    )
  }
  const versions = Object.entries(report.tlsVersions)
    .filter(([, ok]) => ok)
    .map(([v]) => v)
  lines.push('', `TLS versions accepted: ${versions.join(', ') || 'none'}`)
  const chain = report.chain.length > 0 ? report.chain : report.certificate ? [report.certificate] : []
  chain.forEach((c, i) => {
    lines.push(
      `${i === 0 ? 'certificate' : `  issued by [${i}]`}: ${c.subject}`,
      `  issuer ${c.issuer}`,
      ...(i === 0 ? [`  SAN ${c.subjectAltName ?? 'none'}`] : []),
      `  valid ${c.validFrom} to ${c.validTo}`,
      `  SHA-256 ${c.fingerprint256}`,
    )
  })
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

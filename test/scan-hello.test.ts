/**
 * The scan's own ClientHello (lib/cli/scan-hello.ts) against Node's TLS server — which must
 * accept it as a real hello and choose from it as OpenSSL chooses — and the legacy-suite table
 * against testssl.sh's cipher mapping. The legacy suites themselves are found on a real server
 * in test/e2e/scan.test.ts (PostgreSQL 18's OpenSSL still has SEED).
 */
import { existsSync, readFileSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import { LEGACY_SUITES } from '../lib/cli/legacy-suites.js'
import { clientHello, legacySuitesAt, serverChoice, serverHelloOf } from '../lib/cli/scan-hello.js'
import { endsWithNoOpenSockets } from './support.js'

const pki = join(import.meta.dirname, '..', 'fixtures', 'pki')
const key = readFileSync(join(pki, 'server.key'))
const cert = readFileSync(join(pki, 'server.crt'))

/** A Node TLS server with `options`; the servernames its hellos named. */
async function server(options: tls.TlsOptions) {
  const names: string[] = []
  const tlsServer = tls.createServer({
    key,
    cert,
    ...options,
    SNICallback: (name, done) => {
      names.push(name)
      done(null, undefined)
    },
  })
  tlsServer.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
  const { port } = tlsServer.address() as AddressInfo
  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket))
      socket.once('error', reject)
    })
  return { open, names, close: () => new Promise<void>((resolve) => tlsServer.close(() => resolve())) }
}

t.test('a TLS 1.2 hello: the server chooses from it by its own order, and reads its SNI', async (t) => {
  const s = await server({ ciphers: 'AES128-SHA:AES256-SHA', honorCipherOrder: true, minVersion: 'TLSv1.2' })
  t.teardown(s.close)
  const hello = clientHello('TLSv1.2', [0x0096, 0x0035, 0x002f], 'db.example')
  t.same(await serverChoice(await s.open(), hello, 5000), { version: 0x0303, suite: 0x002f }, 'AES128-SHA, TLS 1.2')
  t.same(s.names, ['db.example'], 'server_name as sent')
  t.equal(
    await serverChoice(await s.open(), clientHello('TLSv1.2', [0x0096, 0x000a]), 5000),
    undefined,
    'no suite in common: the alert is a refusal',
  )
  t.same(await legacySuitesAt(s.open, 'TLSv1.2', 5000), [], 'Node has none of the legacy suites to accept')
})

t.test('TLS 1.0 and 1.1 hellos at a server that still allows them', async (t) => {
  const s = await server({ ciphers: 'AES256-SHA:@SECLEVEL=0', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })
  t.teardown(s.close)
  t.same(await serverChoice(await s.open(), clientHello('TLSv1', [0x0035]), 5000), { version: 0x0301, suite: 0x0035 })
  t.same(await serverChoice(await s.open(), clientHello('TLSv1.1', [0x0035]), 5000), {
    version: 0x0302,
    suite: 0x0035,
  })
  // Asked for 1.2, this server answers 1.1: legacySuitesAt counts a suite only at the version asked.
  t.same(await serverChoice(await s.open(), clientHello('TLSv1.2', [0x0035]), 5000), {
    version: 0x0302,
    suite: 0x0035,
  })
})

t.test('the ServerHello read from records as they come', async (t) => {
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([2, 9, 9, 0x00, 0x96, 0])])
  const message = Buffer.concat([Buffer.from([2, 0, 0, body.length]), body])
  const record = (fragment: Buffer) => Buffer.concat([Buffer.from([22, 3, 3, 0, fragment.length]), fragment])
  const whole = record(message)
  t.same(serverHelloOf(whole), { version: 0x0303, suite: 0x0096 }, 'a session id of two bytes is skipped')
  t.equal(serverHelloOf(whole.subarray(0, 20)), 'more', 'a partial record waits')
  t.same(
    serverHelloOf(Buffer.concat([record(message.subarray(0, 10)), record(message.subarray(10))])),
    { version: 0x0303, suite: 0x0096 },
    'a ServerHello split across two records',
  )
  t.equal(serverHelloOf(Buffer.from([21, 3, 3, 0, 2, 2, 40])), undefined, 'handshake_failure alert')
  t.equal(serverHelloOf(record(Buffer.concat([Buffer.from([11, 0, 0, 40]), Buffer.alloc(40)]))), undefined)
})

const mapping = ['/etc/testssl/cipher-mapping.txt', '/usr/share/testssl/etc/cipher-mapping.txt'].find(existsSync)
t.test(
  'the legacy table names what testssl.sh names, and leaves none of those families out',
  { skip: mapping ? false : 'testssl.sh is not installed (Debian package testssl.sh)' },
  async (t) => {
    const theirs = new Map<number, string>()
    for (const line of readFileSync(mapping!, 'utf8').split('\n')) {
      const m = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2})\s+-\s+(\S+)/i.exec(line)
      if (m) theirs.set(Number.parseInt(m[1]! + m[2]!, 16), m[3]!)
    }
    t.same(
      LEGACY_SUITES.filter(([id, name]) => theirs.get(id) !== name),
      [],
      'every id has testssl.sh’s name',
    )
    const ours = new Set(LEGACY_SUITES.map(([id]) => id))
    const families = [...theirs].filter(([, name]) => /RC4|RC2|DES|IDEA|SEED|EXP/.test(name) && !/KRB5/.test(name))
    t.same(
      families.filter(([id]) => !ours.has(id)),
      [],
      'every RC4, RC2, DES, 3DES, IDEA, SEED and export suite is in the table',
    )
    t.same(
      LEGACY_SUITES.filter(([, name]) => tls.getCiphers().includes(name.toLowerCase())),
      [],
      'and none Node offers itself',
    )
  },
)

endsWithNoOpenSockets(t)

/**
 * After the first connection, another one with the same certificate files reads no file, parses
 * no certificate and builds no new TLS context; a changed file is read again.
 */
import t from 'tap'
import { copyFileSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from '../../lib/index.js'
import { materialStats } from '../../lib/engine/tls/file-cache.js'
import { fixture, privateCopy, startCluster } from '../../scripts/harness.js'
import { isolatedEnv, endsWithNoOpenSockets } from '../support.js'

const cluster = await startCluster({ ssl: true, clientCert: true })
t.teardown(() => cluster.stop())

const home = isolatedEnv().HOME!
const rootFile = join(home, 'ca.crt')
copyFileSync(fixture('ca.crt'), rootFile)
const options = {
  host: cluster.host,
  port: cluster.port,
  user: cluster.user,
  env: { HOME: home },
  sslmode: 'verify-full' as const,
  sslrootcert: rootFile,
  sslcert: fixture('client.crt'),
  sslkey: privateCopy('client-encrypted.key'),
  sslpassword: 'fixture-passphrase',
}

async function connectOnce(): Promise<void> {
  const client = await connect(options)
  t.equal(client.security.clientCertificateSent, true)
  await client.end()
}

t.test('the second connection reads and parses nothing', async (t) => {
  await connectOnce()
  const after1 = { ...materialStats }
  t.ok(
    after1.reads >= 3 && after1.parses >= 3 && after1.secureContexts >= 1,
    'the first connection loaded the material',
  )
  await connectOnce()
  await connectOnce()
  t.same(materialStats, after1, 'no read, no parse, no new TLS context')
})

t.test('a changed file is read again', async (t) => {
  const before = { ...materialStats }
  const later = new Date(Date.now() + 5000)
  utimesSync(rootFile, later, later)
  await connectOnce()
  t.equal(materialStats.reads, before.reads + 1, 'only the changed root CA file is read again')
  t.ok(materialStats.secureContexts > before.secureContexts, 'and a new TLS context built from it')
})

t.test('a same-size rewrite with the same mtime is a new version (inode and ctime are in the key)', async (t) => {
  // Content A, then content B of the same length, then the old mtime put back: only the change
  // time (and for a rename, the inode) tells the two apart.
  const pem = readFileSync(fixture('ca.crt'), 'utf8')
  const fixed = new Date('2030-01-01T00:00:00Z')
  writeFileSync(rootFile, `${pem}# version a\n`)
  utimesSync(rootFile, fixed, fixed)
  await connectOnce()
  const stamp = statSync(rootFile)
  const before = { ...materialStats }
  writeFileSync(rootFile, `${pem}# version b\n`)
  utimesSync(rootFile, fixed, fixed)
  t.equal(statSync(rootFile).mtimeMs, stamp.mtimeMs, 'same mtime')
  t.equal(statSync(rootFile).size, stamp.size, 'same size')
  await connectOnce()
  t.equal(materialStats.reads, before.reads + 1, 'read again')

  // A file renamed over the path (a new inode) with the same size and mtime: read again too.
  const before2 = { ...materialStats }
  const replacement = join(home, 'ca-new.crt')
  writeFileSync(replacement, `${pem}# version c\n`)
  utimesSync(replacement, fixed, fixed)
  renameSync(replacement, rootFile)
  await connectOnce()
  t.equal(materialStats.reads, before2.reads + 1, 'a replaced file is read again')
})

endsWithNoOpenSockets(t)

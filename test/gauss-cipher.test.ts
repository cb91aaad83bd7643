/**
 * The openGauss .key.cipher/.key.rand format. The fixed vector below was built outside this code
 * from the published algorithm (openGauss cipher.cpp): Python's hashlib.pbkdf2_hmac for the key, the openssl CLI
 * (`openssl enc -aes-128-cbc -nopad`) for the AES step, and an independent Python CRC.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  decryptKeyPassphrase,
  encryptKeyPassphrase,
  encryptKeyPassphraseBytes,
  legacyCrc32,
  readKeyPassphrase,
} from '../lib/engine/tls/gauss-cipher.js'
import type { PgSslError } from '../lib/engine/errors.js'

const VECTOR = {
  passphrase: 'Gauss@123',
  cipher: Buffer.from(
    '80bef187a0e4037812be00c25881e834001112131415161718191a1b1c1d1e1f20002122232425262728292a2b2c2d2e2f30000060607e15',
    'hex',
  ),
  rand: Buffer.from('0102030405060708090a0b0c0d0e0f100000000079aaf070', 'hex'),
}

t.test('CRC: PostgreSQL legacy CRC-32', async (t) => {
  t.equal(legacyCrc32(Buffer.from('123456789')), 0xc40ed0b0)
  t.equal(legacyCrc32(Buffer.alloc(0)), 0)
})

t.test('the fixed vector decrypts to its passphrase', async (t) => {
  t.equal(decryptKeyPassphrase(VECTOR.cipher, VECTOR.rand), VECTOR.passphrase)
})

t.test('encrypting with the vector randomness reproduces the vector byte for byte', async (t) => {
  const chunks = [VECTOR.rand.subarray(0, 16), VECTOR.cipher.subarray(17, 33), VECTOR.cipher.subarray(34, 50)]
  const pair = encryptKeyPassphraseBytes(VECTOR.passphrase, () => Buffer.from(chunks.shift()!))
  t.same(pair.cipher, VECTOR.cipher)
  t.same(pair.rand, VECTOR.rand)
})

t.test('round trip through files, written 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-cipher-'))
  for (const passphrase of ['a', 'fifteen-bytes!!', 'pässwörd']) {
    const { cipherFile, randFile } = await encryptKeyPassphrase(join(dir, 'client'), passphrase)
    t.equal(statSync(cipherFile).mode & 0o777, 0o600)
    t.equal(readFileSync(cipherFile).length, 56)
    t.equal(await readKeyPassphrase(cipherFile, randFile), passphrase)
  }
  t.throws(() => encryptKeyPassphraseBytes('sixteen-bytes!!!'), { code: 'INVALID_SETTING' })
})

t.test('damaged files: KEY_CIPHER_CORRUPT naming the file, never the passphrase', async (t) => {
  const flipped = Buffer.from(VECTOR.cipher)
  flipped[3]! ^= 1
  const error = t.throws(() =>
    decryptKeyPassphrase(flipped, VECTOR.rand, { cipher: 'client.key.cipher', rand: 'client.key.rand' }),
  ) as PgSslError
  t.equal(error.code, 'KEY_CIPHER_CORRUPT')
  t.equal(error.file, 'client.key.cipher')
  t.notMatch(error.message, /Gauss/)
  const badRand = Buffer.from(VECTOR.rand)
  badRand[22]! ^= 1
  t.throws(() => decryptKeyPassphrase(VECTOR.cipher, badRand, { cipher: 'c', rand: 'r' }), {
    code: 'KEY_CIPHER_CORRUPT',
    file: 'r',
  })
  t.throws(() => decryptKeyPassphrase(VECTOR.cipher.subarray(0, 50), VECTOR.rand), {
    code: 'KEY_CIPHER_CORRUPT',
    message: /50 bytes, expected 56/,
  })
})

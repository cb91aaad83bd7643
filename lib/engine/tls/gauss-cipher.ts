/**
 * openGauss / GaussDB(DWS) `client.key.cipher` + `client.key.rand`: the encrypted passphrase of an
 * encrypted client.key, as the DWS console bundle ships it and `gs_guc encrypt` writes it
 * (openGauss src/common/port/cipher.cpp; docs/certificates.md).
 *
 *   .cipher (56 bytes): cipherkey[17] @0, key_salt[17] @17, vector_salt[17] @34, 1 pad byte,
 *                       u32 CRC (little-endian) @52 over bytes 0..51
 *   .rand   (24 bytes): randkey[17] @0, 3 pad bytes, u32 CRC @20 over bytes 0..19
 *   Only the first 16 bytes of each 17-byte field are data.
 *   passphrase = AES-128-CBC-decrypt(key = PBKDF2-HMAC-SHA256(randkey, key_salt, 10000, 16),
 *                                    iv = vector_salt, cipherkey), no padding; then trailing 0x00
 *                bytes and one 0x80 are stripped.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { PgSslError } from '../errors.js'

const CIPHER_SIZE = 56
const RAND_SIZE = 24
const FIELD = 16
const ITERATIONS = 10000

/** PostgreSQL's legacy CRC-32 (pg_crc.h "LEGACY_CRC32"): the reflected table used MSB-first. */
const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[i] = c >>> 0
  }
  return table
})()

export function legacyCrc32(data: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of data) crc = (TABLE[((crc >>> 24) ^ byte) & 0xff]! ^ (crc << 8)) >>> 0
  return (crc ^ 0xffffffff) >>> 0
}

function deriveKey(randkey: Buffer, keySalt: Buffer): Buffer {
  return pbkdf2Sync(randkey, keySalt, ITERATIONS, FIELD, 'sha256')
}

function checkCrc(bytes: Buffer, crcAt: number, file: string): void {
  if (legacyCrc32(bytes.subarray(0, crcAt)) !== bytes.readUInt32LE(crcAt)) {
    throw new PgSslError('KEY_CIPHER_CORRUPT', `"${file}" is damaged: its CRC does not match`, {
      setting: 'sslkey',
      file,
      hint: 'download the certificate bundle again, or re-create the pair with gs_guc encrypt / encryptKeyPassphrase()',
    })
  }
}

/** The passphrase held by a .cipher/.rand pair. Never log the result. */
export function decryptKeyPassphrase(
  cipher: Buffer,
  rand: Buffer,
  files: { cipher: string; rand: string } = { cipher: '.cipher', rand: '.rand' },
): string {
  for (const [bytes, size, file] of [
    [cipher, CIPHER_SIZE, files.cipher],
    [rand, RAND_SIZE, files.rand],
  ] as const) {
    if (bytes.length !== size) {
      throw new PgSslError('KEY_CIPHER_CORRUPT', `"${file}" has ${bytes.length} bytes, expected ${size}`, {
        setting: 'sslkey',
        file,
      })
    }
  }
  checkCrc(cipher, 52, files.cipher)
  checkCrc(rand, 20, files.rand)
  const key = deriveKey(rand.subarray(0, FIELD), cipher.subarray(17, 17 + FIELD))
  const decipher = createDecipheriv('aes-128-cbc', key, cipher.subarray(34, 34 + FIELD)).setAutoPadding(false)
  const plain = Buffer.concat([decipher.update(cipher.subarray(0, FIELD)), decipher.final()])
  let end = plain.length
  while (end > 0 && plain[end - 1] === 0) end--
  if (end > 0 && plain[end - 1] === 0x80) end--
  return plain.subarray(0, end).toString('utf8')
}

export interface CipherPair {
  readonly cipher: Buffer
  readonly rand: Buffer
}

/** Build a .cipher/.rand pair for `passphrase` (at most 15 bytes, as openGauss allows). */
export function encryptKeyPassphraseBytes(passphrase: string, random: (n: number) => Buffer = randomBytes): CipherPair {
  const secret = Buffer.from(passphrase, 'utf8')
  if (secret.length === 0 || secret.length > FIELD - 1) {
    throw new PgSslError('INVALID_SETTING', `a key passphrase for .cipher/.rand must be 1 to ${FIELD - 1} bytes long`, {
      setting: 'sslpassword',
    })
  }
  const randkey = random(FIELD)
  const keySalt = random(FIELD)
  const vectorSalt = random(FIELD)
  const plain = Buffer.alloc(FIELD)
  secret.copy(plain)
  plain[secret.length] = 0x80
  const cipherText = createCipheriv('aes-128-cbc', deriveKey(randkey, keySalt), vectorSalt).setAutoPadding(false)
  const encrypted = Buffer.concat([cipherText.update(plain), cipherText.final()])

  const cipher = Buffer.alloc(CIPHER_SIZE)
  encrypted.copy(cipher, 0)
  keySalt.copy(cipher, 17)
  vectorSalt.copy(cipher, 34)
  cipher.writeUInt32LE(legacyCrc32(cipher.subarray(0, 52)), 52)
  const rand = Buffer.alloc(RAND_SIZE)
  randkey.copy(rand, 0)
  rand.writeUInt32LE(legacyCrc32(rand.subarray(0, 20)), 20)
  return { cipher, rand }
}

/**
 * Write `<prefix>.key.cipher` and `<prefix>.key.rand` (mode 0600) for `passphrase`, e.g.
 * encryptKeyPassphrase('fixtures/sslcert/client', 'Gauss@123').
 */
export async function encryptKeyPassphrase(
  prefix: string,
  passphrase: string,
): Promise<{ cipherFile: string; randFile: string }> {
  const pair = encryptKeyPassphraseBytes(passphrase)
  const cipherFile = `${prefix}.key.cipher`
  const randFile = `${prefix}.key.rand`
  await writeFile(cipherFile, pair.cipher, { mode: 0o600 })
  await writeFile(randFile, pair.rand, { mode: 0o600 })
  return { cipherFile, randFile }
}

/** Read a pair from disk and return the passphrase. */
export async function readKeyPassphrase(cipherFile: string, randFile: string): Promise<string> {
  const [cipher, rand] = await Promise.all([readFile(cipherFile), readFile(randFile)])
  return decryptKeyPassphrase(cipher, rand, { cipher: cipherFile, rand: randFile })
}

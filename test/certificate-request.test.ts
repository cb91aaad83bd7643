/**
 * Reading a server's handshake for a CertificateRequest (sslcertmode=require), on hand-built TLS
 * 1.2 records; TLS 1.3 (encrypted) is exercised against real servers in the libpq comparison.
 */
import t from 'tap'
import { certificateRequestIn } from '../lib/engine/tls/certificate-request.js'

const handshake = (type: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body])
const record = (type: number, fragment: Buffer): Buffer =>
  Buffer.concat([Buffer.from([type, 3, 3, fragment.length >> 8, fragment.length & 0xff]), fragment])
/** A TLS 1.2 ServerHello: version, random, empty session id, suite, no compression, no extensions. */
const serverHello12 = handshake(
  2,
  Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0, 0xc0, 0x2f, 0])]),
)
const certificate = handshake(11, Buffer.from([0, 0, 0]))
const certificateRequest = handshake(13, Buffer.from([1, 1, 0, 0, 0, 0]))
const helloDone = handshake(14, Buffer.alloc(0))

t.test('TLS 1.2: CertificateRequest before ServerHelloDone', async (t) => {
  t.equal(
    certificateRequestIn(
      record(22, Buffer.concat([serverHello12, certificate, certificateRequest, helloDone])),
      undefined,
    ),
    'requested',
  )
  t.equal(
    certificateRequestIn(record(22, Buffer.concat([serverHello12, certificate, helloDone])), undefined),
    'not-requested',
  )
  // Messages split across records, and several records in one read.
  const all = Buffer.concat([serverHello12, certificate, certificateRequest, helloDone])
  t.equal(
    certificateRequestIn(Buffer.concat([record(22, all.subarray(0, 7)), record(22, all.subarray(7))]), undefined),
    'requested',
  )
})

t.test('what cannot be read is unknown, never a guess', async (t) => {
  t.equal(certificateRequestIn(Buffer.from('garbage, not TLS'), undefined), 'unknown')
  t.equal(certificateRequestIn(record(22, serverHello12).subarray(0, 20), undefined), 'unknown', 'a truncated record')
  t.equal(certificateRequestIn(record(22, serverHello12), undefined), 'unknown', 'the handshake did not get far enough')
  // A TLS 1.3 ServerHello (supported_versions = 0x0304) without the handshake secret.
  const hello13 = handshake(
    2,
    Buffer.concat([
      Buffer.from([3, 3]),
      Buffer.alloc(32),
      Buffer.from([0, 0x13, 0x01, 0]),
      Buffer.from([0, 6, 0, 43, 0, 2, 3, 4]),
    ]),
  )
  t.equal(
    certificateRequestIn(Buffer.concat([record(22, hello13), record(23, Buffer.alloc(40))]), undefined),
    'unknown',
  )
})

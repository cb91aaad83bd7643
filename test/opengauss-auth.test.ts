/**
 * openGauss password algorithms: known answers computed outside this code (Python hashlib/hmac
 * from the published algorithm), so a mistake in ours cannot hide behind a round trip.
 */
import t from 'tap'
import {
  md5Sha256Response,
  postgresMd5Response,
  sha256Response,
  sha256ServerSignature,
} from '../lib/postgres/opengauss/auth.js'

const password = 'Gauss@123'
const salt = '0123456789abcdef'.repeat(4)
const token = '89abcdef'

t.equal(
  sha256Response(password, salt, token, 10000),
  '24c1aea9b952aace2fe0cb6619b66218950dd406aafc02af3790ad674e90a4cb',
  'SHA256 proof',
)
t.equal(
  sha256ServerSignature(password, salt, token, 10000),
  'dfcb582a62b57fd19ee994f02587882ba104c2e10b3318ad2020e945ea890bf5',
  'SHA256 server signature',
)
t.equal(
  md5Sha256Response(password, salt, Buffer.from('01020304', 'hex')),
  'md52ba795c9d288d7dd9c4265e40eb7e904',
  'MD5_SHA256 response',
)
t.not(
  sha256Response(password, salt, token, 9999),
  sha256Response(password, salt, token, 10000),
  'the iteration count matters',
)
// PostgreSQL's md5: md5(md5("secret" + "app") + salt), computed with Python hashlib.
t.equal(
  postgresMd5Response('app', 'secret', Buffer.from('01020304', 'hex')),
  'md5911f527656472583a006e7727877b33e',
  'PostgreSQL MD5 response',
)

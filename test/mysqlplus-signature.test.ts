/** QingCloud request signing for the MySQL Plus switch, checked against the provider's worked example. */
import t from 'tap'
import { canonicalQuery, encodeRfc3986, signature, signedQuery } from '../lib/mysqlplus/signature.js'

// The provider's "签名方法" page: this key, these parameters, this signature.
const EXAMPLE = {
  count: 1,
  'vxnets.1': 'vxnet-0',
  zone: 'pek3a',
  instance_type: 'small_b',
  signature_version: 1,
  signature_method: 'HmacSHA256',
  instance_name: 'demo',
  image_id: 'centos64x86a',
  login_mode: 'passwd',
  login_passwd: 'QingCloud20130712',
  version: 1,
  access_key_id: 'QYACCESSKEYIDEXAMPLE',
  action: 'RunInstances',
  time_stamp: '2013-08-27T14:30:10Z',
}

t.test("the provider's worked example", async (t) => {
  t.equal(
    canonicalQuery(EXAMPLE),
    [
      'access_key_id=QYACCESSKEYIDEXAMPLE&action=RunInstances&count=1&image_id=centos64x86a&instance_name=demo',
      'instance_type=small_b&login_mode=passwd&login_passwd=QingCloud20130712&signature_method=HmacSHA256',
      'signature_version=1&time_stamp=2013-08-27T14%3A30%3A10Z&version=1&vxnets.1=vxnet-0&zone=pek3a',
    ].join('&'),
    'sorted by name, values encoded',
  )
  t.equal(signature(EXAMPLE, 'SECRETACCESSKEY'), 'byjccvWIvAftaq+oublemagH3bYAlDWxxLFAzAsyslw=')
  t.match(
    signedQuery(EXAMPLE, 'SECRETACCESSKEY'),
    /&signature=byjccvWIvAftaq%2BoublemagH3bYAlDWxxLFAzAsyslw%3D$/,
    'the signature is URL-encoded in the query',
  )
})

t.test('encoding: RFC 3986, upper-case hex, %20 for a space', async (t) => {
  t.equal(encodeRfc3986('a b:c/d'), 'a%20b%3Ac%2Fd')
  t.equal(encodeRfc3986("-_.~!*'()"), '-_.~%21%2A%27%28%29')
  t.equal(
    encodeRfc3986('{"configssl":"YES"}'),
    '%7B%22configssl%22%3A%22YES%22%7D',
    'service_params as the seed shows it',
  )
  t.equal(encodeRfc3986('é'), '%C3%A9')
})

t.test('a changed parameter or secret changes the signature', async (t) => {
  const base = signature(EXAMPLE, 'SECRETACCESSKEY')
  t.not(signature({ ...EXAMPLE, zone: 'pek1' }, 'SECRETACCESSKEY'), base)
  t.not(signature(EXAMPLE, 'SECRETACCESSKEY2'), base)
})

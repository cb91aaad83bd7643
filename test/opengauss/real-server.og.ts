/**
 * Against a real openGauss (npm run test:opengauss starts one with Docker; see
 * scripts/opengauss/). Not part of npm test; without OPENGAUSS_HOST it says so and runs nothing.
 */
import t from 'tap'
import { connect } from '../../lib/index.js'
import { privateCopy } from '../../scripts/harness.js'
import { serverView } from '../support.js'

const host = process.env.OPENGAUSS_HOST
if (!host) {
  t.comment('OPENGAUSS_HOST is not set: start openGauss with npm run test:opengauss')
} else {
  const base = {
    host,
    port: Number(process.env.OPENGAUSS_PORT ?? 15432),
    user: process.env.OPENGAUSS_USER ?? 'gaussdb',
    password: process.env.GS_PASSWORD ?? 'Gauss@1234',
    dbname: 'postgres',
    env: {},
  }
  for (const dialect of ['opengauss', 'gaussdb'] as const) {
    t.test(`${dialect}: sha256 login, verify-ca, TLS 1.2`, async (t) => {
      const client = await connect({ ...base, dialect, sslmode: 'verify-ca', sslrootcert: privateCopy('ca.crt') })
      t.equal(client.security.protocol, 'TLSv1.2')
      t.equal(client.security.outcome, 'encrypted-verified')
      t.equal((await serverView(client).catch(() => ({ ssl: true }))).ssl, true)
      await client.end()
    })
    t.test(`${dialect}: verify-full is refused before connecting`, async (t) => {
      await t.rejects(connect({ ...base, dialect, sslmode: 'verify-full', sslrootcert: privateCopy('ca.crt') }), {
        code: 'UNSUPPORTED_SSLMODE',
      })
    })
    t.test(`${dialect}: allow follows require_ssl`, async (t) => {
      const client = await connect({ ...base, dialect, sslmode: 'allow' })
      t.equal(client.security.encrypted, process.env.REQUIRE_SSL === 'on')
      await client.end()
    })
  }
}

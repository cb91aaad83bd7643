/**
 * The attempt plan for every (sslmode × dialect × root CA × transport), written out by hand from
 * libpq's behaviour (fe-connect.c; docs/modes.md, docs/dialects.md) — not derived from the code under test.
 */
import t from 'tap'
import { planAttempts, type PlanInput } from '../lib/postgres/plan.js'
import { PgSslError } from '../lib/engine/errors.js'
import { DIALECT_NAMES } from '../lib/postgres/dialects.js'
import { SSL_MODES } from '../lib/postgres/settings/keywords.js'

// Compact notation: P = plaintext, S = SSL, S+c = SSL verifying the chain, S+ch = chain + host name.
// After '>' the trigger of a follow-up attempt: ssl-failed (prefer), plaintext-rejected (allow).
type Expected = { attempts: string; effective?: string } | { error: string }

function expected(
  mode: string,
  dialect: string,
  root: 'file' | 'system' | 'none',
  transport: 'tcp' | 'unix',
): Expected {
  const pgFamily = dialect === 'postgres'
  if (mode === 'verify-full' && !pgFamily) return { error: 'UNSUPPORTED_SSLMODE' }
  if (root === 'system' && mode !== 'verify-full') return { error: 'INVALID_SETTING' }
  if (transport === 'unix') return { attempts: 'P' }
  const c = root === 'none' ? '' : '+c'
  switch (mode) {
    case 'disable':
      return { attempts: 'P' }
    case 'allow':
      return { attempts: `P, S${c}>plaintext-rejected` }
    case 'prefer':
      return { attempts: `S${c}, P>ssl-failed` }
    case 'require':
      return root === 'none' ? { attempts: 'S' } : { attempts: 'S+c', effective: 'verify-ca' }
    case 'verify-ca':
      return root === 'none' ? { error: 'ROOT_CERT_MISSING' } : { attempts: 'S+c' }
    case 'verify-full':
      return root === 'none' ? { error: 'ROOT_CERT_MISSING' } : { attempts: 'S+ch' }
  }
  throw new Error(mode)
}

function render(input: PlanInput): Expected {
  try {
    const plan = planAttempts(input)
    const attempts = plan.attempts
      .map((a) => {
        const base = a.ssl ? `S${a.verifyChain ? '+c' : ''}${a.verifyHostname ? 'h' : ''}` : 'P'
        return a.trigger === 'first' ? base : `${base}>${a.trigger}`
      })
      .join(', ')
    return plan.effectiveMode === input.sslmode ? { attempts } : { attempts, effective: plan.effectiveMode }
  } catch (error) {
    if (error instanceof PgSslError) return { error: error.code }
    throw error
  }
}

let combinations = 0
for (const dialect of DIALECT_NAMES) {
  for (const sslmode of SSL_MODES) {
    for (const rootCert of ['file', 'system', 'none'] as const) {
      for (const transport of ['tcp', 'unix'] as const) {
        combinations++
        t.same(
          render({ sslmode, dialect, rootCert, transport }),
          expected(sslmode, dialect, rootCert, transport),
          `${dialect} ${sslmode} root=${rootCert} ${transport}`,
        )
      }
    }
  }
}
t.equal(combinations, 3 * 6 * 3 * 2, 'every combination is covered')

t.test('plan notes explain what the mode name does not say', async (t) => {
  const require = planAttempts({ sslmode: 'require', dialect: 'postgres', rootCert: 'file', transport: 'tcp' })
  t.match(require.notes.join('\n'), /verifies the server certificate chain like verify-ca/)
  const unix = planAttempts({ sslmode: 'verify-ca', dialect: 'postgres', rootCert: 'file', transport: 'unix' })
  t.match(unix.notes.join('\n'), /never used over a Unix-domain socket/)
  const prefer = planAttempts({ sslmode: 'prefer', dialect: 'postgres', rootCert: 'none', transport: 'tcp' })
  t.same(prefer.notes, [])
})

t.test('verify-full is refused by the openGauss dialects with a hint naming verify-ca', async (t) => {
  for (const dialect of ['opengauss', 'gaussdb'] as const) {
    const error = t.throws(() =>
      planAttempts({ sslmode: 'verify-full', dialect, rootCert: 'file', transport: 'tcp' }),
    ) as PgSslError
    t.equal(error.code, 'UNSUPPORTED_SSLMODE')
    t.equal(error.setting, 'sslmode')
    t.match(error.hint, /verify-ca/)
  }
})

t.test('sslnegotiation=direct: SSL attempts start TLS at once; weak modes are refused (libpq 17)', async (t) => {
  for (const sslmode of ['disable', 'allow', 'prefer'] as const) {
    t.throws(
      () => planAttempts({ sslmode, dialect: 'postgres', rootCert: 'file', transport: 'tcp', negotiation: 'direct' }),
      { code: 'INVALID_SETTING', setting: 'sslnegotiation', message: new RegExp(`weak sslmode "${sslmode}"`) },
    )
  }
  const direct = planAttempts({
    sslmode: 'verify-full',
    dialect: 'postgres',
    rootCert: 'file',
    transport: 'tcp',
    negotiation: 'direct',
  })
  t.same(
    direct.attempts.map((a) => a.direct),
    [true],
  )
  t.equal(direct.negotiation, 'direct')
  t.same(
    planAttempts({ sslmode: 'require', dialect: 'postgres', rootCert: 'none', transport: 'tcp' }).attempts.map(
      (a) => a.direct ?? false,
    ),
    [false],
  )
})

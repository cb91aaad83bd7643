/**
 * The keyword census: every keyword the libpq 18 at hand lists (PQconndefaults through ctypes) is
 * in KEYWORDS, the table the code reads, and is honoured, refused by name with a reason, or
 * ignored with a reason; its environment variable is libpq's; libpq's secrets are ours; and every
 * keyword of ours that libpq 18 does not list says why it is still taken. A keyword a later libpq
 * adds fails here until it is decided, so none can be ignored in silence.
 */
import t from 'tap'
import { connectionSettings } from '../lib/postgres/connection-settings.js'
import { KEYWORDS, keyword } from '../lib/postgres/settings/keywords.js'
import type { SettingsIo } from '../lib/postgres/settings/merge.js'
import { libpq18Keywords, libpq18Problem } from './oracles/libpq18.js'

const problem = libpq18Problem()
if (problem && process.env.CI === 'true') throw new Error(`libpq 18 is required in CI: ${problem}`)

/**
 * Where our default is written differently from libpq's compiled-in one, and why it is the same
 * connection (PQconndefaults shows "" for defaults libpq applies in code).
 */
const DEFAULTS_WRITTEN_OUT: Record<string, string> = {
  keepalives: 'libpq leaves it empty and keeps keep-alives on; so does 1',
  sslcertmode: "libpq built with SSL applies 'allow' in code (DefaultSSLCertMode)",
  gssencmode: "libpq without GSSAPI shows 'disable'; 'prefer' without GSSAPI is the same connection",
  krbsrvname: 'ignored: Node has no GSSAPI',
}

t.test('every libpq 18 keyword is decided', { skip: problem ?? false }, async (t) => {
  const { version, keywords } = libpq18Keywords()
  t.ok(version >= 180000, `libpq ${version}`)
  t.ok(keywords.length >= 50, `libpq 18 lists ${keywords.length} keywords`)
  for (const theirs of keywords) {
    const ours = keyword(theirs.keyword)
    if (!ours) {
      t.fail(
        `${theirs.keyword}: in libpq 18, not in KEYWORDS — honour it, refuse it with a reason, or ignore it with one`,
      )
      continue
    }
    const decided =
      ours.use === 'honoured' || ((ours.use === 'refused' || ours.use === 'ignored') && (ours.why ?? '').length > 0)
    t.ok(decided, `${ours.name}: ${ours.use}${ours.why ? ` (${ours.why})` : ''}`)
    t.equal(ours.env ?? '', theirs.envvar, `${ours.name}: the environment variable is libpq's`)
    if (theirs.dispchar === '*') t.ok(ours.secret, `${ours.name}: a secret in libpq, never shown here`)
    if ((ours.default ?? '') !== theirs.compiled) {
      t.ok(DEFAULTS_WRITTEN_OUT[ours.name], `${ours.name}: default ${ours.default} / libpq ${theirs.compiled}`)
    }
  }
  const listed = new Set(keywords.map((k) => k.keyword))
  for (const ours of KEYWORDS.filter((k) => !listed.has(k.name))) {
    t.ok(ours.notInLibpq18, `${ours.name}: not a libpq 18 keyword — ${ours.notInLibpq18 ?? 'say why it is taken'}`)
  }
  for (const ours of KEYWORDS.filter((k) => listed.has(k.name))) {
    t.notOk(ours.notInLibpq18, `${ours.name} is libpq 18's`)
  }
})

t.test('a refused secret keyword is refused without its value', async (t) => {
  const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
  for (const k of KEYWORDS.filter((k) => k.secret && k.use === 'refused')) {
    let refusal: (Error & { code?: string }) | undefined
    try {
      connectionSettings({ env: {}, connectionString: `${k.name}=s3cret-value` }, noFiles)
    } catch (error) {
      refusal = error as Error & { code?: string }
    }
    t.equal(refusal?.code, 'INVALID_SETTING', `${k.name}: ${refusal?.message}`)
    t.notMatch(refusal?.message ?? '', /s3cret-value/, `${k.name}: the value is not shown`)
  }
})

t.test('servicefile: libpq 18 has no such keyword; PGSERVICEFILE is read', async (t) => {
  const noFiles: SettingsIo = { fileExists: () => false, homeDirectory: () => '/home/test' }
  t.throws(() => connectionSettings({ env: {}, connectionString: 'service=a servicefile=/etc/x.conf' }, noFiles), {
    code: 'INVALID_SETTING',
    setting: 'servicefile',
    hint: /PGSERVICEFILE/,
  })
  t.throws(() => connectionSettings({ env: {}, connectionString: 'postgresql:///?servicefile=/etc/x.conf' }, noFiles), {
    code: 'INVALID_SETTING',
    setting: 'servicefile',
  })
  t.doesNotThrow(() => connectionSettings({ env: { PGSERVICEFILE: '/etc/x.conf' } }, noFiles), 'PGSERVICEFILE alone')
})

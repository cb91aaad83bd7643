/**
 * The MySQL option census (docs/mysql.md, "Option census"): every option of the MySQL 8.4 client
 * listed there is honoured, ignored with a reason, or refused by name with a reason — and does so
 * when an option file holds it; the code knows no option the table does not list, and gives the
 * same reasons. The libpq side's census is test/keyword-census.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MYSQL_SETTINGS, OTHER_CLIENT_OPTIONS, UNSUPPORTED_OPTIONS } from '../lib/mysql/option-names.js'
import { mergeMysqlSettings } from '../lib/mysql/settings.js'

const page = readFileSync(new URL('../docs/mysql.md', import.meta.url), 'utf8')
const section = page.slice(
  page.indexOf('## Option census'),
  page.indexOf('\n## ', page.indexOf('## Option census') + 1),
)
const rows = [...section.matchAll(/^\| `([a-z0-9-]+)` \| (honoured|ignored|refused) \| (.+) \|$/gm)].map(
  ([, name, place, why]) => ({ name: name!, place: place!, why: why! }),
)

t.test('the table is there and lists each option once', async (t) => {
  t.ok(rows.length > 100, `${rows.length} options`)
  t.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'no option twice')
})

t.test('each option has its place in the code, with the reason the table gives', async (t) => {
  for (const { name, place, why } of rows) {
    const honoured = MYSQL_SETTINGS.find((s) => s.name === name)
    if (place === 'honoured') t.ok(honoured, `${name}: honoured`)
    else if (place === 'ignored') t.equal(OTHER_CLIENT_OPTIONS.get(name), why, `${name}: ignored, because ${why}`)
    else t.equal(UNSUPPORTED_OPTIONS.get(name), why, `${name}: refused, because ${why}`)
  }
  const listed = new Set(rows.map((r) => r.name))
  const known = [...MYSQL_SETTINGS.map((s) => s.name), ...OTHER_CLIENT_OPTIONS.keys(), ...UNSUPPORTED_OPTIONS.keys()]
  t.same(
    known.filter((name) => !listed.has(name)),
    [],
    'the code knows no option the census does not list',
  )
})

t.test('in an option file: ignored options are read without complaint, refused ones by name', async (t) => {
  const dir = t.testdir()
  for (const { name, place, why } of rows.filter((r) => r.place !== 'honoured')) {
    const file = join(dir, `${name}.cnf`)
    writeFileSync(file, `[client]\nhost=db.example\n${name}=x\n`)
    const read = () => mergeMysqlSettings({ env: { HOME: dir }, optionFiles: { defaultsFile: file } })
    if (place === 'ignored') {
      t.equal(read().values.get('host')?.value, 'db.example', `${name}: ignored`)
      continue
    }
    let refusal: { code?: string; setting?: string; message?: string } = {}
    try {
      read()
    } catch (error) {
      refusal = error as typeof refusal
    }
    t.match(refusal, { code: 'OPTION_FILE_INVALID', setting: name }, `${name}: refused`)
    t.ok(refusal.message?.includes(`"${name}"`) && refusal.message.includes(why), `${name}: by name, with the reason`)
    writeFileSync(file, `[client]\nloose-${name}=x\n`)
    t.doesNotThrow(read, `loose-${name}: kept for other programs`)
  }
})

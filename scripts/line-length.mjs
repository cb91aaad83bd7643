// The one formatting rule Biome does not check: no source line over 120 characters (Biome's
// formatter wraps code at 120, but cannot break a long string, comment or regular expression).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const LIMIT = 120
const files = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', 'lib', 'test', 'scripts'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => /\.(ts|mts|mjs|js)$/.test(f) && !f.startsWith('test/fixtures/'))
const long = []
for (const file of files) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    continue // listed by git, deleted in the working tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > LIMIT) long.push(`${file}:${i + 1}: ${line.length} characters`)
  })
}
if (long.length > 0) {
  console.error(`${long.length} line(s) over ${LIMIT} characters:\n${long.join('\n')}`)
  process.exit(1)
}
console.log(`line length: ${files.length} files, no line over ${LIMIT} characters`)

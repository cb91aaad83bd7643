/**
 * `npm run lint` is part of the suite: Biome (formatter and linter, biome.jsonc) with zero
 * diagnostics, no source line over 120 characters (scripts/line-length.mjs), and no module under
 * lib/ over 400 lines or function over 80 (scripts/sizes.mjs).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'

t.test('npm run lint: no diagnostics, no line over 120 characters, sizes kept', async (t) => {
  const root = new URL('..', import.meta.url).pathname
  const run = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: root, encoding: 'utf8' })
  t.equal(run.status, 0, `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-40).join('\n'))
})

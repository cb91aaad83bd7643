/**
 * `pg-sslmode scan --html FILE` in a real headless Chromium (Debian's chromium): the page loads
 * without console errors, its script runs (the severity summary is filled in), it shows the
 * findings, and it is self-contained (no request leaves the page). A page with a broken script is
 * run the same way first, so that a console error is known to be seen.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startCluster } from '../../scripts/harness.js'
import { CLI_BIN, endsWithNoOpenSockets } from '../support.js'

const chromium = ['chromium', 'chromium-browser'].find((bin) => spawnSync(bin, ['--version']).status === 0)
if (!chromium && process.env.CI === 'true') throw new Error('chromium is required in CI (Debian package chromium)')

/** The page's DOM after its scripts ran, and the console messages Chromium logged. */
function inChromium(file: string, dir: string): { dom: string; console: string[] } {
  const run = spawnSync(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--enable-logging=stderr',
      '--v=0',
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  )
  return { dom: run.stdout, console: run.stderr.split('\n').filter((line) => /:CONSOLE[:(]/.test(line)) }
}

t.test('the HTML report in Chromium', { skip: chromium ? false : 'chromium is not installed' }, async (t) => {
  const dir = t.testdir()
  const broken = join(dir, 'broken.html')
  writeFileSync(broken, '<!doctype html><title>x</title><script>undefinedFunction()</script>')
  t.ok(inChromium(broken, dir).console.length > 0, 'a script error is seen as a console message')

  const cluster = await startCluster({ ssl: true })
  t.teardown(() => cluster.stop())
  const file = join(dir, 'scan.html')
  const bin = CLI_BIN
  const scan = spawnSync(process.execPath, [bin, 'scan', `${cluster.host}:${cluster.port}`, '--html', file], {
    encoding: 'utf8',
  })
  t.equal(scan.status, 1, 'a plaintext start-up is accepted: a high finding')
  const page = readFileSync(file, 'utf8')
  t.notMatch(page, /<(link|img|iframe)\b|\bsrc=|https?:\/\//, 'no external asset: one self-contained page')
  const { dom, console: messages } = inChromium(file, dir)
  t.same(messages, [], 'no console message: the page loads without errors')
  // High: the plaintext start-up, and the SEED suites PostgreSQL's default ssl_ciphers (MEDIUM) keep.
  const highs = (page.match(/<tr class="high"/g) ?? []).length
  t.ok(highs >= 1)
  t.match(
    dom,
    new RegExp(`<span id="summary">${highs} high, \\d+ low, \\d+ info</span>`),
    'its script ran: the summary is filled in',
  )
  t.match(dom, /plaintext-startup/, 'the findings are shown')
  t.match(dom, /TLSv1\.3<\/td><td>offered/, 'and the protocols')
})

endsWithNoOpenSockets(t)

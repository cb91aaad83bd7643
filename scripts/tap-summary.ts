/**
 * Reads TAP (tap's `-R tap` output) on stdin and prints the plain closing line CI expects:
 * "N passed, N failed" (", N skipped" when some were), counting every assertion of every
 * subtest. A subtest's own summary line is not counted again, except when the subtest failed
 * without a failing assertion of its own (it crashed or timed out): that counts as one failure.
 * Exits 1 when anything failed, when the stream did not end well, or when nothing ran.
 */
import { Parser, type Result } from 'tap-parser'

const totals = { passed: 0, failed: 0, skipped: 0 }

/** Counts the assertions of `parser` and its subtests; returns its live failure count. */
function attach(parser: Parser): { failed: number } {
  const own = { failed: 0 }
  const children: Array<{ failed: number }> = []
  parser.on('child', (child: Parser) => children.push(attach(child)))
  parser.on('assert', (result: Result) => {
    const child = children.shift()
    if (child) {
      // The summary of a subtest: only count it if nothing inside explains its failure.
      if (!result.ok && !result.todo && child.failed === 0) {
        totals.failed++
        own.failed++
      }
      own.failed += child.failed
      return
    }
    if (result.skip || result.todo) totals.skipped++
    else if (result.ok) totals.passed++
    else {
      totals.failed++
      own.failed++
    }
  })
  return own
}

const root = new Parser((results) => {
  const { passed, failed, skipped } = totals
  console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
  process.exitCode = failed > 0 || passed === 0 || !results.ok ? 1 : 0
})
attach(root)
process.stdin.pipe(root)

// Sizes under lib/ (docs/architecture.md): no module over 400 lines, no function over 80 — split
// by job when one grows. Functions are found with TypeScript's own parser, nested ones included.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'

const MAX_FILE_LINES = 400
const MAX_FUNCTION_LINES = 80
const sources = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith('.ts') ? [path] : []
  })
const problems = []
let functions = 0
for (const file of sources('lib')) {
  const text = readFileSync(file, 'utf8')
  const lines = text.split('\n').length
  if (lines > MAX_FILE_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_FILE_LINES})`)
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      functions++
      const from = source.getLineAndCharacterOfPosition(node.getStart()).line
      const to = source.getLineAndCharacterOfPosition(node.getEnd()).line
      const length = to - from + 1
      const name = node.name?.getText(source) ?? '(a function expression)'
      if (length > MAX_FUNCTION_LINES) {
        problems.push(`${file}:${from + 1}: ${name} is ${length} lines (at most ${MAX_FUNCTION_LINES})`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
}
if (problems.length > 0) {
  console.error(`${problems.length} size problem(s):\n${problems.join('\n')}`)
  process.exit(1)
}
console.log(`sizes: ${functions} functions, none over ${MAX_FUNCTION_LINES} lines; no module over ${MAX_FILE_LINES}`)

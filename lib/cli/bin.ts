#!/usr/bin/env node
/** Entry point of the `pg-sslmode` executable (package.json "bin"). */
import { main } from './main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`pg-sslmode: ${(error as Error)?.message ?? String(error)}\n`)
    process.exitCode = 1
  },
)

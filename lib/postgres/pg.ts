/**
 * pg — the application's own copy (pg is a peer dependency) — loaded as the CommonJS module it is
 * (`pg/lib/index`) and not through its ES-module wrapper: the wrapper copies Client and Pool into
 * its named exports when it is first evaluated, and pg-sslmode/register must have replaced them by
 * then (register.ts). Every module here takes pg from this one place.
 *
 * The built package loads it through requirePgFrom() (scripts/postbuild.mjs rewrites the import
 * below): a missing pg is then an error that names the install command, not a bare "Cannot find
 * package", and `pg/lib/index` resolves through require() in every pg 8 (before 8.15 pg has no
 * exports map). The source keeps the plain import for the type checker and the test runner.
 */
import './native-guard.js'
import { PgSslError } from '../engine/errors.js'
import type Pg from 'pg'
import pgModule from 'pg/lib/index'

/** pg, by `load` (the ES-module build's createRequire, the CommonJS build's require), or PEER_MISSING. */
export function requirePgFrom(load: (id: string) => unknown): unknown {
  try {
    return load('pg/lib/index')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new PgSslError(
      'PEER_MISSING',
      "pg-sslmode needs pg, which is not installed: pg is a peer dependency, the application's own pg is the one used",
      {
        setting: 'pg',
        hint: 'npm install pg (pg >=8.11.0 <9; npm 7+ and pnpm install it with pg-sslmode, Yarn 1 does not)',
      },
    )
  }
}

const pg = pgModule as unknown as typeof Pg
export default pg

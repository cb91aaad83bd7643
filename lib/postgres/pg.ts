/**
 * pg, loaded as the CommonJS module it is (`pg/lib/index`; the ES-module build says
 * `pg/lib/index.js`, which also resolves in pg before 8.15, which has no exports map: see
 * scripts/postbuild.mjs) and not through its ES-module
 * wrapper: the wrapper copies Client and Pool into its named exports when it is first evaluated,
 * and pg-sslmode/register must have replaced them by then (register.ts). Every module here takes
 * pg from this one place.
 */
import './native-guard.js'
import type Pg from 'pg'
import pgModule from 'pg/lib/index'

const pg = pgModule as unknown as typeof Pg
export default pg

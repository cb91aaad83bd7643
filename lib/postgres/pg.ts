/**
 * pg, loaded as the CommonJS module it is (`pg/lib/index.js`: a plain file before pg 8.15, an entry
 * of its exports map since) and not through its ES-module
 * wrapper: the wrapper copies Client and Pool into its named exports when it is first evaluated,
 * and pg-sslmode/register must have replaced them by then (register.ts). Every module here takes
 * pg from this one place.
 */
import './native-guard.js'
import type Pg from 'pg'
import pgModule from 'pg/lib/index.js'

const pg = pgModule as unknown as typeof Pg
export default pg

// pg's CommonJS entry point, which lib/pg.ts loads directly; typed as 'pg' there.
declare module 'pg/lib/index' {
  const pg: unknown
  export default pg
}

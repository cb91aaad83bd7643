/** The package's version, as in package.json (test/package.test.ts checks they agree). */
export const VERSION = '0.1.0'

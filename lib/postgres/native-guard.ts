/**
 * NODE_PG_FORCE_NATIVE makes pg's Client the pg-native one (libpq bindings), whose connections
 * pg-sslmode cannot see or shape. Refused loudly, before pg is loaded (lib/pg.ts imports this
 * first), rather than building SslClient on a client it cannot drive.
 */
import { PgSslError } from '../engine/errors.js'

if (process.env.NODE_PG_FORCE_NATIVE) {
  throw new PgSslError(
    'NATIVE_NOT_SUPPORTED',
    'NODE_PG_FORCE_NATIVE is set: pg would connect through pg-native, bypassing pg-sslmode',
    {
      setting: 'NODE_PG_FORCE_NATIVE',
    },
  )
}

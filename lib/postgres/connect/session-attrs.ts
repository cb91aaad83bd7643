/**
 * target_session_attrs, decided as libpq 14+ decides it (fe-connect.c, CONNECTION_CHECK_TARGET):
 * from the in_hot_standby and default_transaction_read_only parameters a PostgreSQL 14+ server
 * reports at start-up, else by asking (SHOW transaction_read_only, pg_is_in_recovery()). A host of
 * the wrong kind is closed and the next host is tried; prefer-standby makes a second pass that
 * takes any host when no standby was found.
 */
import { PgSslError } from '../../engine/errors.js'
import type { TargetSessionAttrs } from '../host-order.js'

/** What the check may ask the server when it did not report the parameters (older servers). */
export type AskServer = (sql: string) => Promise<string | undefined>

/**
 * undefined when the session is of the kind asked for, else libpq's message for it. `want` is
 * the pass's requirement: prefer-standby's first pass is 'standby', its second 'any'.
 */
export async function targetSessionMismatch(
  want: TargetSessionAttrs,
  parameters: Readonly<Record<string, string>>,
  ask: AskServer,
): Promise<string | undefined> {
  if (want === 'any') return undefined
  if (want === 'read-write' || want === 'read-only') {
    const hot = parameters.in_hot_standby
    const readOnlyDefault = parameters.default_transaction_read_only
    const readOnly =
      hot === undefined || readOnlyDefault === undefined
        ? (await ask('SHOW transaction_read_only')) === 'on'
        : hot === 'on' || readOnlyDefault === 'on'
    if (want === 'read-write' && readOnly) return 'session is read-only'
    if (want === 'read-only' && !readOnly) return 'session is not read-only'
    return undefined
  }
  const hot = parameters.in_hot_standby
  const standby = hot === undefined ? (await ask('SELECT pg_catalog.pg_is_in_recovery()')) === 't' : hot === 'on'
  if (want === 'primary' && standby) return 'server is in hot standby mode'
  if ((want === 'standby' || want === 'prefer-standby') && !standby) return 'server is not in hot standby mode'
  return undefined
}

export function mismatchError(message: string, want: TargetSessionAttrs): PgSslError {
  return new PgSslError('TARGET_SESSION_ATTRS_MISMATCH', message, {
    setting: 'target_session_attrs',
    hint: `target_session_attrs=${want}: this host is not of that kind; the next host is tried`,
  })
}

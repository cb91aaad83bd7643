/**
 * target_session_attrs decisions (libpq 14+, fe-connect.c CONNECTION_CHECK_TARGET), including the
 * path for servers that do not report in_hot_standby / default_transaction_read_only (before
 * PostgreSQL 14, openGauss): then the server is asked, with libpq's exact queries. The real
 * servers are in test/e2e/topology.test.ts.
 */
import t from 'tap'
import { targetSessionMismatch } from '../lib/postgres/connect/session-attrs.js'
import { shuffledOrder } from '../lib/postgres/host-order.js'

const PRIMARY = { in_hot_standby: 'off', default_transaction_read_only: 'off' }
const STANDBY = { in_hot_standby: 'on', default_transaction_read_only: 'off' }
const READ_ONLY_PRIMARY = { in_hot_standby: 'off', default_transaction_read_only: 'on' }
const never = async (): Promise<string> => {
  throw new Error('asked although the server reported the parameters')
}

t.test('from the parameters a PostgreSQL 14+ server reports', async (t) => {
  t.equal(await targetSessionMismatch('any', STANDBY, never), undefined)
  t.equal(await targetSessionMismatch('read-write', PRIMARY, never), undefined)
  t.equal(await targetSessionMismatch('read-write', STANDBY, never), 'session is read-only')
  t.equal(
    await targetSessionMismatch('read-write', READ_ONLY_PRIMARY, never),
    'session is read-only',
    'default_transaction_read_only counts',
  )
  t.equal(await targetSessionMismatch('read-only', PRIMARY, never), 'session is not read-only')
  t.equal(await targetSessionMismatch('read-only', READ_ONLY_PRIMARY, never), undefined)
  t.equal(
    await targetSessionMismatch('primary', READ_ONLY_PRIMARY, never),
    undefined,
    'primary is about recovery, not read-only',
  )
  t.equal(await targetSessionMismatch('primary', STANDBY, never), 'server is in hot standby mode')
  t.equal(await targetSessionMismatch('standby', PRIMARY, never), 'server is not in hot standby mode')
  t.equal(
    await targetSessionMismatch('prefer-standby', PRIMARY, never),
    'server is not in hot standby mode',
    'the first pass of prefer-standby',
  )
})

t.test("servers that report nothing are asked, with libpq's queries", async (t) => {
  const asked: string[] = []
  const answering =
    (answer: string) =>
    async (sql: string): Promise<string> => {
      asked.push(sql)
      return answer
    }
  t.equal(await targetSessionMismatch('read-write', {}, answering('on')), 'session is read-only')
  t.equal(await targetSessionMismatch('read-only', {}, answering('off')), 'session is not read-only')
  t.equal(await targetSessionMismatch('standby', {}, answering('t')), undefined)
  t.equal(await targetSessionMismatch('primary', {}, answering('t')), 'server is in hot standby mode')
  t.same(asked, [
    'SHOW transaction_read_only',
    'SHOW transaction_read_only',
    'SELECT pg_catalog.pg_is_in_recovery()',
    'SELECT pg_catalog.pg_is_in_recovery()',
  ])
})

t.test('load_balance_hosts=random: a permutation, every order possible', async (t) => {
  const seen = new Set<string>()
  let permutations = 0
  for (let i = 0; i < 300; i++) {
    const order = shuffledOrder(3)
    if ([...order].sort().join('') === '012') permutations++
    seen.add(order.join(''))
  }
  t.equal(permutations, 300, 'every order is a permutation of the hosts')
  t.equal(seen.size, 6, 'all six orders of three hosts appear')
  t.same(shuffledOrder(1), [0])
})

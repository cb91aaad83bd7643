/**
 *   pg-sslmode mysqlplus ssl on|off --cluster cl-… [--zone ZONE] [-f CONFIG] [--yes] [--configssl YES|NO|ON|OFF]
 *
 * Switches SSL of a MySQL Plus cluster through the cloud API (mysqlplus/switch.ts) and follows the
 * job until it ends, showing its progress. The switch restarts the database, so it asks first —
 * and refuses without a terminal unless --yes. The secret key is never printed.
 */
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline/promises'
import { isPgSslError } from '../engine/errors.js'
import { setMysqlPlusSsl, type ConfigSslValue } from '../mysqlplus/switch.js'

export const MYSQLPLUS_USAGE = `usage: pg-sslmode mysqlplus ssl on|off --cluster CLUSTER-ID [--zone ZONE]
                                  [-f CONFIG] [--yes] [--configssl YES|NO|ON|OFF]

Switches SSL transport encryption of a MySQL Plus cluster on or off (RunClusterCustomService,
service configuring_SSL) and waits for the job. The database restarts. Credentials and endpoint:
-f CONFIG, else ~/.qingcloud/config.yaml (qy_access_key_id, qy_secret_access_key, zone, host,
port, protocol), else QY_ACCESS_KEY_ID / QY_SECRET_ACCESS_KEY / QY_ZONE. configssl is sent as
YES / NO (the API's parameter table); --configssl ON sends the spelling of its request example.
Exit code 0 when the job succeeded, 1 when it failed or the API refused, 2 for a usage error or
when not confirmed.`

export interface CliIo {
  readonly out: NodeJS.WritableStream
  readonly err: NodeJS.WritableStream
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly pollIntervalMs?: number
  readonly timeoutMs?: number
}

export async function mysqlplusMain(argv: string[], io: CliIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        cluster: { type: 'string' },
        zone: { type: 'string' },
        file: { type: 'string', short: 'f' },
        yes: { type: 'boolean', default: false },
        configssl: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    io.err.write(`${(error as Error).message}\n${MYSQLPLUS_USAGE}\n`)
    return 2
  }
  const [what, state, ...rest] = parsed.positionals
  const { cluster, zone, file, yes, configssl, help } = parsed.values
  if (help) {
    io.out.write(`${MYSQLPLUS_USAGE}\n`)
    return 0
  }
  if (
    what !== 'ssl' ||
    (state !== 'on' && state !== 'off') ||
    rest.length > 0 ||
    !cluster ||
    (configssl !== undefined && !['YES', 'NO', 'ON', 'OFF'].includes(configssl))
  ) {
    io.err.write(`${MYSQLPLUS_USAGE}\n`)
    return 2
  }
  const enabled = state === 'on'
  if (!yes) {
    if (!io.stdin.isTTY) {
      io.err.write(
        `refusing to switch SSL ${state} on ${cluster} without confirmation: the database restarts. ` +
          `Run in a terminal, or pass --yes.\n`,
      )
      return 2
    }
    const rl = createInterface({ input: io.stdin, output: io.err })
    const answer = await rl.question(`Switching SSL ${state} restarts the database of ${cluster}. Go on? [y/N] `)
    rl.close()
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.err.write('not confirmed: nothing was changed\n')
      return 2
    }
  }
  try {
    const result = await setMysqlPlusSsl({
      cluster,
      enabled,
      ...(zone ? { zone } : {}),
      ...(configssl ? { configssl: configssl as ConfigSslValue } : {}),
      config: { ...(file ? { file } : {}), ...(io.env ? { env: io.env } : {}) },
      ...(io.pollIntervalMs !== undefined ? { pollIntervalMs: io.pollIntervalMs } : {}),
      ...(io.timeoutMs !== undefined ? { timeoutMs: io.timeoutMs } : {}),
      onProgress: ({ jobId, status, elapsedMs }) =>
        io.err.write(`job ${jobId}: ${status} (${(elapsedMs / 1000).toFixed(1)} s)\n`),
    })
    io.out.write(
      `SSL ${state} for ${result.cluster}: job ${result.jobId} successful ` +
        `(configssl=${result.configssl}, ${(result.elapsedMs / 1000).toFixed(1)} s)\n`,
    )
    return 0
  } catch (error) {
    const code = isPgSslError(error) ? ` [${(error as { code: string }).code}]` : ''
    io.err.write(`pg-sslmode mysqlplus: ${(error as Error)?.message ?? error}${code}\n`)
    const hint = (error as { hint?: string }).hint
    if (hint) io.err.write(`hint: ${hint}\n`)
    return isPgSslError(error) && (error as { code: string }).code === 'INVALID_SETTING' ? 2 : 1
  }
}

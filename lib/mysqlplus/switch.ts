/**
 * The MySQL Plus SSL switch (the provider's configuring_SSL custom service): one signed
 * RunClusterCustomService call, then the job it returns followed with DescribeJobs until it
 * succeeds or fails. Switching restarts the database (the provider says so): the CLI asks first.
 */
import { PgSslError } from '../engine/errors.js'
import { loadApiConfig, type ApiConfig, type ConfigSource } from './config.js'
import { signedQuery, type ApiParams } from './signature.js'

/**
 * The provider's parameter table says configssl takes YES / NO; its request example sends
 * {"configssl":"ON"}. YES / NO are sent unless the caller asks for the other spelling.
 */
export type ConfigSslValue = 'YES' | 'NO' | 'ON' | 'OFF'

export interface MysqlPlusSslOptions {
  /** Cluster ID, e.g. cl-ouhutv70. */
  readonly cluster: string
  /** true: SSL on (configssl YES); false: off (NO). */
  readonly enabled: boolean
  /** Zone (e.g. sh1a); default: the configuration's. */
  readonly zone?: string
  /** Send this configssl value instead of YES / NO. */
  readonly configssl?: ConfigSslValue
  /** The API key and endpoint, or where to read them (default ~/.qingcloud/config.yaml, then QY_* variables). */
  readonly config?: ApiConfig | ConfigSource
  /** Told when the call was accepted and at every job status seen. */
  readonly onProgress?: (progress: {
    readonly jobId: string
    readonly status: string
    readonly elapsedMs: number
  }) => void
  readonly pollIntervalMs?: number
  /** How long to wait for the job (default 30 minutes: the database restarts). */
  readonly timeoutMs?: number
  /** The clock for time_stamp (tests). */
  readonly now?: () => Date
}

export interface MysqlPlusSslResult {
  readonly jobId: string
  readonly status: 'successful'
  readonly cluster: string
  readonly configssl: ConfigSslValue
  readonly elapsedMs: number
}

const API_VERSION = 1
const CALL_TIMEOUT_MS = 30_000

/** time_stamp as the provider wants it: ISO 8601 in UTC without milliseconds. */
export function timeStamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** One signed GET to the API; resolves with the response when ret_code is 0. */
export async function callApi(
  config: ApiConfig,
  action: string,
  params: ApiParams,
  now: () => Date = () => new Date(),
): Promise<Record<string, unknown>> {
  const all: Record<string, string | number> = {
    ...params,
    action,
    access_key_id: config.accessKeyId,
    signature_method: 'HmacSHA256',
    signature_version: 1,
    time_stamp: timeStamp(now()),
    version: API_VERSION,
  }
  const query = signedQuery(all, config.secretAccessKey, config.uri)
  const url = `${config.protocol}://${config.host}:${config.port}${config.uri}?${query}`
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
  } catch (error) {
    throw new PgSslError(
      'MYSQLPLUS_API_ERROR',
      `${action}: the API at ${config.host}:${config.port} did not answer: ${(error as Error)?.message ?? error}`,
      { setting: config.source, cause: error },
    )
  }
  const text = await response.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new PgSslError('MYSQLPLUS_API_ERROR', `${action}: HTTP ${response.status}, not a JSON answer`, {
      setting: config.source,
    })
  }
  const retCode = Number(body.ret_code)
  if (!response.ok || retCode !== 0) {
    const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`
    throw new PgSslError(
      'MYSQLPLUS_API_ERROR',
      `${action} failed: ret_code ${Number.isNaN(retCode) ? '?' : retCode}: ${message}`,
      {
        setting: config.source,
        hint:
          retCode === 1100 || retCode === 1200 || /signature|access key/i.test(message)
            ? 'check qy_access_key_id / qy_secret_access_key (the key may be wrong or disabled)'
            : "the message is the provider's",
      },
    )
  }
  return body
}

export async function setMysqlPlusSsl(options: MysqlPlusSslOptions): Promise<MysqlPlusSslResult> {
  if (!/^cl-[a-z0-9]+$/i.test(options.cluster)) {
    throw new PgSslError('INVALID_SETTING', `invalid cluster ID "${options.cluster}"`, {
      setting: 'cluster',
      hint: 'a MySQL Plus cluster ID looks like cl-ouhutv70',
    })
  }
  const configssl: ConfigSslValue = options.configssl ?? (options.enabled ? 'YES' : 'NO')
  if (
    (['YES', 'ON'].includes(configssl) && !options.enabled) ||
    (['NO', 'OFF'].includes(configssl) && options.enabled)
  ) {
    throw new PgSslError(
      'INVALID_SETTING',
      `configssl=${configssl} contradicts ssl ${options.enabled ? 'on' : 'off'}`,
      { setting: 'configssl' },
    )
  }
  const config =
    options.config && 'accessKeyId' in options.config
      ? options.config
      : loadApiConfig(options.config as ConfigSource | undefined)
  const zone = options.zone ?? config.zone
  if (!zone)
    throw new PgSslError('MYSQLPLUS_CONFIG', 'no zone: pass --zone or set zone in the configuration', {
      setting: 'zone',
    })
  const now = options.now ?? (() => new Date())
  const started = Date.now()
  const answer = await callApi(
    config,
    'RunClusterCustomService',
    {
      cluster: options.cluster,
      role: 'maininstance',
      service: 'configuring_SSL',
      service_params: JSON.stringify({ configssl }),
      zone,
    },
    now,
  )
  const jobId = typeof answer.job_id === 'string' ? answer.job_id : ''
  if (!jobId)
    throw new PgSslError('MYSQLPLUS_API_ERROR', 'RunClusterCustomService answered without a job_id', {
      setting: config.source,
    })
  options.onProgress?.({ jobId, status: 'submitted', elapsedMs: Date.now() - started })
  const timeoutMs = options.timeoutMs ?? 30 * 60_000
  const interval = options.pollIntervalMs ?? 2000
  for (;;) {
    const jobs = await callApi(config, 'DescribeJobs', { 'jobs.1': jobId, zone }, now)
    const job = (Array.isArray(jobs.job_set) ? jobs.job_set : []).find(
      (j: { job_id?: unknown }) => j?.job_id === jobId,
    ) as { status?: unknown } | undefined
    const status = typeof job?.status === 'string' ? job.status : 'unknown'
    options.onProgress?.({ jobId, status, elapsedMs: Date.now() - started })
    if (status === 'successful')
      return { jobId, status, cluster: options.cluster, configssl, elapsedMs: Date.now() - started }
    if (status === 'failed' || status === 'done with failure') {
      throw new PgSslError(
        'MYSQLPLUS_JOB_FAILED',
        `job ${jobId} (configuring_SSL on ${options.cluster}) ended "${status}"`,
        { setting: 'cluster', hint: 'see the job in the console; the database may have been restarted' },
      )
    }
    if (Date.now() - started + interval > timeoutMs) {
      throw new PgSslError(
        'MYSQLPLUS_TIMEOUT',
        `job ${jobId} still "${status}" after ${Math.round((Date.now() - started) / 1000)} s`,
        { setting: 'cluster', hint: 'the switch may still finish: check the job in the console before trying again' },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

/**
 * The MySQL Plus switch end to end, against a local HTTP endpoint that plays the cloud API: it
 * recomputes every request's signature with its own code (checked by the provider's published
 * example below), checks every parameter, answers RunClusterCustomService with a job_id and
 * DescribeJobs with the job's status. The CLI is driven as a user would: confirmation, no
 * terminal, progress, exit codes; the secret never appears in what it prints.
 */
import t from 'tap'
import { createHmac } from 'node:crypto'
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { mysqlplusMain } from '../../lib/cli/mysqlplus.js'
import { setMysqlPlusSsl } from '../../lib/index.js'
import { CLI_BIN, endsWithNoOpenSockets } from '../support.js'

const KEY_ID = 'QYTESTKEYID'
const SECRET = 'test-secret-do-not-print'

/** The endpoint's own signing: byte-wise percent-encoding, written apart from lib/mysqlplus. */
function endpointEncode(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
function endpointSignature(params: Map<string, string>, secret: string): string {
  const query = [...params.keys()]
    .sort()
    .map((k) => `${endpointEncode(k)}=${endpointEncode(params.get(k)!)}`)
    .join('&')
  return createHmac('sha256', secret).update(`GET\n/iaas/\n${query}`).digest('base64')
}

interface Api {
  readonly port: number
  readonly calls: Array<Record<string, string>>
  /** Job statuses DescribeJobs answers, in turn (the last one repeats). */
  statuses: string[]
  runRetCode: number
  close(): Promise<void>
}

async function startApi(): Promise<Api> {
  const api = {
    calls: [] as Array<Record<string, string>>,
    statuses: ['pending', 'working', 'successful'],
    runRetCode: 0,
  } as Api & { calls: Array<Record<string, string>> }
  let describeCount = 0
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const reply = (body: Record<string, unknown>): void => void res.end(JSON.stringify(body))
    if (url.pathname !== '/iaas/') return reply({ ret_code: 1100, message: `unknown path ${url.pathname}` })
    const params = new Map<string, string>()
    for (const pair of url.search.slice(1).split('&')) {
      const [k, v = ''] = pair.split('=')
      params.set(decodeURIComponent(k!), decodeURIComponent(v))
    }
    const sent = params.get('signature')
    params.delete('signature')
    api.calls.push(Object.fromEntries(params))
    if (params.get('access_key_id') !== KEY_ID || sent !== endpointSignature(params, SECRET))
      return reply({ ret_code: 1200, message: 'signature not matched' })
    for (const [name, value] of [
      ['signature_method', 'HmacSHA256'],
      ['signature_version', '1'],
      ['version', '1'],
    ]) {
      if (params.get(name!) !== value) return reply({ ret_code: 1100, message: `bad ${name}` })
    }
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(params.get('time_stamp') ?? ''))
      return reply({ ret_code: 1100, message: 'bad time_stamp' })
    if (params.get('zone') !== 'sh1a') return reply({ ret_code: 1100, message: 'bad zone' })
    const action = params.get('action')
    if (action === 'RunClusterCustomService') {
      if (params.get('role') !== 'maininstance' || params.get('service') !== 'configuring_SSL')
        return reply({ ret_code: 1100, message: 'bad role/service' })
      const serviceParams = JSON.parse(params.get('service_params') ?? '{}') as { configssl?: string }
      if (!['YES', 'NO', 'ON', 'OFF'].includes(serviceParams.configssl ?? ''))
        return reply({ ret_code: 1100, message: 'bad service_params' })
      if (api.runRetCode !== 0)
        return reply({ ret_code: api.runRetCode, message: 'ResourceNotFound, resource [cl-x] not found' })
      describeCount = 0
      return reply({
        job_id: 'j-test0001',
        service: 'configuring_SSL',
        ret_code: 0,
        role: 'maininstance',
        action: 'RunClusterCustomServiceResponse',
        cluster_id: params.get('cluster'),
      })
    }
    if (action === 'DescribeJobs') {
      if (params.get('jobs.1') !== 'j-test0001') return reply({ ret_code: 1100, message: 'unknown job' })
      const status = api.statuses[Math.min(describeCount++, api.statuses.length - 1)]
      return reply({
        action: 'DescribeJobsResponse',
        ret_code: 0,
        total_count: 1,
        job_set: [{ job_id: 'j-test0001', job_action: 'RunClusterCustomService', status }],
      })
    }
    return reply({ ret_code: 1100, message: `unknown action ${action}` })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(api, {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
}

const api = await startApi()
t.teardown(() => api.close())
const dir = mkdtempSync(join(tmpdir(), 'pg-sslmode-qingcloud-'))
const configFile = join(dir, 'config.yaml')
writeFileSync(
  configFile,
  `qy_access_key_id: '${KEY_ID}'\nqy_secret_access_key: '${SECRET}'\nzone: 'sh1a'\nhost: ` +
    `'127.0.0.1'\nport: ${api.port}\nprotocol: 'http'\nuri: '/iaas'\n`,
  { mode: 0o600 },
)
const wrongKeyFile = join(dir, 'wrong.yaml')
writeFileSync(
  wrongKeyFile,
  `qy_access_key_id: '${KEY_ID}'\nqy_secret_access_key: 'not-the-secret'\nzone: sh1a\nhost: ` +
    `127.0.0.1\nport: ${api.port}\nprotocol: http\n`,
  { mode: 0o600 },
)

function capture(): { stream: Writable; text(): string } {
  let text = ''
  return {
    stream: new Writable({
      write: (chunk, _e, done) => {
        text += chunk.toString()
        done()
      },
    }),
    text: () => text,
  }
}

async function cli(
  args: string[],
  options: { tty?: boolean; answer?: string } = {},
): Promise<{ code: number; out: string; err: string }> {
  const out = capture()
  const err = capture()
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty ?? false })
  if (options.answer !== undefined) setTimeout(() => stdin.write(`${options.answer}\n`), 20)
  const code = await mysqlplusMain(args, {
    out: out.stream,
    err: err.stream,
    stdin,
    env: {},
    pollIntervalMs: 10,
    timeoutMs: 2000,
  })
  return { code, out: out.text(), err: err.text() }
}

t.test("the endpoint's signing reproduces the provider's published example", async (t) => {
  const example = new Map(
    Object.entries({
      count: '1',
      'vxnets.1': 'vxnet-0',
      zone: 'pek3a',
      instance_type: 'small_b',
      signature_version: '1',
      signature_method: 'HmacSHA256',
      instance_name: 'demo',
      image_id: 'centos64x86a',
      login_mode: 'passwd',
      login_passwd: 'QingCloud20130712',
      version: '1',
      access_key_id: 'QYACCESSKEYIDEXAMPLE',
      action: 'RunInstances',
      time_stamp: '2013-08-27T14:30:10Z',
    }),
  )
  t.equal(endpointSignature(example, 'SECRETACCESSKEY'), 'byjccvWIvAftaq+oublemagH3bYAlDWxxLFAzAsyslw=')
})

t.test('ssl on --yes: one signed call, the job followed to success, configssl YES', async (t) => {
  api.calls.length = 0
  const { code, out, err } = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'])
  t.equal(code, 0, err)
  t.match(out, /SSL on for cl-ouhutv70: job j-test0001 successful \(configssl=YES/)
  t.match(err, /job j-test0001: submitted[\s\S]*pending[\s\S]*working[\s\S]*successful/, 'progress is shown')
  const run = api.calls.find((c) => c.action === 'RunClusterCustomService')!
  t.match(run, {
    cluster: 'cl-ouhutv70',
    role: 'maininstance',
    service: 'configuring_SSL',
    service_params: '{"configssl":"YES"}',
    zone: 'sh1a',
    access_key_id: KEY_ID,
  })
  t.equal(api.calls.filter((c) => c.action === 'DescribeJobs').length, 3)
  t.notMatch(out + err, new RegExp(SECRET), 'the secret is never printed')
})

t.test('--configssl ON sends the spelling of the request example; ssl off sends NO', async (t) => {
  api.calls.length = 0
  t.equal(
    (await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes', '--configssl', 'ON'])).code,
    0,
  )
  t.equal((await cli(['ssl', 'off', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'])).code, 0)
  t.same(
    api.calls.filter((c) => c.action === 'RunClusterCustomService').map((c) => c.service_params),
    ['{"configssl":"ON"}', '{"configssl":"NO"}'],
  )
  t.equal(
    (await cli(['ssl', 'off', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes', '--configssl', 'ON'])).code,
    2,
    'a contradiction is a usage error',
  )
})

t.test('confirmation: asked in a terminal; refused without one unless --yes; nothing sent otherwise', async (t) => {
  api.calls.length = 0
  const noTty = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile])
  t.equal(noTty.code, 2)
  t.match(noTty.err, /without confirmation: the database restarts/)
  const declined = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile], { tty: true, answer: 'n' })
  t.equal(declined.code, 2)
  t.match(declined.err, /restarts the database of cl-ouhutv70[\s\S]*not confirmed/)
  t.equal(api.calls.length, 0, 'no call was made')
  const accepted = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile], { tty: true, answer: 'y' })
  t.equal(accepted.code, 0)
})

t.test(
  'clear errors with exit codes: bad credentials, ret_code ≠ 0, a failed job, a timeout, no configuration',
  async (t) => {
    const wrong = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', wrongKeyFile, '--yes'])
    t.equal(wrong.code, 1)
    t.match(
      wrong.err,
      /RunClusterCustomService failed: ret_code 1200: signature not matched \[MYSQLPLUS_API_ERROR\][\s\S]*hint: check/,
    )
    t.notMatch(wrong.err, /not-the-secret/)

    api.runRetCode = 2100
    const notFound = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'])
    api.runRetCode = 0
    t.equal(notFound.code, 1)
    t.match(notFound.err, /ret_code 2100: ResourceNotFound/)

    api.statuses = ['working', 'failed']
    const failed = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'])
    t.equal(failed.code, 1)
    t.match(failed.err, /job j-test0001 \(configuring_SSL on cl-ouhutv70\) ended "failed" \[MYSQLPLUS_JOB_FAILED\]/)

    api.statuses = ['working']
    const slow = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'])
    api.statuses = ['pending', 'working', 'successful']
    t.equal(slow.code, 1)
    t.match(slow.err, /still "working" after \d+ s \[MYSQLPLUS_TIMEOUT\]/)

    const none = await cli(['ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', join(dir, 'missing.yaml'), '--yes'])
    t.equal(none.code, 1)
    t.match(none.err, /cannot read the API configuration .*missing\.yaml: ENOENT \[FILE_NOT_FOUND\]/)
    const usage = await cli(['ssl', 'maybe', '--cluster', 'cl-ouhutv70'])
    t.equal(usage.code, 2)
  },
)

t.test('the library call, with the key from the environment', async (t) => {
  const result = await setMysqlPlusSsl({
    cluster: 'cl-ouhutv70',
    enabled: true,
    config: { file: configFile, env: {} },
    pollIntervalMs: 10,
  })
  t.match(result, { jobId: 'j-test0001', status: 'successful', configssl: 'YES' })
  await t.rejects(setMysqlPlusSsl({ cluster: 'not a cluster', enabled: true, config: { file: configFile } }), {
    code: 'INVALID_SETTING',
    setting: 'cluster',
  })
})

t.test('the real executable (pg-sslmode mysqlplus ...)', async (t) => {
  const bin = CLI_BIN
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [bin, 'mysqlplus', 'ssl', 'on', '--cluster', 'cl-ouhutv70', '-f', configFile, '--yes'],
      { timeout: 60_000, env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  )
  t.equal(code, 0, stderr)
  t.match(stdout, /job j-test0001 successful/)
})

endsWithNoOpenSockets(t)

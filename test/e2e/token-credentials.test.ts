/**
 * Token credentials on a real server: a password function marked as a token (tokenPassword) is
 * asked afresh for every new connection with the endpoint it is for, is held to the policy rule
 * tokensRequireVerifyFull before it is even called, and the report names the kind of credential
 * used — never its value. rdsIamToken's tokens are checked against AWS's published SigV4 signing
 * rules, recomputed here with node:crypto (the token is signed offline).
 */
import { createHash, createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { connect, createPool, rdsIamToken, tokenPassword, type TokenEndpoint } from '../../lib/index.js'
import { fixture, startCluster } from '../../scripts/harness.js'
import { endsWithNoOpenSockets, isolatedEnv } from '../support.js'

const TOKEN = 'tok-3f9a1c'

t.test('token passwords, the policy rule and the report on a real server', async (t) => {
  const cluster = await startCluster({
    ssl: true,
    hbaTcpLines: [
      'host all u_token 127.0.0.1/32 password',
      'host all u_pass 127.0.0.1/32 scram-sha-256',
      'host all all 127.0.0.1/32 trust',
    ],
    setupSql: [`CREATE ROLE u_token LOGIN PASSWORD '${TOKEN}'`, `CREATE ROLE u_pass LOGIN PASSWORD 'pw'`],
  })
  t.teardown(() => cluster.stop())
  const base = { host: cluster.host, port: cluster.port, dbname: 'postgres', env: isolatedEnv() }
  const asked: TokenEndpoint[] = []
  const token = tokenPassword((endpoint) => {
    asked.push(endpoint)
    return TOKEN
  })

  const pool = createPool({ ...base, user: 'u_token', sslmode: 'require', password: token, max: 2 })
  const [a, b] = await Promise.all([pool.connect(), pool.connect()])
  t.equal(asked.length, 2, 'each new pool connection asks for its own token')
  t.same(asked[0], { host: cluster.host, port: cluster.port, user: 'u_token' }, 'with the endpoint it is for')
  t.equal(a.security.credential, 'token', 'the report names the kind of credential')
  t.notOk(JSON.stringify(a.security).includes(TOKEN), 'and never its value')
  a.release()
  b.release()
  await pool.end()

  const policy = { tokensRequireVerifyFull: true }
  asked.length = 0
  const refused = await connect({ ...base, user: 'u_token', sslmode: 'require', password: token, policy }).catch(
    (e: Error) => e,
  )
  t.match(refused, { code: 'POLICY_VIOLATION', rule: 'tokensRequireVerifyFull' }, 'require: the token is refused')
  t.equal(asked.length, 0, 'before the token function is called')
  const verified = await connect({
    ...base,
    host: 'localhost',
    user: 'u_token',
    sslmode: 'verify-full',
    sslrootcert: fixture('ca.crt'),
    password: token,
    policy,
  })
  t.equal(verified.security.credential, 'token', 'verify-full: the token is sent')
  await verified.end()

  const passfile = join(t.testdir(), 'pgpass')
  writeFileSync(passfile, `*:*:*:u_pass:pw\n`, { mode: 0o600 })
  for (const [name, options, credential] of [
    ['a password', { user: 'u_pass', password: 'pw' }, 'password'],
    ['a password function', { user: 'u_pass', password: async () => 'pw' }, 'password-function'],
    ['a password file', { user: 'u_pass', passfile }, 'password-file'],
    ['trust', { user: cluster.user }, 'none'],
    ['trust, a password given', { user: cluster.user, password: 'unused' }, 'none'],
  ] as const) {
    const client = await connect({ ...base, sslmode: 'require', ...options })
    t.equal(client.security.credential, credential, `${name}: ${credential}`)
    await client.end()
  }
  endsWithNoOpenSockets(t)
})

t.test("rdsIamToken: a SigV4-presigned connect request, by AWS's published rules", async (t) => {
  const secretAccessKey = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
  const password = rdsIamToken({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey } })
  const endpoint = { host: 'db.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, user: 'iam_app' }
  const token = await password.of(endpoint)
  const [authority, query] = token.split('/?') as [string, string]
  t.equal(authority, `${endpoint.host}:${endpoint.port}`, 'the token names the host and port it is for')
  const params = new URLSearchParams(query)
  t.equal(params.get('Action'), 'connect')
  t.equal(params.get('DBUser'), 'iam_app', 'and the user')
  t.equal(params.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256')
  t.equal(params.get('X-Amz-Expires'), '900', 'valid 15 minutes')
  t.equal(params.get('X-Amz-SignedHeaders'), 'host')
  const amzDate = params.get('X-Amz-Date')!
  const day = amzDate.slice(0, 8)
  const scope = `${day}/eu-west-1/rds-db/aws4_request`
  t.equal(params.get('X-Amz-Credential'), `AKIDEXAMPLE/${scope}`)
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
  const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
  const canonicalQuery = [...params.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&')
  const emptyPayload = createHash('sha256').update('').digest('hex')
  const canonical = ['GET', '/', canonicalQuery, `host:${authority}`, '', 'host', emptyPayload].join('\n')
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), 'eu-west-1'), 'rds-db'), 'aws4_request')
  t.equal(params.get('X-Amz-Signature'), hmac(key, toSign).toString('hex'), 'the signature is the SigV4 one')
  t.not(await password.of({ ...endpoint, host: 'other.example' }), token, 'another endpoint, another token')
})

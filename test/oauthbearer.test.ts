/**
 * The client side of OAUTHBEARER without a server (protocol/oauthbearer.ts, oauth-json.ts): the
 * messages libpq 18 sends, its reading of discovery URIs (issuer_from_well_known_uri) and of the
 * server's error result (handle_oauth_sasl_error), and the steps of one exchange, each with
 * libpq's words. test/differential/libpq-oauth.test.ts runs the same against libpq 18 and a real
 * PostgreSQL 18.
 */
import t from 'tap'
import { PgSslError } from '../lib/engine/errors.js'
import {
  initialResponse,
  issuerFromWellKnownUri,
  OAuthBearerExchange,
  OAuthFlow,
} from '../lib/postgres/protocol/oauthbearer.js'

const settings = { issuer: 'https://issuer.example', clientId: 'app', scope: undefined, unsafeDebugging: false }
const DISCOVERY = 'https://issuer.example/.well-known/openid-configuration'

function failure(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (!(error instanceof PgSslError)) throw error
    return `${error.code}: ${error.message}`
  }
  return 'no error'
}

t.test('the initial response: the token, or an empty auth value that asks for discovery', async (t) => {
  t.equal(initialResponse('abc.def'), 'n,,\x01auth=Bearer abc.def\x01\x01')
  t.equal(initialResponse(undefined), 'n,,\x01auth=\x01\x01')
})

t.test("discovery URIs, as libpq's issuer_from_well_known_uri reads them", async (t) => {
  for (const [uri, issuer] of <Array<[string, string]>>[
    [DISCOVERY, 'https://issuer.example'],
    ['https://issuer.example/tenant/.well-known/openid-configuration', 'https://issuer.example/tenant'],
    ['https://issuer.example/.well-known/openid-configuration/tenant', 'https://issuer.example/tenant'],
    ['https://issuer.example/.well-known/oauth-authorization-server', 'https://issuer.example'],
    ['HTTPS://issuer.example/.well-known/openid-configuration', 'HTTPS://issuer.example'],
  ]) {
    t.equal(issuerFromWellKnownUri(uri, false), issuer, uri)
  }
  const refused = (uri: string, unsafe = false) => failure(() => issuerFromWellKnownUri(uri, unsafe))
  t.equal(
    refused('http://i/.well-known/openid-configuration'),
    'OAUTH_FAILED: OAuth discovery URI "http://i/.well-known/openid-configuration" must use HTTPS',
  )
  t.equal(
    issuerFromWellKnownUri('http://i/.well-known/openid-configuration', true),
    'http://i',
    'PGOAUTHDEBUG=UNSAFE: http',
  )
  t.match(refused('https://i/.well-known/openid-configuration#x'), /must not contain query or fragment components/)
  t.match(refused('https://i/openid-configuration'), /is not a \.well-known URI/)
  t.match(refused('https://i/.well-known/openid-configuration-bad'), /uses an unsupported \.well-known suffix/)
  t.match(refused('https://i/a/.well-known/openid-configuration/b'), /uses an invalid format/)
})

t.test("the server's error result, with libpq's checks", async (t) => {
  const read = (text: string | Buffer, flow = new OAuthFlow(settings)) => {
    flow.setUp()
    return failure(() => flow.readServerError(Buffer.isBuffer(text) ? text : Buffer.from(text)))
  }
  const good = `{"status":"invalid_token","openid-configuration":"${DISCOVERY}","scope":"openid db"}`
  const flow = new OAuthFlow(settings)
  t.equal(read(good, flow), 'no error')
  t.equal(flow.discoveryUri, DISCOVERY, 'the discovery URI is kept for the next connection')
  t.equal(flow.scope, 'openid db', 'and the scope')
  const scoped = new OAuthFlow({ ...settings, scope: 'mine' })
  read(good, scoped)
  t.equal(scoped.scope, 'mine', 'the server may not override oauth_scope')
  const cases: Array<[string | Buffer, string]> = [
    [Buffer.from('{"status":"x"}\0'), "server's error message contained an embedded NULL, and was discarded"],
    [Buffer.from([0x7b, 0xff, 0x7d]), "server's error response is not valid UTF-8"],
    ['[1]', "failed to parse server's error response: top-level element must be an object"],
    ['"x"', "failed to parse server's error response: top-level element must be an object"],
    ['{"status":"a","status":"b"}', `failed to parse server's error response: field "status" is duplicated`],
    ['{"scope":["a"]}', `failed to parse server's error response: field "scope" must be a string`],
    ['{"status":7}', `failed to parse server's error response: field "status" must be a string`],
    [`{"a":${'['.repeat(8)}1${']'.repeat(8)}}`, "failed to parse server's error response: JSON is too deeply nested"],
    ['{"status":', "failed to parse server's error response: The input string ended unexpectedly."],
    ['{"scope":"s"}', 'server sent error response without a status'],
    ['{"status":"insufficient_scope"}', 'server rejected OAuth bearer token: insufficient_scope'],
    [
      '{"status":"invalid_token","openid-configuration":"https://evil.example/.well-known/openid-configuration"}',
      `server's discovery document at https://evil.example/.well-known/openid-configuration (issuer ` +
        `"https://evil.example") is incompatible with oauth_issuer (https://issuer.example)`,
    ],
  ]
  for (const [text, message] of cases) t.equal(read(text), `OAUTH_FAILED: ${message}`, message)
  t.equal(
    read('{"status":"invalid_token","x":{"status":1},"y":[{"scope":2}]}'),
    'no error',
    'nested fields are not read',
  )
  const moved = new OAuthFlow({ ...settings, issuer: DISCOVERY })
  moved.setUp()
  const elsewhere =
    '{"status":"invalid_token","openid-configuration":"https://issuer.example/.well-known/oauth-authorization-server"}'
  t.match(
    failure(() => moved.readServerError(Buffer.from(elsewhere))),
    /server's discovery document has moved to/,
  )
})

t.test('the steps of an exchange', async (t) => {
  const flow = new OAuthFlow(settings)
  const first = new OAuthBearerExchange(flow)
  t.same(first.start(), { send: 'n,,\x01auth=\x01\x01' }, 'no discovery URI yet: ask the server')
  const error = Buffer.from(`{"status":"invalid_token","openid-configuration":"${DISCOVERY}"}`)
  t.same(first.challenge(error, false), { send: '\x01', retry: true }, 'the dummy answer, then a new connection')
  t.ok(flow.wantRetry)
  flow.token = 'tok'
  const second = new OAuthBearerExchange(flow)
  t.same(second.start(), { send: 'n,,\x01auth=Bearer tok\x01\x01' }, 'the next connection sends the token')
  t.ok(second.tokenSent)
  t.same(second.challenge(error, false), { send: '\x01' }, 'a refused token: the dummy, then the FATAL')
  t.equal(
    failure(() => second.challenge(error, false)),
    'OAUTH_FAILED: server sent additional OAuth data after error',
  )

  const known = new OAuthBearerExchange(new OAuthFlow({ ...settings, issuer: DISCOVERY }))
  t.same(
    known.start(),
    { tokenNeeded: { openidConfiguration: DISCOVERY, scope: undefined } },
    'a well-known issuer: the token first',
  )
  t.same(known.withToken('tok'), { send: 'n,,\x01auth=Bearer tok\x01\x01' })
  t.equal(
    failure(() => known.challenge(Buffer.alloc(0), true)),
    'OAUTH_FAILED: server sent unexpected additional OAuth data',
  )

  const bare = new OAuthBearerExchange(new OAuthFlow(settings))
  bare.start()
  t.equal(
    failure(() => bare.challenge(Buffer.from('{"status":"invalid_token"}'), false)),
    'OAUTH_FAILED: server requires OAuth authentication, but no discovery metadata was provided',
  )
  t.equal(
    failure(() => new OAuthBearerExchange(new OAuthFlow({ ...settings, clientId: undefined })).start()),
    'OAUTH_FAILED: server requires OAuth authentication, but oauth_issuer and oauth_client_id are not both set',
  )
})

/**
 * AWS RDS / Aurora IAM authentication: the password is a token AWS's signer makes offline (a
 * SigV4-presigned `connect` request for the host, port and user, valid 15 minutes), asked afresh
 * for every attempt with the endpoint it is for. The signer is the optional peer dependency
 * @aws-sdk/rds-signer, loaded only when a token is first needed, so that neither the package nor
 * AWS's SDK is loaded by applications that do not use it.
 */
import { PgSslError } from '../../engine/errors.js'
import { tokenPassword, type TokenPassword } from './credential.js'

export interface RdsIamOptions {
  /** The database's region (else the SDK's: AWS_REGION, the profile). */
  readonly region?: string
  /** AWS credentials or a provider (else the SDK's default chain: environment, profile, instance role). */
  readonly credentials?: unknown
  /** An AWS profile for the region and credentials. */
  readonly profile?: string
  /** The names the token is signed for, when they differ from the connection's (a proxy, a tunnel). */
  readonly hostname?: string
  readonly port?: number
  readonly username?: string
}

interface Signer {
  getAuthToken(): Promise<string>
}
type SignerModule = { Signer: new (config: Record<string, unknown>) => Signer }

/** `password: rdsIamToken({ region: 'eu-west-1' })`: an IAM token for each attempt. */
export function rdsIamToken(options: RdsIamOptions = {}): TokenPassword {
  return tokenPassword(async ({ host, port, user }) => {
    const { Signer } = await loadSigner()
    const signer = new Signer({
      hostname: options.hostname ?? host,
      port: options.port ?? port,
      username: options.username ?? user,
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
    })
    return signer.getAuthToken()
  }, 'aws-rds-iam-token')
}

let signerModule: SignerModule | undefined

async function loadSigner(): Promise<SignerModule> {
  if (signerModule) return signerModule
  // A string the bundlers of the CommonJS build leave alone: import() there becomes require().
  const name = '@aws-sdk/rds-signer'
  let loaded: Partial<SignerModule> & { default?: Partial<SignerModule> }
  try {
    loaded = (await import(name)) as typeof loaded
  } catch (error) {
    throw new PgSslError('PEER_MISSING', 'rdsIamToken needs the package @aws-sdk/rds-signer, which is not installed', {
      setting: 'password',
      hint: 'npm install @aws-sdk/rds-signer (an optional peer dependency of pg-sslmode)',
      cause: error,
    })
  }
  const Signer = loaded.Signer ?? loaded.default?.Signer
  if (!Signer) throw new PgSslError('PEER_MISSING', '@aws-sdk/rds-signer has no Signer: install version 3')
  signerModule = { Signer }
  return signerModule
}

/**
 * Credentials and endpoint for the MySQL Plus switch, from where the provider's CLI keeps them:
 * ~/.qingcloud/config.yaml (or the file given with -f), keys qy_access_key_id,
 * qy_secret_access_key, zone, host, port, protocol (and uri); the environment
 * (QY_ACCESS_KEY_ID, QY_SECRET_ACCESS_KEY, QY_ZONE) fills what the file leaves out. The secret is
 * kept out of every printable form of the object.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { PgSslError } from '../engine/errors.js'

export interface ApiConfig {
  readonly accessKeyId: string
  /** Not enumerable: never in JSON, logs or errors. */
  readonly secretAccessKey: string
  readonly zone: string | undefined
  readonly protocol: 'https' | 'http'
  readonly host: string
  readonly port: number
  /** The API path, "/iaas/". */
  readonly uri: string
  /** Where the settings came from, for messages. */
  readonly source: string
}

export interface ConfigSource {
  /** -f FILE; default ~/.qingcloud/config.yaml (when it exists). */
  readonly file?: string
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** The flat "key: value" YAML the provider's CLI writes (quotes and comments allowed). */
export function parseConfigYaml(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {}
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').trim()
    if (line === '' || line.startsWith('#')) return
    const match = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line)
    if (!match)
      throw new PgSslError('MYSQLPLUS_CONFIG', `${file}:${i + 1}: not a "key: value" line`, {
        setting: file,
        hint: "the file holds lines such as qy_access_key_id: '...'",
      })
    out[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2')
  })
  return out
}

export function loadApiConfig(source: ConfigSource = {}): ApiConfig {
  const env = source.env ?? process.env
  const defaultFile = join(env.HOME || homedir(), '.qingcloud', 'config.yaml')
  const file = source.file ?? defaultFile
  let values: Record<string, string> = {}
  let text: string | undefined
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (source.file !== undefined || code !== 'ENOENT') {
      throw new PgSslError(
        code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
        `cannot read the API configuration ${file}: ${code ?? error}`,
        { setting: file },
      )
    }
  }
  if (text !== undefined) values = parseConfigYaml(text, file)
  const accessKeyId = values.qy_access_key_id ?? env.QY_ACCESS_KEY_ID
  const secretAccessKey = values.qy_secret_access_key ?? env.QY_SECRET_ACCESS_KEY
  if (!accessKeyId || !secretAccessKey) {
    throw new PgSslError(
      'MYSQLPLUS_CONFIG',
      'no API key: ' +
        (text !== undefined ? `${file} has no qy_access_key_id / qy_secret_access_key` : `${file} does not exist`) +
        ' and QY_ACCESS_KEY_ID / QY_SECRET_ACCESS_KEY are not set',
      {
        setting: file,
        hint:
          'create an API key in the console and write it to ~/.qingcloud/config.yaml ' +
          '(qy_access_key_id, qy_secret_access_key, zone), or pass -f FILE',
      },
    )
  }
  const protocol = (values.protocol ?? 'https').toLowerCase()
  if (protocol !== 'https' && protocol !== 'http')
    throw new PgSslError('MYSQLPLUS_CONFIG', `${file}: protocol must be https or http, not "${protocol}"`, {
      setting: file,
    })
  const port = Number(values.port ?? (protocol === 'https' ? 443 : 80))
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new PgSslError('MYSQLPLUS_CONFIG', `${file}: invalid port "${values.port}"`, { setting: file })
  const config = {
    accessKeyId,
    zone: values.zone ?? env.QY_ZONE,
    protocol: protocol as 'https' | 'http',
    host: values.host ?? 'api.qingcloud.com',
    port,
    uri: `/${(values.uri ?? 'iaas').replace(/^\/+|\/+$/g, '')}/`,
    source: text !== undefined ? file : 'environment',
  }
  Object.defineProperty(config, 'secretAccessKey', { value: secretAccessKey, enumerable: false })
  return config as ApiConfig
}

/**
 * The start-up and authentication of an openGauss/GaussDB session, done here before pg takes the
 * socket (pg would read openGauss's code 10 as PostgreSQL's SASL). Like gsql it asks for protocol
 * 3.51 by default, so an openGauss server sends its iteration count; `max_protocol_version` may ask
 * for 3.50 or 3.0 instead. What the server sends depends on that version, and is read exactly as
 * openGauss's libpq reads it (fe-connect.cpp, CONNECTION_AWAITING_RESPONSE; the server side is
 * sendAuthRequest in auth.cpp):
 *
 *   SHA256 (10):     int32 stored method; for SHA256 (2): salt[64] token[8],
 *                    then server signature[64] when minor < 50, iteration int32 when minor > 50;
 *                    for MD5 (1): md5 salt[4]
 *   MD5_SHA256 (11): salt[64] md5 salt[4] (no iteration count: 2048 is assumed)
 *
 * With minor < 50 the server proves it knows the password before the client answers; a wrong
 * signature ends the connection with SERVER_SIGNATURE_MISMATCH and no proof is sent. A PostgreSQL
 * server answers 3.51 with NegotiateProtocolVersion and goes on in the version it names.
 * Everything after AuthenticationOk (parameters, backend key, ReadyForQuery) is put back into the
 * socket for pg to read.
 */
import type { Socket } from 'node:net'
import pg from '../pg.js'
import { PgSslError } from '../../engine/errors.js'
import {
  DEFAULT_ITERATIONS,
  md5Sha256Response,
  postgresMd5Response,
  sameHex,
  sha256ForMd5Response,
  sha256Response,
  sha256ServerSignature,
} from './auth.js'

/** The protocol minor versions an openGauss client may ask for (max_protocol_version), newest first. */
export const OPENGAUSS_PROTOCOL_MINORS = [51, 50, 0] as const
/** PG_PROTOCOL_GAUSS_BASE: below it the server sends its signature; above it the iteration count. */
const GAUSS_BASE = 50

/** max_protocol_version in the openGauss dialects: "3.51" (default), "3.50" or "3.0". */
export function openGaussProtocolMinor(value: string | undefined): number {
  if (value === undefined || value === '' || value === 'latest') return 51
  const match = /^3\.(\d+)$/.exec(value)
  const minor = match ? Number(match[1]) : Number.NaN
  if (!(OPENGAUSS_PROTOCOL_MINORS as readonly number[]).includes(minor)) {
    throw new PgSslError('INVALID_SETTING', `invalid max_protocol_version value: "${value}" (openGauss dialects)`, {
      setting: 'max_protocol_version',
      hint: "use 3.51 (gsql's, the default), 3.50 or 3.0; see docs/dialects.md for what each means",
    })
  }
  return minor
}

const AUTH_OK = 0
const AUTH_CLEARTEXT = 3
const AUTH_MD5 = 5
const AUTH_SHA256 = 10
const AUTH_MD5_SHA256 = 11
const AUTH_SM3 = 13
const PLAIN_PASSWORD = 0
const MD5_PASSWORD = 1
const SHA256_PASSWORD = 2

function startupMessage(params: Record<string, string>, minor: number): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`, 'utf8')]),
    Buffer.from([0]),
  ])
  const head = Buffer.alloc(8)
  head.writeInt32BE(body.length + 8, 0)
  head.writeInt32BE((3 << 16) | minor, 4)
  return Buffer.concat([head, body])
}

function passwordMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8')
  const head = Buffer.alloc(5)
  head.write('p', 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

/** ErrorResponse fields → pg's DatabaseError, so failures are classified as for pg's own start-up. */
function databaseError(body: Buffer): InstanceType<typeof pg.DatabaseError> {
  const fields: Record<string, string> = {}
  let i = 0
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!)
    const end = body.indexOf(0, i + 1)
    fields[type] = body.subarray(i + 1, end).toString('utf8')
    i = end + 1
  }
  const error = new pg.DatabaseError(fields.M ?? 'server error', body.length, 'error')
  error.severity = fields.S
  error.code = fields.C
  error.detail = fields.D
  error.hint = fields.H
  return error
}

export interface OpenGaussAuthInput {
  readonly params: Record<string, string>
  readonly password: () => Promise<string | undefined>
  readonly user: string
  /** The protocol minor version to ask for (3.51 unless max_protocol_version says otherwise). */
  readonly protocolMinor?: number
}

export interface OpenGaussStartup {
  /**
   * The protocol version the session runs in: the one asked for, or the one a PostgreSQL server
   * named in NegotiateProtocolVersion.
   */
  readonly protocolVersion: string
  /** With protocol minor < 50 and a SHA256 exchange: the server proved it knows the password. */
  readonly serverSignatureVerified: boolean
}

/** Run the start-up on `socket`; resolves after AuthenticationOk with the rest left unread. */
export function authenticate(socket: Socket, input: OpenGaussAuthInput): Promise<OpenGaussStartup> {
  const minor = input.protocolMinor ?? 51
  let sessionMinor = minor
  let serverSignatureVerified = false
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0)
    let busy = false
    const finish = (error?: unknown): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.pause()
      if (error) reject(error)
      else {
        if (buffer.length > 0) socket.unshift(buffer)
        resolve({ protocolVersion: `3.${sessionMinor}`, serverSignatureVerified })
      }
    }
    const onError = (error: Error): void =>
      finish(
        error instanceof PgSslError
          ? error
          : new PgSslError('CONNECTION_FAILED', `connection lost during authentication: ${error.message}`, {
              cause: error,
            }),
      )
    const onClose = (): void =>
      finish(new PgSslError('CONNECTION_FAILED', 'server closed the connection during authentication'))
    const needPassword = async (): Promise<string> => {
      const password = await input.password()
      if (password === undefined) {
        throw new PgSslError(
          'SERVER_REJECTED',
          'the server requested password authentication, but no password was given',
          {
            setting: 'password',
            hint: 'set password (or PGPASSWORD)',
          },
        )
      }
      return password
    }
    const handle = async (type: string, body: Buffer): Promise<boolean> => {
      if (type === 'E') throw databaseError(body)
      if (type === 'v') {
        // A PostgreSQL server: it goes on in the newest version it has (3.0, or 3.2 for PostgreSQL 18).
        // The field is the minor version; PostgreSQL sends it as a whole version word (major << 16 | minor).
        if (body.length >= 4) sessionMinor = Math.min(minor, body.readInt32BE(0) & 0xffff)
        return false
      }
      if (type === 'N') return false // NoticeResponse
      if (type !== 'R')
        throw new PgSslError(
          'PROTOCOL_VIOLATION',
          `expected an authentication request from the server, but received "${type}"`,
        )
      const code = body.readInt32BE(0)
      switch (code) {
        case AUTH_OK:
          return true
        case AUTH_CLEARTEXT:
          socket.write(passwordMessage(await needPassword()))
          return false
        case AUTH_MD5:
          socket.write(passwordMessage(postgresMd5Response(input.user, await needPassword(), body.subarray(4, 8))))
          return false
        case AUTH_SHA256: {
          const stored = body.readInt32BE(4)
          if (stored === MD5_PASSWORD) {
            // A password stored as MD5 (openGauss's libpq still answers this layout).
            socket.write(passwordMessage(sha256ForMd5Response(input.user, await needPassword(), body.subarray(8, 12))))
            return false
          }
          if (stored !== PLAIN_PASSWORD && stored !== SHA256_PASSWORD) {
            throw new PgSslError(
              'UNSUPPORTED_AUTH',
              `the server stores this password with method ${stored}, which is not supported (sha256 and md5 are)`,
              {
                hint: 'store the password with password_encryption_type=2 (sha256)',
              },
            )
          }
          const salt = body.subarray(8, 72).toString('latin1')
          const token = body.subarray(72, 80).toString('latin1')
          const serverSignature = sessionMinor < GAUSS_BASE ? body.subarray(80, 144).toString('latin1') : undefined
          const iterations = sessionMinor > GAUSS_BASE && body.length >= 84 ? body.readInt32BE(80) : DEFAULT_ITERATIONS
          const password = await needPassword()
          if (serverSignature !== undefined) {
            if (
              serverSignature.length !== 64 ||
              !sameHex(serverSignature, sha256ServerSignature(password, salt, token, iterations))
            ) {
              throw new PgSslError(
                'SERVER_SIGNATURE_MISMATCH',
                `the server's SHA256 signature does not match the password (protocol 3.${sessionMinor}): ` +
                  'it does not know the password, so it is not the server it claims to be',
                {
                  setting: 'password',
                },
              )
            }
            serverSignatureVerified = true
          }
          socket.write(passwordMessage(sha256Response(password, salt, token, iterations)))
          return false
        }
        case AUTH_MD5_SHA256: {
          const salt = body.subarray(4, 68).toString('latin1')
          socket.write(passwordMessage(md5Sha256Response(await needPassword(), salt, body.subarray(68, 72))))
          return false
        }
        case AUTH_SM3:
          throw new PgSslError(
            'UNSUPPORTED_AUTH',
            'the server asks for SM3 password authentication, which is not supported',
            {
              hint: 'store the password as sha256 (password_encryption_type=2) for this user',
            },
          )
        default:
          throw new PgSslError(
            'UNSUPPORTED_AUTH',
            `authentication method ${code} is not supported in the openGauss dialects`,
          )
      }
    }
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk])
      if (!busy) void pump()
    }
    const pump = async (): Promise<void> => {
      busy = true
      try {
        while (buffer.length >= 5) {
          const length = buffer.readInt32BE(1)
          if (length < 4 || length > 1_000_000)
            throw new PgSslError('PROTOCOL_VIOLATION', 'received a malformed message during authentication')
          if (buffer.length < 1 + length) break
          const type = String.fromCharCode(buffer[0]!)
          const body = buffer.subarray(5, 1 + length)
          buffer = buffer.subarray(1 + length)
          if (await handle(type, body)) return finish()
        }
      } catch (error) {
        return finish(error)
      } finally {
        busy = false
      }
    }
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.write(startupMessage(input.params, minor))
    socket.resume()
  })
}

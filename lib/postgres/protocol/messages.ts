/**
 * The backend messages of a PostgreSQL (and openGauss) start-up, by type byte, and the bodies the
 * start-up reads (protocol.sgml, "Message Formats"). Pure: bytes in, values out.
 */

export const AUTHENTICATION = 0x52 // R
export const ERROR_RESPONSE = 0x45 // E
export const NOTICE_RESPONSE = 0x4e // N
export const NOTIFICATION = 0x41 // A
export const NEGOTIATE_PROTOCOL_VERSION = 0x76 // v
export const PARAMETER_STATUS = 0x53 // S
export const BACKEND_KEY_DATA = 0x4b // K
export const READY_FOR_QUERY = 0x5a // Z

/**
 * The start-up packet (the one frontend message here): length, protocol version 3.`minor`, then
 * the parameters as name/value strings and a closing zero byte.
 */
export function startupPacket(minor: number, params: Record<string, string>): Buffer {
  const pairs = Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`, 'utf8'))
  const body = Buffer.concat([...pairs, Buffer.from([0])])
  const head = Buffer.alloc(8)
  head.writeInt32BE(body.length + 8, 0)
  head.writeInt32BE((3 << 16) | minor, 4)
  return Buffer.concat([head, body])
}

/** A type byte as libpq prints it: the character, or its hex value when it is not printable. */
export function printableType(type: number): string {
  return type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : `0x${type.toString(16).padStart(2, '0')}`
}

/** ParameterStatus: name and value, each NUL-terminated. */
export function parameterStatus(body: Buffer): [name: string, value: string] {
  const nameEnd = body.indexOf(0)
  if (nameEnd < 0) return [body.toString('utf8'), '']
  const valueEnd = body.indexOf(0, nameEnd + 1)
  return [body.toString('utf8', 0, nameEnd), body.toString('utf8', nameEnd + 1, valueEnd < 0 ? body.length : valueEnd)]
}

/** BackendKeyData: the process ID and the whole cancel key (4 bytes in 3.0, up to 256 in 3.2), copied. */
export function backendKeyData(body: Buffer): { processId: number; key: Buffer } {
  return { processId: body.readUInt32BE(0), key: Buffer.from(body.subarray(4)) }
}

/** The request code of an authentication message (0 is AuthenticationOk). */
export function authenticationCode(body: Buffer): number {
  return body.readUInt32BE(0)
}

/** AuthenticationSASL: the mechanisms the server offers (after the request code, NUL-terminated). */
export function saslMechanisms(body: Buffer): string[] {
  return body.subarray(4).toString('utf8').split('\0').filter(Boolean)
}

/** ErrorResponse / NoticeResponse: field type → value (S, C, M, D, H, ...). */
export function responseFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {}
  let i = 0
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!)
    const end = body.indexOf(0, i + 1)
    if (end < 0) break
    fields[type] = body.subarray(i + 1, end).toString('utf8')
    i = end + 1
  }
  return fields
}

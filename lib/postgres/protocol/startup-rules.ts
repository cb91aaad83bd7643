/**
 * What a server may send during the start-up, with libpq's bounds (fe-connect.c,
 * CONNECTION_AWAITING_RESPONSE; fe-protocol3.c pqParseInput3), and libpq's words when it does not:
 * - before AuthenticationOk only an authentication request ('R'), an error ('E') or
 *   NegotiateProtocolVersion ('v'); 'R' and 'v' are 8 to 2000 bytes long, 'E' 8 to 30000
 *   ("expected authentication request from server, but received H" is what an HTTP server gets);
 * - after it, start-up messages (S, K, Z, E, N, A, v) of at most 30000 bytes (E, N and A may be
 *   longer, as libpq's VALID_LONG_MESSAGE_TYPE), and a cancel key of 4 to 256 bytes.
 */
import type { FrameRules } from './framer.js'
import {
  AUTHENTICATION,
  BACKEND_KEY_DATA,
  ERROR_RESPONSE,
  NEGOTIATE_PROTOCOL_VERSION,
  NOTICE_RESPONSE,
  NOTIFICATION,
  PARAMETER_STATUS,
  printableType,
  READY_FOR_QUERY,
} from './messages.js'

const AFTER_AUTH_TYPES = new Set([
  PARAMETER_STATUS,
  BACKEND_KEY_DATA,
  READY_FOR_QUERY,
  ERROR_RESPONSE,
  NOTICE_RESPONSE,
  NOTIFICATION,
  NEGOTIATE_PROTOCOL_VERSION,
])
const LONG_TYPES = new Set([ERROR_RESPONSE, NOTICE_RESPONSE, NOTIFICATION])

/** From the start-up packet until AuthenticationOk. */
export const BEFORE_AUTHENTICATION: FrameRules = {
  checkType(type) {
    if (type === AUTHENTICATION || type === ERROR_RESPONSE || type === NEGOTIATE_PROTOCOL_VERSION) return undefined
    return `expected authentication request from server, but received ${printableType(type)}`
  },
  checkLength(type, length) {
    if (type === AUTHENTICATION && (length < 8 || length > 2000)) {
      return `received invalid authentication request (length ${length})`
    }
    if (type === NEGOTIATE_PROTOCOL_VERSION && (length < 8 || length > 2000)) {
      return `received invalid protocol negotiation message (length ${length})`
    }
    if (type === ERROR_RESPONSE && (length < 8 || length > 30000)) {
      return `received invalid error message (length ${length})`
    }
    return undefined
  },
}

/** From AuthenticationOk until ReadyForQuery. */
export const AFTER_AUTHENTICATION: FrameRules = {
  checkType(type) {
    if (AFTER_AUTH_TYPES.has(type)) return undefined
    return `unexpected message type "${printableType(type)}" from the server during start-up`
  },
  checkLength(type, length) {
    if (length < 4 || (length > 30000 && !LONG_TYPES.has(type))) {
      return `lost synchronization with server: got message type "${printableType(type)}", length ${length}`
    }
    // A cancel key is 4 bytes (protocol 3.0) up to 256 bytes (3.2): libpq 18 refuses anything else.
    if (type === BACKEND_KEY_DATA && (length < 12 || length > 8 + 256)) {
      return `received invalid BackendKeyData message (length ${length})`
    }
    return undefined
  },
}

/**
 * Which SASL mechanism of the server's list the client runs, as libpq 18's pg_SASL_init chooses:
 * SCRAM-SHA-256-PLUS over TLS unless channel_binding=disable (wherever it stands in the list),
 * else the first of SCRAM-SHA-256 and OAUTHBEARER. A PLUS offer without TLS means something
 * removed the TLS: refused.
 */
import { PgSslError } from '../../engine/errors.js'

export type SaslMechanism = 'SCRAM-SHA-256-PLUS' | 'SCRAM-SHA-256' | 'OAUTHBEARER'

export function chooseSaslMechanism(
  offered: readonly string[],
  tls: boolean,
  channelBinding: 'disable' | 'prefer' | 'require',
): SaslMechanism {
  let chosen: SaslMechanism | undefined
  for (const mechanism of offered) {
    if (mechanism === 'SCRAM-SHA-256-PLUS') {
      if (!tls) {
        throw new PgSslError(
          'PROTOCOL_VIOLATION',
          'server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection',
          { hint: 'something between client and server may have removed TLS' },
        )
      }
      if (channelBinding !== 'disable') chosen = mechanism
    } else if ((mechanism === 'SCRAM-SHA-256' || mechanism === 'OAUTHBEARER') && chosen === undefined)
      chosen = mechanism
  }
  if (chosen === undefined) {
    throw new PgSslError('UNSUPPORTED_AUTH', "none of the server's SASL authentication mechanisms are supported", {
      hint: `the server offered ${offered.join(', ') || 'none'}; libpq 18 runs SCRAM-SHA-256(-PLUS) and OAUTHBEARER`,
    })
  }
  return chosen
}

/** The require_auth method a mechanism belongs to. */
export const requireAuthMethodOf = (mechanism: SaslMechanism): 'scram-sha-256' | 'oauth' =>
  mechanism === 'OAUTHBEARER' ? 'oauth' : 'scram-sha-256'

/**
 * Which hosts a connection tries, in which order — computed before any traffic, as a plain list
 * (as psycopg's conninfo_attempts() does): the hosts in the order given, or shuffled once per
 * connection for load_balance_hosts=random (libpq 16); for target_session_attrs=prefer-standby a
 * first pass that takes only a standby, then a second that takes any host (libpq 14+). Each entry
 * carries its host's plan: the SSL choices tried on it (plan.ts). Whether the next entry is tried
 * after a failure is decided as it happens (connect/failure.ts, libpq's try_next_host).
 */
import type { Plan } from './plan.js'
import type { Endpoint } from './settings/endpoints.js'

/** target_session_attrs: the values settings/keywords.ts accepts. */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby'

/** One host to try: in which pass (what kind of session it must give), with its SSL choices. */
export interface HostTry {
  /** The pass's requirement: prefer-standby's first pass is 'standby', its second 'any'. */
  readonly want: TargetSessionAttrs
  readonly endpoint: Endpoint
  readonly plan: Plan
}

export interface HostOrderInput {
  readonly targetSessionAttrs: TargetSessionAttrs
  /** load_balance_hosts=random. */
  readonly loadBalance: boolean
  readonly endpoints: readonly Endpoint[]
  /** The plan of each endpoint, by index. */
  readonly plans: readonly Plan[]
}

/** Every host try of one connection, in order: passes × hosts. */
export function hostTries(input: HostOrderInput, random: () => number = Math.random): readonly HostTry[] {
  const { targetSessionAttrs, endpoints, plans } = input
  const passes: TargetSessionAttrs[] =
    targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [targetSessionAttrs]
  const order = input.loadBalance ? shuffledOrder(endpoints.length, random) : undefined
  // Plain loops: this runs at every connect, mostly for one host.
  const tries: HostTry[] = []
  for (const want of passes)
    for (let k = 0; k < endpoints.length; k++) {
      const i = order ? order[k]! : k
      tries.push({ want, endpoint: endpoints[i]!, plan: plans[i]! })
    }
  return tries
}

/** Fisher–Yates, as libpq 16 shuffles the host list for load_balance_hosts=random. */
export function shuffledOrder(length: number, random: () => number = Math.random): number[] {
  const order = Array.from({ length }, (_, i) => i)
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/**
 * What the canaries of the driver adapters share (postgres/pg-internals.ts,
 * mysql/mysql2-internals.ts): a private member a driver must still have, and the check of it.
 */

/** One private member of a driver, where it lives and why pg-sslmode needs it. */
export interface DriverMember<Holder extends string> {
  readonly on: Holder
  readonly name: string
  readonly why: string
}

/** Where a holder's members are looked for: an object that has them, and the class that sets or uses them. */
export interface MemberHolder {
  readonly instance: object | undefined
  readonly cls: unknown
}

/**
 * A member is there when the holder's object has it (itself or through its prototypes) or when its
 * class, or a class it extends, still uses it (`.name` in the source): some are set only later,
 * once the driver connects.
 */
export function driverHas(holder: MemberHolder, name: string): boolean {
  if (holder.instance !== undefined && name in holder.instance) return true
  for (let c: unknown = holder.cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (String(c).includes(`.${name}`)) return true
  }
  return false
}

/** The members of `table` a driver lacks, as "Holder.name". */
export function missingMembers<Holder extends string>(
  table: ReadonlyArray<DriverMember<Holder>>,
  holders: Readonly<Record<Holder, MemberHolder>>,
): string[] {
  return table.filter(({ on, name }) => !driverHas(holders[on], name)).map(({ on, name }) => `${on}.${name}`)
}

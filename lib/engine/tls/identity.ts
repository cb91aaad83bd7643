/**
 * Small stable numbers for objects, for cache keys built from the identity of cached buffers and
 * parsed certificates (which stay the same objects while their files do not change).
 */
const ids = new WeakMap<object, number>()
let nextId = 1

export function objectId(value: object): number {
  let id = ids.get(value)
  if (id === undefined) {
    id = nextId++
    ids.set(value, id)
  }
  return id
}

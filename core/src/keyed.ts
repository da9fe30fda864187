/**
 * Keyed circuits, the pure part: the table of keys (one breaker each) with its bookkeeping, time
 * passed in as monotonic milliseconds. Each edition's `KeyedCircuitBreaker` holds one table and
 * does what it says: makes a breaker for a new key, closes the scope of a key it drops.
 *
 * - Order: the table is kept least recently used first. A key is used when a call for it starts
 *   (`use`) and again when that call ends (`release`): so the last-use times rise along the
 *   table, and the keys idle the longest are at its head.
 * - Idle expiry: a key with no call in flight is dropped (`takeExpired`) once idle for `idleMillis`
 *   since the later of its last use and the end of its opening (an open key outlives its opening).
 * - The cap: a new key when the table holds `maxKeys` takes the place of the least recently used
 *   key that has no call in flight and that the edition says may go (its breaker is closed);
 *   when no key may go, the new key is refused a place (`Full`) and the edition runs its call on
 *   its overflow breaker: the call is never lost, and no open breaker is dropped to make room.
 *
 * @internal
 */
import * as Defaults from "./defaults.js"
import type { Checked } from "./types.js"
import { valid } from "./types.js"
import type { Show } from "./validate.js"
import { checkPositiveInteger, checkPositiveMillis, isWellFormed, show } from "./validate.js"

/** @internal */
export interface Slot<V> {
  readonly key: string
  readonly value: V
  /** Monotonic millis of the last start or end of a call for this key. */
  lastUsed: number
  /** Calls for this key that have started and not ended. */
  inFlight: number
}

/** @internal */
export interface KeyedSettings {
  readonly idleMillis: number
  readonly maxKeys: number
}

/** Where a new key goes: a free place, the place of `evict`, or none. @internal */
export type Admission =
  | { readonly _tag: "Room" }
  | { readonly _tag: "Evict"; readonly key: string }
  | { readonly _tag: "Full" }

const room: Admission = { _tag: "Room" }
const full: Admission = { _tag: "Full" }

/** No opening holds the key: idle time runs from its last use. */
const notHeld = (): number => Number.NEGATIVE_INFINITY

/**
 * The table of keys, least recently used first (a `Map` keeps insertion order: a used key is
 * moved to its end).
 *
 * @internal
 */
export class KeyTable<V> {
  private readonly slots = new Map<string, Slot<V>>()

  get size(): number {
    return this.slots.size
  }

  /** The keys and their values, least recently used first. */
  entries(): ReadonlyArray<readonly [string, V]> {
    return Array.from(this.slots, ([key, slot]) => [key, slot.value] as const)
  }

  /** The slot of `key`, untouched. */
  peek(key: string): Slot<V> | undefined {
    return this.slots.get(key)
  }

  /**
   * A call for `key` starts at `now`: its slot (held until `release` is given it), or
   * `undefined` when the table has no such key.
   */
  use(key: string, now: number): Slot<V> | undefined {
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    this.touch(slot, now)
    slot.inFlight++
    return slot
  }

  /**
   * A call on `slot` ended at `now`. The slot is the one `use` or `add` gave: a key dropped
   * meanwhile is not brought back, and a later slot of the same key is not touched.
   */
  release(slot: Slot<V>, now: number): void {
    if (slot.inFlight > 0) slot.inFlight--
    if (this.slots.get(slot.key) === slot) this.touch(slot, now)
  }

  /**
   * Where a new key goes under `settings.maxKeys`; `mayGo` says whether a key's value may be
   * dropped to make room (asked only of keys with no call in flight, least recently used first).
   */
  admission(settings: KeyedSettings, mayGo: (value: V) => boolean): Admission {
    if (this.slots.size < settings.maxKeys) return room
    for (const [key, slot] of this.slots) {
      if (slot.inFlight === 0 && mayGo(slot.value)) return { _tag: "Evict", key }
    }
    return full
  }

  /** Adds `key` (absent) with a call starting at `now`: its slot, held until released. */
  add(key: string, value: V, now: number): Slot<V> {
    const slot: Slot<V> = { key, value, lastUsed: now, inFlight: 1 }
    this.slots.set(key, slot)
    return slot
  }

  /** Drops `key`: its value, or `undefined` when it was not there. */
  remove(key: string): V | undefined {
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    this.slots.delete(key)
    return slot.value
  }

  /**
   * Takes out of the table, in one step, the keys expired at `now`, least recently used first:
   * those with no call in flight, that `mayExpire` lets go, and idle for `idleMillis` or more
   * since the later of their last use and `heldUntil(value)` (the end of an opening, in the same
   * monotonic millis): an open key stays until its opening is over and then `idleMillis` more.
   */
  takeExpired(
    now: number,
    idleMillis: number,
    mayExpire: (value: V) => boolean,
    heldUntil: (value: V) => number = notHeld
  ): ReadonlyArray<readonly [string, V]> {
    const taken: Array<readonly [string, V]> = []
    for (const [key, slot] of this.slots) {
      if (now - slot.lastUsed < idleMillis) break
      if (
        slot.inFlight === 0 &&
        now - Math.max(slot.lastUsed, heldUntil(slot.value)) >= idleMillis &&
        mayExpire(slot.value)
      ) taken.push([key, slot.value])
    }
    for (const [key] of taken) this.slots.delete(key)
    return taken
  }

  /**
   * The earliest time after `now` at which a key may expire: the later of its last use and
   * `heldUntil(value)`, plus `idleMillis`; `undefined` for a table of keys kept only by calls in
   * flight or by `mayExpire` (or empty): the next use starts a new wait.
   */
  nextExpiry(now: number, idleMillis: number, heldUntil: (value: V) => number = notHeld): number | undefined {
    let next: number | undefined = undefined
    for (const slot of this.slots.values()) {
      const at = Math.max(slot.lastUsed, heldUntil(slot.value)) + idleMillis
      if (at > now && Number.isFinite(at) && (next === undefined || at < next)) next = at
    }
    return next
  }

  private touch(slot: Slot<V>, now: number): void {
    slot.lastUsed = now
    // moved to the end: least recently used first
    this.slots.delete(slot.key)
    this.slots.set(slot.key, slot)
  }
}

/** The defaults: a key idle for 1 hour is dropped; at most 1,000 keys. @internal */
export const defaults = {
  idleTimeToLive: "60 minutes",
  maxKeys: 1000
} as const

/** The default `idleTimeToLive` in milliseconds. @internal */
export const defaultIdleMillis: number = Defaults.millis(defaults.idleTimeToLive)

/**
 * Checks `maxKeys` (a positive integer) and `idleTimeToLive` (already in milliseconds, or the
 * rejected value as given, shown by `showValue`). @internal
 */
export const checkSettings = (
  idle: unknown,
  maxKeys: unknown,
  showValue: Show = show
): Checked<KeyedSettings> => {
  const idleChecked = idle === undefined
    ? valid(defaultIdleMillis)
    : checkPositiveMillis(["idleTimeToLive"], idle, showValue)
  if (idleChecked._tag === "Invalid") return idleChecked
  const maxChecked = maxKeys === undefined
    ? valid(defaults.maxKeys)
    : checkPositiveInteger(["maxKeys"], maxKeys, showValue)
  if (maxChecked._tag === "Invalid") return maxChecked
  return valid({ idleMillis: idleChecked.value, maxKeys: maxChecked.value })
}

/**
 * The key of a request URL under `breakerKey: "host"`: its host and port as written (lower
 * case, without userinfo); `""` for a URL with no authority (a relative one).
 *
 * @internal
 */
export const hostKey = (url: string): string => {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)
  if (match === null) return ""
  const authority = match[1]!
  return authority.slice(authority.lastIndexOf("@") + 1).toLowerCase()
}

/**
 * A key as the table holds it: a string (a key function's other results are turned into one),
 * each lone surrogate replaced by U+FFFD, so that every key names a breaker.
 *
 * @internal
 */
export const keyOf = (given: unknown): string => {
  const key = typeof given === "string" ? given : String(given)
  return isWellFormed(key) ? key : key.replace(loneSurrogates, "\uFFFD")
}

const loneSurrogates = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** The registry id of `key` under the keyed breaker's `id`: `id/key`. @internal */
export const registryId = (id: string, key: string): string => `${id}/${key}`

/** The registry id of the overflow breaker: `id/*` (a key `"*"` is listed under that id too). @internal */
export const overflowRegistryId = (id: string): string => `${id}/*`

/** The client's `breakerKey` messages: a value it does not take, and one beside a shared breaker. @internal */
export const breakerKeyMessages = {
  invalid: `must be "host" or a function of the request giving a string`,
  besideShared: "cannot stand beside a shared breaker: keyed breakers are made from the client's breaker settings",
  /** `breaker.idleTimeToLive` or `breaker.maxKeys` without `breakerKey`. */
  needsKey: "needs breakerKey: it bounds the table of the client's keyed breakers"
} as const

/** The Warning logged when a new key finds the table full of keys that may not go. @internal */
export const overflowLine = (name: string, key: string, maxKeys: number): string =>
  `Keyed circuit breaker '${name}' holds ${maxKeys} keys, none idle and closed: the call for key '${key}' runs on its overflow breaker`

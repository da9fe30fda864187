/**
 * The snapshot a breaker stores, as both editions write and read it: version 1 of the stored
 * JSON with its dates as wall-clock milliseconds (each edition's schema turns them into ISO-8601
 * strings), the rules that make a stored value usable, its default key, and the lines logged when
 * the store cannot be used. A snapshot written by one edition is resumed by the other.
 *
 * @internal
 */
import type { Snapshot } from "./machine.js"
import type { BreakerState } from "./types.js"

/**
 * Version 1 of the stored snapshot, dates in wall-clock milliseconds; `openUntil` is `null`
 * unless the breaker is `open` and not isolated.
 *
 * @internal
 */
export interface StoredV1 {
  readonly version: 1
  readonly service: string
  readonly state: BreakerState
  readonly failureCount: number
  readonly lastFailure: number | null
  readonly lastStateChange: number
  readonly openUntil: number | null
  readonly isolated: boolean
  readonly opens: number
}

/** The key of a breaker's snapshot when `storeKey` is not given. @internal */
export const defaultKey = (service: string): string => `effect-resilience/circuit-breaker/${service}`

/** What breaker `service` stores for `snapshot`. @internal */
export const toStored = (service: string, snapshot: Snapshot): StoredV1 => ({
  version: 1,
  service,
  state: snapshot.state,
  failureCount: snapshot.failureCount,
  lastFailure: snapshot.lastFailure === undefined ? null : snapshot.lastFailure,
  lastStateChange: snapshot.lastStateChange,
  openUntil: snapshot.state === "open" && !snapshot.isolated ? snapshot.openUntil : null,
  isolated: snapshot.isolated,
  opens: snapshot.opens
})

/**
 * The snapshot breaker `service` resumes from a well-formed stored value, or why it cannot: the
 * value belongs to another service, or is inconsistent (isolated but not open, open without
 * `openUntil`).
 *
 * @internal
 */
export const fromStored = (
  service: string,
  stored: StoredV1
): { readonly _tag: "Usable"; readonly snapshot: Snapshot } | {
  readonly _tag: "Unusable"
  readonly reason: string
} => {
  if (stored.service !== service) return { _tag: "Unusable", reason: `it belongs to ${JSON.stringify(stored.service)}` }
  if (stored.isolated && stored.state !== "open") return { _tag: "Unusable", reason: `isolated but ${stored.state}` }
  if (stored.state === "open" && !stored.isolated && stored.openUntil === null) {
    return { _tag: "Unusable", reason: "open without openUntil" }
  }
  return {
    _tag: "Usable",
    snapshot: {
      state: stored.state,
      failureCount: stored.failureCount,
      lastFailure: stored.lastFailure === null ? undefined : stored.lastFailure,
      lastStateChange: stored.lastStateChange,
      openUntil: stored.isolated ? Infinity : stored.openUntil === null ? 0 : stored.openUntil,
      isolated: stored.isolated,
      opens: stored.opens
    }
  }
}

/**
 * Why a stored value that does not decode cannot be used: where (the path of the first problem)
 * and what.
 *
 * @internal
 */
export const notVersion1 = (path: ReadonlyArray<string>, message: string | undefined): string =>
  `not a version 1 snapshot${path.length === 0 ? "" : ` at ${path.join(".")}`}: ${message ?? "unreadable"}`

/** The Warning logged when a stored value cannot be used. @internal */
export const ignoredLog = (service: string, key: string, reason: string): string =>
  `[${service}] Ignoring the stored circuit breaker state under ${JSON.stringify(key)} (${reason})`

/** The Warning logged when the store cannot be read. @internal */
export const readFailedLog = (service: string, key: string, description: string): string =>
  `[${service}] Could not read the stored circuit breaker state under ${JSON.stringify(key)}: ${description}`

/** The Warning logged when a snapshot cannot be stored. @internal */
export const writeFailedLog = (service: string, key: string, description: string): string =>
  `[${service}] Could not store the circuit breaker state under ${JSON.stringify(key)}: ${description}`

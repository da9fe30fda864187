/**
 * Keyed circuits: one circuit breaker per key (per host, per tenant, per path prefix), each made
 * on first use, dropped after a while unused, at most `maxKeys` of them.
 *
 * @since 0.4.1
 */
import type * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/keyedCircuitBreaker.js"
import type * as ServiceRegistry from "./ServiceRegistry.js"
import type { ServiceStatus } from "./ServiceStatus.js"
import type { ServiceUnavailable } from "./ServiceUnavailable.js"

/**
 * @since 0.4.1
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.4.1
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Options of {@link make}: those of `CircuitBreaker.make`, applied to the breaker of every key,
 * and two of the key table.
 *
 * - `name` (default `"circuit-breaker"`): a key's breaker is named `name/key` (in its logs,
 *   status and `ServiceUnavailable`); the metrics of every key share the `service` label `name`,
 *   so that keys coming and going add no metric series.
 * - `storeKey`: with a `store`, a key's snapshot is kept under `storeKey/key` (default
 *   `effect-resilience/circuit-breaker/name/key`).
 *
 * @since 0.4.1
 * @category models
 */
export interface Options extends CircuitBreaker.Options {
  /**
   * A key with no call in flight is dropped once idle this long since the later of its last use
   * and the end of its last opening (an `open` key outlives its opening by this much): it leaves
   * the table at once, its breaker's scope is closed in the background (its timers end, its
   * registry entry goes), and its next call makes a new, closed breaker. A key whose breaker is
   * isolated is kept until `reset`. Default `"60 minutes"`.
   */
  readonly idleTimeToLive?: Duration.Input | undefined
  /**
   * The most keys held at once. Default 1000. A new key when `maxKeys` are held takes the place of
   * the least recently used key that is `closed` with no call in flight (that key's failure count
   * is forgotten). An `open` or `half_open` key is never dropped to make room: when no key may go,
   * the call of the new key is not refused but runs on the overflow breaker (one breaker, named
   * `name/*`, shared by every key that found no room; made when first needed, logged at Warning).
   */
  readonly maxKeys?: number | undefined
}

/**
 * One key and its breaker's status, as {@link KeyedCircuitBreaker.statuses} lists them.
 *
 * @since 0.4.1
 * @category models
 */
export interface KeyStatus {
  readonly key: string
  readonly status: ServiceStatus
}

/**
 * A set of circuit breakers, one per key. Call {@link KeyedCircuitBreaker.call} with a key and an
 * effect: the effect runs under that key's breaker (made on first use), independent of every
 * other key's: one key `open` rejects its own calls and no other.
 *
 * @since 0.4.1
 * @category models
 */
export interface KeyedCircuitBreaker {
  readonly [TypeId]: TypeId
  /** The `name` option: a key's breaker is named `name/key`. */
  readonly name: string
  /**
   * Runs `self` under the breaker of `key`, made (closed) if the key is not held. The key is in
   * use, never dropped, until `self` ends. Fails like calling a breaker: `ServiceUnavailable`
   * when the key's breaker rejects the call.
   */
  readonly call: <A, E, R>(key: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServiceUnavailable, R>
  /**
   * The breaker of `key`, made if the key is not held (counts as a use of the key). Calls made
   * with it directly do not keep the key in use: prefer {@link KeyedCircuitBreaker.call}.
   */
  readonly breaker: (key: string) => Effect.Effect<CircuitBreaker.CircuitBreaker>
  /** The keys held now, sorted. */
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  /** Each key held now with its breaker's status, sorted by key. The overflow breaker is not listed. */
  readonly statuses: Effect.Effect<ReadonlyArray<KeyStatus>>
  /** The overflow breaker, once made (see {@link Options.maxKeys}). */
  readonly overflow: Effect.Effect<CircuitBreaker.CircuitBreaker | undefined>
  /**
   * Lists every key in the `ServiceRegistry` from now on, each under `id/key` (default id: the
   * `name` option), with its breaker, so that the status endpoint and page show each key's
   * status, transitions and next probe. A dropped key leaves the registry; the overflow breaker
   * is listed as `id/*` once made. A key whose id is already listed is logged at Warning and not
   * listed.
   */
  readonly register: (id?: string) => Effect.Effect<void, never, ServiceRegistry.ServiceRegistry>
}

/**
 * Makes a keyed breaker that lives as long as the current `Scope` (closing it drops every key).
 * Idle keys are dropped by a fiber of the keyed breaker sleeping on its `Clock` (a `TestClock`
 * in tests) until the next key may expire.
 *
 * Fails with a `ConfigError` naming the option when an option is invalid (those of
 * `CircuitBreaker.make`, `idleTimeToLive` not a positive duration, `maxKeys` not a positive
 * integer); nothing is made then.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KeyedCircuitBreaker } from "effect-resilience"
 *
 * declare const fetchTenant: (tenant: string) => Effect.Effect<string, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breakers = yield* KeyedCircuitBreaker.make({ name: "tenants", maxKeys: 500 })
 *   return yield* breakers.call("acme", fetchTenant("acme"))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.4.1
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<KeyedCircuitBreaker, Config.ConfigError, Scope.Scope> = (
  options
) => internal.make(options)

/**
 * Whether a value is a {@link KeyedCircuitBreaker}.
 *
 * @since 0.4.1
 * @category guards
 */
export const isKeyedCircuitBreaker = (u: unknown): u is KeyedCircuitBreaker =>
  typeof u === "object" && u !== null && TypeId in u

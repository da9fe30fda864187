/**
 * How a breaker finds the fleet it belongs to: a fleet layer puts a `FleetMembership` in the
 * context, and every breaker made under it joins (unless made under `Fleet.optOut`). Kept apart
 * from the fleet's implementation so that the breaker does not import Redis.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type { ServiceStatusJson } from "../ServiceStatus.js"
import type { FleetHook } from "./circuitBreaker.js"
import type { RedisError } from "./redis.js"

/** One live replica of a fleet as its last heartbeat described it. @internal */
export interface ReplicaStatus {
  readonly replica: string
  /** Time since the replica's last heartbeat, as Redis measured it, in milliseconds. */
  readonly ageMillis: number
  /** The replica's breakers: service name → status (wire JSON). */
  readonly services: Record<string, ServiceStatusJson>
}

/**
 * The fleet a layer joins: the public `Fleet` service (same tag key) plus `join`.
 *
 * @internal
 */
export interface FleetService {
  readonly fleet: string
  readonly replica: string
  readonly reachable: Effect.Effect<boolean>
  readonly replicas: Effect.Effect<ReadonlyArray<ReplicaStatus>, RedisError>
  /**
   * Follows the breaker's transitions and applies the fleet's, for the life of the scope.
   *
   * @internal
   */
  readonly join: (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook) => Effect.Effect<void, never, Scope.Scope>
}

/** @internal */
export const FleetMembership = Context.GenericTag<FleetService>("effect-resilience/Fleet")

/**
 * Joins the fleet in context, if any, in the scope the breaker was made in.
 *
 * @internal
 */
export const join = (
  breaker: CircuitBreaker.CircuitBreaker,
  hook: FleetHook
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(
    Effect.serviceOption(FleetMembership),
    Option.match({ onNone: () => Effect.void, onSome: (membership) => membership.join(breaker, hook) })
  )

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
import type { FleetHook } from "./circuitBreaker.js"

/** @internal */
export interface FleetMembership {
  /** Follows the breaker's transitions and applies the fleet's, for the life of the scope. */
  readonly join: (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook) => Effect.Effect<void, never, Scope.Scope>
}

/** @internal */
export const FleetMembership = Context.GenericTag<FleetMembership>("effect-resilience/FleetMembership")

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

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
import type * as Fleet from "../Fleet.js"
import type { FleetHook } from "./circuitBreaker.js"

/** One live replica of a fleet as its last heartbeat described it. @internal */
export type ReplicaStatus = Fleet.ReplicaStatus

/**
 * The fleet a layer joins: the public `Fleet` service (same tag key) plus `join`.
 *
 * @internal
 */
export interface FleetService extends Fleet.Fleet {
  /**
   * Follows the breaker's transitions and applies the fleet's, for the life of the scope.
   *
   * @internal
   */
  readonly join: (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Shares a client's retry budget with the same service's budgets on the other replicas, for
   * the life of the scope: about once a heartbeat, each replica sends what its bucket recorded
   * (successes, failures) and applies what the others sent. Never a Redis round trip per retry.
   *
   * @internal
   */
  readonly shareBudget: (service: string, budget: SharedBudget) => Effect.Effect<void, never, Scope.Scope>
}

/** A retry budget as the fleet sees it. @internal */
export interface SharedBudget {
  readonly takeLocal: () => { readonly successes: number; readonly failures: number }
  readonly applyRemote: (successes: number, failures: number) => void
}

/**
 * Shares a client's retry budget with the fleet in context, if any, in the client's scope.
 *
 * @internal
 */
export const shareBudget = (service: string, budget: SharedBudget): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(
    Effect.serviceOption(FleetMembership),
    Option.match({ onNone: () => Effect.void, onSome: (membership) => membership.shareBudget(service, budget) })
  )

/** @internal */
export const FleetMembership: Context.Service<FleetService, FleetService> = Context.Service<FleetService>(
  "effect-resilience/Fleet"
)

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

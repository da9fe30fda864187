import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as ServiceUnavailable from "../ServiceUnavailable.js"
import type * as Machine from "./machine.js"

/** @internal */
export const TypeId: CircuitBreaker.TypeId = Symbol.for("effect-resilience/CircuitBreaker") as CircuitBreaker.TypeId

/**
 * What the HTTP client needs from its breaker beyond the public interface.
 *
 * @internal
 */
export const InternalTypeId: unique symbol = Symbol.for("effect-resilience/CircuitBreaker/internal")

/** @internal */
export interface Internals {
  /** The rejection a call would get now, if any; takes no permit and changes nothing. */
  readonly rejection: Effect.Effect<Option.Option<ServiceUnavailable.ServiceUnavailable>>
  /**
   * Completes with the rejection once the breaker rejects calls: at once if it does now,
   * otherwise at its next transition to `open`.
   */
  readonly awaitRejection: Effect.Effect<ServiceUnavailable.ServiceUnavailable>
  /** The state as last stepped, read without an effect (for span attributes). */
  readonly currentState: () => CircuitBreaker.State
  /** Subscriptions held by `awaitRejection` waiters now (for tests: one per waiter). */
  readonly rejectionWaiters: () => number
  /**
   * Protects `self` like calling the breaker, but with the outcome of a failed call decided by
   * `judge` instead of `isFailure`: the HTTP client knows the three outcomes of an attempt.
   */
  readonly protectJudged: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    judge: (cause: Cause.Cause<E>) => FailedOutcome
  ) => Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R>
}

/**
 * How a failed call ends for the breaker: counted (`Failure`), the service answered but the
 * failure does not count (`Ignored`), or it says nothing about the service (`Silent`).
 *
 * @internal
 */
export type FailedOutcome = "Failure" | "Ignored" | "Silent"

/**
 * The default judge of a failed call: a defect counts, an interruption says nothing, a typed
 * failure counts when `isFailure` says so.
 *
 * @internal
 */
export const judgeWith = (isFailure: (error: unknown) => boolean) => <E>(cause: Cause.Cause<E>): FailedOutcome =>
  judgeBy(isFailure, cause)

const judgeBy = <E>(isFailure: (error: unknown) => boolean, cause: Cause.Cause<E>): FailedOutcome => {
  if (Cause.hasDies(cause)) return "Failure"
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "None") return "Silent"
  return isFailure(failure.value) ? "Failure" : "Ignored"
}

/** @internal */
export const internals = (breaker: CircuitBreaker.CircuitBreaker): Internals =>
  (breaker as unknown as { readonly [InternalTypeId]: Internals })[InternalTypeId]

/**
 * What fleet mode needs from a breaker: its machine, and a way to step it with the fleet's
 * events (announcing what they change, like any other step).
 *
 * @internal
 */
export const FleetHookId: unique symbol = Symbol.for("effect-resilience/CircuitBreaker/fleet")

/** @internal */
export interface FleetHook {
  readonly name: string
  readonly config: Machine.Config<unknown>
  /** The machine as last stepped. */
  readonly machine: () => Machine.Machine<unknown>
  /** Steps the machine with a fleet event and announces the transitions it made. */
  readonly step: (event: Machine.FleetEvent) => Effect.Effect<Machine.Step<unknown>>
  /** The machine with the deadlines that time has passed applied (and announced). */
  readonly observe: Effect.Effect<Machine.Machine<unknown>>
  /**
   * Called (synchronously, on the caller's fiber) when a call arrives in `half_open` without the
   * fleet's probe lease and asks for it; set by the fleet that the breaker joins.
   */
  onLeaseAsked: (() => void) | undefined
}

/** @internal */
export const fleetHook = (breaker: CircuitBreaker.CircuitBreaker): FleetHook =>
  (breaker as unknown as { readonly [FleetHookId]: FleetHook })[FleetHookId]

/** @internal */
export const make = (
  _options: CircuitBreaker.Options = {}
): Effect.Effect<CircuitBreaker.CircuitBreaker, Config.ConfigError, Scope.Scope> => Effect.die("not yet")

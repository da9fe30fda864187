/**
 * A circuit breaker: a callable service that protects any `Effect`, stops calling a failing
 * service for a while, then lets a probe test whether it recovered.
 *
 * @since 0.1.0
 */
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/circuitBreaker.js"
import * as Machine from "./internal/machine.js"
import type { BreakerState, ServiceStatus } from "./ServiceStatus.js"
import type { ServiceUnavailable } from "./ServiceUnavailable.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * `"closed"`, `"open"` or `"half_open"`.
 *
 * @since 0.1.0
 * @category models
 */
export type State = BreakerState

/**
 * One transition of a breaker, as published on {@link CircuitBreaker.changes}. `at` is when it
 * happened on the breaker's `Clock`; for `open → half_open` that is exactly the moment the
 * recovery timeout elapsed.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateChange {
  readonly service: string
  readonly from: State
  readonly to: State
  readonly at: Date
}

/**
 * A circuit breaker. Call it on an effect to run that effect under its protection:
 *
 * - `closed`: the effect runs; a counted failure adds to the failure count, a success resets it.
 *   When the tripping strategy says so (by default after `failureThreshold` consecutive counted
 *   failures) the breaker opens.
 * - `open`: the effect is not run; the call fails at once with {@link ServiceUnavailable}.
 *   After `recoveryTimeout` the breaker becomes `half_open` by itself, call or no call.
 * - `half_open`: the first `halfOpenMaxProbes` calls run as probes, every other call fails at
 *   once with `ServiceUnavailable`. When that many probes have succeeded the breaker closes;
 *   a failed probe opens it again for a whole new `recoveryTimeout`.
 *
 * Interruption counts neither way, and an interrupted probe gives its permit back. Defects
 * always count. Outcomes of calls admitted before a transition are ignored after it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R>
  readonly [TypeId]: TypeId
  /** The service name (option `name`) used in logs, statuses and errors. */
  readonly service: string
  /** A snapshot: state, consecutive counted failures, last failure, last state change. */
  readonly status: Effect.Effect<ServiceStatus>
  /** The current state (an `open` breaker past its recovery timeout reads `half_open`). */
  readonly state: Effect.Effect<State>
  /**
   * Every transition from the moment a consumer subscribes (a hot stream). A consumer that falls
   * more than 1024 transitions behind loses the oldest ones.
   */
  readonly changes: Stream.Stream<StateChange>
  /**
   * Subscribes now, in the current scope: every transition after this effect completes is in
   * the queue. Use it where missing a transition matters (tests, metrics); `changes` subscribes
   * only when the stream starts running.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<StateChange>, never, Scope.Scope>
}

/**
 * Decides, from what the breaker saw in `closed`, when it opens. `initial`, `onSuccess` and
 * `onFailure` must be pure (return a new state, or the same one when nothing changed);
 * `shouldTrip` is asked after every counted failure. Times are `Clock` milliseconds.
 *
 * @since 0.1.0
 * @category strategies
 */
export interface TrippingStrategy<S> {
  /** Shown in docs and logs, e.g. `consecutiveFailures(5)`. */
  readonly name: string
  /** The state when the breaker is made and every time it closes. */
  readonly initial: (now: number) => S
  /** A call succeeded in `closed`. */
  readonly onSuccess: (state: S, now: number) => S
  /** A counted failure in `closed`. */
  readonly onFailure: (state: S, now: number) => S
  /** Whether the breaker opens now. */
  readonly shouldTrip: (state: S, now: number) => boolean
}

/**
 * The default strategy: open after `threshold` consecutive counted failures; a success resets
 * the count.
 *
 * @since 0.1.0
 * @category strategies
 */
export const consecutiveFailures: (threshold: number) => TrippingStrategy<number> = Machine.consecutiveFailures

/**
 * Options of {@link make}. Every one has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Used in logs, statuses and errors. Default `"circuit-breaker"`. */
  readonly name?: string | undefined
  /** Consecutive counted failures that open the breaker. Default 5. Ignored when `strategy` is given. */
  readonly failureThreshold?: number | undefined
  /** How long the breaker stays `open` before it lets a probe through. Default `"60 seconds"`. */
  readonly recoveryTimeout?: Duration.DurationInput | undefined
  /** Probes admitted in `half_open`; that many must succeed to close. Default 1. */
  readonly halfOpenMaxProbes?: number | undefined
  /**
   * Which typed failures count against the breaker. Default: all. Defects always count; an
   * interruption never does. A probe that fails with an error that does not count is a success
   * (the service answered).
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined
  /** When the breaker opens. Default `consecutiveFailures(failureThreshold)`. */
  readonly strategy?: TrippingStrategy<any> | undefined
}

/**
 * Makes a circuit breaker that lives as long as the current `Scope` (its recovery timers and
 * its `changes` hub end with it).
 *
 * Time is read from the `Clock` of the context the breaker is made in, so a breaker made under
 * `TestClock` is driven entirely by `TestClock.adjust`.
 *
 * Fails with a `ConfigError` naming the option when an option is invalid (a count that is not a
 * positive integer, a duration that is not positive, an empty name); nothing is built then.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-resilience"
 *
 * declare const query: Effect.Effect<string, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ name: "Chroma Server", failureThreshold: 5 })
 *   const result = yield* breaker(query)
 *   return result
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<CircuitBreaker, ConfigError.ConfigError, Scope.Scope> =
  internal.make

/**
 * Whether a value is a {@link CircuitBreaker}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isCircuitBreaker = (u: unknown): u is CircuitBreaker => typeof u === "function" && TypeId in u

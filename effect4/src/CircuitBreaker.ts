/**
 * A circuit breaker: a callable service that protects any `Effect`, stops calling a failing
 * service for a while, then lets a probe test whether it recovered.
 *
 * @since 0.4.0
 */
import type * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as KeyValueStore from "effect/persistence/KeyValueStore"
import type * as PubSub from "effect/PubSub"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/circuitBreaker.js"
import * as Machine from "./internal/machine.js"
import * as Strategies from "./internal/strategies.js"
import type { BreakerState, ServiceStatus } from "./ServiceStatus.js"
import type { ServiceUnavailable } from "./ServiceUnavailable.js"

/**
 * @since 0.4.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.4.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * `"closed"`, `"open"` or `"half_open"`.
 *
 * @since 0.4.0
 * @category models
 */
export type State = BreakerState

/**
 * One transition of a breaker, as published on {@link CircuitBreaker.changes}. `at` is when it
 * happened, on the wall clock of the breaker's `Clock` (`currentTimeMillis`); for
 * `open → half_open` that is exactly the moment the recovery timeout elapsed, which is measured
 * on the monotonic clock.
 *
 * @since 0.4.0
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
 *   a failed probe (or one still running after `probeTimeout`) opens it again for a whole new
 *   `recoveryTimeout` (the next delay of the recovery schedule, when it is one).
 *
 * An operator can force it open with `isolate` (no probe until `reset`) and close it with `reset`.
 *
 * Interruption counts neither way, and an interrupted probe gives its permit back. Defects
 * always count. Outcomes of calls admitted before a transition are ignored after it.
 *
 * @since 0.4.0
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
   * more than 64 transitions behind loses the oldest ones.
   */
  readonly changes: Stream.Stream<StateChange>
  /**
   * Subscribes now, in the current scope: every transition after this effect completes is in
   * the subscription (read it with `PubSub.take`). Use it where missing a transition matters
   * (tests, metrics); `changes` subscribes only when the stream starts running. (In the Effect 3
   * edition this is a `Queue.Dequeue`; Effect 4's `PubSub.subscribe` gives a `Subscription`.)
   */
  readonly subscribe: Effect.Effect<PubSub.Subscription<StateChange>, never, Scope.Scope>
  /**
   * Forces the breaker open until {@link CircuitBreaker.reset}: every call is rejected with a
   * `ServiceUnavailable` whose `retryAfter` is infinite, no probe runs and no recovery timeout
   * applies. Publishes a change to `open` (from `open` too, when it was open already) and logs
   * `Circuit breaker OPEN (isolated manually)` at Warning. Does nothing when already isolated.
   * Results of calls admitted before are ignored.
   *
   * @since 0.4.0
   */
  readonly isolate: Effect.Effect<void>
  /**
   * Closes the breaker whatever its state, isolated or not: counts cleared (`failureCount` 0,
   * the strategy's state fresh, the recovery schedule back at its first delay). Publishes a
   * change to `closed` (from `closed` too) and logs `Circuit breaker CLOSED (reset manually)`.
   * Results of calls admitted before are ignored.
   *
   * @since 0.4.0
   */
  readonly reset: Effect.Effect<void>
  /**
   * Whether the breaker is isolated (forced open by {@link CircuitBreaker.isolate}); its `state`
   * then reads `open`.
   *
   * @since 0.4.0
   */
  readonly isolated: Effect.Effect<boolean>
  /**
   * The breaker with per-call options: `breaker.withOptions({ onRejection: "allow" })(effect)`
   * protects `effect` like `breaker(effect)`, except as the options say. See {@link CallOptions}.
   *
   * @since 0.4.1
   */
  readonly withOptions: (
    options: CallOptions
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServiceUnavailable, R>
}

/**
 * Options of one call, for {@link CircuitBreaker.withOptions}.
 *
 * @since 0.4.1
 * @category models
 */
export interface CallOptions {
  /**
   * What the call does when the breaker would refuse it. `"fail"` (the default): it fails at once
   * with {@link ServiceUnavailable}. `"allow"`, for a call that must always run (a write that may
   * not be dropped): it runs anyway, unrecorded (it never probes, it counts neither way, its
   * result changes nothing), and the breaker logs at Info
   * `Circuit breaker OPEN: call run unrecorded (onRejection: allow)` (or `HALF_OPEN`). When the
   * breaker admits the call it is recorded as usual, probe included. Any other value makes
   * `withOptions` throw a `TypeError` naming the option.
   */
  readonly onRejection?: "fail" | "allow" | undefined
}

/**
 * What `isFailure` is told about the call it judges: `probe` is true when the call ran as a
 * `half_open` probe.
 *
 * @since 0.4.1
 * @category models
 */
export interface FailureContext {
  readonly probe: boolean
}

/**
 * What `isFailure` answers: `true` (the error counts), `false` (it does not: the service answered),
 * or `{ retryAfter }`: the error counts, and should it open the breaker, the opening lasts at
 * least `retryAfter` (up to the option `retryAfterCap`), as an HTTP `Retry-After` asks.
 *
 * @since 0.4.1
 * @category models
 */
export type FailureVerdict = boolean | { readonly retryAfter: Duration.Input }

/**
 * Decides, from what the breaker saw in `closed`, when it opens. `initial`, `onSuccess` and
 * `onFailure` must be pure (return a new state, or the same one when nothing changed; never
 * mutate the one given); `shouldTrip` is asked after every counted failure, and after every
 * success when `onSuccessMayTrip` is set. `now` is the breaker's monotonic time in milliseconds
 * (from `Clock.monotonicTimeNanos`: compare and subtract it, never read it as a date).
 *
 * @since 0.4.0
 * @category strategies
 */
export interface TrippingStrategy<S> {
  /** Shown in docs and logs, e.g. `consecutiveFailures(5)`. */
  readonly name: string
  /** The state when the breaker is made and every time it closes. */
  readonly initial: (now: number) => S
  /**
   * A call succeeded in `closed`. `durationMillis` is how long it ran, measured on the breaker's
   * clock when `needsDuration` is set, otherwise 0.
   */
  readonly onSuccess: (state: S, now: number, durationMillis: number) => S
  /** A counted failure in `closed`; `durationMillis` as for `onSuccess`. */
  readonly onFailure: (state: S, now: number, durationMillis: number) => S
  /** Whether the breaker opens now. */
  readonly shouldTrip: (state: S, now: number) => boolean
  /**
   * Set it when a success can open the breaker (a rate, a slow call): `shouldTrip` is then also
   * asked after successes, which the breaker settles uninterruptibly. Default false.
   *
   * @since 0.4.0
   */
  readonly onSuccessMayTrip?: boolean | undefined
  /**
   * Set it when `onSuccess`/`onFailure` read `durationMillis`: only then does the breaker read
   * the clock when a call starts and ends. Default false.
   *
   * @since 0.4.0
   */
  readonly needsDuration?: boolean | undefined
}

/**
 * The default strategy: open after `threshold` consecutive counted failures; a success resets
 * the count.
 *
 * @since 0.4.0
 * @category strategies
 */
export const consecutiveFailures: (threshold: number) => TrippingStrategy<number> = Machine.consecutiveFailures

/**
 * The calls a rate strategy looks at:
 *
 * - `{ kind: "count", size }`: the last `size` calls.
 * - `{ kind: "time", duration, buckets }`: the calls of the last `duration` on the breaker's
 *   clock, kept in `buckets` (default 10) buckets of `duration / buckets` each; a whole bucket
 *   ages out at once, so the window covers between `duration - duration / buckets` and
 *   `duration`.
 *
 * Only outcomes in `closed` are recorded; interrupted calls and failures that `isFailure` does
 * not count are not calls for the rate. The window starts empty when the breaker closes.
 *
 * @since 0.4.0
 * @category strategies
 */
export type SlidingWindow =
  | { readonly kind: "count"; readonly size: number }
  | { readonly kind: "time"; readonly duration: Duration.Input; readonly buckets?: number | undefined }

/**
 * Options of {@link failureRate}.
 *
 * @since 0.4.0
 * @category strategies
 */
export interface FailureRateOptions {
  /** The fraction of calls in the window, in (0, 1], at which the breaker opens (0.5 = 50 %). */
  readonly threshold: number
  /** Calls the window must hold before the rate is judged at all (a positive integer). */
  readonly minimumCalls: number
  /** Which calls the rate is computed over. */
  readonly window: SlidingWindow
}

/**
 * Options of {@link slowCallRate}.
 *
 * @since 0.4.0
 * @category strategies
 */
export interface SlowCallRateOptions extends FailureRateOptions {
  /** A call that runs longer than this (on the breaker's clock) counts against the rate. */
  readonly slowerThan: Duration.Input
}

/**
 * The state of a rate strategy: the calls in its window and those that count against the rate.
 *
 * @since 0.4.0
 * @category strategies
 */
export interface RateWindow {
  readonly calls: number
  readonly failures: number
}

/**
 * Opens when, among the calls in `window`, the fraction of counted failures reaches `threshold`,
 * once the window holds at least `minimumCalls` calls. Judged after every call, so a success
 * that completes `minimumCalls` can open the breaker.
 *
 * Invalid parameters (a threshold outside (0, 1], a count that is not a positive integer, a
 * duration that is not positive, `minimumCalls` above a count window's `size`) make
 * {@link make} fail with a `ConfigError` at `strategy.<parameter>`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-resilience"
 *
 * // half of the last 100 calls failed, once 20 calls were seen
 * const breaker = CircuitBreaker.make({
 *   name: "billing",
 *   strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 20, window: { kind: "count", size: 100 } })
 * })
 * ```
 *
 * @since 0.4.0
 * @category strategies
 */
export const failureRate: (options: FailureRateOptions) => TrippingStrategy<RateWindow> = Strategies.failureRate

/**
 * Like {@link failureRate}, but a call also counts against the rate when it ran longer than
 * `slowerThan`, even if it succeeded: the breaker opens when the fraction of calls that failed or
 * were slow reaches `threshold`. Durations are measured on the breaker's clock.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-resilience"
 *
 * // 80 % of the calls of the last minute failed or took over 2 s, once 10 calls were seen
 * const breaker = CircuitBreaker.make({
 *   name: "search",
 *   strategy: CircuitBreaker.slowCallRate({
 *     slowerThan: "2 seconds",
 *     threshold: 0.8,
 *     minimumCalls: 10,
 *     window: { kind: "time", duration: "1 minute", buckets: 6 }
 *   })
 * })
 * ```
 *
 * @since 0.4.0
 * @category strategies
 */
export const slowCallRate: (options: SlowCallRateOptions) => TrippingStrategy<RateWindow> = Strategies.slowCallRate

/**
 * Options of {@link make}. Every one has a default.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /**
   * Used in logs, statuses, errors and as the `service` label of metrics. Default
   * `"circuit-breaker"`, or `"circuit-breaker-2"`, `-3`, … while breakers made without a name
   * before are alive, so that two of them never share a metric series.
   */
  readonly name?: string | undefined
  /** Consecutive counted failures that open the breaker. Default 5. Ignored when `strategy` is given. */
  readonly failureThreshold?: number | undefined
  /**
   * How long the breaker stays `open` before it lets a probe through. Default `"60 seconds"`.
   *
   * A `Schedule` makes the open durations grow: its successive delays are the durations of the
   * 1st, 2nd, … opening since the breaker last closed (each failed probe opens it again for the
   * next delay); when the breaker closes it starts over from the first delay. For example
   * `Schedule.min([Schedule.exponential("10 seconds"), Schedule.spaced("5 minutes")])`:
   * 10 s, 20 s, 40 s, … capped at 5 minutes. The schedule is stepped ahead of time, when the
   * breaker is made (up to 64 delays; a jittered schedule is drawn once per breaker); after its
   * last delay, or when it ends, the last delay repeats.
   */
  readonly recoveryTimeout?: Duration.Input | Schedule.Schedule<unknown, unknown> | undefined
  /** Probes admitted in `half_open`; that many must succeed to close. Default 1. */
  readonly halfOpenMaxProbes?: number | undefined
  /**
   * A probe still running this long after it was admitted counts as a failed probe: the breaker
   * opens again (publishing `half_open → open`, logged `OPEN (probe timed out)`) and the probe's
   * permit is gone with the old generation. The call itself is not interrupted; its result, when
   * it comes, is returned to its caller and ignored by the breaker. Default: no limit.
   *
   * @since 0.4.0
   */
  readonly probeTimeout?: Duration.Input | undefined
  /**
   * Which typed failures count against the breaker. Default: all. Defects always count; an
   * interruption never does. A probe that fails with an error that does not count is a success
   * (the service answered).
   *
   * It is told whether the call was a probe (`context.probe`), so that a probe may be judged more
   * strictly, and may answer `{ retryAfter }` (see {@link FailureVerdict}) or an effect of its
   * verdict (run interruptibly: interrupted before it answers, the call counts neither way, and a
   * probe gives its permit back). A judge that throws, fails or dies counts the call and adds its
   * failure to the call's as a defect; an invalid `retryAfter` is such a defect too. An object
   * without a `retryAfter` property (an `Error` a JS judge returns) counts as `true`.
   * `(error) => boolean` works as before.
   */
  readonly isFailure?:
    | ((error: unknown, context: FailureContext) => FailureVerdict | Effect.Effect<FailureVerdict>)
    | undefined
  /**
   * When the breaker opens. Default `consecutiveFailures(failureThreshold)`; see also
   * {@link failureRate} and {@link slowCallRate}.
   */
  readonly strategy?: TrippingStrategy<any> | undefined
  /**
   * Persists the breaker's state, so that a restarted process resumes an `open` breaker with the
   * recovery time it has left instead of calling a service that is down. A snapshot is written
   * (as versioned JSON) after every transition and read once by `make`; a snapshot that cannot be
   * read or is not one this version writes is ignored with a Warning log. Default: none.
   *
   * The store is never on a call's path: writes are made by the breaker's own fiber, the latest
   * snapshot replacing one not yet written, each bounded by `storeTimeout`; a write that fails or
   * times out is logged (Warning) and the breaker goes on. The read in `make` is bounded the same
   * way (the breaker then starts closed). Closing the breaker's scope waits up to `storeTimeout`
   * for the last writes, so a graceful shutdown loses no transition.
   *
   * @since 0.4.0
   */
  readonly store?: KeyValueStore.KeyValueStore | undefined
  /**
   * The key of the snapshot in `store`. Default `"effect-resilience/circuit-breaker/<name>"`.
   *
   * @since 0.4.0
   */
  readonly storeKey?: string | undefined
  /**
   * The longest a read or a write of `store` may take before it is given up (and logged).
   * Default `"5 seconds"`. Needs `store`.
   *
   * @since 0.4.0
   */
  readonly storeTimeout?: Duration.Input | undefined
  /**
   * The longest a `Retry-After` may make an opening. When the failure that opens the breaker
   * (a tripping call or a failed probe) carries a `Retry-After` (`isFailure` answered
   * `{ retryAfter }`, or, with its `breaker.openForRetryAfter`, the HTTP client read the header
   * of a 429 or 503), the opening lasts the longer of its own duration and that `Retry-After`,
   * capped by this. Default `"1 hour"`.
   *
   * @since 0.4.1
   */
  readonly retryAfterCap?: Duration.Input | undefined
  /**
   * Whether the count of consecutive openings (which picks each opening's duration from a
   * `recoveryTimeout` schedule) survives a close. `false` (the default): a close starts the
   * schedule over. `true`: the count lapses only once the breaker has stayed closed as long as its
   * last opening lasted, so an upstream that flaps (recovers, fails again at once) keeps climbing
   * the schedule instead of starting it over each time. A manual `reset` always starts it over.
   *
   * @since 0.4.1
   */
  readonly retainOpenings?: boolean | undefined
}

/**
 * Makes a circuit breaker that lives as long as the current `Scope` (its recovery timers and
 * its `changes` hub end with it).
 *
 * Time is read from the `Clock` of the context the breaker is made in, so a breaker made under
 * `TestClock` is driven entirely by `TestClock.adjust`. Openings, probe timeouts and strategy
 * windows are measured on its monotonic time (`monotonicTimeNanos`), which a step of the system
 * clock does not move; statuses, transitions and stored snapshots are dated on its wall time
 * (`currentTimeMillis`).
 *
 * Fails with a `ConfigError` naming the option when an option is invalid (a count that is not a
 * positive integer, a duration that is not positive, an empty name, a strategy's parameter, a
 * recovery schedule with a delay that is not positive); nothing is built then. A `store` that
 * fails or holds an unusable snapshot does not fail `make`: it is logged and skipped.
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
 * @since 0.4.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<CircuitBreaker, Config.ConfigError, Scope.Scope> = internal.make

/**
 * Whether a value is a {@link CircuitBreaker}.
 *
 * @since 0.4.0
 * @category guards
 */
export const isCircuitBreaker = (u: unknown): u is CircuitBreaker => typeof u === "function" && TypeId in u

/**
 * Retry with exponential backoff capped by a number of attempts, and the classification of
 * which failures of a call to another service are worth retrying.
 *
 * @since 0.1.0
 */
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/retryPolicy.js"

/**
 * How delays are randomised:
 * - `"none"`: exactly `baseDelay × factor^n` (capped by `maxDelay`);
 * - `"full"`: uniform in `[0, that delay]`;
 * - `"decorrelated"`: uniform in `[baseDelay, 3 × previous delay]`, capped by `maxDelay`.
 *
 * Random numbers come from Effect's `Random` service, so `Effect.withRandom(Random.fixed([...]))` makes
 * them exact in tests.
 *
 * @since 0.1.0
 * @category models
 */
export type Jitter = "none" | "full" | "decorrelated"

/**
 * Options of {@link schedule} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Attempts in all, the first included (the Python client's `max_retries`). Default 3. */
  readonly maxAttempts?: number | undefined
  /** Delay before the first retry. Default `"1 second"`. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** Each delay is the previous one times `factor` (≥ 1). Default 2. */
  readonly factor?: number | undefined
  /** No delay is longer than this. Default: no cap. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Default `"none"`. */
  readonly jitter?: Jitter | undefined
}

/**
 * Options with every default filled in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly maxAttempts: number
  readonly baseDelay: Duration.Duration
  readonly factor: number
  readonly maxDelay: Option.Option<Duration.Duration>
  readonly jitter: Jitter
}

/**
 * A validated policy and its schedule.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy extends Resolved {
  readonly schedule: Schedule.Schedule<Duration.Duration>
}

/**
 * The retry schedule: `Schedule.exponential(baseDelay, factor)` (capped by `maxDelay`,
 * randomised by `jitter`) intersected with `Schedule.recurs(maxAttempts - 1)`. Its output is
 * the delay it chose before the next attempt, so callers can log it.
 *
 * With the defaults: attempt 1 → wait 1 s → attempt 2 → wait 2 s → attempt 3 → give up.
 *
 * Throws `IllegalArgumentException` naming the option when an option is invalid; use
 * {@link make} to get a `ConfigError` in the error channel instead.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "effect-resilience"
 *
 * declare const call: Effect.Effect<string, Error>
 *
 * const retried = Effect.retry(call, {
 *   schedule: RetryPolicy.schedule({ maxAttempts: 3, baseDelay: "1 second" }),
 *   while: RetryPolicy.isTransient
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule: (options?: Options) => Schedule.Schedule<Duration.Duration> = internal.schedule

/**
 * Validates options into a {@link RetryPolicy}; fails with a `ConfigError` naming the option
 * and the reason (a non-positive or non-integer `maxAttempts`, a `factor` below 1, a
 * non-positive delay, an unknown `jitter`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<RetryPolicy, ConfigError.ConfigError> = internal.make

/**
 * Whether a failure of a call to another service is worth retrying:
 *
 * | failure | transient |
 * | --- | --- |
 * | `RequestError` with reason `Transport` (refused, reset, DNS) | yes |
 * | `TimeoutException` (an attempt timed out) | yes |
 * | `ResponseError` `StatusCode` 408, 429, 500, 502, 503, 504 | yes |
 * | any other status, `InvalidUrl`, `Encode`, `Decode`, `ServiceUnavailable`, anything else | no |
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient: (error: unknown) => boolean = internal.isTransient

/**
 * Whether an HTTP status is retried: 408, 429, 500, 502, 503 and 504.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransientStatus: (status: number) => boolean = internal.isTransientStatus

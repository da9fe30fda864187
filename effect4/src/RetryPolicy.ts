/**
 * Retry with exponential backoff capped by a number of attempts, and the classification of
 * which failures of a call to another service are worth retrying.
 *
 * @since 0.4.0
 */
import type * as Config from "effect/Config"
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
 * Random numbers come from Effect's `Random` service (`Random.next`), so providing a `Random`
 * that returns given doubles (`Effect.provideService(effect, Random.Random, …)`) or a seed
 * (`Random.withSeed`) makes them exact in tests.
 *
 * @since 0.4.0
 * @category models
 */
export type Jitter = "none" | "full" | "decorrelated"

/**
 * Options of {@link schedule} and {@link make}.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /** Attempts in all, the first included (the Python client's `max_retries`). Default 3. */
  readonly maxAttempts?: number | undefined
  /** Delay before the first retry. Default `"1 second"`. */
  readonly baseDelay?: Duration.Input | undefined
  /** Each delay is the previous one times `factor` (≥ 1). Default 2. */
  readonly factor?: number | undefined
  /** No delay is longer than this. Default: no cap. */
  readonly maxDelay?: Duration.Input | undefined
  /** Default `"none"`. */
  readonly jitter?: Jitter | undefined
}

/**
 * Options with every default filled in.
 *
 * @since 0.4.0
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
 * @since 0.4.0
 * @category models
 */
export interface RetryPolicy extends Resolved {
  readonly schedule: Schedule.Schedule<Duration.Duration>
}

/**
 * The retry schedule: an exponential backoff from `baseDelay` by `factor` (capped by
 * `maxDelay`, randomised by `jitter`) that stops after `maxAttempts - 1` retries, written as one
 * Effect 4 step function (`Schedule.fromStepWithMetadata`). Its output is the delay it chose
 * before the next attempt, so callers can log it; its input is ignored (any error).
 *
 * With the defaults: attempt 1 → wait 1 s → attempt 2 → wait 2 s → attempt 3 → give up.
 *
 * Throws `Cause.IllegalArgumentError` naming the option when an option is invalid; use
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
 * @since 0.4.0
 * @category constructors
 */
export const schedule: (options?: Options) => Schedule.Schedule<Duration.Duration> = internal.schedule

/**
 * Validates options into a {@link RetryPolicy}; fails with a `ConfigError` naming the option
 * and the reason (a non-positive or non-integer `maxAttempts`, a `factor` below 1, a
 * non-positive delay, an unknown `jitter`, a name that is not an option, such as `maxRetries`:
 * the message suggests the nearest).
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<RetryPolicy, Config.ConfigError> = internal.make

/**
 * Whether a failure of a call to another service is worth retrying:
 *
 * | failure | transient |
 * | --- | --- |
 * | `HttpClientError` whose `reason` is a `TransportError` (refused, reset, DNS) | yes |
 * | `Cause.TimeoutError` (an attempt timed out, from `Effect.timeout`) | yes |
 * | `HttpClientError` whose `reason` is a `StatusCodeError` with 408, 429, 500, 502, 503, 504 | yes |
 * | any other status, `InvalidUrlError`, `EncodeError`, `DecodeError`, `EmptyBodyError`, `ServiceUnavailable`, anything else | no |
 *
 * @since 0.4.0
 * @category predicates
 */
export const isTransient: (error: unknown) => boolean = internal.isTransient

/**
 * Whether an HTTP status is retried: 408, 429, 500, 502, 503 and 504.
 *
 * @since 0.4.0
 * @category predicates
 */
export const isTransientStatus: (status: number) => boolean = internal.isTransientStatus

/**
 * Reads an HTTP `Retry-After` header value (RFC 9110 §10.2.3) as the time to wait from
 * `nowMillis` (Clock milliseconds, e.g. `Clock.currentTimeMillis`).
 *
 * - delta-seconds (`"120"`): that many seconds; a number too large to represent counts as 2^31 s.
 * - an HTTP-date in any of its three formats (`"Sun, 06 Nov 1994 08:49:37 GMT"`, the obsolete
 *   `"Sunday, 06-Nov-94 08:49:37 GMT"` and `"Sun Nov  6 08:49:37 1994"`): the time from
 *   `nowMillis` to that date, or zero if it has passed. Names are case-sensitive and every field
 *   must be in range; the day name is not checked against the date.
 *
 * Anything else (signs, fractions, units, other date formats, empty or non-string input) is
 * `Option.none()`. It never throws. (Effect 4's `Headers.parseRetryAfter` reads the same forms
 * with other edge rules, such as no 2^31 s ceiling and any whitespace trimmed; this is the
 * reading both editions of this library share.)
 *
 * @example
 * ```ts
 * import { Duration, Option } from "effect"
 * import { RetryPolicy } from "effect-resilience"
 *
 * RetryPolicy.parseRetryAfter("5", 0) // Option.some(Duration.seconds(5))
 * RetryPolicy.parseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 0) // Option.some(Duration.seconds(5))
 * RetryPolicy.parseRetryAfter("soon", 0) // Option.none()
 * ```
 *
 * @since 0.4.0
 * @category parsing
 */
export const parseRetryAfter: (
  value: string | null | undefined,
  nowMillis: number
) => Option.Option<Duration.Duration> = internal.parseRetryAfter

/**
 * Options of {@link makeBudget}.
 *
 * @since 0.4.0
 * @category models
 */
export interface RetryBudgetOptions {
  /**
   * Size of the bucket, and its content when made (an integer from 1 to 1000000). Retries stop
   * once more than `maxTokens / 2` failed attempts have not been paid back by successes.
   * Default 100.
   */
  readonly maxTokens?: number | undefined
  /**
   * Tokens a successful attempt gives back (from 0.001 to `maxTokens`, kept to three decimals).
   * Retries go on indefinitely while fewer than `tokenRatio / (1 + tokenRatio)` of attempts
   * fail. Default 0.5: two successes refill what one failed attempt took, so retries continue
   * while under a third of attempts fail.
   */
  readonly tokenRatio?: number | undefined
}

/**
 * A snapshot of a retry budget.
 *
 * @since 0.4.0
 * @category models
 */
export interface RetryBudgetState {
  /** Tokens left, from 0 to `maxTokens`. */
  readonly tokens: number
  readonly maxTokens: number
  /** Whether a retry may start now: `tokens > maxTokens / 2`. */
  readonly retriesAllowed: boolean
}

/**
 * A retry budget, after gRPC's retry throttling: a token bucket shared by every call that uses
 * it. It starts full (`maxTokens`); each failed attempt takes one token (down to zero), each
 * successful attempt gives back `tokenRatio` (up to `maxTokens`), and retries are allowed only
 * while more than half of `maxTokens` is left. First attempts are never refused: the budget
 * only decides whether a failure is retried. Under a failing upstream the retries stop after a
 * few failures, so load on it stays close to one attempt per call; they resume once enough
 * successes have refilled the bucket.
 *
 * The `unsafe*` methods are synchronous (one plain update each), for hot paths.
 *
 * @since 0.4.0
 * @category models
 */
export interface RetryBudget {
  readonly maxTokens: number
  readonly tokenRatio: number
  /** The bucket now. */
  readonly state: Effect.Effect<RetryBudgetState>
  /** Records a successful attempt: gives back `tokenRatio` tokens. */
  readonly recordSuccess: Effect.Effect<void>
  /** Records a failed attempt: takes one token; succeeds with whether a retry is allowed now. */
  readonly recordFailure: Effect.Effect<boolean>
  /** {@link RetryBudget.recordSuccess}, synchronously. */
  readonly unsafeRecordSuccess: () => void
  /** {@link RetryBudget.recordFailure}, synchronously. */
  readonly unsafeRecordFailure: () => boolean
  /** {@link RetryBudget.state}, synchronously. */
  readonly unsafeState: () => RetryBudgetState
}

/**
 * Makes a {@link RetryBudget}, full. Fails with a `ConfigError` naming the option
 * (`maxTokens` not an integer from 1 to 1000000, `tokenRatio` not a number from 0.001 to
 * `maxTokens`, a name that is neither).
 *
 * `ResilientServiceClient` makes one per client (its `retryBudget` option); use this one to
 * put a budget on `Effect.retry`:
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "effect-resilience"
 *
 * declare const call: Effect.Effect<string, Error>
 *
 * const makeRetried = Effect.gen(function*() {
 *   const budget = yield* RetryPolicy.makeBudget({ maxTokens: 10, tokenRatio: 0.1 })
 *   return call.pipe(
 *     // each attempt settles with the budget: a success refunds, a transient failure costs a token
 *     Effect.tap(() => budget.recordSuccess),
 *     Effect.tapError((error) => RetryPolicy.isTransient(error) ? budget.recordFailure : Effect.void),
 *     Effect.retry({
 *       schedule: RetryPolicy.schedule(),
 *       while: (error) => RetryPolicy.isTransient(error) && budget.unsafeState().retriesAllowed
 *     })
 *   )
 * })
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeBudget: (options?: RetryBudgetOptions) => Effect.Effect<RetryBudget, Config.ConfigError> =
  internal.makeBudget

import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClientError from "effect/http/HttpClientError"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as CoreNames from "../../../core/src/optionNames.js"
import type { Checked } from "../../../core/src/retry.js"
import * as Core from "../../../core/src/retry.js"
import type * as RetryPolicy from "../RetryPolicy.js"
import * as Defaults from "./defaults.js"
import { namesOf } from "./optionNames.js"
import * as validate from "./validate.js"

/** @internal */
export const defaults = Defaults.retry

/** @internal */
export const jitters: ReadonlyArray<RetryPolicy.Jitter> = Core.jitters

/** The option names, checked at compile time against {@link RetryPolicy.Options}. @internal */
export const optionNames = namesOf<RetryPolicy.Options>()(CoreNames.retryPolicy)

/** The budget's option names at `path`, checked against {@link RetryPolicy.RetryBudgetOptions}. @internal */
export const budgetOptionNames = (path: ReadonlyArray<string>) =>
  namesOf<RetryPolicy.RetryBudgetOptions>()(CoreNames.retryBudget(path))

interface Invalid {
  readonly field: string
  readonly reason: string
}

/** A core check as a `Result`, its issue as an `Invalid` at the option's name. */
const checked = <A>(result: Checked<A>): Result.Result<A, Invalid> =>
  result._tag === "Valid"
    ? Result.succeed(result.value)
    : Result.fail({ field: result.issue.path.join("."), reason: result.issue.message })

const duration = (
  field: string,
  value: unknown,
  fallback: Duration.Input | undefined
): Result.Result<Duration.Duration | undefined, Invalid> => {
  if (value === undefined) {
    return Result.succeed(fallback === undefined ? undefined : Duration.fromInputUnsafe(fallback))
  }
  return checked(validate.checkDurationInput([field], value))
}

/** @internal */
export const resolve = (options: RetryPolicy.Options): Result.Result<RetryPolicy.Resolved, Invalid> =>
  Result.gen(function*() {
    yield* checked(Core.checkNames(options, optionNames))
    const maxAttempts = yield* checked(Core.checkMaxAttempts(options.maxAttempts ?? defaults.maxAttempts))
    const factor = yield* checked(Core.checkFactor(options.factor ?? defaults.factor))
    const jitter = yield* checked(Core.checkJitter(options.jitter ?? defaults.jitter))
    const baseDelay = (yield* duration("baseDelay", options.baseDelay, defaults.baseDelay))!
    const maxDelay = yield* duration("maxDelay", options.maxDelay, undefined)
    return { maxAttempts, baseDelay, factor, jitter, maxDelay: Option.fromUndefinedOr(maxDelay) }
  })

/**
 * The delay chosen before each retry, as a step function made once per run of the schedule (so
 * the previous delay of `"decorrelated"` is per run). Retry `n` (from 1) is the schedule's step
 * `n`; the step after the last allowed retry ends the schedule, its output zero.
 */
const step = (policy: RetryPolicy.Resolved) =>
  Effect.sync(() => {
    const base = Duration.toMillis(policy.baseDelay)
    const max = Option.isSome(policy.maxDelay) ? Duration.toMillis(policy.maxDelay.value) : undefined
    let previous = base
    const done = Cause.done(Duration.zero)
    const delay = (millis: number): [Duration.Duration, Duration.Duration] => {
      const d = Duration.millis(millis)
      return [d, d]
    }
    return (meta: Schedule.InputMetadata<unknown>) => {
      const retry = meta.attempt
      if (retry >= policy.maxAttempts) return done
      switch (policy.jitter) {
        case "none":
          return Effect.succeed(delay(Core.exponentialDelay(base, policy.factor, retry, max)))
        case "full":
          return Effect.map(
            Random.next,
            (random) => delay(Core.fullJitter(Core.exponentialDelay(base, policy.factor, retry, max), random))
          )
        case "decorrelated":
          return Effect.map(Random.next, (random) => {
            previous = Core.decorrelatedDelay(base, previous, random, max)
            return delay(previous)
          })
      }
    }
  })

/** @internal */
export const fromResolved = (policy: RetryPolicy.Resolved): Schedule.Schedule<Duration.Duration> =>
  Schedule.fromStepWithMetadata(step(policy))

/** @internal */
export const schedule = (options: RetryPolicy.Options = {}): Schedule.Schedule<Duration.Duration> => {
  const resolved = resolve(options)
  if (Result.isFailure(resolved)) {
    throw new Cause.IllegalArgumentError(
      `RetryPolicy.schedule: ${resolved.failure.field} ${resolved.failure.reason}`
    )
  }
  return fromResolved(resolved.success)
}

/** @internal */
export const make = (
  options: RetryPolicy.Options = {}
): Effect.Effect<RetryPolicy.RetryPolicy, Config.ConfigError> =>
  Effect.suspend(() =>
    Result.match(resolve(options), {
      onFailure: ({ field, reason }) => Effect.fail(validate.invalidAt([field], reason)),
      onSuccess: (resolved) => Effect.succeed({ ...resolved, schedule: fromResolved(resolved) })
    })
  )

/** @internal */
export const isTransientStatus = Core.isTransientStatus

/** @internal */
export const isTransient = (error: unknown): boolean => {
  if (Cause.isTimeoutError(error)) return true
  if (!HttpClientError.isHttpClientError(error)) return false
  switch (error.reason._tag) {
    case "TransportError":
      return true
    case "StatusCodeError":
      return Core.isTransientStatus(error.reason.response.status)
    default:
      return false
  }
}

// -----------------------------------------------------------------------------
// Retry-After
// -----------------------------------------------------------------------------

/** @internal */
export const parseRetryAfter = (value: unknown, nowMillis: number): Option.Option<Duration.Duration> => {
  const millis = Core.parseRetryAfterMillis(value, nowMillis)
  return millis === undefined ? Option.none() : Option.some(Duration.millis(millis))
}

// -----------------------------------------------------------------------------
// Retry budget
// -----------------------------------------------------------------------------

/** @internal */
export const budgetDefaults = Defaults.retryBudget

/** @internal */
export const resolveBudget = (
  options: RetryPolicy.RetryBudgetOptions
): Result.Result<{ readonly maxTokens: number; readonly tokenRatio: number }, Invalid> =>
  checked(Core.resolveBudget(options, budgetOptionNames([])))

/**
 * The token bucket behind a retry budget (its arithmetic is the core's `TokenBucketState`), with
 * its updates as effects.
 *
 * @internal
 */
export class TokenBucket extends Core.TokenBucketState implements RetryPolicy.RetryBudget {
  readonly state: Effect.Effect<RetryPolicy.RetryBudgetState>
  readonly recordSuccess: Effect.Effect<void>
  readonly recordFailure: Effect.Effect<boolean>

  constructor(maxTokens: number, tokenRatio: number) {
    super(maxTokens, tokenRatio)
    this.state = Effect.sync(() => this.unsafeState())
    this.recordSuccess = Effect.sync(() => this.unsafeRecordSuccess())
    this.recordFailure = Effect.sync(() => this.unsafeRecordFailure())
  }
}

/** @internal */
export const makeBudget = (
  options: RetryPolicy.RetryBudgetOptions = {}
): Effect.Effect<RetryPolicy.RetryBudget, Config.ConfigError> =>
  Effect.suspend(() =>
    Result.match(resolveBudget(options), {
      onFailure: ({ field, reason }) => Effect.fail(validate.invalidAt(field === "" ? [] : [field], reason)),
      onSuccess: ({ maxTokens, tokenRatio }) => Effect.succeed(new TokenBucket(maxTokens, tokenRatio))
    })
  )

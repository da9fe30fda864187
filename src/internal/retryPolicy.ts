import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import type { Checked } from "../../core/src/retry.js"
import * as Core from "../../core/src/retry.js"
import type * as RetryPolicy from "../RetryPolicy.js"
import * as Defaults from "./defaults.js"
import * as OptionNames from "./optionNames.js"
import * as validate from "./validate.js"

/** @internal */
export const defaults = Defaults.retry

/** @internal */
export const jitters: ReadonlyArray<RetryPolicy.Jitter> = Core.jitters

interface Invalid {
  readonly field: string
  readonly reason: string
}

/** A core check as an `Either`, its issue as an `Invalid` at the option's name. */
const checked = <A>(result: Checked<A>): Either.Either<A, Invalid> =>
  result._tag === "Valid"
    ? Either.right(result.value)
    : Either.left({ field: result.issue.path.join("."), reason: result.issue.message })

const duration = (
  field: string,
  value: unknown,
  fallback: Duration.DurationInput | undefined
): Either.Either<Duration.Duration | undefined, Invalid> => {
  if (value === undefined) return Either.right(fallback === undefined ? undefined : Duration.decode(fallback))
  return Either.mapLeft(validate.checkPositiveDuration([field], value), (error) => ({
    field,
    reason: error._op === "InvalidData" ? error.message : String(error)
  }))
}

/** @internal */
export const resolve = (options: RetryPolicy.Options): Either.Either<RetryPolicy.Resolved, Invalid> =>
  Either.gen(function*() {
    yield* checked(Core.checkNames(options, OptionNames.retryPolicy))
    const maxAttempts = yield* checked(Core.checkMaxAttempts(options.maxAttempts ?? defaults.maxAttempts))
    const factor = yield* checked(Core.checkFactor(options.factor ?? defaults.factor))
    const jitter = yield* checked(Core.checkJitter(options.jitter ?? defaults.jitter))
    const baseDelay = (yield* duration("baseDelay", options.baseDelay, defaults.baseDelay))!
    const maxDelay = yield* duration("maxDelay", options.maxDelay, undefined)
    return { maxAttempts, baseDelay, factor, jitter, maxDelay: Option.fromNullable(maxDelay) }
  })

const maxDelayMillis = (maxDelay: Option.Option<Duration.Duration>): number | undefined =>
  Option.isSome(maxDelay) ? Duration.toMillis(maxDelay.value) : undefined

/**
 * "Decorrelated jitter": each delay is drawn uniformly from [base, 3 × previous delay], capped.
 * It needs the previous delay, so it is a schedule with state rather than a delay modifier.
 */
const decorrelated = (policy: RetryPolicy.Resolved): Schedule.Schedule<Duration.Duration> => {
  const base = Duration.toMillis(policy.baseDelay)
  const max = maxDelayMillis(policy.maxDelay)
  return Schedule.makeWithState(base, (now, _input, previous: number) =>
    Effect.map(Random.next, (random) => {
      const delay = Core.decorrelatedDelay(base, previous, random, max)
      return [
        delay,
        Duration.millis(delay),
        ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))
      ] as const
    }))
}

const backoff = (policy: RetryPolicy.Resolved): Schedule.Schedule<Duration.Duration> => {
  if (policy.jitter === "decorrelated") return decorrelated(policy)
  const exponential = Schedule.exponential(policy.baseDelay, policy.factor)
  const capped = Option.isSome(policy.maxDelay)
    ? Schedule.modifyDelay(
      exponential,
      (_, delay) => Core.cap(Duration.toMillis(delay), maxDelayMillis(policy.maxDelay))
    )
    : exponential
  return policy.jitter === "full"
    ? Schedule.modifyDelayEffect(
      capped,
      (_, delay) => Effect.map(Random.next, (r) => Core.fullJitter(Duration.toMillis(delay), r))
    )
    : capped
}

/** @internal */
export const fromResolved = (policy: RetryPolicy.Resolved): Schedule.Schedule<Duration.Duration> =>
  Schedule.delays(Schedule.intersect(backoff(policy), Schedule.recurs(policy.maxAttempts - 1)))

/** @internal */
export const schedule = (options: RetryPolicy.Options = {}): Schedule.Schedule<Duration.Duration> => {
  const resolved = resolve(options)
  if (Either.isLeft(resolved)) {
    throw new Cause.IllegalArgumentException(`RetryPolicy.schedule: ${resolved.left.field} ${resolved.left.reason}`)
  }
  return fromResolved(resolved.right)
}

/** @internal */
export const make = (
  options: RetryPolicy.Options = {}
): Effect.Effect<RetryPolicy.RetryPolicy, ConfigError.ConfigError> =>
  Either.match(resolve(options), {
    onLeft: ({ field, reason }) => Effect.fail(ConfigError.InvalidData([field], reason)),
    onRight: (resolved) => Effect.succeed({ ...resolved, schedule: fromResolved(resolved) })
  })

/** @internal */
export const isTransientStatus = Core.isTransientStatus

/** @internal */
export const isTransient = (error: unknown): boolean => {
  if (Cause.isTimeoutException(error)) return true
  if (!HttpClientError.isHttpClientError(error)) return false
  if (error._tag === "RequestError") return error.reason === "Transport"
  return error.reason === "StatusCode" && Core.isTransientStatus(error.response.status)
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
): Either.Either<{ readonly maxTokens: number; readonly tokenRatio: number }, Invalid> =>
  checked(Core.resolveBudget(options, OptionNames.retryBudget([])))

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
): Effect.Effect<RetryPolicy.RetryBudget, ConfigError.ConfigError> =>
  Effect.suspend(() =>
    Either.match(resolveBudget(options), {
      onLeft: ({ field, reason }) => Effect.fail(ConfigError.InvalidData(field === "" ? [] : [field], reason)),
      onRight: ({ maxTokens, tokenRatio }) => Effect.succeed(new TokenBucket(maxTokens, tokenRatio))
    })
  )

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
import type * as RetryPolicy from "../RetryPolicy.js"

/** @internal */
export const defaults = {
  maxAttempts: 3,
  baseDelay: "1 second",
  factor: 2,
  jitter: "none"
} as const

/** @internal */
export const jitters: ReadonlyArray<RetryPolicy.Jitter> = ["none", "full", "decorrelated"]

interface Invalid {
  readonly field: string
  readonly reason: string
}

const describe = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? String(value) : typeof value

const duration = (
  field: string,
  value: unknown,
  fallback: Duration.DurationInput | undefined
): Either.Either<Duration.Duration | undefined, Invalid> => {
  if (value === undefined) return Either.right(fallback === undefined ? undefined : Duration.decode(fallback))
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) {
    return Either.left({ field, reason: `must be a duration such as "1 second", got ${describe(value)}` })
  }
  return Duration.greaterThan(decoded.value, Duration.zero) && Duration.isFinite(decoded.value)
    ? Either.right(decoded.value)
    : Either.left({ field, reason: `must be a positive, finite duration, got ${describe(value)}` })
}

/** @internal */
export const resolve = (options: RetryPolicy.Options): Either.Either<RetryPolicy.Resolved, Invalid> =>
  Either.gen(function*() {
    const maxAttempts = options.maxAttempts ?? defaults.maxAttempts
    if (typeof maxAttempts !== "number" || !Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
      return yield* Either.left({
        field: "maxAttempts",
        reason: `must be a positive integer (the first attempt included), got ${describe(maxAttempts)}`
      })
    }
    const factor = options.factor ?? defaults.factor
    if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
      return yield* Either.left({ field: "factor", reason: `must be a finite number ≥ 1, got ${describe(factor)}` })
    }
    const jitter = options.jitter ?? defaults.jitter
    if (!jitters.includes(jitter)) {
      return yield* Either.left({
        field: "jitter",
        reason: `must be one of ${jitters.map((j) => `"${j}"`).join(", ")}, got ${describe(jitter)}`
      })
    }
    const baseDelay = (yield* duration("baseDelay", options.baseDelay, defaults.baseDelay))!
    const maxDelay = yield* duration("maxDelay", options.maxDelay, undefined)
    return { maxAttempts, baseDelay, factor, jitter, maxDelay: Option.fromNullable(maxDelay) }
  })

const cap = (millis: number, maxDelay: Option.Option<Duration.Duration>): number =>
  Option.isSome(maxDelay) ? Math.min(millis, Duration.toMillis(maxDelay.value)) : millis

/**
 * "Decorrelated jitter": each delay is drawn uniformly from [base, 3 × previous delay], capped.
 * It needs the previous delay, so it is a schedule with state rather than a delay modifier.
 */
const decorrelated = (policy: RetryPolicy.Resolved): Schedule.Schedule<Duration.Duration> => {
  const base = Duration.toMillis(policy.baseDelay)
  return Schedule.makeWithState(base, (now, _input, previous: number) =>
    Effect.map(Random.next, (random) => {
      const high = Math.max(base, previous * 3)
      const delay = cap(base + (high - base) * random, policy.maxDelay)
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
    ? Schedule.modifyDelay(exponential, (_, delay) => cap(Duration.toMillis(delay), policy.maxDelay))
    : exponential
  return policy.jitter === "full"
    ? Schedule.modifyDelayEffect(capped, (_, delay) => Effect.map(Random.next, (r) => Duration.toMillis(delay) * r))
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

const transientStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** @internal */
export const isTransientStatus = (status: number): boolean => transientStatuses.has(status)

/** @internal */
export const isTransient = (error: unknown): boolean => {
  if (Cause.isTimeoutException(error)) return true
  if (!HttpClientError.isHttpClientError(error)) return false
  if (error._tag === "RequestError") return error.reason === "Transport"
  return error.reason === "StatusCode" && transientStatuses.has(error.response.status)
}

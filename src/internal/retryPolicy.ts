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
import * as Defaults from "./defaults.js"
import * as OptionNames from "./optionNames.js"
import * as validate from "./validate.js"

/** @internal */
export const defaults = Defaults.retry

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
  return Either.mapLeft(validate.checkPositiveDuration([field], value), (error) => ({
    field,
    reason: error._op === "InvalidData" ? error.message : String(error)
  }))
}

/** @internal */
export const resolve = (options: RetryPolicy.Options): Either.Either<RetryPolicy.Resolved, Invalid> =>
  Either.gen(function*() {
    yield* knownNames(options, OptionNames.retryPolicy)
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

/** The first option name that `names` does not know, as an `Invalid` at that name. */
const knownNames = (options: object, names: validate.OptionNames): Either.Either<void, Invalid> => {
  if (typeof options !== "object" || options === null) return Either.void
  const [issue] = validate.unknownNames(options, names)
  return issue === undefined ? Either.void : Either.left({ field: issue.path.join("."), reason: issue.message })
}

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

// -----------------------------------------------------------------------------
// Retry-After
// -----------------------------------------------------------------------------

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31 seconds. */
const maxDeltaSeconds = 2147483648

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const monthPattern = months.join("|")
const shortDay = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
const longDay = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const imfFixdate = new RegExp(`^(?:${shortDay}), (\\d{2}) (${monthPattern}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const rfc850Date = new RegExp(`^(?:${longDay}), (\\d{2})-(${monthPattern})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`)
/** `Sun Nov  6 08:49:37 1994` (obsolete, ANSI C `asctime()`) */
const asctimeDate = new RegExp(`^(?:${shortDay}) (${monthPattern}) (\\d{2}| \\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`)

const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const daysInMonth = (year: number, month: number): number =>
  month === 1 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : monthDays[month]!

/** Clock milliseconds of a date whose fields are in range, or `undefined`. */
const utcMillis = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number
): number | undefined => {
  // second 60 is a leap second (RFC 5322 allows it); Date.UTC rolls it into the next minute
  if (hour > 23 || minute > 59 || second > 60 || day < 1 || day > daysInMonth(year, month)) return undefined
  const millis = Date.UTC(year, month, day, hour, minute, second)
  // Date.UTC maps years 0-99 to 1900-1999: the 4-digit forms do not need that
  return year < 100 ? new Date(millis).setUTCFullYear(year) : millis
}

/** An HTTP-date (RFC 9110 §5.6.7, all three formats) as Clock milliseconds, or `undefined`. */
const parseHttpDate = (value: string, nowMillis: number): number | undefined => {
  let match = imfFixdate.exec(value)
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match
    return utcMillis(Number(year), months.indexOf(month!), Number(day), Number(hour), Number(minute), Number(second))
  }
  match = rfc850Date.exec(value)
  if (match !== null) {
    const [, day, month, yy, hour, minute, second] = match
    // a two-digit year more than 50 years ahead is the most recent past year with those digits
    const nowYear = new Date(nowMillis).getUTCFullYear()
    let year = nowYear - (nowYear % 100) + Number(yy)
    if (year > nowYear + 50) year -= 100
    return utcMillis(year, months.indexOf(month!), Number(day), Number(hour), Number(minute), Number(second))
  }
  match = asctimeDate.exec(value)
  if (match !== null) {
    const [, month, day, hour, minute, second, year] = match
    return utcMillis(
      Number(year),
      months.indexOf(month!),
      Number(day!.trim()),
      Number(hour),
      Number(minute),
      Number(second)
    )
  }
  return undefined
}

/** @internal */
export const parseRetryAfter = (value: unknown, nowMillis: number): Option.Option<Duration.Duration> => {
  if (typeof value !== "string") return Option.none()
  // a field value carries no leading or trailing whitespace (OWS); anything else must match exactly
  const text = value.replace(/^[ \t]+|[ \t]+$/g, "")
  if (/^\d+$/.test(text)) {
    const seconds = text.length > 10 ? maxDeltaSeconds : Math.min(Number(text), maxDeltaSeconds)
    return Option.some(Duration.seconds(seconds))
  }
  if (typeof nowMillis !== "number" || !Number.isFinite(nowMillis)) return Option.none()
  const at = parseHttpDate(text, nowMillis)
  return at === undefined || !Number.isFinite(at)
    ? Option.none()
    : Option.some(Duration.millis(Math.max(0, at - nowMillis)))
}

// -----------------------------------------------------------------------------
// Retry budget
// -----------------------------------------------------------------------------

/** @internal */
export const budgetDefaults = Defaults.retryBudget

/** @internal */
export const resolveBudget = (
  options: RetryPolicy.RetryBudgetOptions
): Either.Either<{ readonly maxTokens: number; readonly tokenRatio: number }, Invalid> => {
  if (typeof options !== "object" || options === null) {
    return Either.left({ field: "", reason: `must be an object { maxTokens, tokenRatio }, got ${describe(options)}` })
  }
  const unknown = knownNames(options, OptionNames.retryBudget([]))
  if (Either.isLeft(unknown)) return Either.left(unknown.left)
  const maxTokens = options.maxTokens ?? budgetDefaults.maxTokens
  if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 1 || maxTokens > 1_000_000) {
    return Either.left({
      field: "maxTokens",
      reason: `must be an integer from 1 to 1000000, got ${describe(maxTokens)}`
    })
  }
  const tokenRatio = options.tokenRatio ?? budgetDefaults.tokenRatio
  if (typeof tokenRatio !== "number" || !Number.isFinite(tokenRatio) || tokenRatio < 0.001 || tokenRatio > maxTokens) {
    return Either.left({
      field: "tokenRatio",
      reason: `must be a number from 0.001 to maxTokens (${maxTokens}), got ${describe(tokenRatio)}`
    })
  }
  return Either.right({ maxTokens, tokenRatio })
}

/**
 * The token bucket behind a retry budget. Tokens are kept in thousandths, as integers, so that
 * refunds of 0.1 add up exactly (gRPC keeps three decimals of `tokenRatio` for the same reason).
 * Every update is one synchronous step.
 *
 * @internal
 */
export class TokenBucket implements RetryPolicy.RetryBudget {
  readonly maxTokens: number
  readonly tokenRatio: number
  /** Thousandths of a token. */
  milliTokens: number
  readonly maxMilliTokens: number
  readonly refundMilliTokens: number
  readonly state: Effect.Effect<RetryPolicy.RetryBudgetState>
  readonly recordSuccess: Effect.Effect<void>
  readonly recordFailure: Effect.Effect<boolean>
  /** Successes and failures recorded here since the fleet last took them (fleet mode). */
  localSuccesses = 0
  localFailures = 0

  constructor(maxTokens: number, tokenRatio: number) {
    this.maxTokens = maxTokens
    this.tokenRatio = tokenRatio
    this.maxMilliTokens = maxTokens * 1000
    this.refundMilliTokens = Math.round(tokenRatio * 1000)
    this.milliTokens = this.maxMilliTokens
    this.state = Effect.sync(() => this.unsafeState())
    this.recordSuccess = Effect.sync(() => this.unsafeRecordSuccess())
    this.recordFailure = Effect.sync(() => this.unsafeRecordFailure())
  }

  /** Whether a retry may start now: more than half of `maxTokens` left. */
  retriesAllowed(): boolean {
    return this.milliTokens * 2 > this.maxMilliTokens
  }

  unsafeRecordSuccess(): void {
    this.localSuccesses++
    if (this.milliTokens < this.maxMilliTokens) {
      this.milliTokens = Math.min(this.maxMilliTokens, this.milliTokens + this.refundMilliTokens)
    }
  }

  unsafeRecordFailure(): boolean {
    this.localFailures++
    this.milliTokens = Math.max(0, this.milliTokens - 1000)
    return this.retriesAllowed()
  }

  /** The successes and failures recorded here since the last call (fleet mode sends them). */
  takeLocal(): { readonly successes: number; readonly failures: number } {
    const taken = { successes: this.localSuccesses, failures: this.localFailures }
    this.localSuccesses = 0
    this.localFailures = 0
    return taken
  }

  /** Applies what other replicas of the fleet recorded, as if it had happened here. */
  applyRemote(successes: number, failures: number): void {
    this.milliTokens = Math.min(
      this.maxMilliTokens,
      Math.max(0, this.milliTokens - failures * 1000 + successes * this.refundMilliTokens)
    )
  }

  unsafeState(): RetryPolicy.RetryBudgetState {
    return { tokens: this.milliTokens / 1000, maxTokens: this.maxTokens, retriesAllowed: this.retriesAllowed() }
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

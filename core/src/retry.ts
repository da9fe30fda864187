/**
 * The retry arithmetic both editions share: the checks of a retry policy's numbers, the delay
 * before an attempt (exponential, capped, with jitter drawn from a random number given), the
 * `Retry-After` header as milliseconds, the retry budget's token bucket, and which HTTP statuses
 * are transient. Durations are milliseconds; each edition builds its `Schedule` and effects on
 * top.
 *
 * @internal
 */
import * as Defaults from "./defaults.js"
import type { Checked } from "./types.js"

export type { Checked } from "./types.js"
import { invalid, valid } from "./types.js"
import type { OptionNames } from "./validate.js"
import { unknownNames } from "./validate.js"

/** @internal */
export type Jitter = "none" | "full" | "decorrelated"

/** @internal */
export const jitters: ReadonlyArray<Jitter> = ["none", "full", "decorrelated"]

/** A value as the retry options' messages show it. @internal */
export const describeValue = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? String(value) : typeof value

/** `maxAttempts`, the first attempt included. @internal */
export const checkMaxAttempts = (value: unknown): Checked<number> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? valid(value)
    : invalid(["maxAttempts"], `must be a positive integer (the first attempt included), got ${describeValue(value)}`)

/** @internal */
export const checkFactor = (value: unknown): Checked<number> =>
  typeof value === "number" && Number.isFinite(value) && value >= 1
    ? valid(value)
    : invalid(["factor"], `must be a finite number ≥ 1, got ${describeValue(value)}`)

/** @internal */
export const checkJitter = (value: unknown): Checked<Jitter> =>
  jitters.includes(value as Jitter)
    ? valid(value as Jitter)
    : invalid(["jitter"], `must be one of ${jitters.map((j) => `"${j}"`).join(", ")}, got ${describeValue(value)}`)

/**
 * The first option name of `options` that `names` does not know, as an issue at that name
 * (its path joined with dots, as the retry options report it).
 *
 * @internal
 */
export const checkNames = (options: unknown, names: OptionNames): Checked<void> => {
  if (typeof options !== "object" || options === null) return valid(undefined)
  const [issue] = unknownNames(options, names)
  return issue === undefined ? valid(undefined) : invalid([issue.path.join(".")], issue.message)
}

/** `millis` no longer than `maxDelayMillis`, when there is a maximum. @internal */
export const cap = (millis: number, maxDelayMillis: number | undefined): number =>
  maxDelayMillis === undefined ? millis : Math.min(millis, maxDelayMillis)

/**
 * The exponential delay before retry `n` (1 for the first retry): `base × factor^(n-1)`, capped.
 *
 * @internal
 */
export const exponentialDelay = (
  baseMillis: number,
  factor: number,
  retry: number,
  maxDelayMillis?: number
): number => cap(baseMillis * Math.pow(factor, retry - 1), maxDelayMillis)

/** "Full jitter": a delay drawn uniformly from [0, delay), `random` in [0, 1). @internal */
export const fullJitter = (delayMillis: number, random: number): number => delayMillis * random

/**
 * "Decorrelated jitter": a delay drawn uniformly from [base, 3 × previous delay], capped;
 * `random` in [0, 1). The first retry's previous delay is `base`.
 *
 * @internal
 */
export const decorrelatedDelay = (
  baseMillis: number,
  previousMillis: number,
  random: number,
  maxDelayMillis?: number
): number => {
  const high = Math.max(baseMillis, previousMillis * 3)
  return cap(baseMillis + (high - baseMillis) * random, maxDelayMillis)
}

const transientStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** 408, 429, 500, 502, 503 and 504: statuses worth another attempt. @internal */
export const isTransientStatus = (status: number): boolean => transientStatuses.has(status)

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

/**
 * A `Retry-After` value (RFC 9110 §10.2.3: delta-seconds, or an HTTP-date in any of its three
 * formats) as milliseconds from `nowMillis` (wall-clock milliseconds), never negative; `undefined`
 * when it is neither.
 *
 * @internal
 */
export const parseRetryAfterMillis = (value: unknown, nowMillis: number): number | undefined => {
  if (typeof value !== "string") return undefined
  // a field value carries no leading or trailing whitespace (OWS); anything else must match exactly
  const text = value.replace(/^[ \t]+|[ \t]+$/g, "")
  if (/^\d+$/.test(text)) {
    const seconds = text.length > 10 ? maxDeltaSeconds : Math.min(Number(text), maxDeltaSeconds)
    return seconds * 1000
  }
  if (typeof nowMillis !== "number" || !Number.isFinite(nowMillis)) return undefined
  const at = parseHttpDate(text, nowMillis)
  return at === undefined || !Number.isFinite(at) ? undefined : Math.max(0, at - nowMillis)
}

// -----------------------------------------------------------------------------
// Retry budget
// -----------------------------------------------------------------------------

/** @internal */
export const budgetDefaults = Defaults.retryBudget

/** @internal */
export interface BudgetOptions {
  readonly maxTokens?: number | undefined
  readonly tokenRatio?: number | undefined
}

/**
 * A retry budget's options with their defaults, or the issue (at `[]` for options that are not
 * an object, else at the option's name).
 *
 * @internal
 */
export const resolveBudget = (
  options: BudgetOptions,
  names: OptionNames
): Checked<{ readonly maxTokens: number; readonly tokenRatio: number }> => {
  if (typeof options !== "object" || options === null) {
    return invalid([], `must be an object { maxTokens, tokenRatio }, got ${describeValue(options)}`)
  }
  const unknown = checkNames(options, names)
  if (unknown._tag === "Invalid") return unknown
  const maxTokens = options.maxTokens ?? budgetDefaults.maxTokens
  if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 1 || maxTokens > 1_000_000) {
    return invalid(["maxTokens"], `must be an integer from 1 to 1000000, got ${describeValue(maxTokens)}`)
  }
  const tokenRatio = options.tokenRatio ?? budgetDefaults.tokenRatio
  if (typeof tokenRatio !== "number" || !Number.isFinite(tokenRatio) || tokenRatio < 0.001 || tokenRatio > maxTokens) {
    return invalid(
      ["tokenRatio"],
      `must be a number from 0.001 to maxTokens (${maxTokens}), got ${describeValue(tokenRatio)}`
    )
  }
  return valid({ maxTokens, tokenRatio })
}

/**
 * The token bucket behind a retry budget: a failure takes a token, a success gives back
 * `tokenRatio`; retries are allowed while more than half of `maxTokens` is left. Tokens are kept
 * in thousandths, as integers, so that refunds of 0.1 add up exactly (gRPC keeps three decimals
 * of `tokenRatio` for the same reason). Every update is one synchronous step; each edition wraps
 * them in effects.
 *
 * @internal
 */
export class TokenBucketState {
  readonly maxTokens: number
  readonly tokenRatio: number
  /** Thousandths of a token. */
  milliTokens: number
  readonly maxMilliTokens: number
  readonly refundMilliTokens: number
  /** Successes and failures recorded here since the fleet last took them (fleet mode). */
  localSuccesses = 0
  localFailures = 0

  constructor(maxTokens: number, tokenRatio: number) {
    this.maxTokens = maxTokens
    this.tokenRatio = tokenRatio
    this.maxMilliTokens = maxTokens * 1000
    this.refundMilliTokens = Math.round(tokenRatio * 1000)
    this.milliTokens = this.maxMilliTokens
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

  unsafeState(): { readonly tokens: number; readonly maxTokens: number; readonly retriesAllowed: boolean } {
    return { tokens: this.milliTokens / 1000, maxTokens: this.maxTokens, retriesAllowed: this.retriesAllowed() }
  }
}

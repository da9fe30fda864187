/**
 * Rate-based tripping strategies over a sliding window of calls: by count (the last N calls) or
 * by time (the last D of `Clock` time, in buckets). Their states are immutable values; each call
 * returns a new one.
 *
 * @internal
 */
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type { TrippingStrategy } from "./machine.js"
import { StrategyErrorId } from "./machine.js"
import * as validate from "./validate.js"

/** @internal */
export type SlidingWindow = CircuitBreaker.SlidingWindow
/** @internal */
export type FailureRateOptions = CircuitBreaker.FailureRateOptions
/** @internal */
export type SlowCallRateOptions = CircuitBreaker.SlowCallRateOptions
/** @internal */
export type RateWindow = CircuitBreaker.RateWindow

/** @internal */
export const defaultBuckets = 10

// A count window is a persistent queue (two linked lists, oldest first / newest first): adding a
// call and dropping the oldest are O(1) amortized and never mutate a state already handed out.
interface Outcome {
  readonly failed: boolean
  readonly next: Outcome | undefined
}

interface CountWindow extends RateWindow {
  readonly oldest: Outcome | undefined
  readonly newest: Outcome | undefined
}

const reversed = (list: Outcome | undefined): Outcome | undefined => {
  let result: Outcome | undefined = undefined
  for (let node = list; node !== undefined; node = node.next) result = { failed: node.failed, next: result }
  return result
}

const emptyCountWindow: CountWindow = { calls: 0, failures: 0, oldest: undefined, newest: undefined }

const recordInCount = (window: CountWindow, failed: boolean, size: number): CountWindow => {
  let newest: Outcome | undefined = { failed, next: window.newest }
  let oldest = window.oldest
  let calls = window.calls + 1
  let failures = window.failures + (failed ? 1 : 0)
  if (calls > size) {
    if (oldest === undefined) {
      oldest = reversed(newest)
      newest = undefined
    }
    failures -= oldest!.failed ? 1 : 0
    oldest = oldest!.next
    calls -= 1
  }
  return { calls, failures, oldest, newest }
}

interface Bucket {
  readonly index: number
  readonly calls: number
  readonly failures: number
}

interface TimeWindow extends RateWindow {
  /** Oldest first; only buckets that saw a call. */
  readonly buckets: ReadonlyArray<Bucket>
}

const emptyTimeWindow: TimeWindow = { calls: 0, failures: 0, buckets: [] }

const recordInTime = (
  window: TimeWindow,
  failed: boolean,
  now: number,
  bucketMillis: number,
  bucketCount: number
): TimeWindow => {
  const index = Math.floor(now / bucketMillis)
  const firstKept = index - bucketCount + 1
  const buckets: Array<Bucket> = []
  let calls = 0
  let failures = 0
  for (const bucket of window.buckets) {
    if (bucket.index >= firstKept) {
      buckets.push(bucket)
      calls += bucket.calls
      failures += bucket.failures
    }
  }
  const last = buckets[buckets.length - 1]
  const failedCount = failed ? 1 : 0
  // a clock that went back in time records into the newest bucket
  if (last !== undefined && last.index >= index) {
    buckets[buckets.length - 1] = { index: last.index, calls: last.calls + 1, failures: last.failures + failedCount }
  } else {
    buckets.push({ index, calls: 1, failures: failedCount })
  }
  return { calls: calls + 1, failures: failures + failedCount, buckets }
}

/** Calls and failures of a time window as seen at `now`: buckets that aged out do not count. */
const timeTotals = (window: TimeWindow, now: number, bucketMillis: number, bucketCount: number): RateWindow => {
  const firstKept = Math.floor(now / bucketMillis) - bucketCount + 1
  if (window.buckets.length === 0 || window.buckets[0]!.index >= firstKept) return window
  let calls = 0
  let failures = 0
  for (const bucket of window.buckets) {
    if (bucket.index >= firstKept) {
      calls += bucket.calls
      failures += bucket.failures
    }
  }
  return { calls, failures }
}

interface Window {
  readonly description: string
  readonly initial: RateWindow
  readonly record: (window: RateWindow, failed: boolean, now: number) => RateWindow
  readonly totals: (window: RateWindow, now: number) => RateWindow
}

const checkWindow = (
  window: unknown,
  minimumCalls: number
): Either.Either<Window, ConfigError.ConfigError> => {
  const path = ["strategy", "window"]
  if (typeof window !== "object" || window === null) {
    return Either.left(validate.invalidAt(
      path,
      `must be { kind: "count", size } or { kind: "time", duration, buckets }, got ${typeof window}`
    ))
  }
  const fields = window as Record<string, unknown>
  switch (fields.kind) {
    case "count":
      return Either.flatMap(validate.checkPositiveInteger([...path, "size"], fields.size), (size) =>
        minimumCalls > size
          ? Either.left(validate.invalidAt(
            ["strategy", "minimumCalls"],
            `must not exceed window.size (${size}): a window of ${size} calls never holds ${minimumCalls}`
          ))
          : Either.right<Window>({
            description: `the last ${size} calls`,
            initial: emptyCountWindow,
            record: (state, failed) => recordInCount(state as CountWindow, failed, size),
            totals: (state) => state
          }))
    case "time":
      return Either.flatMap(
        validate.checkPositiveDuration([...path, "duration"], fields.duration),
        (duration) =>
          Either.flatMap(
            fields.buckets === undefined
              ? Either.right(defaultBuckets)
              : validate.checkPositiveInteger([...path, "buckets"], fields.buckets),
            (bucketCount) => {
              const bucketMillis = Duration.toMillis(duration) / bucketCount
              if (bucketMillis < 1) {
                return Either.left(validate.invalidAt(
                  [...path, "buckets"],
                  `must leave each bucket at least 1 millisecond: ${
                    Duration.format(duration)
                  } in ${bucketCount} buckets`
                ))
              }
              return Either.right<Window>({
                description: `the last ${Duration.format(duration)} in ${bucketCount} buckets`,
                initial: emptyTimeWindow,
                record: (state, failed, now) =>
                  recordInTime(state as TimeWindow, failed, now, bucketMillis, bucketCount),
                totals: (state, now) => timeTotals(state as TimeWindow, now, bucketMillis, bucketCount)
              })
            }
          )
      )
    default:
      return Either.left(validate.invalidAt(
        [...path, "kind"],
        `must be "count" or "time", got ${
          typeof fields.kind === "string" ? JSON.stringify(fields.kind) : typeof fields.kind
        }`
      ))
  }
}

interface RateParameters {
  readonly threshold: number
  readonly minimumCalls: number
  readonly window: Window
}

const checkRate = (options: unknown): Either.Either<RateParameters, ConfigError.ConfigError> => {
  if (typeof options !== "object" || options === null) {
    return Either.left(validate.invalidAt(["strategy"], "needs { threshold, minimumCalls, window }"))
  }
  const fields = options as Record<string, unknown>
  return Either.flatMap(
    validate.checkRatio(["strategy", "threshold"], fields.threshold),
    (threshold) =>
      Either.flatMap(
        validate.checkPositiveInteger(["strategy", "minimumCalls"], fields.minimumCalls),
        (minimumCalls) =>
          Either.map(checkWindow(fields.window, minimumCalls), (window) => ({ threshold, minimumCalls, window }))
      )
  )
}

/** A strategy that never trips, carrying the reason `make` will fail with. */
const invalidStrategy = (name: string, error: ConfigError.ConfigError): TrippingStrategy<RateWindow> => ({
  [StrategyErrorId]: error,
  name,
  initial: () => emptyCountWindow,
  onSuccess: (state) => state,
  onFailure: (state) => state,
  shouldTrip: () => false
} as TrippingStrategy<RateWindow>)

const rateStrategy = (
  name: string,
  parameters: RateParameters,
  countsAgainst: (failed: boolean, durationMillis: number) => boolean,
  needsDuration: boolean
): TrippingStrategy<RateWindow> => {
  const { minimumCalls, threshold, window } = parameters
  return {
    name,
    // a success adds a call: it can complete `minimumCalls`, or be slow
    onSuccessMayTrip: true,
    needsDuration,
    initial: () => window.initial,
    onSuccess: (state, now, durationMillis) => window.record(state, countsAgainst(false, durationMillis), now),
    onFailure: (state, now, durationMillis) => window.record(state, countsAgainst(true, durationMillis), now),
    shouldTrip: (state, now) => {
      const { calls, failures } = window.totals(state, now)
      // a quotient of integers, not a product, so that 3 of 10 reaches a threshold of 0.3
      return calls >= minimumCalls && failures / calls >= threshold
    }
  }
}

const percent = (ratio: number) => `${Math.round(ratio * 10_000) / 100}%`

/** @internal */
export const failureRate = (options: FailureRateOptions): TrippingStrategy<RateWindow> =>
  Either.match(checkRate(options), {
    onLeft: (error) => invalidStrategy("failureRate(invalid)", error),
    onRight: (parameters) =>
      rateStrategy(
        `failureRate(${
          percent(parameters.threshold)
        } of ${parameters.window.description}, at least ${parameters.minimumCalls} calls)`,
        parameters,
        (failed) => failed,
        false
      )
  })

/** @internal */
export const slowCallRate = (options: SlowCallRateOptions): TrippingStrategy<RateWindow> => {
  const checked = Either.flatMap(
    checkRate(options),
    (parameters) =>
      Either.map(
        validate.checkPositiveDuration(["strategy", "slowerThan"], (options as { slowerThan?: unknown }).slowerThan),
        (slowerThan) => ({ parameters, slowerThan })
      )
  )
  return Either.match(checked, {
    onLeft: (error) => invalidStrategy("slowCallRate(invalid)", error),
    onRight: ({ parameters, slowerThan }) => {
      const slowerThanMillis = Duration.toMillis(slowerThan)
      return rateStrategy(
        `slowCallRate(${percent(parameters.threshold)} failed or slower than ${
          Duration.format(slowerThan)
        } of ${parameters.window.description}, at least ${parameters.minimumCalls} calls)`,
        parameters,
        (failed, durationMillis) => failed || durationMillis > slowerThanMillis,
        true
      )
    }
  })
}

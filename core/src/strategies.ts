/**
 * Rate-based tripping strategies over a sliding window of calls: by count (the last N calls) or
 * by time (the last D milliseconds of the breaker's monotonic clock, in buckets). Their states are
 * immutable values; each call returns a new one. Durations are milliseconds here: each edition
 * reads its own duration input through a {@link DurationReader}; parameters that cannot be
 * accepted give a strategy carrying an issue (see `machine.strategyIssue`).
 *
 * @internal
 */
import { formatMillis } from "./format.js"
import { StrategyIssueId } from "./machine.js"
import type { Checked, Issue, RateWindow, TrippingStrategy } from "./types.js"
import { andThen, invalid, valid } from "./types.js"
import type { Show } from "./validate.js"
import {
  checkPositiveInteger as checkInteger,
  checkPositiveMillis,
  checkRatio as checkFraction,
  show
} from "./validate.js"

/**
 * The calls a rate strategy looks at: the last `size` calls, or the calls of the last
 * `duration` (an edition's duration input, read by a {@link DurationReader}) in `buckets`.
 *
 * @internal
 */
export type SlidingWindow<D = number> =
  | { readonly kind: "count"; readonly size: number }
  | { readonly kind: "time"; readonly duration: D; readonly buckets?: number | undefined }

/** @internal */
export interface FailureRateOptions<D = number> {
  readonly threshold: number
  readonly minimumCalls: number
  readonly window: SlidingWindow<D>
}

/** @internal */
export interface SlowCallRateOptions<D = number> extends FailureRateOptions<D> {
  readonly slowerThan: D
}

export type { RateWindow, TrippingStrategy } from "./types.js"

/**
 * How an edition reads its durations for the strategies: a positive, finite duration in
 * milliseconds, or the issue naming `path`; and how a rejected value is shown. The default reads
 * plain milliseconds.
 *
 * @internal
 */
export interface DurationReader {
  readonly positiveMillis: (path: ReadonlyArray<string>, value: unknown) => Checked<number>
  readonly show: Show
}

/** Plain milliseconds. @internal */
export const millisReader: DurationReader = {
  positiveMillis: (path, value) => checkPositiveMillis(path, value),
  show
}

const mapChecked = <A, B>(checked: Checked<A>, f: (a: A) => B): Checked<B> =>
  checked._tag === "Valid" ? valid(f(checked.value)) : checked

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
  minimumCalls: number,
  reader: DurationReader
): Checked<Window> => {
  const checkPositiveInteger = (path: ReadonlyArray<string>, value: unknown) => checkInteger(path, value, reader.show)
  const path = ["strategy", "window"]
  if (typeof window !== "object" || window === null) {
    return invalid(
      path,
      `must be { kind: "count", size } or { kind: "time", duration, buckets }, got ${typeof window}`
    )
  }
  const fields = window as Record<string, unknown>
  switch (fields.kind) {
    case "count":
      return andThen(checkPositiveInteger([...path, "size"], fields.size), (size) =>
        minimumCalls > size
          ? invalid(
            ["strategy", "minimumCalls"],
            `must not exceed window.size (${size}): a window of ${size} calls never holds ${minimumCalls}`
          )
          : valid<Window>({
            description: `the last ${size} calls`,
            initial: emptyCountWindow,
            record: (state, failed) => recordInCount(state as CountWindow, failed, size),
            totals: (state) => state
          }))
    case "time":
      return andThen(
        reader.positiveMillis([...path, "duration"], fields.duration),
        (duration) =>
          andThen(
            fields.buckets === undefined
              ? valid(defaultBuckets)
              : checkPositiveInteger([...path, "buckets"], fields.buckets),
            (bucketCount) => {
              const bucketMillis = duration / bucketCount
              if (bucketMillis < 1) {
                return invalid(
                  [...path, "buckets"],
                  `must leave each bucket at least 1 millisecond: ${formatMillis(duration)} in ${bucketCount} buckets`
                )
              }
              return valid<Window>({
                description: `the last ${formatMillis(duration)} in ${bucketCount} buckets`,
                initial: emptyTimeWindow,
                record: (state, failed, now) =>
                  recordInTime(state as TimeWindow, failed, now, bucketMillis, bucketCount),
                totals: (state, now) => timeTotals(state as TimeWindow, now, bucketMillis, bucketCount)
              })
            }
          )
      )
    default:
      return invalid(
        [...path, "kind"],
        `must be "count" or "time", got ${
          typeof fields.kind === "string" ? JSON.stringify(fields.kind) : typeof fields.kind
        }`
      )
  }
}

interface RateParameters {
  readonly threshold: number
  readonly minimumCalls: number
  readonly window: Window
}

const checkRate = (options: unknown, reader: DurationReader): Checked<RateParameters> => {
  if (typeof options !== "object" || options === null) {
    return invalid(["strategy"], "needs { threshold, minimumCalls, window }")
  }
  const fields = options as Record<string, unknown>
  return andThen(
    checkFraction(["strategy", "threshold"], fields.threshold, reader.show),
    (threshold) =>
      andThen(
        checkInteger(["strategy", "minimumCalls"], fields.minimumCalls, reader.show),
        (minimumCalls) =>
          mapChecked(
            checkWindow(fields.window, minimumCalls, reader),
            (window) => ({ threshold, minimumCalls, window })
          )
      )
  )
}

/** A strategy that never trips, carrying the reason `make` will fail with. */
const invalidStrategy = (name: string, issue: Issue): TrippingStrategy<RateWindow> => ({
  [StrategyIssueId]: issue,
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

/**
 * Opens when, among the calls in the window, the fraction of counted failures reaches
 * `threshold`, once the window holds at least `minimumCalls` calls. Invalid parameters give a
 * strategy that never trips and carries the issue (the first one found).
 *
 * @internal
 */
export const failureRate = (
  options: FailureRateOptions<unknown>,
  reader: DurationReader = millisReader
): TrippingStrategy<RateWindow> => {
  const checked = checkRate(options, reader)
  if (checked._tag === "Invalid") return invalidStrategy("failureRate(invalid)", checked.issue)
  const parameters = checked.value
  return rateStrategy(
    `failureRate(${
      percent(parameters.threshold)
    } of ${parameters.window.description}, at least ${parameters.minimumCalls} calls)`,
    parameters,
    (failed) => failed,
    false
  )
}

/**
 * Like {@link failureRate}, but a call also counts against the rate when it ran longer than
 * `slowerThan` (milliseconds, or the edition's duration read by `reader`).
 *
 * @internal
 */
export const slowCallRate = (
  options: SlowCallRateOptions<unknown>,
  reader: DurationReader = millisReader
): TrippingStrategy<RateWindow> => {
  const checked = andThen(
    checkRate(options, reader),
    (parameters) =>
      mapChecked(
        reader.positiveMillis(["strategy", "slowerThan"], (options as { slowerThan?: unknown }).slowerThan),
        (slowerThanMillis) => ({ parameters, slowerThanMillis })
      )
  )
  if (checked._tag === "Invalid") return invalidStrategy("slowCallRate(invalid)", checked.issue)
  const { parameters, slowerThanMillis } = checked.value
  return rateStrategy(
    `slowCallRate(${percent(parameters.threshold)} failed or slower than ${
      formatMillis(slowerThanMillis)
    } of ${parameters.window.description}, at least ${parameters.minimumCalls} calls)`,
    parameters,
    (failed, durationMillis) => failed || durationMillis > slowerThanMillis,
    true
  )
}

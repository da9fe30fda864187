/**
 * Every default of the library, in one place: the breaker's, the retry policy's and the HTTP
 * client's, shared by both editions. Docs and JSDoc state the same values; each edition's tests
 * check that its constructors apply them. Durations are written as duration strings
 * (`"60 seconds"`) that both editions' `Duration.decode` accept and print the same way;
 * {@link millis} gives them in milliseconds for code that has no `Duration`.
 *
 * @internal
 */

/** @internal */
export const breaker = {
  name: "circuit-breaker",
  failureThreshold: 5,
  recoveryTimeout: "60 seconds",
  halfOpenMaxProbes: 1,
  /** Bounds each read and write of a breaker's `store`. */
  storeTimeout: "5 seconds",
  /** The longest a `Retry-After` may make an opening. */
  retryAfterCap: "1 hour",
  /** Whether the count of openings outlives a close. */
  retainOpenings: false
} as const

/** @internal */
export const retry = {
  maxAttempts: 3,
  baseDelay: "1 second",
  factor: 2,
  jitter: "none"
} as const

/** @internal */
export const retryBudget = {
  maxTokens: 100,
  tokenRatio: 0.5
} as const

/** @internal */
export const client = {
  maxAttempts: retry.maxAttempts,
  timeout: "10 seconds",
  failureThreshold: breaker.failureThreshold,
  recoveryTimeout: breaker.recoveryTimeout,
  backoff: retry.baseDelay,
  maxRetryAfter: "30 seconds",
  retryUnsafeMethods: true,
  /** The largest response body a call reads into memory: 16 MiB. */
  maxResponseBytes: 16 * 1024 * 1024,
  /** Error bodies up to this size are kept in the `ResponseError`; longer ones are dropped. */
  maxErrorBodyBytes: 1024 * 1024
} as const

const units: Readonly<Record<string, number>> = {
  millis: 1,
  second: 1000,
  seconds: 1000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/**
 * A default duration (`"60 seconds"`, `"1 second"`, `"500 millis"`) in milliseconds.
 *
 * @internal
 */
export const millis = (
  duration: `${number} ${"millis" | "second" | "seconds" | "minute" | "minutes" | "hour" | "hours"}`
): number => {
  const [amount, unit] = duration.split(" ")
  return Number(amount) * units[unit!]!
}

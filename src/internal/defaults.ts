/**
 * Every default of the library, in one place: the breaker's, the retry policy's and the HTTP
 * client's. Docs and JSDoc state the same values; `test/defaults.test.ts` checks that the
 * constructors apply them.
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
  storeTimeout: "5 seconds"
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

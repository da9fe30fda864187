/**
 * The names every options object takes, one table per options type, shared by both editions.
 * Each edition checks at compile time that every table lists exactly the keys of its own options
 * type (see `src/internal/optionNames.ts`), so an option added to a type is added here in the same
 * change, or the build fails; the constructors then refuse any other name with a config error
 * that suggests the nearest (see `validate.unknownNames`).
 *
 * @internal
 */
import type { OptionNames } from "./validate.js"

/**
 * A table of option names with the record it was made from (each name once, as `true`), so that
 * an edition can check the record against its options type.
 *
 * @internal
 */
export interface OptionTable<R extends Readonly<Record<string, true>>> extends OptionNames {
  readonly record: R
}

const names = <const R extends Readonly<Record<string, true>>>(
  what: string,
  path: ReadonlyArray<string>,
  record: R
): OptionTable<R> => ({ what, path, known: Object.keys(record), record })

/** @internal */
export const client = names(
  "client option",
  [],
  {
    baseUrl: true,
    serviceName: true,
    id: true,
    maxAttempts: true,
    timeout: true,
    failureThreshold: true,
    recoveryTimeout: true,
    maxResponseBytes: true,
    deadline: true,
    isFailure: true,
    retry: true,
    breaker: true,
    bulkhead: true,
    retryBudget: true,
    backoff: true,
    maxDelay: true,
    jitter: true,
    retryOn: true,
    maxRetryAfter: true,
    retryUnsafeMethods: true,
    strategy: true,
    halfOpenMaxProbes: true,
    probeTimeout: true,
    store: true,
    storeKey: true,
    storeTimeout: true,
    maxConcurrent: true,
    maxQueued: true,
    breakerKey: true
  }
)

/** @internal */
export const clientRetry = names(
  "retry option",
  ["retry"],
  {
    maxAttempts: true,
    backoff: true,
    maxDelay: true,
    jitter: true,
    retryOn: true,
    maxRetryAfter: true,
    retryUnsafeMethods: true
  }
)

/** @internal */
export const clientBreaker = names(
  "breaker option",
  ["breaker"],
  {
    failureThreshold: true,
    recoveryTimeout: true,
    strategy: true,
    halfOpenMaxProbes: true,
    probeTimeout: true,
    store: true,
    storeKey: true,
    storeTimeout: true,
    idleTimeToLive: true,
    maxKeys: true,
    openForRetryAfter: true,
    retryAfterCap: true,
    retainOpenings: true
  }
)

/** @internal */
export const clientBulkhead = names(
  "bulkhead option",
  ["bulkhead"],
  { maxConcurrent: true, maxQueued: true }
)

/** @internal */
export const retryBudget = (path: ReadonlyArray<string>) =>
  names("retry budget option", path, { maxTokens: true, tokenRatio: true })

/** @internal */
export const retryPolicy = names(
  "retry policy option",
  [],
  { maxAttempts: true, baseDelay: true, factor: true, maxDelay: true, jitter: true }
)

/** @internal */
export const breaker = names(
  "circuit breaker option",
  [],
  {
    name: true,
    failureThreshold: true,
    recoveryTimeout: true,
    halfOpenMaxProbes: true,
    probeTimeout: true,
    isFailure: true,
    strategy: true,
    store: true,
    storeKey: true,
    storeTimeout: true,
    retryAfterCap: true,
    retainOpenings: true
  }
)

/** @internal */
export const keyedBreaker = names(
  "keyed circuit breaker option",
  [],
  { ...breaker.record, idleTimeToLive: true, maxKeys: true }
)

/** @internal */
export const fleet = names(
  "fleet option",
  [],
  {
    fleet: true,
    url: true,
    replica: true,
    quorum: true,
    quorumWindow: true,
    leaseTtl: true,
    heartbeat: true,
    commandTimeout: true,
    connectTimeout: true,
    cluster: true
  }
)

/** The options of the fleet as Effect 4's breaker store (Effect 4 edition): the fleet's and its own. @internal */
export const fleetStore = names(
  "fleet store option",
  [],
  {
    ...fleet.record,
    idleTimeToLive: true,
    maxKeys: true,
    maxOpenDuration: true
  }
)

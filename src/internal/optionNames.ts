/**
 * The names every options object takes, one table per options type. Each table must list exactly
 * the keys of its type (the compiler checks it), so an option added to a type is added here in
 * the same change, or the build fails; the constructors then refuse any other name with a
 * `ConfigError` that suggests the nearest (see `validate.unknownNames`).
 *
 * @internal
 */
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as Fleet from "../Fleet.js"
import type * as ResilientServiceClient from "../ResilientServiceClient.js"
import type * as RetryPolicy from "../RetryPolicy.js"
import type { OptionNames } from "./validate.js"

/** The keys of `T`, from a record that must name each of them once. */
const namesOf = <T>() =>
<const R extends { readonly [K in keyof Required<T>]: true }>(
  record: R & { readonly [K in Exclude<keyof R, keyof T>]: never }
): ReadonlyArray<string> => Object.keys(record)

const names = (what: string, path: ReadonlyArray<string>, known: ReadonlyArray<string>): OptionNames => ({
  what,
  path,
  known
})

/** @internal */
export const client = names(
  "client option",
  [],
  namesOf<ResilientServiceClient.TransformOptions>()({
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
    maxQueued: true
  })
)

/** @internal */
export const clientRetry = names(
  "retry option",
  ["retry"],
  namesOf<ResilientServiceClient.RetryOptions>()({
    maxAttempts: true,
    backoff: true,
    maxDelay: true,
    jitter: true,
    retryOn: true,
    maxRetryAfter: true,
    retryUnsafeMethods: true
  })
)

/** @internal */
export const clientBreaker = names(
  "breaker option",
  ["breaker"],
  namesOf<ResilientServiceClient.BreakerOptions>()({
    failureThreshold: true,
    recoveryTimeout: true,
    strategy: true,
    halfOpenMaxProbes: true,
    probeTimeout: true,
    store: true,
    storeKey: true,
    storeTimeout: true
  })
)

/** @internal */
export const clientBulkhead = names(
  "bulkhead option",
  ["bulkhead"],
  namesOf<ResilientServiceClient.BulkheadOptions>()({ maxConcurrent: true, maxQueued: true })
)

/** @internal */
export const retryBudget = (path: ReadonlyArray<string>) =>
  names("retry budget option", path, namesOf<RetryPolicy.RetryBudgetOptions>()({ maxTokens: true, tokenRatio: true }))

/** @internal */
export const retryPolicy = names(
  "retry policy option",
  [],
  namesOf<RetryPolicy.Options>()({ maxAttempts: true, baseDelay: true, factor: true, maxDelay: true, jitter: true })
)

/** @internal */
export const breaker = names(
  "circuit breaker option",
  [],
  namesOf<CircuitBreaker.Options>()({
    name: true,
    failureThreshold: true,
    recoveryTimeout: true,
    halfOpenMaxProbes: true,
    probeTimeout: true,
    isFailure: true,
    strategy: true,
    store: true,
    storeKey: true,
    storeTimeout: true
  })
)

/** @internal */
export const fleet = names(
  "fleet option",
  [],
  namesOf<Fleet.Options>()({
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
  })
)

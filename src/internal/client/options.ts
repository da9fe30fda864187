/**
 * The client's options: validated once, when the client is made (a `ConfigError` naming the
 * option), and per call (an `IllegalArgumentException` naming the option). Defaults come from
 * `../defaults.ts`, checks from `../validate.ts`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as CircuitBreaker from "../../CircuitBreaker.js"
import type * as ResilientServiceClient from "../../ResilientServiceClient.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Defaults from "../defaults.js"
import * as RetryPolicyInternal from "../retryPolicy.js"
import * as validate from "../validate.js"
import { basicAuthorization, type Target } from "./request.js"

type ClientError = ResilientServiceClient.ClientError

/** @internal */
export interface Settings {
  readonly target: Target
  readonly serviceName: string
  readonly id: string
  readonly maxAttempts: number
  readonly timeoutMillis: number
  readonly retry: RetryPolicy.RetryPolicy
  readonly breaker: CircuitBreaker.Options
  readonly retryOn: (error: ClientError) => boolean
  readonly isFailure: (error: ClientError) => boolean
  readonly maxRetryAfterMillis: number
  /** Milliseconds; 0 for none. */
  readonly deadlineMillis: number
  readonly retryBudget: { readonly maxTokens: number; readonly tokenRatio: number } | undefined
  readonly retryUnsafeMethods: boolean
  readonly bulkhead: { readonly maxConcurrent: number; readonly maxQueued: number } | undefined
  readonly maxResponseBytes: number
}

/** A URL as an error message may show it: without what precedes an `@` in its authority. */
const hideUserinfo = (value: string): string => value.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^/?#]*@/i, "$1…@")

/** @internal */
export const parseBaseUrl = (value: unknown): Effect.Effect<Target, ConfigError.ConfigError> => {
  if (typeof value !== "string" || value.trim() === "") {
    return validate.invalid("baseUrl", "is required: an absolute http(s) URL such as \"http://chroma:6003\"")
  }
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  // "chroma:6003" parses as the scheme "chroma" with the path "6003": a URL without its scheme
  if (url === undefined || (!value.includes("://") && url.protocol !== "http:" && url.protocol !== "https:")) {
    const shown = hideUserinfo(value.trim())
    const suggestion = /^[a-z0-9[]/i.test(shown) ? `; did you mean ${JSON.stringify(`http://${shown}`)}?` : ""
    return validate.invalid(
      "baseUrl",
      `must be an absolute http(s) URL with its scheme, such as "http://chroma:6003", got ${
        JSON.stringify(shown)
      }${suggestion}`
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return validate.invalid(
      "baseUrl",
      `must use http or https, got the scheme "${url.protocol.slice(0, -1)}" in ${JSON.stringify(redactUserinfo(url))}`
    )
  }
  if (url.search !== "" || url.hash !== "") {
    return validate.invalid("baseUrl", "must not carry a query or a fragment; pass query values as urlParams")
  }
  const basic = basicAuthorization(url)
  if ("invalid" in basic) return validate.invalid("baseUrl", basic.invalid)
  url.username = ""
  url.password = ""
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"
  return Effect.succeed({
    baseUrl: url.toString().replace(/\/+$/, ""),
    authority: `${url.hostname}:${port}`,
    authorization: basic.header
  })
}

const redactUserinfo = (url: URL): string => {
  if (url.username === "" && url.password === "") return url.toString()
  const copy = new URL(url.toString())
  copy.username = ""
  copy.password = ""
  return copy.toString()
}

const retryBudgetSettings = (
  value: unknown
): Effect.Effect<{ readonly maxTokens: number; readonly tokenRatio: number } | undefined, ConfigError.ConfigError> => {
  if (value === false) return Effect.succeed(undefined)
  if (value === undefined || value === true) return Effect.succeed(Defaults.retryBudget)
  if (typeof value !== "object" || value === null) {
    return validate.invalid("retryBudget", "must be false, true or { maxTokens, tokenRatio }")
  }
  return Either.match(RetryPolicyInternal.resolveBudget(value), {
    onLeft: ({ field, reason }) =>
      Effect.fail(ConfigError.InvalidData(field === "" ? ["retryBudget"] : ["retryBudget", field], reason)),
    onRight: Effect.succeed
  })
}

const bulkheadSettings = (
  maxConcurrent: unknown,
  maxQueued: unknown
): Effect.Effect<
  { readonly maxConcurrent: number; readonly maxQueued: number } | undefined,
  ConfigError.ConfigError
> => {
  if (maxConcurrent === undefined) {
    return maxQueued === undefined
      ? Effect.succeed(undefined)
      : validate.invalid("maxQueued", "needs maxConcurrent: without a limit on running calls no call ever waits")
  }
  if (typeof maxConcurrent !== "number" || !Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    return validate.invalid("maxConcurrent", `must be a positive integer, got ${validate.show(maxConcurrent)}`)
  }
  if (maxQueued === undefined) return Effect.succeed({ maxConcurrent, maxQueued: Infinity })
  if (typeof maxQueued !== "number" || !Number.isSafeInteger(maxQueued) || maxQueued < 0) {
    return validate.invalid("maxQueued", `must be an integer ≥ 0, got ${validate.show(maxQueued)}`)
  }
  return Effect.succeed({ maxConcurrent, maxQueued })
}

/** @internal */
export const settings = (
  options: ResilientServiceClient.Options
): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* validate.invalid("baseUrl", "is required: pass an options object with an absolute http(s) baseUrl")
    }
    const target = yield* parseBaseUrl(options.baseUrl)
    const serviceName = yield* validate.nonEmptyString("serviceName", options.serviceName, target.authority)
    const id = yield* validate.nonEmptyString("id", options.id, serviceName)
    const maxAttempts = yield* validate.positiveInteger("maxAttempts", options.maxAttempts, Defaults.client.maxAttempts)
    const timeout = yield* validate.positiveDuration("timeout", options.timeout, Defaults.client.timeout)
    const backoff = yield* validate.positiveDuration("backoff", options.backoff, Defaults.client.backoff)
    const retryOn = yield* validate.optionalFunction<(error: ClientError) => boolean>(
      "retryOn",
      options.retryOn,
      RetryPolicy.isTransient
    )
    const isFailure = yield* validate.optionalFunction<(error: ClientError) => boolean>(
      "isFailure",
      options.isFailure,
      RetryPolicy.isTransient
    )
    const maxRetryAfter = yield* validate.positiveDuration(
      "maxRetryAfter",
      options.maxRetryAfter,
      Defaults.client.maxRetryAfter
    )
    const deadline = options.deadline === undefined
      ? undefined
      : yield* validate.positiveDuration("deadline", options.deadline, 0)
    const retryBudget = yield* retryBudgetSettings(options.retryBudget)
    const retryUnsafeMethods = options.retryUnsafeMethods ?? Defaults.client.retryUnsafeMethods
    if (typeof retryUnsafeMethods !== "boolean") {
      return yield* validate.invalid(
        "retryUnsafeMethods",
        `must be true or false, got ${validate.show(retryUnsafeMethods)}`
      )
    }
    const bulkhead = yield* bulkheadSettings(options.maxConcurrent, options.maxQueued)
    const maxResponseBytes = yield* validate.positiveInteger(
      "maxResponseBytes",
      options.maxResponseBytes,
      Defaults.client.maxResponseBytes
    )
    const retry = yield* RetryPolicy.make({
      maxAttempts,
      baseDelay: backoff,
      maxDelay: options.maxDelay,
      jitter: options.jitter
    })
    return {
      target,
      serviceName,
      id,
      maxAttempts,
      timeoutMillis: Duration.toMillis(timeout),
      retry,
      retryOn,
      isFailure,
      maxRetryAfterMillis: Duration.toMillis(maxRetryAfter),
      deadlineMillis: deadline === undefined ? 0 : Duration.toMillis(deadline),
      retryBudget,
      retryUnsafeMethods,
      bulkhead,
      maxResponseBytes,
      // the breaker's own options go through as given: CircuitBreaker.make validates them
      // (with the same field names) before the client builds anything else; the client judges
      // its attempts itself (see outcome.ts), so the breaker gets no isFailure
      breaker: {
        name: serviceName,
        failureThreshold: options.failureThreshold ?? Defaults.client.failureThreshold,
        recoveryTimeout: options.recoveryTimeout ?? Defaults.client.recoveryTimeout,
        halfOpenMaxProbes: options.halfOpenMaxProbes,
        probeTimeout: options.probeTimeout,
        strategy: options.strategy,
        store: options.store,
        storeKey: options.storeKey,
        storeTimeout: options.storeTimeout
      }
    }
  })

// -----------------------------------------------------------------------------
// Per call
// -----------------------------------------------------------------------------

/** What one call runs with, after its own options and those of its context. @internal */
export interface CallSettings {
  readonly timeoutMillis: number
  /** 0 for none. */
  readonly deadlineMillis: number
  readonly stream: boolean
}

const invalidCallOption = (field: string, value: unknown, what: string) =>
  Either.left(
    new Cause.IllegalArgumentException(
      `Invalid call option ${field}: must be ${what} such as "5 seconds" or a number of milliseconds, got ${
        validate.show(value)
      }`
    )
  )

const callDuration = (
  field: string,
  value: unknown,
  fallback: number
): Either.Either<number, Cause.IllegalArgumentException> => {
  if (value === undefined) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(value)
  if (decoded._tag === "None") return invalidCallOption(field, value, "a duration")
  const millis = Duration.toMillis(decoded.value)
  return millis > 0 && Number.isFinite(millis)
    ? Either.right(millis)
    : invalidCallOption(field, value, "a positive, finite duration")
}

/**
 * The settings of one call: its own options first, then those of its context
 * (`withCallOptions`), then the client's. An invalid value fails the call with an
 * `IllegalArgumentException` naming the option.
 *
 * @internal
 */
export const callSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined,
  defaults: Either.Either<CallSettings, Cause.IllegalArgumentException>
): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  // the common call sets nothing: the client's own settings, made once
  scoped.timeout === undefined && scoped.deadline === undefined && scoped.stream === undefined &&
    (own === undefined || (own.timeout === undefined && own.deadline === undefined && own.stream === undefined))
    ? defaults
    : resolveCallSettings(client, scoped, own)

/** The client's settings for a call that sets nothing of its own. @internal */
export const defaultCallSettings = (client: Settings): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  Either.right({ timeoutMillis: client.timeoutMillis, deadlineMillis: client.deadlineMillis, stream: false })

const resolveCallSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined
): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  Either.gen(function*() {
    const fromContext = {
      timeoutMillis: yield* callDuration("timeout", scoped.timeout, client.timeoutMillis),
      deadlineMillis: yield* callDuration("deadline", scoped.deadline, client.deadlineMillis)
    }
    const stream = own?.stream ?? scoped.stream ?? false
    if (typeof stream !== "boolean") {
      return yield* Either.left(
        new Cause.IllegalArgumentException(
          `Invalid call option stream: must be true or false, got ${validate.show(stream)}`
        )
      )
    }
    if (own === undefined) return { ...fromContext, stream }
    return {
      timeoutMillis: yield* callDuration("timeout", own.timeout, fromContext.timeoutMillis),
      deadlineMillis: yield* callDuration("deadline", own.deadline, fromContext.deadlineMillis),
      stream
    }
  })

import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as LogLevel from "effect/LogLevel"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import * as Metrics from "../Metrics.js"
import type * as ResilientServiceClient from "../ResilientServiceClient.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as ServiceRegistry from "../ServiceRegistry.js"
import type * as ServiceUnavailable from "../ServiceUnavailable.js"
import * as Bulkhead from "./bulkhead.js"
import * as breakerInternal from "./circuitBreaker.js"
import * as Deadlines from "./deadlines.js"
import * as RetryPolicyInternal from "./retryPolicy.js"
import * as validate from "./validate.js"

/** @internal */
export const TypeId: ResilientServiceClient.TypeId = Symbol.for(
  "effect-resilience/ResilientServiceClient"
) as ResilientServiceClient.TypeId

/** @internal */
export const defaults = {
  maxAttempts: 3,
  timeout: "10 seconds",
  failureThreshold: 5,
  recoveryTimeout: "60 seconds",
  backoff: "1 second",
  maxRetryAfter: "30 seconds",
  retryUnsafeMethods: true
} as const

/** Error bodies up to this size are kept for the caller; larger ones are read and dropped. */
const maxBufferedErrorBody = 1024 * 1024

type ClientError = ResilientServiceClient.ClientError

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

interface Target {
  /** The base URL without userinfo, query or fragment, without a trailing slash. */
  readonly baseUrl: string
  /** `hostname:port` */
  readonly authority: string
  /** The Basic `authorization` header made from userinfo, if any. */
  readonly authorization: string | undefined
}

const parseBaseUrl = (value: unknown): Effect.Effect<Target, ConfigError.ConfigError> => {
  if (typeof value !== "string" || value.trim() === "") {
    return validate.invalid("baseUrl", "is required: an absolute http(s) URL such as \"http://chroma:6003\"")
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return validate.invalid("baseUrl", "must be an absolute http(s) URL such as \"http://chroma:6003\"")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return validate.invalid("baseUrl", `must use http or https, got "${url.protocol.slice(0, -1)}"`)
  }
  if (url.search !== "" || url.hash !== "") {
    return validate.invalid("baseUrl", "must not carry a query or a fragment; pass query values as urlParams")
  }
  const authorization = url.username !== "" || url.password !== ""
    ? `Basic ${
      Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")
    }`
    : undefined
  url.username = ""
  url.password = ""
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"
  return Effect.succeed({
    baseUrl: url.toString().replace(/\/+$/, ""),
    authority: `${url.hostname}:${port}`,
    authorization
  })
}

interface Settings {
  readonly target: Target
  readonly serviceName: string
  readonly id: string
  readonly maxAttempts: number
  readonly timeout: Duration.Duration
  readonly retry: RetryPolicy.RetryPolicy
  readonly breaker: CircuitBreaker.Options
  readonly retryOn: (error: ClientError) => boolean
  readonly maxRetryAfterMillis: number
  /** Milliseconds; 0 for none. */
  readonly deadlineMillis: number
  readonly retryBudget: { readonly maxTokens: number; readonly tokenRatio: number } | undefined
  readonly retryUnsafeMethods: boolean
  readonly bulkhead: { readonly maxConcurrent: number; readonly maxQueued: number } | undefined
}

const retryBudgetSettings = (
  value: unknown
): Effect.Effect<{ readonly maxTokens: number; readonly tokenRatio: number } | undefined, ConfigError.ConfigError> => {
  if (value === false) return Effect.succeed(undefined)
  if (value === undefined || value === true) return Effect.succeed(RetryPolicyInternal.budgetDefaults)
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

const settings = (
  options: ResilientServiceClient.Options
): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* validate.invalid("baseUrl", "is required: pass an options object with an absolute http(s) baseUrl")
    }
    const target = yield* parseBaseUrl(options.baseUrl)
    const serviceName = yield* validate.nonEmptyString("serviceName", options.serviceName, target.authority)
    const id = yield* validate.nonEmptyString("id", options.id, serviceName)
    const maxAttempts = yield* validate.positiveInteger("maxAttempts", options.maxAttempts, defaults.maxAttempts)
    const timeout = yield* validate.positiveDuration("timeout", options.timeout, defaults.timeout)
    const backoff = yield* validate.positiveDuration("backoff", options.backoff, defaults.backoff)
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
      defaults.maxRetryAfter
    )
    const deadline = options.deadline === undefined
      ? undefined
      : yield* validate.positiveDuration("deadline", options.deadline, 0)
    const retryBudget = yield* retryBudgetSettings(options.retryBudget)
    const retryUnsafeMethods = options.retryUnsafeMethods ?? defaults.retryUnsafeMethods
    if (typeof retryUnsafeMethods !== "boolean") {
      return yield* validate.invalid(
        "retryUnsafeMethods",
        `must be true or false, got ${validate.show(retryUnsafeMethods)}`
      )
    }
    const bulkhead = yield* bulkheadSettings(options.maxConcurrent, options.maxQueued)
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
      timeout,
      retry,
      retryOn,
      maxRetryAfterMillis: Duration.toMillis(maxRetryAfter),
      deadlineMillis: deadline === undefined ? 0 : Duration.toMillis(deadline),
      retryBudget,
      retryUnsafeMethods,
      bulkhead,
      // the breaker's own options go through as given: CircuitBreaker.make validates them
      // (with the same field names) before the client builds anything else
      breaker: {
        name: serviceName,
        failureThreshold: options.failureThreshold ?? defaults.failureThreshold,
        recoveryTimeout: options.recoveryTimeout ?? defaults.recoveryTimeout,
        halfOpenMaxProbes: options.halfOpenMaxProbes,
        probeTimeout: options.probeTimeout,
        strategy: options.strategy,
        store: options.store,
        storeKey: options.storeKey,
        // an attempt cut short by the caller's deadline says nothing about the service
        isFailure: (error: unknown) => !isDeadlineError(error) && isFailure(error as ClientError)
      }
    }
  })

// -----------------------------------------------------------------------------
// Requests
// -----------------------------------------------------------------------------

/**
 * Splits an inline query off a path into URL params, so that no error message (platform errors
 * print the URL) and no log line shows query values.
 */
const splitQuery = (path: string): readonly [string, ReadonlyArray<readonly [string, string]>] => {
  const hash = path.indexOf("#")
  const withoutHash = hash === -1 ? path : path.slice(0, hash)
  const question = withoutHash.indexOf("?")
  if (question === -1) return [withoutHash, []]
  const params = Array.from(new URLSearchParams(withoutHash.slice(question + 1)).entries())
  return [withoutHash.slice(0, question), params]
}

const isAbsolute = (url: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(url)

/** The path of a request relative to the base URL, for log lines (never its query). */
const describePath = (target: Target, request: HttpClientRequest.HttpClientRequest): string => {
  const url = request.url
  const path = url.startsWith(target.baseUrl) ? url.slice(target.baseUrl.length) : url
  return path === "" ? "/" : path
}

const describeDuration = (duration: Duration.Duration): string => Duration.format(duration)

const timeoutError = (timeoutMillis: number) =>
  new Cause.TimeoutException(`Timed out after ${describeDuration(Duration.millis(timeoutMillis))}`)

/**
 * Marks the `TimeoutException`s raised by a call's deadline (the breaker does not count them).
 * A property, not a WeakSet: Effect may hand on a failure wrapped in a Proxy (to attach its span).
 */
const deadlineMarker: unique symbol = Symbol.for("effect-resilience/ResilientServiceClient/deadline")

const deadlineError = (deadlineMillis: number, where: string) => {
  const error = new Cause.TimeoutException(
    `Deadline of ${describeDuration(Duration.millis(deadlineMillis))} exceeded ${where}`
  )
  Object.defineProperty(error, deadlineMarker, { value: true })
  return error
}

/**
 * The error of an attempt whose timer fired: a plain timeout, or, when the attempt had been
 * shortened to the time left before the call's deadline (`deadlineMillis > 0`), the deadline.
 */
const expiredError = (timeoutMillis: number, deadlineMillis: number) =>
  deadlineMillis > 0 ? deadlineError(deadlineMillis, "during an attempt") : timeoutError(timeoutMillis)

const isDeadlineError = (error: unknown): boolean =>
  typeof error === "object" && error !== null && deadlineMarker in error

/**
 * Error codes of a transport failure that happened before the request could be sent: refused
 * connections, DNS failures, unreachable hosts, connect timeouts.
 */
const notSentCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT"
])

/**
 * Whether the cause of a transport error shows that the request never left: a code from
 * {@link notSentCodes}, or a system error raised by `connect` or `getaddrinfo`. Looks through
 * `cause` chains (fetch wraps the system error) and `AggregateError`s (every address tried
 * failed to connect).
 */
const neverSent = (cause: unknown, depth = 0): boolean => {
  if (typeof cause !== "object" || cause === null || depth > 4) return false
  const { code, errors, syscall } = cause as { code?: unknown; syscall?: unknown; errors?: unknown }
  if (typeof code === "string" && notSentCodes.has(code)) return true
  if (syscall === "connect" || syscall === "getaddrinfo") return true
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => neverSent(e, depth + 1))) return true
  return neverSent((cause as { cause?: unknown }).cause, depth + 1)
}

/** Whether a failed POST or PATCH may be sent again although it is not idempotent. */
const unsafeRetryAllowed = (request: HttpClientRequest.HttpClientRequest, error: ClientError): boolean =>
  (request.method !== "POST" && request.method !== "PATCH") ||
  request.headers["idempotency-key"] !== undefined ||
  (error._tag === "RequestError" && error.reason === "Transport" && neverSent(error.cause))

/** The `Retry-After` of a 429 or 503 answer, if it has a valid one. */
const retryAfterOf = (error: ClientError, nowMillis: number): Option.Option<Duration.Duration> => {
  if (error._tag !== "ResponseError" || error.reason !== "StatusCode") return Option.none()
  const status = error.response.status
  if (status !== 429 && status !== 503) return Option.none()
  return RetryPolicy.parseRetryAfter(error.response.headers["retry-after"], nowMillis)
}

/** The cause of a failed attempt in words, for the retry log line. */
const describeError = (error: ClientError): string => {
  if (Cause.isTimeoutException(error)) return error.message !== "" ? error.message : "Timed out"
  if (error._tag === "ServiceUnavailable") return "Circuit breaker rejected the call"
  if (error._tag === "BulkheadFull") return "Bulkhead full"
  if (error._tag === "ResponseError") {
    return error.reason === "StatusCode" ? `HTTP ${error.response.status}` : `Invalid response (${error.reason})`
  }
  if (error._tag === "RequestError") {
    return error.reason === "Transport" ? "Connection failed" : `Invalid request (${error.reason})`
  }
  return "Failed"
}

/**
 * Reads the body of a response that is not handed over as a success, so that its connection
 * goes back to the pool; up to 1 MiB is kept so the caller can still read an error body from
 * the `ResponseError`.
 */
const buffered = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse> => {
  const length = Number(response.headers["content-length"] ?? Number.NaN)
  const keep = response.request.method !== "HEAD" && !(length > maxBufferedErrorBody)
  // a body over the cap (announced or not) is read to the end and dropped, never cut short
  const read: Effect.Effect<Uint8Array | null, unknown> = keep
    ? Effect.map(
      Stream.runFold(response.stream, { chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
        acc.size += chunk.length
        if (acc.size <= maxBufferedErrorBody) acc.chunks.push(chunk)
        return acc
      }),
      ({ chunks, size }) => size > maxBufferedErrorBody ? null : Buffer.concat(chunks)
    )
    : Effect.as(Stream.runDrain(response.stream), null)
  // the headers are kept either way: the retry loop reads `Retry-After` from them
  const headers = response.headers as Record<string, string>
  return Effect.match(read, {
    onFailure: () =>
      HttpClientResponse.fromWeb(response.request, new Response(null, { status: response.status, headers })),
    onSuccess: (body) =>
      HttpClientResponse.fromWeb(
        response.request,
        new Response(response.status === 204 || response.status === 304 ? null : body, {
          status: response.status,
          headers
        })
      )
  })
}

// Effect's built-in tracer (the one in the default services): its spans are never exported.
const builtInTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

// Aborts, when a successful response is garbage collected before its body was read, the request
// that produced it (the platform does the same for requests that are not tied to a scope). A
// response leaves the registry as soon as its body is read, so the common case costs nothing.
const unreadResponses = new FinalizationRegistry<Scope.CloseableScope>((scope) => {
  Effect.runFork(Scope.close(scope, Exit.void))
})

/**
 * A successful response handed to the caller: the original, registered for abort-on-collection
 * until its body is read.
 */
class TrackedResponse implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  constructor(readonly original: HttpClientResponse.HttpClientResponse, scope: Scope.CloseableScope) {
    unreadResponses.register(this, scope, this)
  }
  private reading<A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      unreadResponses.unregister(this)
      return body
    })
  }
  get request() {
    return this.original.request
  }
  get status() {
    return this.original.status
  }
  get headers() {
    return this.original.headers
  }
  get cookies() {
    return this.original.cookies
  }
  get remoteAddress() {
    return this.original.remoteAddress
  }
  get formData() {
    return this.reading(this.original.formData)
  }
  get text() {
    return this.reading(this.original.text)
  }
  get json() {
    return this.reading(this.original.json)
  }
  get urlParamsBody() {
    return this.reading(this.original.urlParamsBody)
  }
  get arrayBuffer() {
    return this.reading(this.original.arrayBuffer)
  }
  get stream() {
    return Stream.suspend(() => {
      unreadResponses.unregister(this)
      return this.original.stream
    })
  }
  toJSON() {
    return this.original.toJSON()
  }
  toString() {
    return this.original.toString()
  }
  [Inspectable.NodeInspectSymbol]() {
    return this.original[Inspectable.NodeInspectSymbol]()
  }
}

// -----------------------------------------------------------------------------
// The client
// -----------------------------------------------------------------------------

/** @internal */
export const make = (
  options: ResilientServiceClient.Options
): Effect.Effect<
  ResilientServiceClient.ResilientServiceClient,
  ConfigError.ConfigError,
  HttpClient.HttpClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const config = yield* settings(options)
    const { maxAttempts, maxRetryAfterMillis, retryOn, retryUnsafeMethods, serviceName, target } = config
    // a duplicate id fails before anything is built; registering (which checks again) comes
    // right after the breaker, with nothing in between that could let another client in
    const registry = yield* Effect.serviceOption(ServiceRegistry.ServiceRegistry)
    if (Option.isSome(registry) && Option.isSome(yield* registry.value.get(config.id))) {
      return yield* validate.invalid("id", `"${config.id}" is already registered by another live client or breaker`)
    }
    const breaker = yield* breakerInternal.make(config.breaker)
    if (Option.isSome(registry)) yield* registry.value.register(config.id, breaker.status, breaker)
    const breakerApi = breakerInternal.internals(breaker)
    const platform = yield* HttpClient.HttpClient
    const scoped = HttpClient.withScope(platform)
    const clock: Clock.Clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const deadlines = Deadlines.make(clock, scope)
    const bulkhead = config.bulkhead === undefined
      ? undefined
      : Bulkhead.make(serviceName, config.bulkhead.maxConcurrent, config.bulkhead.maxQueued, deadlines)
    const schedule = config.retry.schedule
    const defaultTimeoutMillis = Duration.toMillis(config.timeout)
    const annotate = Effect.annotateLogs("service", serviceName)
    const serviceTag = [MetricLabel.make("service", serviceName)]
    const budget = config.retryBudget === undefined
      ? undefined
      : new RetryPolicyInternal.TokenBucket(config.retryBudget.maxTokens, config.retryBudget.tokenRatio)
    const publishBudget = (bucket: RetryPolicyInternal.TokenBucket) =>
      Metrics.retryBudgetTokens.unsafeUpdate(bucket.milliTokens / 1000, serviceTag)
    if (budget !== undefined) publishBudget(budget)

    const prepare = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
      const [path, params] = splitQuery(request.url)
      const url = isAbsolute(path) ? path : target.baseUrl + (path.startsWith("/") ? path : `/${path}`)
      let prepared = url === request.url ? request : HttpClientRequest.setUrl(request, url)
      if (params.length > 0) prepared = HttpClientRequest.appendUrlParams(prepared, params)
      // the base URL's credentials go to the base URL only, never to another host given in full
      if (
        target.authorization !== undefined && prepared.headers["authorization"] === undefined &&
        (url === target.baseUrl || url.startsWith(`${target.baseUrl}/`))
      ) {
        prepared = HttpClientRequest.setHeader(prepared, "authorization", target.authorization)
      }
      return prepared
    }

    /**
     * One attempt: send, classify the status, and bound the whole by the attempt timeout.
     * The request is tied to a scope of its own; the deadline closes it (aborting the request)
     * and the attempt then fails with a `TimeoutException`.
     */
    const attempt = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      deadlineMillis: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.flatMap(Scope.make(), (attemptScope) => {
        let timedOut = false
        const expire = Effect.suspend(() => {
          timedOut = true
          return Scope.close(attemptScope, Exit.void)
        })
        const send = Effect.flatMap(
          Effect.provideService(scoped.execute(request), Scope.Scope, attemptScope),
          (response): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
            response.status < 400
              ? Effect.succeed(response)
              : Effect.flatMap(buffered(response), (response) =>
                Effect.fail(
                  new HttpClientError.ResponseError({
                    request,
                    response,
                    reason: "StatusCode",
                    description: "non 2xx status code"
                  })
                ))
        )
        const timedOutOr = <A>(exit: Effect.Effect<A, ClientError>): Effect.Effect<A, ClientError> =>
          timedOut ? Effect.fail(expiredError(timeoutMillis, deadlineMillis)) : exit
        // Interruption is masked from the registration of the deadline to the settling of the
        // attempt, so that an interrupted attempt always aborts its request and frees its entry.
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            deadlines.register(clock.unsafeCurrentTimeMillis() + timeoutMillis, expire),
            (entry) =>
              Effect.matchCauseEffect(restore(send), {
                onSuccess: (response) => {
                  deadlines.remove(entry)
                  // the deadline may have fired just as the response arrived: the request is aborted
                  if (timedOut) return Effect.fail(expiredError(timeoutMillis, deadlineMillis))
                  return Effect.succeed(new TrackedResponse(response, attemptScope))
                },
                onFailure: (cause) => {
                  deadlines.remove(entry)
                  return Effect.zipRight(Scope.close(attemptScope, Exit.void), timedOutOr(Effect.failCause(cause)))
                }
              })
          )
        )
      })

    // the success line is Debug: skip building it (and annotating) unless Debug is enabled
    const logSuccess = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.withFiberRuntime<void>((fiber) =>
        LogLevel.lessThan(LogLevel.Debug, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
          ? Effect.void
          : annotate(Effect.logDebug(`[${serviceName}] ✓ ${request.method} ${describePath(target, request)} succeeded`))
      )

    /**
     * After a failed attempt: decide, log, wait out the backoff, go again. The schedule is
     * stepped by hand (no driver is built before a first failure), its output is the delay it
     * chose, and the wait ends early, with `ServiceUnavailable`, if the breaker opens meanwhile.
     *
     * In order: a failure that is not retried ends the call (a deadline that passed, `retryOn`);
     * a retryable one costs a budget token; then the last attempt, an open breaker, an unsafe
     * method, a spent budget, a `Retry-After` over the cap, and a wait that would end past the
     * deadline each end the call; otherwise it waits and runs the next attempt.
     */
    const retryAfterFailure = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      cause: Cause.Cause<ClientError>,
      attemptNumber: number,
      state: unknown,
      call: CallState
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      const failure = Cause.failureOption(cause)
      if (Option.isNone(failure) || Cause.isDie(cause)) return Effect.failCause(cause)
      const error = failure.value
      if (error._tag === "ServiceUnavailable") {
        call.attempts = attemptNumber - 1 // the breaker refused this attempt: it never ran
        return Effect.failCause(cause)
      }
      const words = describeError(error)
      const method = request.method
      const path = describePath(target, request)
      if (isDeadlineError(error)) {
        return Effect.zipRight(
          annotate(Effect.logError(`[${serviceName}] ${method} ${path}: ${words} (attempt ${attemptNumber})`)),
          Effect.failCause(cause)
        )
      }
      if (!retryOn(error)) {
        return Effect.zipRight(
          annotate(Effect.logDebug(`[${serviceName}] ✗ ${method} ${path} failed: ${words} (not retried)`)),
          Effect.failCause(cause)
        )
      }
      if (budget !== undefined) {
        budget.unsafeRecordFailure()
        publishBudget(budget)
      }
      const allFailed = Effect.zipRight(
        annotate(Effect.logError(`[${serviceName}] All ${maxAttempts} attempts failed: ${words}`)),
        Effect.failCause(cause)
      )
      // the last attempt reports its own failure, even when it is the one that opened the
      // breaker (as a call through the breaker does); only a wait for a retry is cut short
      if (attemptNumber >= maxAttempts) return allFailed
      const giveUp = (reason: string) =>
        Effect.zipRight(
          annotate(Effect.logError(
            `[${serviceName}] ${words} on attempt ${attemptNumber}/${maxAttempts}, not retried: ${reason}`
          )),
          Effect.failCause(cause)
        )
      return Effect.flatMap(breakerApi.rejection, (rejection) => {
        // this failure (or another call's) opened the breaker: no point waiting for a backoff
        if (Option.isSome(rejection)) return Effect.fail(rejection.value)
        if (!retryUnsafeMethods && !unsafeRetryAllowed(request, error)) {
          return giveUp(`a ${method} without an Idempotency-Key header may have reached the server`)
        }
        if (budget !== undefined && !budget.retriesAllowed()) {
          return giveUp(`retry budget spent (${budget.milliTokens / 1000} of ${budget.maxTokens} tokens left)`)
        }
        const now = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(schedule.step(now, error, state), ([next, _, decision]) => {
          if (ScheduleDecision.isDone(decision)) return allFailed
          let delayMillis = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
          let fromServer = false
          const retryAfter = retryAfterOf(error, now)
          if (Option.isSome(retryAfter)) {
            const serverMillis = Duration.toMillis(retryAfter.value)
            if (serverMillis > maxRetryAfterMillis) {
              return giveUp(
                `Retry-After ${describeDuration(retryAfter.value)} exceeds maxRetryAfter (${
                  describeDuration(Duration.millis(maxRetryAfterMillis))
                })`
              )
            }
            if (serverMillis > delayMillis) {
              delayMillis = serverMillis
              fromServer = true
            }
          }
          const delay = Duration.millis(delayMillis)
          // no wait starts that would leave no time for the attempt after it
          if (now + delayMillis >= call.deadlineAt) {
            return giveUp(
              `a retry in ${describeDuration(delay)} would start past the deadline of ${
                describeDuration(Duration.millis(call.deadlineMillis))
              }`
            )
          }
          const warn = annotate(Effect.logWarning(
            `[${serviceName}] ${words} on attempt ${attemptNumber}/${maxAttempts}, retrying in ${
              describeDuration(delay)
            }${fromServer ? " (Retry-After)" : ""}...`
          ))
          return Effect.zipRight(
            warn,
            Effect.flatMap(
              Effect.raceFirst(
                Effect.as(clock.sleep(delay), Option.none<ServiceUnavailable.ServiceUnavailable>()),
                Effect.map(breakerApi.awaitRejection, Option.some)
              ),
              Option.match({
                onSome: (rejection) => Effect.fail(rejection),
                onNone: () => run(request, timeoutMillis, attemptNumber + 1, next, call)
              })
            )
          )
        })
      })
    }

    /** Per call: how many attempts ran (for metrics and the call's span), and its deadline. */
    interface CallState {
      attempts: number
      /** Clock milliseconds by which the call must end; `Infinity` without a deadline. */
      readonly deadlineAt: number
      /** The deadline as given, in milliseconds (for messages); 0 without one. */
      readonly deadlineMillis: number
    }

    const run = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      attemptNumber: number,
      state: unknown,
      call: CallState
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      let limitMillis = timeoutMillis
      let cutByDeadline = 0
      if (call.deadlineAt !== Infinity) {
        const left = call.deadlineAt - clock.unsafeCurrentTimeMillis()
        if (left <= 0) return Effect.fail(deadlineError(call.deadlineMillis, "before an attempt"))
        if (left < timeoutMillis) {
          limitMillis = left
          cutByDeadline = call.deadlineMillis
        }
      }
      call.attempts = attemptNumber
      return Effect.matchCauseEffect(breaker(attempt(request, limitMillis, cutByDeadline)), {
        onSuccess: (response) => {
          // a plain synchronous update, and none at all while the bucket is full
          if (budget !== undefined && budget.milliTokens < budget.maxMilliTokens) {
            budget.unsafeRecordSuccess()
            publishBudget(budget)
          }
          return Effect.as(logSuccess(request), response)
        },
        onFailure: (cause) => retryAfterFailure(request, timeoutMillis, cause, attemptNumber, state, call)
      })
    }

    const outcomeTags = {
      success: [...serviceTag, MetricLabel.make("outcome", "success")],
      failure: [...serviceTag, MetricLabel.make("outcome", "failure")],
      rejected: [...serviceTag, MetricLabel.make("outcome", "rejected")]
    }

    /** Records a finished call in the metrics and on its span. */
    const record = (
      span: Tracer.Span | undefined,
      call: CallState,
      started: number,
      outcome: keyof typeof outcomeTags
    ) => {
      Metrics.requestsTotal.unsafeUpdate(1, outcomeTags[outcome])
      if (call.attempts > 1) Metrics.retriesTotal.unsafeUpdate(call.attempts - 1, serviceTag)
      Metrics.requestDurationMs.unsafeUpdate(clock.unsafeCurrentTimeMillis() - started, serviceTag)
      if (span === undefined) return
      span.attribute("resilience.attempts", call.attempts)
      span.attribute("resilience.outcome", outcome)
      span.attribute("resilience.breaker.state", breakerApi.currentState())
    }

    /** Runs one call (all its attempts) and records it in the metrics and on `span`, if any. */
    const callWith = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      deadlineMillis: number,
      span: Tracer.Span | undefined
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      const prepared = prepare(request)
      if (span !== undefined) {
        span.attribute("http.request.method", prepared.method)
        span.attribute("url.path", describePath(target, prepared))
      }
      const started = clock.unsafeCurrentTimeMillis()
      const call: CallState = {
        attempts: 0,
        deadlineAt: deadlineMillis > 0 ? started + deadlineMillis : Infinity,
        deadlineMillis
      }
      // the whole call, all its attempts and waits, holds one place in the bulkhead
      const calling = bulkhead === undefined
        ? run(prepared, timeoutMillis, 1, schedule.initial, call)
        : bulkhead.withPlace(
          Effect.suspend(() => run(prepared, timeoutMillis, 1, schedule.initial, call)),
          call.deadlineAt,
          () => deadlineError(deadlineMillis, "waiting for a place in the bulkhead")
        )
      return Effect.matchCauseEffect(
        span === undefined ? calling : Effect.withParentSpan(calling, span),
        {
          onSuccess: (response) => {
            record(span, call, started, "success")
            return Effect.succeed(response)
          },
          onFailure: (cause) => {
            const failure = Cause.failureOption(cause)
            const rejected = Option.isSome(failure) &&
              (failure.value._tag === "ServiceUnavailable" || failure.value._tag === "BulkheadFull")
            if (rejected || !Cause.isInterruptedOnly(cause)) {
              record(span, call, started, rejected ? "rejected" : "failure")
            }
            return Effect.failCause(cause)
          }
        }
      )
    }

    // A span per call, when a tracer that exports spans is installed. Under Effect's built-in
    // tracer, which records nothing, the span would only cost time (a tenth of a loopback call).
    const executeWith = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      deadlineMillis: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.tracerWith((tracer) =>
        tracer === builtInTracer
          ? callWith(request, timeoutMillis, deadlineMillis, undefined)
          : Effect.useSpan(
            "effect-resilience.call",
            { kind: "client", captureStackTrace: false, attributes: { "resilience.service": serviceName } },
            (span) => callWith(request, timeoutMillis, deadlineMillis, span)
          )
      )

    const execute = (request: HttpClientRequest.HttpClientRequest) =>
      executeWith(request, defaultTimeoutMillis, config.deadlineMillis)

    const httpClient: HttpClient.HttpClient.With<ClientError> = HttpClient.makeWith<never, never, ClientError, never>(
      (request) => Effect.flatMap(request, execute),
      Effect.succeed
    )

    const method = (verb: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD") =>
    (
      path: string,
      requestOptions: ResilientServiceClient.RequestOptions = {}
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.suspend(() => {
        let request = HttpClientRequest.make(verb)(path, {
          ...(requestOptions.headers !== undefined ? { headers: requestOptions.headers } : {}),
          ...(requestOptions.urlParams !== undefined ? { urlParams: requestOptions.urlParams } : {}),
          ...(requestOptions.body !== undefined ? { body: requestOptions.body } : {})
        })
        if (requestOptions.json !== undefined) {
          try {
            request = HttpClientRequest.bodyUnsafeJson(request, requestOptions.json)
          } catch (cause) {
            return Effect.fail(new HttpClientError.RequestError({ request: prepare(request), reason: "Encode", cause }))
          }
        }
        return executeWith(request, timeoutOf(requestOptions), deadlineOf(requestOptions))
      })

    const timeoutOf = (requestOptions: ResilientServiceClient.RequestOptions): number => {
      if (requestOptions.timeout === undefined) {
        return defaultTimeoutMillis
      }
      const decoded = Duration.decodeUnknown(requestOptions.timeout)
      return Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0
        ? Duration.toMillis(decoded.value)
        : defaultTimeoutMillis
    }

    const deadlineOf = (requestOptions: ResilientServiceClient.RequestOptions): number => {
      if (requestOptions.deadline === undefined) {
        return config.deadlineMillis
      }
      const decoded = Duration.decodeUnknown(requestOptions.deadline)
      return Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0 && Duration.isFinite(decoded.value)
        ? Duration.toMillis(decoded.value)
        : config.deadlineMillis
    }

    const unlimitedBudget: RetryPolicy.RetryBudgetState = {
      tokens: Infinity,
      maxTokens: Infinity,
      retriesAllowed: true
    }

    const client: ResilientServiceClient.ResilientServiceClient = {
      [TypeId]: TypeId,
      serviceName,
      id: config.id,
      baseUrl: target.baseUrl,
      get: method("GET"),
      post: method("POST"),
      put: method("PUT"),
      patch: method("PATCH"),
      delete: method("DELETE"),
      head: method("HEAD"),
      execute,
      status: breaker.status,
      breaker,
      retryBudget: budget === undefined ? Effect.succeed(unlimitedBudget) : budget.state,
      httpClient
    }
    return client
  })

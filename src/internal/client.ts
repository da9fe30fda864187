import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
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
import type * as ServiceStatus from "../ServiceStatus.js"
import type * as ServiceUnavailable from "../ServiceUnavailable.js"
import * as breakerInternal from "./circuitBreaker.js"
import * as Deadlines from "./deadlines.js"
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
  backoff: "1 second"
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
    const failureThreshold = yield* validate.positiveInteger(
      "failureThreshold",
      options.failureThreshold,
      defaults.failureThreshold
    )
    const recoveryTimeout = yield* validate.positiveDuration(
      "recoveryTimeout",
      options.recoveryTimeout,
      defaults.recoveryTimeout
    )
    const backoff = yield* validate.positiveDuration("backoff", options.backoff, defaults.backoff)
    const halfOpenMaxProbes = yield* validate.positiveInteger("halfOpenMaxProbes", options.halfOpenMaxProbes, 1)
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
      breaker: {
        name: serviceName,
        failureThreshold,
        recoveryTimeout,
        halfOpenMaxProbes,
        isFailure: isFailure as (error: unknown) => boolean
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

/** The cause of a failed attempt in words, for the retry log line. */
const describeError = (error: ClientError): string => {
  if (Cause.isTimeoutException(error)) return error.message !== "" ? error.message : "Timed out"
  if (error._tag === "ServiceUnavailable") return "Circuit breaker rejected the call"
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
  const read: Effect.Effect<Uint8Array | null, unknown> = keep
    ? Stream.runFold(response.stream, new Uint8Array(0) as Uint8Array, (acc, chunk) => {
      if (acc.length + chunk.length > maxBufferedErrorBody) return acc
      const next = new Uint8Array(acc.length + chunk.length)
      next.set(acc, 0)
      next.set(chunk, acc.length)
      return next
    })
    : Effect.as(Stream.runDrain(response.stream), null)
  return Effect.match(read, {
    onFailure: () => HttpClientResponse.fromWeb(response.request, new Response(null, { status: response.status })),
    onSuccess: (body) =>
      HttpClientResponse.fromWeb(
        response.request,
        new Response(response.status === 204 || response.status === 304 ? null : body, {
          status: response.status,
          headers: response.headers as Record<string, string>
        })
      )
  })
}

// Aborts, when a successful response is garbage collected before its body was read, the request
// that produced it (the platform does the same for requests that are not tied to a scope).
const unreadResponses = new FinalizationRegistry<Scope.CloseableScope>((scope) => {
  Effect.runFork(Scope.close(scope, Exit.void))
})

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
    const { maxAttempts, retryOn, serviceName, target } = config
    // reserve the id first: a duplicate fails before anything else is built
    const registry = yield* Effect.serviceOption(ServiceRegistry.ServiceRegistry)
    let status: Effect.Effect<ServiceStatus.ServiceStatus> = Effect.dieMessage("unreachable: client not built yet")
    if (Option.isSome(registry)) {
      yield* registry.value.register(config.id, Effect.suspend(() => status))
    }
    const breaker = yield* breakerInternal.make(config.breaker)
    status = breaker.status
    const breakerApi = breakerInternal.internals(breaker)
    const platform = yield* HttpClient.HttpClient
    const scoped = HttpClient.withScope(platform)
    const clock: Clock.Clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const deadlines = Deadlines.make(clock, scope)
    const schedule = config.retry.schedule
    const defaultTimeoutMillis = Duration.toMillis(config.timeout)
    const annotate = Effect.annotateLogs("service", serviceName)

    const prepare = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
      let prepared = request
      if (!isAbsolute(request.url)) {
        const [path, params] = splitQuery(request.url)
        prepared = HttpClientRequest.setUrl(request, target.baseUrl + (path.startsWith("/") ? path : `/${path}`))
        if (params.length > 0) prepared = HttpClientRequest.appendUrlParams(prepared, params)
      }
      if (target.authorization !== undefined && prepared.headers["authorization"] === undefined) {
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
      timeoutMillis: number
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
          timedOut ? Effect.fail(timeoutError(timeoutMillis)) : exit
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
                  if (timedOut) return Effect.fail(timeoutError(timeoutMillis))
                  unreadResponses.register(response, attemptScope)
                  return Effect.succeed(response)
                },
                onFailure: (cause) => {
                  deadlines.remove(entry)
                  return Effect.zipRight(Scope.close(attemptScope, Exit.void), timedOutOr(Effect.failCause(cause)))
                }
              })
          )
        )
      })

    const protectedAttempt = (request: HttpClientRequest.HttpClientRequest, timeoutMillis: number) =>
      breaker(attempt(request, timeoutMillis))

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
      if (error._tag === "ServiceUnavailable") return Effect.failCause(cause)
      const words = describeError(error)
      const method = request.method
      const path = describePath(target, request)
      if (!retryOn(error)) {
        return Effect.zipRight(
          annotate(Effect.logDebug(`[${serviceName}] ✗ ${method} ${path} failed: ${words} (not retried)`)),
          Effect.failCause(cause)
        )
      }
      const allFailed = Effect.zipRight(
        annotate(Effect.logError(`[${serviceName}] All ${maxAttempts} attempts failed: ${words}`)),
        Effect.failCause(cause)
      )
      if (attemptNumber >= maxAttempts) return allFailed
      return Effect.flatMap(breakerApi.rejection, (rejection) => {
        // this failure (or another call's) opened the breaker: no point waiting for a backoff
        if (Option.isSome(rejection)) return Effect.fail(rejection.value)
        const now = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(schedule.step(now, error, state), ([next, _, decision]) => {
          if (ScheduleDecision.isDone(decision)) return allFailed
          const delay = Duration.millis(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
          const warn = annotate(Effect.logWarning(
            `[${serviceName}] ${words} on attempt ${attemptNumber}/${maxAttempts}, retrying in ${
              describeDuration(delay)
            }...`
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

    /** Per call: how many attempts ran (for metrics and the call's span). */
    interface CallState {
      attempts: number
    }

    const run = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number,
      attemptNumber: number,
      state: unknown,
      call: CallState
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      call.attempts = attemptNumber
      return Effect.matchCauseEffect(protectedAttempt(request, timeoutMillis), {
        onSuccess: (response) => Effect.as(logSuccess(request), response),
        onFailure: (cause) => retryAfterFailure(request, timeoutMillis, cause, attemptNumber, state, call)
      })
    }

    const serviceTag = [MetricLabel.make("service", serviceName)]
    const outcomeTags = {
      success: [...serviceTag, MetricLabel.make("outcome", "success")],
      failure: [...serviceTag, MetricLabel.make("outcome", "failure")],
      rejected: [...serviceTag, MetricLabel.make("outcome", "rejected")]
    }

    /** Records a finished call in the metrics and on its span. */
    const record = (span: Tracer.Span, call: CallState, started: number, outcome: keyof typeof outcomeTags) => {
      Metrics.requestsTotal.unsafeUpdate(1, outcomeTags[outcome])
      if (call.attempts > 1) Metrics.retriesTotal.unsafeUpdate(call.attempts - 1, serviceTag)
      Metrics.requestDurationMs.unsafeUpdate(clock.unsafeCurrentTimeMillis() - started, serviceTag)
      span.attribute("resilience.attempts", call.attempts)
      span.attribute("resilience.outcome", outcome)
      span.attribute("resilience.breaker.state", breakerApi.currentState())
    }

    const executeWith = (
      request: HttpClientRequest.HttpClientRequest,
      timeoutMillis: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.useSpan(
        "effect-resilience.call",
        { kind: "client", captureStackTrace: false, attributes: { "resilience.service": serviceName } },
        (span) => {
          const prepared = prepare(request)
          span.attribute("http.request.method", prepared.method)
          span.attribute("url.path", describePath(target, prepared))
          const call: CallState = { attempts: 0 }
          const started = clock.unsafeCurrentTimeMillis()
          return Effect.matchCauseEffect(
            Effect.withParentSpan(run(prepared, timeoutMillis, 1, schedule.initial, call), span),
            {
              onSuccess: (response) => {
                record(span, call, started, "success")
                return Effect.succeed(response)
              },
              onFailure: (cause) => {
                const failure = Cause.failureOption(cause)
                const rejected = Option.isSome(failure) && failure.value._tag === "ServiceUnavailable"
                if (rejected || !Cause.isInterruptedOnly(cause)) {
                  record(span, call, started, rejected ? "rejected" : "failure")
                }
                return Effect.failCause(cause)
              }
            }
          )
        }
      )

    const execute = (request: HttpClientRequest.HttpClientRequest) => executeWith(request, defaultTimeoutMillis)

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
        return executeWith(request, timeoutOf(requestOptions))
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
      httpClient
    }
    return client
  })

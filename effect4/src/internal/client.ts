/**
 * The client: a call is a retry loop around attempts, each attempt run through the breaker and
 * bounded by its timeout. The pieces live beside this file, one concern each: options
 * (`client/options.ts`), request preparation and redaction (`client/request.ts`), the response
 * and its body (`client/response.ts`), the three outcomes of an attempt (`client/outcome.ts`)
 * and the retry decision (`client/retryDecision.ts`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Pull from "effect/Pull"
import * as References from "effect/References"
import * as Result from "effect/Result"
import type * as Schedule from "effect/Schedule"
import * as ScheduleModule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as ClientLog from "../../../core/src/clientLog.js"
import { neverSent } from "../../../core/src/clientRules.js"
import { formatMillis } from "../../../core/src/format.js"
import { hostKey } from "../../../core/src/keyed.js"
import { parseRetryAfterMillis, TokenBucketState } from "../../../core/src/retry.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as KeyedCircuitBreaker from "../KeyedCircuitBreaker.js"
import * as Metrics from "../Metrics.js"
import type * as ResilientServiceClient from "../ResilientServiceClient.js"
import type * as RetryPolicy from "../RetryPolicy.js"
import * as ServiceRegistry from "../ServiceRegistry.js"
import type * as ServiceUnavailable from "../ServiceUnavailable.js"
import * as AttemptSignal from "./attemptSignal.js"
import * as Bulkhead from "./bulkhead.js"
import * as breakerInternal from "./circuitBreaker.js"
import * as Options from "./client/options.js"
import * as Outcome from "./client/outcome.js"
import * as Request from "./client/request.js"
import * as Response from "./client/response.js"
import * as RetryDecision from "./client/retryDecision.js"
import * as Deadlines from "./deadlines.js"
import * as Defaults from "./defaults.js"
import * as FleetMembership from "./fleetMembership.js"
import * as KeyedInternals from "./keyedCircuitBreaker.js"
import * as Time from "./time.js"

/** @internal */
export const TypeId: ResilientServiceClient.TypeId = Symbol.for(
  "effect-resilience/ResilientServiceClient"
) as ResilientServiceClient.TypeId

type ClientError = ResilientServiceClient.ClientError

/**
 * Call options set for an effect and everything it calls (`withCallOptions`, `withTimeout`,
 * `withDeadline`); a call's own options override them.
 *
 * @internal
 */
export const currentCallOptions: Context.Reference<ResilientServiceClient.CallOptions> = Context.Reference<
  ResilientServiceClient.CallOptions
>("effect-resilience/ResilientServiceClient/currentCallOptions", { defaultValue: () => ({}) })

/** @internal */
export const withCallOptions =
  (options: ResilientServiceClient.CallOptions) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.updateService(self, currentCallOptions, (outer) => ({ ...outer, ...options }))

const describeDuration: (millis: number) => string = formatMillis

const timeoutError = (timeoutMillis: number) =>
  new Cause.TimeoutError(`Timed out after ${describeDuration(timeoutMillis)}`)

/**
 * The failure of a call whose deadline passed: during an attempt (`fair` says whether the
 * attempt had had a fair time to answer, see `outcome.ts`), before one, or in the bulkhead queue.
 */
const deadlineError = (deadlineMillis: number, where: string, fair: boolean) => {
  const error = new Cause.TimeoutError(`Deadline of ${describeDuration(deadlineMillis)} exceeded ${where}`)
  Object.defineProperty(error, Outcome.DeadlineCutId, { value: { fair } })
  return error
}

const sentForSure = (error: ClientError): boolean =>
  !(error._tag === "HttpClientError" && error.reason._tag === "TransportError" && neverSent(error.reason.cause))

/**
 * The `Retry-After` of a 429 or 503 answer, in milliseconds, if it has a valid one. `wallMillis`
 * is the wall clock's time: an HTTP-date is a date on it.
 */
const retryAfterOf = (error: ClientError, wallMillis: number): number | undefined => {
  if (error._tag !== "HttpClientError" || error.reason._tag !== "StatusCodeError") return undefined
  const response = error.reason.response
  if (response.status !== 429 && response.status !== 503) return undefined
  return parseRetryAfterMillis(response.headers["retry-after"], wallMillis)
}

/** The cause of a failed attempt in words, for log lines. */
const describeError = (error: ClientError): string => {
  if (Cause.isTimeoutError(error)) return error.message !== "" ? error.message : "Timed out"
  switch (error._tag) {
    case "ServiceUnavailable":
      return "Circuit breaker rejected the call"
    case "BulkheadFull":
      return "Bulkhead full"
    case "HttpClientError": {
      // the words of the Effect 3 edition: the reason without its "Error" suffix
      const reason = error.reason._tag.replace(/Error$/, "")
      switch (error.reason._tag) {
        case "StatusCodeError":
          return `HTTP ${error.reason.response.status}`
        case "DecodeError":
        case "EmptyBodyError":
          return `Invalid response (${reason})`
        case "TransportError":
          return "Connection failed"
        default:
          return `Invalid request (${reason})`
      }
    }
    default:
      return "Failed"
  }
}

const isAnswer = (status: number): boolean => status >= 200 && status < 400

/** Per call: how many attempts ran (for metrics and the call's span), and its limits. */
interface Call {
  attempts: number
  readonly timeoutMillis: number
  /**
   * When the call must end, in monotonic milliseconds (`Time.monotonicMillis` of the client's
   * clock, so that a step of the wall clock moves no deadline); `Infinity` without a deadline.
   */
  readonly deadlineAt: number
  /** The deadline as given, in milliseconds (for messages); 0 without one. */
  readonly deadlineMillis: number
  readonly stream: boolean
  /** Whether an attempt the breaker would refuse runs anyway, unrecorded (`onRejection: "allow"`). */
  readonly allow: boolean
  /** Whether Debug lines are logged (the minimum log level, read once where the call starts). */
  readonly debug: boolean
  /** The limit of the attempt running now (the timeout, or what is left of the deadline). */
  limitMillis: number
  /** A stream body, tracked so that a one-shot one is never sent twice; `undefined` for a body in memory. */
  readonly body: Request.SentBody | undefined
  /** The breaker of the call: the client's, or (with `breakerKey`) its key's. */
  breaker: breakerInternal.Internals
  /** The retry schedule's step function for this call, made at its first failure. */
  step: ScheduleStep | undefined
}

/** A retry schedule stepped by hand: the delay it chooses for a failure at a time (it fails with `Cause.Done` once done). */
type ScheduleStep = (
  now: number,
  input: unknown
) => Pull.Pull<[unknown, Duration.Duration], unknown, unknown>

/** How many events a subscriber of `events` may fall behind before the oldest are dropped. */
const eventsCapacity = 1024

/** @internal */
export { configSources } from "./client/options.js"

/** @internal */
export const replayable = Request.replayable

/**
 * The client's machinery: everything but the method sugar. `make` and `transform` are both
 * built on it.
 */
interface Core {
  readonly config: Options.Settings
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly keyed: KeyedCircuitBreaker.KeyedCircuitBreaker | undefined
  readonly execute: (
    request: HttpClientRequest.HttpClientRequest,
    own: ResilientServiceClient.CallOptions | undefined
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>
  readonly httpClient: HttpClient.HttpClient.With<ClientError>
  readonly retryBudget: Effect.Effect<RetryPolicy.RetryBudgetState>
  readonly events: Stream.Stream<ResilientServiceClient.CallEvent>
  readonly subscribeEvents: Effect.Effect<PubSub.Subscription<ResilientServiceClient.CallEvent>, never, Scope.Scope>
}

const core = (
  platform: HttpClient.HttpClient,
  options: ResilientServiceClient.TransformOptions,
  context: Options.SettingsContext,
  culprit: string | undefined,
  keys: ReadonlyMap<string, Options.ConfigSource> | undefined
): Effect.Effect<Core, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const named = Effect.mapError((error: Config.ConfigError) =>
      Options.nameCulprit(error, Options.culpritOf(options, culprit), keys)
    )
    const config = yield* named(Options.settings(options, context))
    const {
      isFailure,
      maxAttempts,
      maxResponseBytes,
      maxRetryAfterMillis,
      openForRetryAfter,
      retryOn,
      serviceName,
      target
    } = config
    const breaker = yield* named(Options.makeBreaker(config))
    const breakerApi = breakerInternal.internals(breaker)
    // with `breakerKey`, one breaker per key; the client's own takes the calls that find no room
    const keyed = config.breakerKey === undefined || typeof config.breaker === "function"
      ? undefined
      : yield* named(Options.makeKeyed(config, breaker))
    const keyedApi = keyed === undefined ? undefined : KeyedInternals.internals(keyed)
    const keyOf = config.breakerKey === "host"
      ? (request: HttpClientRequest.HttpClientRequest) => hostKey(request.url)
      : config.breakerKey

    // Events are built and published only while someone subscribes: `subscribers` is read on the
    // call's path before anything is allocated for an event.
    const hub = yield* PubSub.sliding<ResilientServiceClient.CallEvent>(eventsCapacity)
    // subscribers' streams end with the client
    yield* Effect.addFinalizer(() => PubSub.shutdown(hub))
    let subscribers = 0
    const subscribeEvents = Effect.andThen(
      Effect.acquireRelease(
        Effect.sync(() => {
          subscribers++
        }),
        () =>
          Effect.sync(() => {
            subscribers--
          })
      ),
      PubSub.subscribe(hub)
    )
    const events = Stream.unwrap(Effect.map(subscribeEvents, (subscription) => Stream.fromSubscription(subscription)))
    const publish = (event: ResilientServiceClient.CallEvent) => {
      PubSub.publishUnsafe(hub, event)
    }
    const clock: Clock.Clock = yield* Clock.Clock
    // the context metrics are updated in (the client's, as the Effect 3 edition's global registry)
    const metricContext = yield* Effect.context<never>()
    const deadlines = Deadlines.make(clock, yield* Effect.scope)
    const bulkhead = config.bulkhead === undefined
      ? undefined
      : Bulkhead.make(serviceName, config.bulkhead.maxConcurrent, config.bulkhead.maxQueued, clock)
    const schedule = config.retry.schedule

    /**
     * The delay the retry schedule chooses after `error` at `now` (monotonic milliseconds), or
     * `undefined` once it is done. Each call steps a schedule of its own, made at its first
     * failure (a call that succeeds at once makes none).
     */
    const scheduledDelay = (call: Call, now: number, error: ClientError): Effect.Effect<number | undefined> =>
      Effect.suspend(() => {
        const stepWith = (step: ScheduleStep) =>
          Effect.orDie(Pull.catchDone(
            Effect.map(step(now, error), ([, delay]) => Duration.toMillis(delay)),
            () => Effect.succeed(undefined)
          ))
        if (call.step !== undefined) return stepWith(call.step)
        return Effect.flatMap(ScheduleModule.toStep(schedule as Schedule.Schedule<unknown, unknown>), (step) => {
          call.step = step
          return stepWith(step)
        })
      })
    const annotate = Effect.annotateLogs("service", serviceName)
    const serviceAttributes = { service: serviceName }
    const retryBudgetTokens = Metric.withAttributes(Metrics.retryBudgetTokens, serviceAttributes)
    const common = (request: HttpClientRequest.HttpClientRequest): ResilientServiceClient.CallEvent.Common => ({
      service: serviceName,
      method: request.method,
      path: Request.describePath(target, request).replace(/[?#].*$/, "")
    })
    const budget = config.retryBudget === undefined
      ? undefined
      : new TokenBucketState(config.retryBudget.maxTokens, config.retryBudget.tokenRatio)
    const publishBudget = (bucket: TokenBucketState) =>
      retryBudgetTokens.updateUnsafe(bucket.milliTokens / 1000, metricContext)
    if (budget !== undefined) {
      publishBudget(budget)
      // under a fleet layer, the budget holds for the fleet (its replicas exchange their counts)
      yield* FleetMembership.shareBudget(serviceName, {
        takeLocal: () => budget.takeLocal(),
        applyRemote: (successes, failures) => {
          budget.applyRemote(successes, failures)
          publishBudget(budget)
        }
      })
    }

    // Closing the client's scope ends its calls: attempts in flight are interrupted (their
    // requests aborted), waits for a backoff or a place in the bulkhead end, and later calls
    // end at once, each with an interruption. Added after the breaker's finalizers, so it runs
    // before them: the calls end while their breaker is still whole.
    let closed = false
    // an attempt in its own fiber is stopped by interrupting the fiber, one in the caller's
    // fiber (on UndiciTransport) by aborting its signal
    const attemptsInFlight = new Set<Fiber.Fiber<unknown, unknown> | AttemptSignal.AttemptSignal>()
    const closing = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        bulkhead?.shutdown()
        const attempts = Array.from(attemptsInFlight)
        attemptsInFlight.clear()
        return Effect.andThen(
          Deferred.succeed(closing, undefined),
          Effect.sync(() => {
            for (const attempt of attempts) {
              if (attempt instanceof AttemptSignal.AttemptSignal) attempt.abort()
              else attempt.interruptUnsafe()
            }
          })
        )
      })
    )
    const waited = "waited" as const
    const scopeClosed = "scopeClosed" as const
    type WaitEnd = typeof waited | typeof scopeClosed | ServiceUnavailable.ServiceUnavailable

    const judge = (cause: Cause.Cause<ClientError>): breakerInternal.FailedOutcome => {
      switch (Outcome.judge(cause, isFailure as (error: unknown) => boolean)) {
        case "failed": {
          // with breaker.openForRetryAfter, a 429 or 503 with a Retry-After: should it open the
          // breaker, it opens at least that long
          if (!openForRetryAfter) return "Failure"
          const failure = Cause.findErrorOption(cause)
          const retryAfterMillis = Option.isSome(failure)
            ? retryAfterOf(failure.value, clock.currentTimeMillisUnsafe())
            : undefined
          return retryAfterMillis === undefined || !(retryAfterMillis > 0)
            ? "Failure"
            : { _tag: "Failure", retryAfterMillis }
        }
        case "answered":
          return "Ignored"
        case "silent":
          return "Silent"
      }
    }

    /** The answer of an attempt: read (unless streamed) and classified by its status. */
    const receive = (
      request: HttpClientRequest.HttpClientRequest,
      response: HttpClientResponse.HttpClientResponse,
      call: Call
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
      if (isAnswer(response.status)) {
        if (call.stream) {
          return Effect.succeed(
            Response.boundedByDeadline(
              response,
              clock,
              call.deadlineAt,
              () => deadlineError(call.deadlineMillis, "while reading the body", false)
            )
          )
        }
        // a body already whole is kept in the same step (the usual answer on UndiciTransport)
        // the method of the request at hand: a transport may make `response.request` only when asked
        const now = Response.bodyNow(response, maxResponseBytes, request.method)
        if (now !== undefined) return Effect.succeed(new Response.BufferedResponse(response, now))
        return Effect.map(readBodyOf(response), (body) => new Response.BufferedResponse(response, body))
      }
      // an error's body is kept for the caller (it may explain the error), unless it is too
      // long or cannot be read: the status is what the attempt is judged by
      return Effect.flatMap(
        readErrorBody(response),
        (body) =>
          Effect.fail(
            Response.statusCodeError(
              request,
              new Response.BufferedResponse(response, body),
              response.status < 200 || response.status > 599
                ? `invalid status code ${response.status}`
                : "non 2xx status code"
            )
          )
      )
    }
    const readBodyOf = (response: HttpClientResponse.HttpClientResponse) =>
      Response.readBody(response, maxResponseBytes)
    const maxErrorBodyBytes = Math.min(maxResponseBytes, Defaults.client.maxErrorBodyBytes)
    const readErrorBody = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.orElseSucceed(Response.readBody(response, maxErrorBodyBytes), () => new Uint8Array(0))

    /**
     * The failure of a request as the transport gave it, except a response it failed with (a
     * client built with `HttpClient.filterStatusOk`, say), whose body is read like an error's:
     * kept in the error for the caller, and its connection freed instead of staying busy.
     */
    const requestFailed = (error: HttpClientError.HttpClientError): Effect.Effect<never, ClientError> =>
      error.response !== undefined && !(error.response instanceof Response.BufferedResponse)
        ? Effect.flatMap(
          readErrorBody(error.response),
          (body) => Effect.fail(Response.withResponse(error, new Response.BufferedResponse(error.response!, body)))
        )
        : Effect.fail(error)

    /** The request of an attempt and its answer, received. */
    const answered = (
      request: HttpClientRequest.HttpClientRequest,
      sent: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>,
      call: Call
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.matchEffect(sent, {
        onFailure: requestFailed,
        onSuccess: (response) => receive(request, response, call)
      })

    /**
     * One attempt of `request`, bounded by `limitMillis` (the attempt timeout, or what is left of
     * the call's deadline when `cutByDeadline`).
     */
    type Attempt = (
      request: HttpClientRequest.HttpClientRequest,
      call: Call,
      limitMillis: number,
      cutByDeadline: boolean
    ) => Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>

    /** The error of an attempt its timer ended: its own timeout, or the call's deadline. */
    const attemptTimedOut = (call: Call, limitMillis: number, cutByDeadline: boolean): ClientError =>
      cutByDeadline
        ? deadlineError(
          call.deadlineMillis,
          "during an attempt",
          Outcome.isFairCut(limitMillis, call.timeoutMillis, call.deadlineMillis)
        )
        : timeoutError(limitMillis)

    /**
     * One attempt: the request and (unless the call streams) its whole body, bounded by the
     * attempt timeout, or by what is left of the call's deadline when that is shorter. The
     * attempt runs in a fiber of its own, which the client's deadline timer interrupts when the
     * limit passes, whatever the transport does with its `AbortSignal` (the platform aborts the
     * request when it is interrupted: the fast path that also frees the connection). The fiber
     * is interruptible even when the caller is not (a call made while acquiring a resource).
     */
    const attemptInFiber: Attempt = (request, call, limitMillis, cutByDeadline) =>
      Effect.suspend(() => {
        if (closed) return Effect.interrupt
        const exchange = Effect.interruptible(
          answered(request, platform.execute(request), call)
        )
        return Effect.uninterruptibleMask((restore) =>
          // detached: awaited here, and interrupted here when its caller is, it needs no parent
          // to supervise it (a child fiber is added to, and removed from, its parent's children)
          Effect.flatMap(Effect.forkDetach(exchange), (fiber) => {
            let timedOut = false
            // the scope may have closed between the check above and now: then nobody else will
            // interrupt this attempt
            if (closed) fiber.interruptUnsafe()
            else attemptsInFlight.add(fiber)
            // a body whose own stream fails stops the attempt: the platform then aborts the request
            call.body?.stopWith(() => fiber.interruptUnsafe())
            const expire = Effect.sync(() => {
              timedOut = true
              fiber.interruptUnsafe()
            })
            const [entry, startTimer] = deadlines.unsafeRegister(Time.monotonicMillis(clock) + limitMillis, expire)
            const awaited = Effect.onExit(
              // awaited, not joined: the attempt's fiber refs are not the caller's to inherit
              restore(
                Effect.catchCause(
                  Effect.flatten(Fiber.await(fiber)),
                  (cause): Effect.Effect<never, ClientError> =>
                    timedOut && Cause.hasInterruptsOnly(cause)
                      ? Effect.fail(attemptTimedOut(call, limitMillis, cutByDeadline))
                      : Effect.failCause(cause)
                )
              ),
              (exit) => {
                deadlines.remove(entry)
                attemptsInFlight.delete(fiber)
                // the caller was interrupted while it waited: its attempt ends with it
                if (Exit.hasInterrupts(exit) && !timedOut) fiber.interruptUnsafe()
                return Effect.void
              }
            )
            return startTimer === undefined ? awaited : Effect.andThen(startTimer, awaited)
          })
        )
      })

    /**
     * One attempt on `UndiciTransport`, in the caller's fiber: the same bounds as
     * {@link attemptInFiber}, enforced by aborting the attempt's signal, which the transport heeds
     * from the request until the body is read, interruptible or not. The deadline is registered
     * and removed with interruption masked, so that no entry outlives the attempt, and without a
     * fork unless the timer must start; one cause handler removes it and maps the failure. The
     * transport installs no interruption handler of its own in this mode: an interrupted attempt
     * aborts its signal here, which ends its request.
     */
    const attemptWithSignal =
      (execute: AttemptSignal.ExecuteWithSignal): Attempt => (request, call, limitMillis, cutByDeadline) =>
        Effect.uninterruptibleMask((restore) => {
          if (closed) return Effect.interrupt
          const signal = new AttemptSignal.AttemptSignal()
          let timedOut = false
          const expire = Effect.sync(() => {
            timedOut = true
            signal.abort()
          })
          const [entry, startTimer] = deadlines.unsafeRegister(Time.monotonicMillis(clock) + limitMillis, expire)
          attemptsInFlight.add(signal)
          call.body?.stopWith(() => signal.abort())
          const ended = () => {
            deadlines.remove(entry)
            attemptsInFlight.delete(signal)
          }
          const exchange = Effect.matchCauseEffect(restore(answered(request, execute(request, signal), call)), {
            onSuccess: (response) => {
              ended()
              return Effect.succeed(response)
            },
            onFailure: (cause): Effect.Effect<never, ClientError> => {
              ended()
              if (Cause.hasInterrupts(cause)) {
                // the caller was interrupted: its request ends with it
                signal.abort()
                return Effect.failCause(cause)
              }
              // whatever the stopped request failed with, the reason is what stopped it
              if (!signal.aborted) return Effect.failCause(cause)
              return timedOut ? Effect.fail(attemptTimedOut(call, limitMillis, cutByDeadline)) : Effect.interrupt
            }
          })
          return startTimer === undefined ? exchange : Effect.andThen(startTimer, exchange)
        })

    const withSignal = AttemptSignal.executeWithSignal(platform)
    const attempt = withSignal === undefined ? attemptInFiber : attemptWithSignal(withSignal)

    // the success line is Debug: it is built (and annotated) only when the call found Debug
    // enabled (`Call.debug`)
    const logSuccess = (request: HttpClientRequest.HttpClientRequest) =>
      annotate(
        Effect.logDebug(ClientLog.successLine(serviceName, request.method, Request.describePath(target, request)))
      )

    const giveUpLine = (
      why: RetryDecision.GiveUp,
      words: string,
      method: string,
      path: string,
      attemptNumber: number,
      call: Call
    ): Effect.Effect<void> => {
      const line = ClientLog.giveUpLine(why, {
        serviceName,
        words,
        method,
        path,
        attempt: attemptNumber,
        maxAttempts,
        budget: budget === undefined ? undefined : { tokens: budget.milliTokens / 1000, maxTokens: budget.maxTokens },
        maxRetryAfterMillis,
        deadlineMillis: call.deadlineMillis
      })
      return line.level === "Debug" ? Effect.logDebug(line.message) : Effect.logError(line.message)
    }

    /**
     * After a failed attempt: gather the facts, let `RetryDecision.decide` choose, then give up,
     * end with the breaker's rejection, or wait out the delay and run the next attempt. The wait
     * ends early, with `ServiceUnavailable`, if the breaker opens meanwhile, and with an
     * interruption if the client's scope closes.
     */
    const afterFailure = (
      request: HttpClientRequest.HttpClientRequest,
      cause: Cause.Cause<ClientError>,
      attemptNumber: number,
      call: Call
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      if (Cause.hasDies(cause)) {
        // a defect: counted by the breaker, never retried
        if (subscribers > 0) {
          const defect = Cause.findDefect(cause)
          publish({
            _tag: "Defect",
            ...common(request),
            attempt: attemptNumber,
            defect: Result.isSuccess(defect) ? defect.success : undefined
          })
        }
        return Effect.failCause(cause)
      }
      const failure = Cause.findErrorOption(cause)
      // interrupted: its event was published by `observed`
      if (Option.isNone(failure)) return Effect.failCause(cause)
      const error = failure.value
      if (error._tag === "ServiceUnavailable") {
        call.attempts = attemptNumber - 1 // the breaker refused this attempt: it never ran
        if (subscribers > 0) publish({ _tag: "Rejection", ...common(request), error })
        return Effect.failCause(cause)
      }
      if (subscribers > 0) {
        const about = common(request)
        if (Cause.isTimeoutError(error)) {
          publish({ _tag: "Timeout", ...about, attempt: attemptNumber, timeout: Duration.millis(call.limitMillis) })
        }
        publish({
          _tag: "Failure",
          ...about,
          attempt: attemptNumber,
          outcome: Outcome.judge(cause, isFailure as (error: unknown) => boolean),
          error
        })
      }
      const retryable = Outcome.deadlineCut(error) === undefined && retryOn(error)
      if (retryable && budget !== undefined) {
        budget.unsafeRecordFailure()
        publishBudget(budget)
      }
      // the schedule and the deadline are on the monotonic clock; an HTTP-date on the wall clock
      const now = Time.monotonicMillis(clock)
      const stepped = retryable && attemptNumber < maxAttempts
        ? scheduledDelay(call, now, error)
        : Effect.succeed(undefined)
      // a call that must always run never ends with the breaker's rejection
      const rejectionNow = call.allow ? Effect.succeedNone : call.breaker.rejection
      return Effect.flatMap(stepped, (scheduledMillis) =>
        Effect.flatMap(rejectionNow, (rejection) => {
          const decision = RetryDecision.decide({
            attempt: attemptNumber,
            maxAttempts,
            now,
            deadlinePassed: Outcome.deadlineCut(error) !== undefined,
            retryable,
            rejection: Option.getOrUndefined(rejection),
            unsafeToRepeat: !config.retryUnsafeMethods && Request.isUnsafe(request) && sentForSure(error),
            bodySpent: call.body !== undefined && call.body.spent,
            budgetAllows: budget === undefined || budget.retriesAllowed(),
            scheduledMillis,
            retryAfterMillis: retryAfterOf(error, clock.currentTimeMillisUnsafe()),
            maxRetryAfterMillis,
            deadlineAt: call.deadlineAt
          })
          const words = describeError(error)
          switch (decision._tag) {
            case "Reject":
              if (subscribers > 0) publish({ _tag: "Rejection", ...common(request), error: decision.rejection })
              return Effect.fail(decision.rejection)
            case "GiveUp":
              return Effect.andThen(
                annotate(giveUpLine(
                  decision.why,
                  words,
                  request.method,
                  Request.describePath(target, request),
                  attemptNumber,
                  call
                )),
                Effect.failCause(cause)
              )
            case "Wait": {
              const warn = annotate(Effect.logWarning(
                ClientLog.retryLine(
                  serviceName,
                  words,
                  attemptNumber,
                  maxAttempts,
                  decision.delayMillis,
                  decision.fromServer
                )
              ))
              // published when the next attempt starts, if it does
              const retry: ResilientServiceClient.CallEvent.Retry = {
                _tag: "Retry",
                ...common(request),
                attempt: attemptNumber,
                delay: Duration.millis(decision.delayMillis),
                error
              }
              // whichever ends first: the delay, an opening of the breaker, the client's scope
              const wait: Effect.Effect<WaitEnd> = Effect.raceAll<Effect.Effect<WaitEnd>>([
                Effect.as(clock.sleep(Duration.millis(decision.delayMillis)), waited),
                call.allow ? Effect.never : call.breaker.awaitRejection,
                Effect.as(Deferred.await(closing), scopeClosed)
              ])
              return Effect.andThen(
                warn,
                Effect.flatMap(wait, (end) =>
                  end === waited
                    ? run(request, attemptNumber + 1, call, retry)
                    : end === scopeClosed
                    ? Effect.interrupt
                    : Effect.suspend(() => {
                      if (subscribers > 0) publish({ _tag: "Rejection", ...common(request), error: end })
                      return Effect.fail(end)
                    }))
              )
            }
          }
        }))
    }

    /**
     * An attempt as the breaker runs it (so only once it is admitted), with the events of its
     * start and of its interruption: the `Retry` that it follows, if any, and `Interrupted` if
     * it is stopped before it ends. Its other ends are published by `run` and `afterFailure`.
     */
    const observed = (
      request: HttpClientRequest.HttpClientRequest,
      attemptNumber: number,
      retry: ResilientServiceClient.CallEvent.Retry | undefined,
      attempting: Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      subscribers === 0 && retry === undefined ? attempting : Effect.suspend(() => {
        if (subscribers === 0) return attempting
        if (retry !== undefined) publish(retry)
        return Effect.onInterrupt(attempting, () =>
          Effect.sync(() => {
            if (subscribers > 0) publish({ _tag: "Interrupted", ...common(request), attempt: attemptNumber })
          }))
      })

    const run = (
      request: HttpClientRequest.HttpClientRequest,
      attemptNumber: number,
      call: Call,
      retry?: ResilientServiceClient.CallEvent.Retry
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      if (closed) return Effect.interrupt
      let limitMillis = call.timeoutMillis
      let cutByDeadline = false
      if (call.deadlineAt !== Infinity) {
        const left = call.deadlineAt - Time.monotonicMillis(clock)
        if (left <= 0) return Effect.fail(deadlineError(call.deadlineMillis, "before an attempt", false))
        if (left < limitMillis) {
          limitMillis = left
          cutByDeadline = true
        }
      }
      call.attempts = attemptNumber
      call.limitMillis = limitMillis
      const body = call.body
      let attempted = attempt(request, call, limitMillis, cutByDeadline)
      // a body whose own stream failed is the caller's failure, whatever the transport made of it
      if (body !== undefined) attempted = Request.attemptWithBody(body, request, attempted)
      return Effect.matchCauseEffect(
        call.breaker.protectJudged(
          observed(request, attemptNumber, retry, attempted),
          // the judge runs the caller's `isFailure`: it sees no query value either
          request.url.includes("?") ? (cause) => judge(Request.redactCause(request, cause)) : judge,
          call.allow
        ),
        {
          onSuccess: (response) => {
            // a plain synchronous update, and none at all while the bucket is full
            if (budget !== undefined && budget.milliTokens < budget.maxMilliTokens) {
              budget.unsafeRecordSuccess()
              publishBudget(budget)
            }
            if (subscribers > 0) {
              publish({ _tag: "Success", ...common(request), attempt: attemptNumber })
            }
            return call.debug ? Effect.as(logSuccess(request), response) : Effect.succeed(response)
          },
          // a query written in the URL is sent as written: the failure shows it in no message
          onFailure: (cause) => afterFailure(request, Request.redactCause(request, cause), attemptNumber, call)
        }
      )
    }

    const outcomeTags = {
      success: Metric.withAttributes(Metrics.requestsTotal, { ...serviceAttributes, outcome: "success" }),
      failure: Metric.withAttributes(Metrics.requestsTotal, { ...serviceAttributes, outcome: "failure" }),
      rejected: Metric.withAttributes(Metrics.requestsTotal, { ...serviceAttributes, outcome: "rejected" })
    }
    const retriesTotal = Metric.withAttributes(Metrics.retriesTotal, serviceAttributes)
    const requestDurationMs = Metric.withAttributes(Metrics.requestDurationMs, serviceAttributes)

    /** Records a finished call in the metrics and on its span. */
    const record = (
      span: Tracer.Span | undefined,
      call: Call,
      started: number,
      outcome: keyof typeof outcomeTags
    ) => {
      outcomeTags[outcome].updateUnsafe(1, metricContext)
      if (call.attempts > 1) retriesTotal.updateUnsafe(call.attempts - 1, metricContext)
      requestDurationMs.updateUnsafe(Time.monotonicMillis(clock) - started, metricContext)
      if (span === undefined) return
      span.attribute("resilience.attempts", call.attempts)
      span.attribute("resilience.outcome", outcome)
      span.attribute("resilience.breaker.state", call.breaker.currentState())
    }

    /** Runs one call (all its attempts) and records it in the metrics and on `span`, if any. */
    const callWith = (
      prepared: HttpClientRequest.HttpClientRequest,
      settings: Options.CallSettings,
      span: Tracer.Span | undefined,
      body: Request.SentBody | undefined,
      debug: boolean
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> => {
      if (span !== undefined) {
        span.attribute("http.request.method", prepared.method)
        span.attribute("url.path", Request.describePath(target, prepared))
      }
      const started = Time.monotonicMillis(clock)
      const call: Call = {
        attempts: 0,
        timeoutMillis: settings.timeoutMillis,
        deadlineAt: settings.deadlineMillis > 0 ? started + settings.deadlineMillis : Infinity,
        deadlineMillis: settings.deadlineMillis,
        stream: settings.stream,
        allow: settings.allow,
        debug,
        limitMillis: settings.timeoutMillis,
        body,
        step: undefined,
        breaker: breakerApi
      }
      // with `breakerKey`, the call holds its key (never dropped meanwhile) from start to end
      const first = keyedApi === undefined || keyOf === undefined
        ? () => run(prepared, 1, call)
        : () =>
          keyedApi.withBreaker(keyOf(prepared), (keyBreaker) => {
            call.breaker = breakerInternal.internals(keyBreaker)
            return run(prepared, 1, call)
          })
      // the whole call, all its attempts and waits, holds one place in the bulkhead
      const calling = bulkhead === undefined
        ? Effect.suspend(first)
        : bulkhead.withPlace(
          Effect.suspend(first),
          call.deadlineAt,
          () => deadlineError(settings.deadlineMillis, "waiting for a place in the bulkhead", false)
        )
      return Effect.matchCauseEffect(
        span === undefined ? calling : Effect.withParentSpan(calling, span),
        {
          onSuccess: (response) => {
            record(span, call, started, "success")
            return Effect.succeed(response)
          },
          onFailure: (cause) => {
            const failure = Cause.findErrorOption(cause)
            const rejected = Option.isSome(failure) &&
              (failure.value._tag === "ServiceUnavailable" || failure.value._tag === "BulkheadFull")
            if (
              subscribers > 0 && Option.isSome(failure) && failure.value._tag === "BulkheadFull"
            ) {
              publish({ _tag: "Rejection", ...common(prepared), error: failure.value })
            }
            if (rejected || !Cause.hasInterruptsOnly(cause)) {
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
      own: ResilientServiceClient.CallOptions | undefined
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError> =>
      Effect.withFiber((fiber) => {
        if (closed) return Effect.interrupt
        const settings = Options.callSettings(config, fiber.getRef(currentCallOptions), own, clientCallSettings)
        if (Result.isFailure(settings)) return Effect.fail(settings.failure)
        const resolved = Request.prepare(target, request)
        const tracked = Request.trackBody(resolved)
        if (tracked?.refused !== undefined) return Effect.fail(tracked.refused)
        const prepared = tracked === undefined ? resolved : tracked.request
        const body = tracked?.body
        const debug = LogLevel.isGreaterThanOrEqualTo("Debug", fiber.getRef(References.MinimumLogLevel))
        // under Effect's native tracer, which exports nothing, the span would only cost time
        return fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer || !fiber.getRef(References.TracerEnabled)
          ? callWith(prepared, settings.success, undefined, body, debug)
          : Effect.useSpan(
            "effect-resilience.call",
            { kind: "client", attributes: { "resilience.service": serviceName } },
            (span) => callWith(prepared, settings.success, span, body, debug)
          )
      })

    const clientCallSettings = Options.defaultCallSettings(config)

    const httpClient: HttpClient.HttpClient.With<ClientError> = HttpClient.makeWith<never, never, ClientError, never>(
      (request) => Effect.flatMap(request, (request) => executeWith(request, undefined)),
      Effect.succeed
    )

    const unlimitedBudget: RetryPolicy.RetryBudgetState = {
      tokens: Infinity,
      maxTokens: Infinity,
      retriesAllowed: true
    }

    const result: Core = {
      config,
      breaker,
      keyed,
      execute: executeWith,
      httpClient,
      retryBudget: budget === undefined ? Effect.succeed(unlimitedBudget) : Effect.sync(() => budget.unsafeState()),
      events,
      subscribeEvents
    }
    return result
  })

/** @internal */
export const transform = dual<
  (
    options: ResilientServiceClient.TransformOptions
  ) => (
    client: HttpClient.HttpClient
  ) => Effect.Effect<HttpClient.HttpClient.With<ClientError>, Config.ConfigError, Scope.Scope>,
  (
    client: HttpClient.HttpClient,
    options: ResilientServiceClient.TransformOptions
  ) => Effect.Effect<HttpClient.HttpClient.With<ClientError>, Config.ConfigError, Scope.Scope>
>(
  2,
  (client, options) =>
    Effect.map(core(client, options, { baseUrlRequired: false }, undefined, undefined), (built) => built.httpClient)
)

/** @internal */
export const register = (
  client: ResilientServiceClient.ResilientServiceClient
): Effect.Effect<void, Config.ConfigError, ServiceRegistry.ServiceRegistry | Scope.Scope> =>
  Effect.flatMap(
    Effect.service(ServiceRegistry.ServiceRegistry),
    (registry) =>
      Effect.andThen(
        registry.register(client.id, client.status, client.breaker),
        client.keyedBreaker === undefined ? Effect.void : client.keyedBreaker.register(client.id)
      )
  )

/** @internal */
export const make = (
  options: ResilientServiceClient.Options,
  culprit?: string,
  keys?: ReadonlyMap<string, Options.ConfigSource>
): Effect.Effect<
  ResilientServiceClient.ResilientServiceClient,
  Config.ConfigError,
  HttpClient.HttpClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const platform = yield* HttpClient.HttpClient
    const built = yield* core(platform, options, { baseUrlRequired: true }, culprit, keys)
    const { breaker, config } = built
    const { target } = config
    const executeWith = built.execute
    const execute = (request: HttpClientRequest.HttpClientRequest, callOptions?: ResilientServiceClient.CallOptions) =>
      executeWith(request, callOptions)

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
        const refused = Request.pathRefused(request, target)
        if (refused !== undefined) return Effect.fail(refused)
        if (requestOptions.json !== undefined) {
          try {
            request = HttpClientRequest.bodyJsonUnsafe(request, requestOptions.json)
          } catch (cause) {
            return Effect.fail(
              Request.requestError("EncodeError", { request: Request.redact(Request.prepare(target, request)), cause })
            )
          }
        }
        return executeWith(request, requestOptions)
      })

    const client: ResilientServiceClient.ResilientServiceClient = {
      [TypeId]: TypeId,
      serviceName: config.serviceName,
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
      keyedBreaker: built.keyed,
      retryBudget: built.retryBudget,
      httpClient: built.httpClient,
      events: built.events,
      subscribeEvents: built.subscribeEvents
    }
    return client
  })

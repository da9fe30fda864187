/**
 * An HTTP client for one service: a base URL, retry with exponential backoff, a per-attempt
 * timeout and a circuit breaker, on top of `@effect/platform`'s `HttpClient`.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as UrlParams from "@effect/platform/UrlParams"
import type * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { BulkheadFull } from "./BulkheadFull.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/client.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import type { ServiceStatus } from "./ServiceStatus.js"
import type { ServiceUnavailable } from "./ServiceUnavailable.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Everything a call can fail with: the breaker rejected it (`ServiceUnavailable`), the bulkhead
 * had no place for it (`BulkheadFull`, only with `maxConcurrent`), the platform client failed
 * (`RequestError` for transport, URL and encoding problems, `ResponseError` for a status of 400
 * or more, a body that breaks or is longer than `maxResponseBytes`), an attempt timed out or the
 * call's `deadline` passed (`TimeoutException`), or the call's own options are invalid
 * (`IllegalArgumentException`, naming the option).
 *
 * When the client's scope closes, calls still running end with an interruption (as a `Queue`
 * that shuts down ends the fibers waiting on it): `Exit.isInterrupted` is true for them.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientError =
  | ServiceUnavailable
  | BulkheadFull
  | HttpClientError.HttpClientError
  | Cause.TimeoutException
  | Cause.IllegalArgumentException

/**
 * Options of one call, given with the call (`RequestOptions`, `execute`'s second argument) or
 * to every call an effect makes (`withCallOptions`, `withTimeout`, `withDeadline`). Options
 * given with the call win over those of its context, which win over the client's. An invalid
 * value fails the call with an `IllegalArgumentException` naming the option; nothing is sent.
 *
 * @since 0.2.0
 * @category models
 */
export interface CallOptions {
  /** The limit on each attempt (request and body) of this call, instead of the client's `timeout`. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * A limit on the whole call, every attempt, backoff and bulkhead wait included, instead of the
   * client's `deadline`.
   */
  readonly deadline?: Duration.DurationInput | undefined
  /**
   * Hand the response over as soon as its headers arrive, with its body not read yet, for large
   * or endless bodies. The attempt (its timeout, retry and breaker) then covers the request up to
   * the headers only; reading the body is the caller's, bounded by what is left of the call's
   * `deadline`, and interrupting a read aborts the request and closes its connection. A response
   * whose status is an error is read within the attempt as usual. Default `false`: the body is
   * read within the attempt.
   */
  readonly stream?: boolean | undefined
}

/**
 * Options of one call made with `get`, `post`, …: what to send, and its {@link CallOptions}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions extends CallOptions {
  /** A value sent as JSON (`content-type: application/json`); an unencodable one fails with `RequestError` `Encode`. */
  readonly json?: unknown
  /** A body of any other kind (see `HttpBody`). Ignored when `json` is given. */
  readonly body?: HttpBody.HttpBody | undefined
  readonly headers?: Headers.Input | undefined
  /** Query parameters; a query written inline in the path is moved here too. */
  readonly urlParams?: UrlParams.Input | undefined
}

/**
 * One HTTP method of a client: a path relative to `baseUrl` and the call's options.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = (
  path: string,
  options?: RequestOptions
) => Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>

/**
 * Options of {@link make}. Only `baseUrl` is required.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Absolute http(s) URL; the paths given to the methods are appended. Userinfo (`user:pass@`) becomes a Basic `authorization` header and is removed from the URL. */
  readonly baseUrl: string
  /** Used in logs, status and errors. Default: the URL's `hostname:port`. */
  readonly serviceName?: string | undefined
  /** The key under which a status endpoint lists the client. Default: `serviceName`. */
  readonly id?: string | undefined
  /** Attempts per call, the first included (the Python client's `max_retries`). Default 3. */
  readonly maxAttempts?: number | undefined
  /**
   * Limit on one attempt: the request and the reading of its response's body (up to the headers
   * only for a call that streams). When it passes the attempt is interrupted, whatever the
   * transport does with its `AbortSignal`, and fails with a `TimeoutException`. Default `"10 seconds"`.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The longest response body a call reads into memory, in bytes (a positive integer). A longer
   * body fails the attempt with a `ResponseError` (reason `Decode`) that says so, as soon as its
   * `content-length` or the bytes read show it; the breaker does not count it (the service
   * answered) and it is not retried. An error's body over the limit is dropped, the error kept.
   * Calls that stream are not limited. Default 16 MiB (`16 * 1024 * 1024`).
   *
   * @since 0.2.0
   */
  readonly maxResponseBytes?: number | undefined
  /** Consecutive counted failures that open the breaker. Default 5. Ignored when `strategy` is given. */
  readonly failureThreshold?: number | undefined
  /**
   * How long the breaker stays open before a probe. Default `"60 seconds"`. A `Schedule` makes
   * successive open durations grow (see `CircuitBreaker.Options.recoveryTimeout`).
   */
  readonly recoveryTimeout?: Duration.DurationInput | Schedule.Schedule<unknown, unknown> | undefined
  /** When the breaker opens; default `consecutiveFailures(failureThreshold)` (see `CircuitBreaker.failureRate`, `slowCallRate`). */
  readonly strategy?: CircuitBreaker.TrippingStrategy<any> | undefined
  /** A probe still running after this long counts as a failed probe. Default: no limit. */
  readonly probeTimeout?: Duration.DurationInput | undefined
  /** Persists the breaker's state across restarts (see `CircuitBreaker.Options.store`). Default: none. */
  readonly store?: KeyValueStore.KeyValueStore | undefined
  /** The key of the breaker's snapshot in `store`. Default `"effect-resilience/circuit-breaker/<serviceName>"`. */
  readonly storeKey?: string | undefined
  /** Bounds each read and write of `store` (see `CircuitBreaker.Options.storeTimeout`). Default `"5 seconds"`. */
  readonly storeTimeout?: Duration.DurationInput | undefined
  /** Delay before the first retry; doubles on each retry. Default `"1 second"`. */
  readonly backoff?: Duration.DurationInput | undefined
  /** Probes admitted in `half_open`. Default 1. */
  readonly halfOpenMaxProbes?: number | undefined
  /** No retry delay is longer than this. Default: no cap. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Randomisation of retry delays. Default `"none"`. */
  readonly jitter?: RetryPolicy.Jitter | undefined
  /** Which failed attempts are retried. Default `RetryPolicy.isTransient`. `ServiceUnavailable` never is. */
  readonly retryOn?: ((error: ClientError) => boolean) | undefined
  /**
   * Which failed attempts count against the breaker. Default `RetryPolicy.isTransient`. Asked
   * only about attempts that say something about the service: an attempt that was never sent
   * (`InvalidUrl`, `Encode`) or was interrupted is never counted, and one cut short by the call's
   * `deadline` counts as a timeout only when it had a fair time to answer (at least half of the
   * shorter of `timeout` and `deadline`).
   */
  readonly isFailure?: ((error: ClientError) => boolean) | undefined
  /**
   * The longest `Retry-After` the client waits for. A 429 or 503 answer with a `Retry-After`
   * (delta-seconds or an HTTP-date, see `RetryPolicy.parseRetryAfter`) makes the next delay
   * the longer of the backoff and that value; when it is longer than `maxRetryAfter`, the call
   * is not retried and fails at once with that answer's `ResponseError`. Default `"30 seconds"`.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * A limit on a whole call: every attempt and every wait (backoff, `Retry-After`, bulkhead
   * queue). No retry starts whose wait would end at or past it, the call then failing with the
   * last attempt's error; each attempt's timeout is shortened to the time left, and an attempt
   * cut short that way, or a wait in the bulkhead queue that reaches it, fails the call with a
   * `TimeoutException` whose message names the deadline. An attempt cut by the deadline counts
   * against the breaker as a timeout when it had a fair time to answer: at least half of the
   * shorter of `timeout` and `deadline` (so the first attempt of a call under a deadline shorter
   * than `timeout` counts, and a hanging upstream still opens the breaker); otherwise it says
   * nothing about the service. Calls can set their own (`CallOptions.deadline`). Default: none.
   */
  readonly deadline?: Duration.DurationInput | undefined
  /**
   * A token bucket shared by all the client's calls that stops retries when many attempts
   * fail (gRPC's retry throttling, see `RetryPolicy.RetryBudget`): each failed attempt that
   * `retryOn` accepts takes a token, each successful attempt gives back `tokenRatio`, and a
   * failure is retried only while more than half of `maxTokens` is left; first attempts always
   * run. `false` turns it off. Default `{ maxTokens: 100, tokenRatio: 0.5 }`: generous, so that
   * retries go on while under a third of attempts fail, and a storm against a failing upstream
   * stops after 50 failed attempts; `{ maxTokens: 10, tokenRatio: 0.1 }` (gRPC's example)
   * protects harder.
   */
  readonly retryBudget?: RetryPolicy.RetryBudgetOptions | boolean | undefined
  /**
   * Whether POST and PATCH are retried like the other methods. When `false`, a POST or PATCH
   * without an `Idempotency-Key` header is retried only after a failure that shows the request
   * never reached the server (connection refused, DNS failure, failed TCP connect), never after
   * a timeout, a reset or an answer. Default `true` (the Python client's behaviour).
   */
  readonly retryUnsafeMethods?: boolean | undefined
  /**
   * The bulkhead: calls of this client that may run at the same time (a positive integer). A
   * call holds its place for all its attempts and waits. Default: unlimited (no bulkhead).
   */
  readonly maxConcurrent?: number | undefined
  /**
   * Calls that may wait for a place when `maxConcurrent` are running (an integer ≥ 0; needs
   * `maxConcurrent`). Calls beyond that fail at once with `BulkheadFull`, which the breaker
   * does not count and the client does not retry. Waiting calls are served in order and can
   * be interrupted (they then leave the queue). Default: unlimited.
   */
  readonly maxQueued?: number | undefined
}

/**
 * A client for one service. Every method runs the call through the retry loop, each attempt
 * through the breaker and under the attempt timeout:
 *
 * | one attempt ends in | retried | the breaker |
 * | --- | --- | --- |
 * | 2xx / 3xx, body read | — | success (answered) |
 * | transport error (refused, reset, DNS), a body that breaks | yes | counts (failed) |
 * | attempt timeout (request or body) | yes | counts (failed) |
 * | 408, 429, 500, 502, 503, 504 | yes | counts (failed) |
 * | any other status ≥ 400, a body over `maxResponseBytes` | no | not counted (answered: a probe that ends so closes it) |
 * | invalid URL / body encoding (never sent), interrupted | no | says nothing |
 * | cut by the deadline | no | counts after a fair time, else says nothing |
 * | breaker rejects | no | — |
 *
 * An attempt is the request and its body: the response a call returns has its body already
 * read, unless the call asks to stream (`CallOptions.stream`).
 *
 * When the breaker opens during a call (by this call's failure or by others'), the call fails
 * with `ServiceUnavailable` at once, without waiting out its backoff.
 *
 * Load protection (see {@link Options}): `Retry-After` on 429 and 503, a `deadline` per call, a
 * retry budget shared by the client's calls, no blind retries of POST and PATCH when
 * `retryUnsafeMethods` is `false`, and a bulkhead (`maxConcurrent`, `maxQueued`) whose
 * rejections fail with `BulkheadFull`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResilientServiceClient {
  readonly [TypeId]: TypeId
  /** The name in logs, status and errors. */
  readonly serviceName: string
  /** The key in a status listing. */
  readonly id: string
  /** The base URL, without credentials. */
  readonly baseUrl: string
  /** `GET path` (relative to `baseUrl`; an inline query is sent as URL params). */
  readonly get: Method
  readonly post: Method
  readonly put: Method
  readonly patch: Method
  readonly delete: Method
  readonly head: Method
  /**
   * Runs a request made with `HttpClientRequest`; a relative URL is resolved against `baseUrl`.
   * Credentials written into an absolute URL are sent as a Basic `authorization` header and
   * removed from the URL, so that no log line, span or error shows them.
   */
  readonly execute: (
    request: HttpClientRequest.HttpClientRequest,
    options?: CallOptions
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>
  /** The breaker's status snapshot. */
  readonly status: Effect.Effect<ServiceStatus>
  /** The client's breaker (for `changes`, `state`, or to protect other effects with it). */
  readonly breaker: CircuitBreaker.CircuitBreaker
  /**
   * The retry budget now (also the gauge `resilience_retry_budget_tokens`). With
   * `retryBudget: false`: `tokens` and `maxTokens` are `Infinity` and retries always allowed.
   */
  readonly retryBudget: Effect.Effect<RetryPolicy.RetryBudgetState>
  /**
   * The same behaviour as an `HttpClient`, so every `@effect/platform` combinator applies
   * (`HttpClient.mapRequest`, `HttpClientResponse.schemaBodyJson`, …).
   */
  readonly httpClient: HttpClient.HttpClient.With<ClientError>
}

/**
 * Makes a client. Needs an `HttpClient` (e.g. `NodeHttpClient.layerUndici`) and a `Scope`:
 * the breaker's timers and the attempt timer live as long as the scope.
 *
 * Fails with a `ConfigError` naming the option and the reason when an option is invalid
 * (non-positive or non-integer counts, non-positive durations, a relative or non-http URL, an
 * empty name, a `retryBudget` that is neither a boolean nor `{ maxTokens, tokenRatio }` in
 * range, a non-boolean `retryUnsafeMethods`, `maxQueued` without `maxConcurrent`); nothing is
 * built then.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const chroma = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003", serviceName: "Chroma Server" })
 *   const response = yield* chroma.post("/query", { json: { q: "effect" } })
 *   return yield* response.json
 * }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ResilientServiceClient, ConfigError.ConfigError, HttpClient.HttpClient | Scope.Scope> = internal.make

/**
 * A layer that provides a client under your own tag.
 *
 * @example
 * ```ts
 * import { Context } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * class Billing extends Context.Tag("Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}
 *
 * const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", maxAttempts: 2, timeout: "5 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <I>(
  tag: Context.Tag<I, ResilientServiceClient>,
  options: Options
): Layer.Layer<I, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.scoped(tag, make(options))

/**
 * A layer whose options are read from configuration. Options that are functions go in as
 * `Config.succeed(fn)`.
 *
 * @example
 * ```ts
 * import { Config, Context } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * class Chroma extends Context.Tag("Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
 *
 * const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
 *   baseUrl: Config.string("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
 *   serviceName: Config.succeed("Chroma Server")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <I>(
  tag: Context.Tag<I, ResilientServiceClient>,
  config: Config.Config.Wrap<Options>
): Layer.Layer<I, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.scoped(tag, Effect.flatMap(Config.unwrap(config), make))

/**
 * Whether a value is a {@link ResilientServiceClient}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isResilientServiceClient = (u: unknown): u is ResilientServiceClient =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * Runs `self` with call options for every call it makes through any client (a deadline deep in
 * a call chain, a shorter timeout for one request handler), without passing them along. Options
 * given with a call win; nested `withCallOptions` override the outer ones field by field.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * declare const search: Effect.Effect<unknown, ResilientServiceClient.ClientError>
 *
 * // every attempt of every call made by `search` gets 2 s, the whole call 3 s
 * const quick = search.pipe(ResilientServiceClient.withCallOptions({ timeout: "2 seconds", deadline: "3 seconds" }))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const withCallOptions: (
  options: CallOptions
) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = internal.withCallOptions

/**
 * `withCallOptions({ timeout })`: a per-attempt timeout for every call `self` makes.
 *
 * @since 0.2.0
 * @category combinators
 */
export const withTimeout = (
  timeout: Duration.DurationInput
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => internal.withCallOptions({ timeout })

/**
 * `withCallOptions({ deadline })`: a limit on each whole call `self` makes.
 *
 * @since 0.2.0
 * @category combinators
 */
export const withDeadline = (
  deadline: Duration.DurationInput
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => internal.withCallOptions({ deadline })

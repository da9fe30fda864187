/**
 * An HTTP client for one service: a base URL, retry with exponential backoff, a per-attempt
 * timeout and a circuit breaker, on top of Effect's `HttpClient` (`effect/http`).
 *
 * @since 0.4.0
 */
import type * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Headers from "effect/http/Headers"
import type * as HttpBody from "effect/http/HttpBody"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import type * as UrlParams from "effect/http/UrlParams"
import * as Layer from "effect/Layer"
import type * as KeyValueStore from "effect/persistence/KeyValueStore"
import type * as PubSub from "effect/PubSub"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { BulkheadFull } from "./BulkheadFull.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/client.js"
import type * as KeyedCircuitBreaker from "./KeyedCircuitBreaker.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import type * as ServiceRegistry from "./ServiceRegistry.js"
import type { ServiceStatus } from "./ServiceStatus.js"
import type { ServiceUnavailable } from "./ServiceUnavailable.js"

/**
 * @since 0.4.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as TypeId

/**
 * @since 0.4.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Everything a call can fail with: the breaker rejected it (`ServiceUnavailable`), the bulkhead
 * had no place for it (`BulkheadFull`, only with `maxConcurrent`), the platform client failed
 * (`HttpClientError`: its `reason` is a `TransportError`, `InvalidUrlError` or `EncodeError` for
 * transport, URL and encoding problems, a `StatusCodeError` for a status of 400 or more, a
 * `DecodeError` for a body longer than `maxResponseBytes`; a body that breaks off is a
 * `TransportError`), an attempt timed out or the call's `deadline` passed (`Cause.TimeoutError`),
 * or the call's own options are invalid (`Cause.IllegalArgumentError`, naming the option).
 *
 * When the client's scope closes, calls still running end with an interruption (as a `Queue`
 * that shuts down ends the fibers waiting on it): `Exit.hasInterrupts` is true for them.
 *
 * @since 0.4.0
 * @category models
 */
export type ClientError =
  | ServiceUnavailable
  | BulkheadFull
  | HttpClientError.HttpClientError
  | Cause.TimeoutError
  | Cause.IllegalArgumentError

/**
 * Options of one call, given with the call (`RequestOptions`, `execute`'s second argument) or
 * to every call an effect makes (`withCallOptions`, `withTimeout`, `withDeadline`). Options
 * given with the call win over those of its context, which win over the client's. An invalid
 * value fails the call with an `IllegalArgumentError` naming the option; nothing is sent.
 *
 * @since 0.4.0
 * @category models
 */
export interface CallOptions {
  /** The limit on each attempt (request and body) of this call, instead of the client's `timeout`. */
  readonly timeout?: Duration.Input | undefined
  /**
   * A limit on the whole call, every attempt, backoff and bulkhead wait included, instead of the
   * client's `deadline`.
   */
  readonly deadline?: Duration.Input | undefined
  /**
   * Hand the response over as soon as its headers arrive, with its body not read yet, for large
   * or endless bodies. The attempt (its timeout, retry and breaker) then covers the request up to
   * the headers only; reading the body is the caller's, bounded by what is left of the call's
   * `deadline`, and interrupting a read aborts the request and closes its connection. A response
   * whose status is an error is read within the attempt as usual. Default `false`: the body is
   * read within the attempt.
   */
  readonly stream?: boolean | undefined
  /**
   * What an attempt does when the breaker would refuse it. `"fail"` (the default): the call fails
   * with `ServiceUnavailable`. `"allow"`, for a call that must always run (a write that may not be
   * dropped): the attempt runs anyway, unrecorded by the breaker (see
   * `CircuitBreaker.CallOptions`), and neither the breaker's rejection nor its opening during a
   * backoff ends the call; an attempt the breaker admits is recorded as usual. An invalid value
   * fails the call with an `IllegalArgumentError` naming the option.
   *
   * @since 0.4.1
   */
  readonly onRejection?: "fail" | "allow" | undefined
}

/**
 * Options of one call made with `get`, `post`, …: what to send, and its {@link CallOptions}.
 *
 * @since 0.4.0
 * @category models
 */
export interface RequestOptions extends CallOptions {
  /** A value sent as JSON (`content-type: application/json`); an unencodable one fails with an `EncodeError` reason. */
  readonly json?: unknown
  /**
   * A body of any other kind (see `HttpBody`). Ignored when `json` is given. A body held in memory
   * (bytes, text, form data) is sent again by a retry; a stream body (`HttpBody.stream`, a file,
   * a `Raw` Node or web stream) is sent at most once unless it is marked {@link replayable}: once
   * it has started to go out (the transport started reading it), a failed attempt is not
   * retried (the call fails with that attempt's error). The same body object sent again, by a
   * redirect or retry outside the client (`HttpClient.followRedirects`, `retryTransient`), fails
   * with an `EncodeError` reason and sends nothing more. A stream that fails itself (a file that
   * cannot be read) fails the attempt with an `EncodeError` reason, which the breaker does not
   * count and the client does not retry; the request is aborted, never ended short.
   */
  readonly body?: HttpBody.HttpBody | undefined
  readonly headers?: Headers.Input | undefined
  /**
   * Query parameters, encoded as form data (`q=a+b`). A query written in the path is sent as
   * written, these after it; no error message or log line shows its values.
   */
  readonly urlParams?: UrlParams.Input | undefined
}

/**
 * One HTTP method of a client: a path relative to `baseUrl` and the call's options.
 *
 * @since 0.4.0
 * @category models
 */
export type Method = (
  path: string,
  options?: RequestOptions
) => Effect.Effect<HttpClientResponse.HttpClientResponse, ClientError>

/**
 * The retry settings of a client, grouped: `Options.retry`. Each field keeps the name it has at
 * the top level of {@link Options} (where all but `maxAttempts` are deprecated); giving one in
 * both places is a `ConfigError`.
 *
 * @since 0.4.0
 * @category models
 */
export interface RetryOptions {
  /** Attempts per call, the first included (the Python client's `max_retries`). Default 3. */
  readonly maxAttempts?: number | undefined
  /** Delay before the first retry; doubles on each retry. Default `"1 second"`. */
  readonly backoff?: Duration.Input | undefined
  /** No retry delay is longer than this. Default: no cap. */
  readonly maxDelay?: Duration.Input | undefined
  /** Randomisation of retry delays. Default `"none"`. */
  readonly jitter?: RetryPolicy.Jitter | undefined
  /** Which failed attempts are retried. Default `RetryPolicy.isTransient`. `ServiceUnavailable` never is. */
  readonly retryOn?: ((error: ClientError) => boolean) | undefined
  /**
   * The longest `Retry-After` the client waits for. A 429 or 503 answer with a `Retry-After`
   * (delta-seconds or an HTTP-date, see `RetryPolicy.parseRetryAfter`) makes the next delay
   * the longer of the backoff and that value; when it is longer than `maxRetryAfter`, the call
   * is not retried and fails at once with that answer's `StatusCodeError`. Default `"30 seconds"`.
   */
  readonly maxRetryAfter?: Duration.Input | undefined
  /**
   * Whether POST and PATCH are retried like the other methods. When `false`, a POST or PATCH
   * without an `Idempotency-Key` header is retried only after a failure that shows the request
   * never reached the server (connection refused, DNS failure, failed TCP connect), never after
   * a timeout, a reset or an answer. Default `true` (the Python client's behaviour).
   */
  readonly retryUnsafeMethods?: boolean | undefined
}

/**
 * The settings of the breaker a client builds for itself, grouped: `Options.breaker`. Each
 * field keeps the name it has at the top level of {@link Options} (where all but
 * `failureThreshold` and `recoveryTimeout` are deprecated); giving one in both places is a
 * `ConfigError`, and so is `failureThreshold` with `strategy` (the strategy decides when the
 * breaker opens: use `CircuitBreaker.consecutiveFailures(n)` for a threshold).
 *
 * @since 0.4.0
 * @category models
 */
export interface BreakerOptions {
  /** Consecutive counted failures that open the breaker. Default 5. Not with `strategy`. */
  readonly failureThreshold?: number | undefined
  /**
   * How long the breaker stays open before a probe. Default `"60 seconds"`. A `Schedule` makes
   * successive open durations grow (see `CircuitBreaker.Options.recoveryTimeout`).
   */
  readonly recoveryTimeout?: Duration.Input | Schedule.Schedule<unknown, unknown> | undefined
  /** When the breaker opens; default `consecutiveFailures(failureThreshold)` (see `CircuitBreaker.failureRate`, `slowCallRate`). */
  readonly strategy?: CircuitBreaker.TrippingStrategy<any> | undefined
  /** Probes admitted in `half_open`. Default 1. */
  readonly halfOpenMaxProbes?: number | undefined
  /** A probe still running after this long counts as a failed probe. Default: no limit. */
  readonly probeTimeout?: Duration.Input | undefined
  /** Persists the breaker's state across restarts (see `CircuitBreaker.Options.store`). Default: none. */
  readonly store?: KeyValueStore.KeyValueStore | undefined
  /** The key of the breaker's snapshot in `store`. Default `"effect-resilience/circuit-breaker/<serviceName>"`. */
  readonly storeKey?: string | undefined
  /** Bounds each read and write of `store` (see `CircuitBreaker.Options.storeTimeout`). Default `"5 seconds"`. */
  readonly storeTimeout?: Duration.Input | undefined
  /**
   * With `breakerKey`: a key unused this long is dropped (see `KeyedCircuitBreaker.Options`).
   * Default `"60 minutes"`. Needs `breakerKey`.
   *
   * @since 0.4.1
   */
  readonly idleTimeToLive?: Duration.Input | undefined
  /**
   * With `breakerKey`: the most keys held at once (see `KeyedCircuitBreaker.Options`). Default
   * 1000. Needs `breakerKey`.
   *
   * @since 0.4.1
   */
  readonly maxKeys?: number | undefined
  /**
   * Whether a 429 or 503's `Retry-After` lengthens the opening it causes: should that failure
   * open the breaker, it stays open at least that long, up to `retryAfterCap`. Default `false`
   * (an opening lasts `recoveryTimeout` whatever the answer said). A value that is not a boolean
   * is a `ConfigError` at `breaker.openForRetryAfter`.
   *
   * @since 0.4.1
   */
  readonly openForRetryAfter?: boolean | undefined
  /**
   * The longest a 429 or 503's `Retry-After` may make the opening it causes, with
   * `openForRetryAfter` (see `CircuitBreaker.Options.retryAfterCap`). Default `"1 hour"`.
   *
   * @since 0.4.1
   */
  readonly retryAfterCap?: Duration.Input | undefined
  /**
   * Whether the count of openings survives a close until the breaker stayed closed as long as it
   * was last open (see `CircuitBreaker.Options.retainOpenings`). Default `false`.
   *
   * @since 0.4.1
   */
  readonly retainOpenings?: boolean | undefined
}

/**
 * The bulkhead of a client: `Options.bulkhead`.
 *
 * @since 0.4.0
 * @category models
 */
export interface BulkheadOptions {
  /**
   * Calls of this client that may run at the same time (a positive integer). A call holds its
   * place for all its attempts and waits.
   */
  readonly maxConcurrent: number
  /**
   * Calls that may wait for a place when `maxConcurrent` are running (an integer ≥ 0). Calls
   * beyond that fail at once with `BulkheadFull`, which the breaker does not count and the
   * client does not retry. Waiting calls are served in order and can be interrupted (they then
   * leave the queue). Default: unlimited.
   */
  readonly maxQueued?: number | undefined
}

/**
 * The options of a client without its address: what {@link transform} takes, and what
 * {@link Options} adds `baseUrl` to.
 *
 * At the top level stand the names a user of the Python client migrates with (`maxAttempts`,
 * `timeout`, `failureThreshold`, `recoveryTimeout`) and the limits of a call; the rest is
 * grouped: `retry`, `breaker`, `bulkhead`, `retryBudget`. The flat forms of the grouped fields
 * still work and are deprecated. Conflicting options fail with a `ConfigError`: a field given
 * both flat and in its group, `failureThreshold` with `strategy`, breaker settings beside a
 * shared `CircuitBreaker`.
 *
 * @since 0.4.0
 * @category models
 */
export interface ClientOptions {
  /** Used in logs, status and errors. Default: the URL's `hostname:port`. */
  readonly serviceName?: string | undefined
  /**
   * The key under which a status endpoint lists the client. Default: `serviceName`. Any
   * non-empty string; in the endpoint's path it is encoded (`billing/v2` is `billing%2Fv2`).
   */
  readonly id?: string | undefined
  /** Attempts per call, the first included (the Python client's `max_retries`). Default 3. Same as `retry.maxAttempts`. */
  readonly maxAttempts?: number | undefined
  /**
   * Limit on one attempt: the request and the reading of its response's body (up to the headers
   * only for a call that streams). When it passes the attempt is stopped, whatever the
   * transport does with its `AbortSignal` (its fiber is interrupted; on `UndiciTransport`, its
   * signal is aborted), and fails with a `Cause.TimeoutError`. Default `"10 seconds"`.
   */
  readonly timeout?: Duration.Input | undefined
  /** Consecutive counted failures that open the breaker (the Python client's `failure_threshold`). Default 5. Same as `breaker.failureThreshold`. */
  readonly failureThreshold?: number | undefined
  /**
   * How long the breaker stays open before a probe (the Python client's `recovery_timeout`).
   * Default `"60 seconds"`. Same as `breaker.recoveryTimeout`.
   */
  readonly recoveryTimeout?: Duration.Input | Schedule.Schedule<unknown, unknown> | undefined
  /**
   * The longest response body a call reads into memory, in bytes (a positive integer). A longer
   * body fails the attempt with an `HttpClientError` (reason `DecodeError`) that says so, as soon as its
   * `content-length` or the bytes read show it; the breaker does not count it (the service
   * answered) and it is not retried. An error's body over the limit is dropped, the error kept.
   * Calls that stream are not limited. Default 16 MiB (`16 * 1024 * 1024`).
   *
   * @since 0.4.0
   */
  readonly maxResponseBytes?: number | undefined
  /**
   * A limit on a whole call: every attempt and every wait (backoff, `Retry-After`, bulkhead
   * queue). No retry starts whose wait would end at or past it, the call then failing with the
   * last attempt's error; each attempt's timeout is shortened to the time left, and an attempt
   * cut short that way, or a wait in the bulkhead queue that reaches it, fails the call with a
   * `Cause.TimeoutError` whose message names the deadline. An attempt cut by the deadline counts
   * against the breaker as a timeout when it had a fair time to answer: at least half of the
   * shorter of `timeout` and `deadline` (so the first attempt of a call under a deadline shorter
   * than `timeout` counts, and a hanging upstream still opens the breaker); otherwise it says
   * nothing about the service. Calls can set their own (`CallOptions.deadline`). Default: none.
   */
  readonly deadline?: Duration.Input | undefined
  /**
   * Which failed attempts count against the breaker. Default `RetryPolicy.isTransient`. Asked
   * only about attempts that say something about the service: an attempt that was never sent
   * (`InvalidUrlError`, `EncodeError`) or was interrupted is never counted, and one cut short by the call's
   * `deadline` counts as a timeout only when it had a fair time to answer (at least half of the
   * shorter of `timeout` and `deadline`). Applies to a shared `breaker` too.
   */
  readonly isFailure?: ((error: ClientError) => boolean) | undefined
  /** Retry settings: backoff, delays, which failures, `Retry-After`, unsafe methods. */
  readonly retry?: RetryOptions | undefined
  /**
   * The breaker: its settings (the client builds its own), or an existing `CircuitBreaker` to
   * share with other clients of the same upstream and with raw effects. A shared breaker keeps
   * its own settings (so no breaker setting may stand beside it) and its own name in its
   * status; the client still judges its attempts (`isFailure`) and runs each one through it.
   */
  readonly breaker?: BreakerOptions | CircuitBreaker.CircuitBreaker | undefined
  /**
   * Keyed circuits: one breaker per key instead of one for the client, each made on first use
   * from the client's breaker settings and named `serviceName/key` (see `KeyedCircuitBreaker`):
   * `"host"` keys by the request URL's host and port (for a client whose requests go to several
   * hosts: absolute URLs, or `transform` without `baseUrl`); a function keys by anything of the
   * request (a tenant header, a path prefix), and a function that throws is a defect of the
   * call. A key unused for `breaker.idleTimeToLive` (default 60 minutes) is dropped, at most
   * `breaker.maxKeys` (default 1000) are held; a call for a new key when none may make room runs
   * on the client's own `breaker` (the overflow). Each key is listed
   * in the `ServiceRegistry` under `id/key` (see `KeyedCircuitBreaker.register`); the client's
   * own entry, `status` and `breaker` are those of the overflow. Not with a shared `breaker`.
   * Default: none (one breaker).
   *
   * @since 0.4.1
   */
  readonly breakerKey?: "host" | ((request: HttpClientRequest.HttpClientRequest) => string) | undefined
  /** The bulkhead: a limit on the calls running at once, and on those waiting. Default: none. */
  readonly bulkhead?: BulkheadOptions | undefined
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
  /** @deprecated Use `retry.backoff`. */
  readonly backoff?: Duration.Input | undefined
  /** @deprecated Use `retry.maxDelay`. */
  readonly maxDelay?: Duration.Input | undefined
  /** @deprecated Use `retry.jitter`. */
  readonly jitter?: RetryPolicy.Jitter | undefined
  /** @deprecated Use `retry.retryOn`. */
  readonly retryOn?: ((error: ClientError) => boolean) | undefined
  /** @deprecated Use `retry.maxRetryAfter`. */
  readonly maxRetryAfter?: Duration.Input | undefined
  /** @deprecated Use `retry.retryUnsafeMethods`. */
  readonly retryUnsafeMethods?: boolean | undefined
  /** @deprecated Use `breaker.strategy`. */
  readonly strategy?: CircuitBreaker.TrippingStrategy<any> | undefined
  /** @deprecated Use `breaker.halfOpenMaxProbes`. */
  readonly halfOpenMaxProbes?: number | undefined
  /** @deprecated Use `breaker.probeTimeout`. */
  readonly probeTimeout?: Duration.Input | undefined
  /** @deprecated Use `breaker.store`. */
  readonly store?: KeyValueStore.KeyValueStore | undefined
  /** @deprecated Use `breaker.storeKey`. */
  readonly storeKey?: string | undefined
  /** @deprecated Use `breaker.storeTimeout`. */
  readonly storeTimeout?: Duration.Input | undefined
  /** @deprecated Use `bulkhead.maxConcurrent`. */
  readonly maxConcurrent?: number | undefined
  /** @deprecated Use `bulkhead.maxQueued`. */
  readonly maxQueued?: number | undefined
}

/**
 * Options of {@link make}: {@link ClientOptions} and the service's address. Only `baseUrl` is
 * required.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options extends ClientOptions {
  /** Absolute http(s) URL; the paths given to the methods are appended. Userinfo (`user:pass@`) becomes a Basic `authorization` header and is removed from the URL. */
  readonly baseUrl: string
}

/**
 * Options of {@link transform}: {@link ClientOptions}, with an optional `baseUrl` (relative
 * request URLs are then passed on as they are, for a client that resolves them itself, say with
 * `HttpClientRequest.prependUrl`). Without `baseUrl`, `serviceName` is required.
 *
 * @since 0.4.0
 * @category models
 */
export interface TransformOptions extends ClientOptions {
  readonly baseUrl?: string | undefined
}

/**
 * What happened during a call, one event at a time, for those who log or count what they care
 * about (as with opossum's and cockatiel's events). Every event names the `service`, the request's
 * `method` and `path` (relative to `baseUrl`, without the query):
 *
 * - `Success`: attempt `attempt` succeeded; the call returns its response.
 * - `Failure`: attempt `attempt` failed with `error`, judged `outcome`: `"failed"` (the breaker
 *   counts it), `"answered"` (the service answered, e.g. a 404: not counted) or `"silent"` (it
 *   says nothing about the service: never sent, or cut short early by the deadline).
 * - `Defect`: attempt `attempt` died with `defect` (a bug, such as an `isFailure` that throws,
 *   or a transport that does); the breaker counts it and the call ends with it.
 * - `Interrupted`: attempt `attempt` was stopped before it ended: its caller was interrupted,
 *   or the client's scope closed. It says nothing about the service.
 * - `Timeout`: attempt `attempt` timed out after `timeout` (the attempt timeout, or what was
 *   left of the deadline); its `Failure` event follows.
 * - `Retry`: attempt `attempt + 1` starts, `delay` after attempt `attempt` failed with `error`.
 *   It is published when that attempt starts (admitted by the breaker), never before the wait:
 *   a call that ends during the wait (the breaker opened, the client closed) publishes no
 *   `Retry`.
 * - `Rejection`: the call was refused without being sent: `ServiceUnavailable` (the breaker) or
 *   `BulkheadFull`.
 *
 * Every attempt that starts ends with exactly one of `Success`, `Failure`, `Defect` and
 * `Interrupted` (an attempt runs only once the breaker admits it: a call the breaker refuses
 * publishes its `Rejection` instead).
 *
 * @since 0.4.0
 * @category models
 */
export type CallEvent =
  | CallEvent.Success
  | CallEvent.Failure
  | CallEvent.Defect
  | CallEvent.Interrupted
  | CallEvent.Timeout
  | CallEvent.Retry
  | CallEvent.Rejection

/**
 * @since 0.4.0
 * @category models
 */
export declare namespace CallEvent {
  /**
   * What every event says.
   *
   * @since 0.4.0
   * @category models
   */
  export interface Common {
    readonly service: string
    readonly method: string
    readonly path: string
  }
  /**
   * @since 0.4.0
   * @category models
   */
  export interface Success extends Common {
    readonly _tag: "Success"
    readonly attempt: number
  }
  /**
   * @since 0.4.0
   * @category models
   */
  export interface Failure extends Common {
    readonly _tag: "Failure"
    readonly attempt: number
    readonly outcome: "answered" | "failed" | "silent"
    readonly error: ClientError
  }
  /**
   * An attempt that died with a defect: counted by the breaker, not retried.
   *
   * @since 0.4.0
   * @category models
   */
  export interface Defect extends Common {
    readonly _tag: "Defect"
    readonly attempt: number
    /** What the attempt died with (the first defect of its cause). */
    readonly defect: unknown
  }
  /**
   * An attempt stopped before it ended (its caller interrupted, or the client's scope closed):
   * not counted, not retried.
   *
   * @since 0.4.0
   * @category models
   */
  export interface Interrupted extends Common {
    readonly _tag: "Interrupted"
    readonly attempt: number
  }
  /**
   * @since 0.4.0
   * @category models
   */
  export interface Timeout extends Common {
    readonly _tag: "Timeout"
    readonly attempt: number
    readonly timeout: Duration.Duration
  }
  /**
   * @since 0.4.0
   * @category models
   */
  export interface Retry extends Common {
    readonly _tag: "Retry"
    readonly attempt: number
    readonly delay: Duration.Duration
    readonly error: ClientError
  }
  /**
   * @since 0.4.0
   * @category models
   */
  export interface Rejection extends Common {
    readonly _tag: "Rejection"
    readonly error: ServiceUnavailable | BulkheadFull
  }
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
 * @since 0.4.0
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
  /**
   * `GET path`: `path` is appended to `baseUrl`, a query written in it sent as written (its
   * values in no error message or log line). A path that would leave `baseUrl` (an absolute URL,
   * `..` segments climbing above its path) fails with an `InvalidUrlError` reason, nothing sent:
   * call another host with `execute`.
   */
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
   * With `breakerKey`: the client's breakers, one per key (`keys`, `statuses`); `undefined`
   * without.
   *
   * @since 0.4.1
   */
  readonly keyedBreaker: KeyedCircuitBreaker.KeyedCircuitBreaker | undefined
  /**
   * The retry budget now (also the gauge `resilience_retry_budget_tokens`). With
   * `retryBudget: false`: `tokens` and `maxTokens` are `Infinity` and retries always allowed.
   */
  readonly retryBudget: Effect.Effect<RetryPolicy.RetryBudgetState>
  /**
   * The same behaviour as an `HttpClient`, so every `effect/http` combinator applies
   * (`HttpClient.mapRequest`, `HttpIncomingMessage.schemaBodyJson`, …).
   */
  readonly httpClient: HttpClient.HttpClient.With<ClientError>
  /**
   * The client's {@link CallEvent}s as a hot `Stream` (like `breaker.changes`): a subscriber
   * sees the events after it subscribed. Events are built only while someone subscribes, so an
   * unwatched client pays nothing for them. A subscriber that falls more than 1024 events behind
   * loses the oldest; calls never wait for subscribers.
   *
   * @since 0.4.0
   */
  readonly events: Stream.Stream<CallEvent>
  /**
   * Subscribes to {@link CallEvent}s now, for the life of the scope: unlike `events`, which
   * subscribes when the stream starts, no event after this effect completes is missed. Read it
   * with `PubSub.take` (Effect 4 gives a `PubSub.Subscription`, where Effect 3 gave a
   * `Queue.Dequeue`).
   *
   * @since 0.4.0
   */
  readonly subscribeEvents: Effect.Effect<PubSub.Subscription<CallEvent>, never, Scope.Scope>
}

/**
 * Makes a client. Needs an `HttpClient` (e.g. `NodeHttpClient.layerUndici`) and a `Scope`:
 * the breaker's timers and the attempt timer live as long as the scope. The client is not
 * listed in any `ServiceRegistry`: {@link register} lists it, and {@link layer} does both.
 *
 * Fails with a `ConfigError` naming the client (its `id`, `serviceName` or host), the option
 * and the reason when an option is invalid (non-positive or non-integer counts, non-positive
 * durations, a relative or non-http URL, an empty name, a `retryBudget` that is neither a
 * boolean nor `{ maxTokens, tokenRatio }` in range, a non-boolean `retryUnsafeMethods`,
 * `maxQueued` without `maxConcurrent`), when options conflict (a field given both flat and
 * in its group, `failureThreshold` with `strategy`, breaker settings beside a shared breaker),
 * or when a name is not an option (a typo in an options object given as a variable or a spread,
 * which TypeScript does not catch: `maxRetries`, `retry.backof`; the message suggests the
 * nearest name); nothing is built then.
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
 * @since 0.4.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ResilientServiceClient, Config.ConfigError, HttpClient.HttpClient | Scope.Scope> = (options) =>
  internal.make(options)

/**
 * Lists a client in the `ServiceRegistry` under its `id` for the life of the scope, with its
 * breaker (so the status page shows its transitions and next probe). Fails with a `ConfigError`
 * when another live entry has the same `id`.
 *
 * @since 0.4.0
 * @category registry
 */
export const register: (
  client: ResilientServiceClient
) => Effect.Effect<void, Config.ConfigError, ServiceRegistry.ServiceRegistry | Scope.Scope> = internal.register

/**
 * A layer that provides a client under your own tag and lists it in the `ServiceRegistry`,
 * which it therefore needs (provide `ServiceRegistry.layer` to it with `Layer.provideMerge`, so
 * the status endpoint reads the same registry). For a client that no registry lists, use
 * `Layer.effect(tag, ResilientServiceClient.make(options))`. Option errors name the tag's key
 * when the options name no client.
 *
 * @example
 * ```ts
 * import { Context } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("Billing") {}
 *
 * const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", maxAttempts: 2, timeout: "5 seconds" })
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = <I>(
  tag: Context.Key<I, ResilientServiceClient>,
  options: Options
): Layer.Layer<I, Config.ConfigError, HttpClient.HttpClient | ServiceRegistry.ServiceRegistry> =>
  Layer.effect(tag, Effect.tap(internal.make(options, tag.key), internal.register))

/**
 * A layer whose options are read from configuration, listed in the `ServiceRegistry` like
 * {@link layer}. Options that are functions go in as `Config.succeed(fn)`. An invalid value is a
 * `ConfigError` at the configuration key it was read from (as Effect's own `Config` errors are),
 * whose message names the client and the option: `[Billing] baseUrl must be …` followed by
 * `at ["BILLING_URL"]`.
 *
 * @example
 * ```ts
 * import { Config, Context } from "effect"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("Chroma") {}
 *
 * const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
 *   baseUrl: Config.String("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
 *   serviceName: Config.succeed("Chroma Server")
 * })
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layerConfig = <I>(
  tag: Context.Key<I, ResilientServiceClient>,
  config: Config.Wrap<Options>
): Layer.Layer<I, Config.ConfigError, HttpClient.HttpClient | ServiceRegistry.ServiceRegistry> =>
  Layer.effect(
    tag,
    Effect.flatMap(Config.unwrap(config), (options) =>
      Effect.flatMap(
        internal.configSources(config),
        (sources) => Effect.tap(internal.make(options, tag.key, sources), internal.register)
      ))
  )

/**
 * Gives any `HttpClient` the client's resilience, in the manner of `HttpClient.retryTransient`:
 * retry with exponential backoff, a per-attempt timeout, a circuit breaker and the
 * classification of {@link ResilientServiceClient}'s table, with the same options
 * ({@link TransformOptions}: `baseUrl` is optional, `serviceName` then required). It is the
 * implementation of {@link make}: a client's `httpClient` is `transform` applied to the
 * `HttpClient` in context.
 *
 * Effectful, unlike `retryTransient`: the breaker and the retry budget are state that lives in
 * the `Scope`, and invalid options fail with a `ConfigError`. Pass a shared `breaker` to read
 * the breaker's status or to list it (`registry.register(id, breaker.status, breaker)`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient, HttpClientRequest } from "effect/http"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * const billing = HttpClient.HttpClient.pipe(
 *   Effect.map(HttpClient.mapRequest(HttpClientRequest.prependUrl("http://billing:8080"))),
 *   Effect.flatMap(ResilientServiceClient.transform({ serviceName: "Billing", maxAttempts: 2, timeout: "5 seconds" }))
 * )
 * ```
 *
 * @since 0.4.0
 * @category combinators
 */
export const transform: {
  (
    options: TransformOptions
  ): (
    client: HttpClient.HttpClient
  ) => Effect.Effect<HttpClient.HttpClient.With<ClientError>, Config.ConfigError, Scope.Scope>
  (
    client: HttpClient.HttpClient,
    options: TransformOptions
  ): Effect.Effect<HttpClient.HttpClient.With<ClientError>, Config.ConfigError, Scope.Scope>
} = internal.transform

/**
 * Marks a request body as safe to send more than once, and returns it: running its stream again
 * yields the same bytes (a file read from its path with `HttpBody.file`, chunks held in memory).
 * The client then retries a call whose attempt failed after the body started to go out, as it
 * does for a body held in memory; without the mark, a stream body is sent at most once (see
 * {@link RequestOptions.body}). Marking a body that can be read only once (a Node `Readable`, an
 * incoming request) would send it empty or cut on a retry: do not.
 *
 * To make a one-shot upload retryable, read it into memory first (`HttpBody.uint8Array`): the
 * client does not buffer uploads itself.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpBody } from "effect/http"
 * import { ResilientServiceClient } from "effect-resilience"
 *
 * const upload = (client: ResilientServiceClient.ResilientServiceClient, path: string) =>
 *   Effect.gen(function*() {
 *     const body = yield* HttpBody.file(path) // read again from the disk on each attempt
 *     return yield* client.put("/files/report.csv", {
 *       body: ResilientServiceClient.replayable(body),
 *       headers: { "idempotency-key": path }
 *     })
 *   })
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const replayable: <B extends HttpBody.HttpBody>(body: B) => B = internal.replayable

/**
 * Whether a value is a {@link ResilientServiceClient}.
 *
 * @since 0.4.0
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
 * @since 0.4.0
 * @category combinators
 */
export const withCallOptions: (
  options: CallOptions
) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = internal.withCallOptions

/**
 * `withCallOptions({ timeout })`: a per-attempt timeout for every call `self` makes.
 *
 * @since 0.4.0
 * @category combinators
 */
export const withTimeout = (
  timeout: Duration.Input
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => internal.withCallOptions({ timeout })

/**
 * `withCallOptions({ deadline })`: a limit on each whole call `self` makes.
 *
 * @since 0.4.0
 * @category combinators
 */
export const withDeadline = (
  deadline: Duration.Input
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => internal.withCallOptions({ deadline })

/**
 * A lean `HttpClient` for Node: Effect's `HttpClient` service built directly on an undici
 * `Dispatcher` (an `Agent` by default), through its `dispatch` method and undici 8's handler API.
 * Anything written against `HttpClient` (this library's client, `HttpApiClient`, your own code)
 * runs on it by swapping one layer.
 *
 * It is made with `HttpClient.make`, so URL parsing, spans, trace headers, redaction and
 * `HttpClient.withScope` are Effect's own; it behaves as `NodeHttpClient.layerUndici` of
 * `@effect/platform-node` does (the same request encoding, response decoding, errors and
 * interruption; the shared test suite runs every case on both) without a Node stream per body.
 * `undici` (^8) is an optional peer dependency, loaded only when a layer or agent of this module
 * is built: install it to use them. docs/transports.md has the details and the differences.
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Agent, Dispatcher } from "undici"
import * as internal from "./internal/undiciTransport.js"

/**
 * The `HttpClient` over `dispatcher`. Requests go through `dispatcher.dispatch` (undici 8's
 * handler interface: `onRequestStart`, `onResponseStart`, `onResponseData`, `onResponseEnd`,
 * `onResponseError`; no stream object per body, Effect `Headers` made only when read) with
 * undici's own timeouts switched off (headers: one hour, body: none), since timeouts belong to
 * Effect (`Effect.timeout`, the client's attempt timeout). The dispatcher stays the caller's to
 * close.
 *
 * - 1xx answers (`100 Continue`, `103 Early Hints`) are skipped: the response is the final one.
 * - A body is received as it arrives, up to 64 KiB while nobody reads it (most bodies arrive
 *   whole with their headers); past that the socket is paused until the body is read (`stream`
 *   resumes it pull by pull). Every whole read (`text`, `json`, `arrayBuffer`, …) gets the same
 *   bytes, in any order. A response dropped with its body unfinished aborts its request once it
 *   is garbage-collected (through `HttpClient.make`), which frees the connection.
 * - A dispatcher without a `dispatch` method (a mock of undici's `request` API alone) fails
 *   every request with an `HttpClientError` whose reason is a `TransportError` naming that cause.
 * - Interrupting a request, or a read of its body (`text`, `json`, `arrayBuffer`, `stream`, …),
 *   aborts it and closes its connection; the interruption completes at once even on a dispatcher
 *   whose abort does nothing.
 * - Form data is encoded here as `multipart/form-data` with a `content-length`, its files
 *   streamed as they are sent (never read into memory first).
 * - Fails with reason `InvalidUrlError` for a URL that does not parse, `TransportError` when
 *   undici fails (refused, reset, a header undici rejects), `EncodeError` for form data that
 *   cannot be encoded; reading a body fails with reason `DecodeError` (a body cut short, invalid
 *   JSON). `upgrade` fails with a `StatusCodeError` (no connection hand-over), as fetch's does.
 *
 * @example
 * ```ts
 * import type { HttpClient } from "effect/http"
 * import { Agent } from "undici"
 * import { UndiciTransport } from "effect-resilience"
 *
 * const client: HttpClient.HttpClient = UndiciTransport.make(new Agent({ connections: 50 }))
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (dispatcher: Dispatcher) => HttpClient.HttpClient = internal.make

/**
 * A new undici `Agent` for the life of the scope (destroyed, with its connections, when the scope
 * closes). `options` go to undici's `Agent` as they are (default: undici's defaults, which put no
 * limit on connections per origin). Fails only if the `undici` package cannot be loaded (a defect
 * saying so).
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeAgent: (options?: Agent.Options) => Effect.Effect<Dispatcher, never, Scope.Scope> = internal.makeAgent

/**
 * The `HttpClient` service on an undici `Agent` of its own, made with `options` (undici's
 * `Agent.Options`, default undici's defaults) and destroyed when the layer is released. The
 * drop-in replacement of `NodeHttpClient.layerUndici`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 * import { UndiciTransport } from "effect-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const response = yield* client.get("http://chroma:6003/api/v1/heartbeat")
 *   return yield* response.json
 * })
 *
 * program.pipe(Effect.provide(UndiciTransport.layer()))
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: (options?: Agent.Options) => Layer.Layer<HttpClient.HttpClient> = internal.layer

/**
 * The `HttpClient` service on a dispatcher you own (a shared `Agent`, a `Pool`, a `MockAgent`,
 * `getGlobalDispatcher()`): the layer never closes it.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerDispatcher: (dispatcher: Dispatcher) => Layer.Layer<HttpClient.HttpClient> = internal.layerDispatcher

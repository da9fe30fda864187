/**
 * A lean `HttpClient` for Node: the platform's `HttpClient` service built directly on an undici
 * `Dispatcher` (an `Agent` by default), through its `dispatch` method. Anything written against
 * `HttpClient` (this library's client, `HttpApiClient`, your own code) runs on it by swapping one
 * layer.
 *
 * It behaves as `NodeHttpClient.layerUndici` of `@effect/platform-node` does (the same request
 * encoding, response decoding, errors, interruption and spans; the shared test suite runs every
 * case on both) for about a quarter of its CPU per request, about what `Effect.tryPromise`
 * around `undici.request` costs (docs/transports.md has the figures and the few differences). `undici` is an optional peer dependency, loaded only when a layer or
 * agent of this module is built: install it to use them.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Agent, Dispatcher } from "undici"
import * as internal from "./internal/undiciTransport.js"

/**
 * The `HttpClient` over `dispatcher`. Requests go through `dispatcher.dispatch` (undici's handler
 * interface: no stream object per body, headers parsed only when read) with undici's own
 * timeouts switched off (headers: one hour, body: none), since timeouts belong to Effect
 * (`Effect.timeout`, the client's attempt timeout). The dispatcher stays the caller's to close.
 *
 * - A body is received as it arrives, up to 64 KiB while nobody reads it (most bodies arrive
 *   whole with their headers); past that the socket is paused until the body is read (`stream`
 *   resumes it pull by pull). Every whole read (`text`, `json`, `arrayBuffer`, …) gets the same
 *   bytes, in any order. A response dropped with its body unfinished aborts its request once
 *   it is garbage-collected, which frees the connection.
 * - A dispatcher without a `dispatch` method (a mock of undici's `request` API alone) fails
 *   every request with `RequestError` `Transport`, whose cause says so.
 * - Interrupting a request, or a read of its body (`text`, `json`, `arrayBuffer`, `stream`, …),
 *   aborts it and closes its connection.
 * - Fails with `RequestError` `InvalidUrl` for a URL that does not parse, `Transport` when undici
 *   fails (refused, reset, a header undici rejects); reading a body fails with `ResponseError`
 *   `Decode` (a body cut short, invalid JSON).
 * - Spans: with a tracer that exports spans (OpenTelemetry, …), the span of `HttpClient.make`
 *   (name, kind, attributes, `traceparent`/`b3` headers). With Effect's built-in tracer, which
 *   exports nothing, no span object is made; the same trace headers are still sent.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Agent } from "undici"
 * import { UndiciTransport } from "effect-resilience"
 *
 * const client: HttpClient.HttpClient = UndiciTransport.make(new Agent({ connections: 50 }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (dispatcher: Dispatcher) => HttpClient.HttpClient = internal.make

/**
 * A new undici `Agent` for the life of the scope (destroyed, with its connections, when the scope
 * closes). `options` go to undici's `Agent` as they are (default: undici's defaults, which put no
 * limit on connections per origin). Fails only if the `undici` package cannot be loaded (a defect
 * saying so).
 *
 * @since 0.1.0
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
 * import { ResilientServiceClient, UndiciTransport } from "effect-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003" })
 *   return yield* client.get("/api/v1/heartbeat")
 * })
 *
 * program.pipe(Effect.scoped, Effect.provide(UndiciTransport.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Agent.Options) => Layer.Layer<HttpClient.HttpClient> = internal.layer

/**
 * The `HttpClient` service on a dispatcher you own (a shared `Agent`, a `Pool`, a `MockAgent`,
 * `getGlobalDispatcher()`): the layer never closes it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDispatcher: (dispatcher: Dispatcher) => Layer.Layer<HttpClient.HttpClient> = internal.layerDispatcher

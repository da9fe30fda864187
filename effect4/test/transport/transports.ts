/**
 * The transports the shared suite runs every case against, and the servers it runs them on.
 * A case is written once, inside `describeTransports`, and proves the same behaviour of each:
 * Effect 4's own clients (`NodeHttpClient.layerUndici`, `FetchHttpClient.layer`) and this
 * library's `UndiciTransport`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import { UndiciTransport } from "../../src/index.js"
import { serve } from "../utils/faultServers.js"

export interface Transport {
  readonly name: string
  /** A fresh layer: each test gets its own client (and, but for fetch, its own connections). */
  readonly layer: () => Layer.Layer<HttpClient.HttpClient>
  /**
   * The layer owns its connections (an undici `Agent` of its own, destroyed with the layer).
   * `fetch` sends through the runtime's global dispatcher: releasing its layer closes nothing.
   */
  readonly ownsConnections: boolean
  /**
   * The transport follows redirects itself (`fetch`, by default): the response is the final
   * one, its `request` still the one sent first.
   */
  readonly followsRedirects: boolean
}

/** The undici-based layers, each with an `Agent` of its own: the default of {@link describeTransports}. */
export const transports: ReadonlyArray<Transport> = [
  {
    name: "NodeHttpClient.layerUndici",
    layer: () => NodeHttpClient.layerUndici,
    ownsConnections: true,
    followsRedirects: false
  },
  {
    name: "UndiciTransport.layer()",
    layer: () => UndiciTransport.layer(),
    ownsConnections: true,
    followsRedirects: false
  }
]

/** The undici-based layers and `FetchHttpClient.layer` (the shared suite's own files run on all three). */
export const transportsAndFetch: ReadonlyArray<Transport> = [
  ...transports,
  { name: "FetchHttpClient.layer", layer: () => FetchHttpClient.layer, ownsConnections: false, followsRedirects: true }
]

/** Declares the cases of `body` once per transport of `which` (by default, the undici layers). */
export const describeTransports = (
  title: string,
  body: (transport: Transport) => void,
  which: ReadonlyArray<Transport> = transports
) => describe.each(which)(`${title} ($name)`, body)

/** Builds the transport's `HttpClient` into the current scope (released with it). */
export const provideTransport =
  (transport: Transport) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, HttpClient.HttpClient> | Scope.Scope> =>
    Effect.flatMap(Layer.build(transport.layer()), (context) => Effect.provide(self, context))

/** The `_tag` of an `HttpClientError`'s reason (`TransportError`, `DecodeError`, …). */
export const reasonOf = (error: HttpClientError.HttpClientError): string => error.reason._tag

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

export interface RecordingServer {
  readonly url: string
  /** Every request, with its whole body, in arrival order. */
  readonly seen: Array<SeenRequest>
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Connections open right now. */
  readonly live: () => number
  /** Completes once no connection is open (at once when none is): the server saw every close. */
  readonly idle: Effect.Effect<void>
}

/**
 * A node:http server on 127.0.0.1, port 0, for the life of the scope: it records each request
 * (with its body) and then `handle` answers it (with its 0-based index). It counts connections
 * and tells, from their `close` events, when none is left.
 */
export const recordingServer = (
  handle: (request: SeenRequest, res: http.ServerResponse, index: number) => void
): Effect.Effect<RecordingServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const seen: Array<SeenRequest> = []
    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const request = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks)
        }
        seen.push(request)
        handle(request, res, seen.length - 1)
      })
    })
    server.keepAliveTimeout = 30_000
    const { accepted, idle, live, url } = yield* serve(server, () => seen.length)
    return { url, seen, accepted, live, idle } satisfies RecordingServer
  })

/** Waits (on `close` events, never on a timer) until the server has no connection left. */
export const expectAllClosed = (server: { readonly idle: Effect.Effect<void>; readonly live: () => number }) =>
  Effect.gen(function*() {
    yield* server.idle.pipe(
      Effect.timeoutOrElse({
        duration: "5 seconds",
        orElse: () => Effect.fail(new Error("a connection was left open"))
      })
    )
    expect(server.live()).toBe(0)
  })

export { answerJson } from "../utils/faultServers.js"

/**
 * What the status endpoint's and page's tests share: a real server (`NodeHttpServer` on
 * 127.0.0.1, port 0) with an `HttpClient` aimed at it and a fresh registry, a way to serve route
 * layers on it inside a test, and GETs that return what came over the socket.
 */
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import { ServiceRegistry } from "../../src/index.js"

/** The server on 127.0.0.1 (ephemeral port), an HttpClient aimed at it, and a fresh registry. */
export const TestLive = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.merge(ServiceRegistry.layer)
)

/**
 * Serves route layers on the test's server for the rest of the test's scope; the routes read the
 * test's registry (built outside `serve`, so that the test and the routes share it).
 */
export const serve = <E, R>(app: Layer.Layer<never, E, R>) =>
  Layer.build(HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }))

/** GET over the socket: the status, the content type and the parsed JSON body. */
export const getJson = (path: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(path)
    const body: unknown = yield* response.json
    return { status: response.status, contentType: response.headers["content-type"] ?? "", body }
  }).pipe(Effect.orDie)

/** GET over the socket: the status, the headers and the body as text. */
export const getText = (path: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(path)
    return { status: response.status, headers: response.headers, body: yield* response.text }
  }).pipe(Effect.orDie)

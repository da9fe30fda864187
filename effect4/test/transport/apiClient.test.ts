/**
 * Code written against `HttpClient` by someone else runs on either transport: an `HttpApiClient`
 * derived from `StatusApi.api`, against the status endpoint served by `NodeHttpServer` on
 * 127.0.0.1 (port 0), decodes the same statuses and the same typed 404.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiClient from "effect/http-api/HttpApiClient"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import { CircuitBreaker, ServiceRegistry, StatusApi } from "../../src/index.js"
import { describeTransports, provideTransport, transportsAndFetch } from "./transports.js"

/** The standalone status API, served for real, with the registry its handlers read. */
const StatusServerLive = HttpRouter.serve(
  HttpApiBuilder.layer(StatusApi.api).pipe(Layer.provide(StatusApi.handlers(StatusApi.api))),
  { disableLogger: true, disableListenLog: true }
).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(ServiceRegistry.layer)
)

describeTransports("HttpApiClient", (transport) => {
  it.live("the status API's own client reads a status and the typed ServiceNotFound", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(StatusServerLive)
      const server = yield* Effect.provide(Effect.service(HttpServer.HttpServer), context)
      const registry = yield* Effect.provide(Effect.service(ServiceRegistry.ServiceRegistry), context)
      const breaker = yield* CircuitBreaker.make({ name: "Chroma Server" })
      yield* registry.register("chroma", breaker.status)
      const client = yield* HttpApiClient.make(StatusApi.api, { baseUrl: HttpServer.formatAddress(server.address) })
      const statuses = yield* client.status.list()
      expect(Object.keys(statuses)).toEqual(["chroma"])
      expect(statuses["chroma"]!.service).toBe("Chroma Server")
      expect(statuses["chroma"]!.state).toBe("closed")
      const one = yield* client.status.get({ params: { id: "chroma" } })
      expect(one.failureCount).toBe(0)
      const missing = yield* Effect.flip(client.status.get({ params: { id: "nope" } }))
      expect(missing._tag).toBe("ServiceNotFound")
    }).pipe(provideTransport(transport)))
}, transportsAndFetch)

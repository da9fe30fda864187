/**
 * Code written against `HttpClient` by someone else runs on either transport: an `HttpApiClient`
 * derived from `StatusApi.api`, against the status endpoint served by `NodeHttpServer` on
 * 127.0.0.1 (port 0), decodes the same statuses and the same typed 404.
 */
import { NodeHttpServer } from "@effect/platform-node"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import { CircuitBreaker, ServiceRegistry, StatusApi } from "../../src/index.js"
import { describeTransports, provideTransport } from "./transports.js"

/** The standalone status API, served for real, with one breaker registered as "chroma". */
const StatusServerLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(StatusApi.api)),
  Layer.provide(StatusApi.handlers(StatusApi.api)),
  Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(ServiceRegistry.layer)
)

describeTransports("HttpApiClient", (transport) => {
  it.scoped("the status API's own client reads a status and the typed ServiceNotFound", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(StatusServerLive)
      const server = yield* Effect.provide(HttpServer.HttpServer, context)
      const registry = yield* Effect.provide(ServiceRegistry.ServiceRegistry, context)
      const breaker = yield* CircuitBreaker.make({ name: "Chroma Server" })
      yield* registry.register("chroma", breaker.status)
      const address = server.address._tag === "TcpAddress" ? server.address : undefined
      const client = yield* HttpApiClient.make(StatusApi.api, { baseUrl: `http://127.0.0.1:${address!.port}` })
      const statuses = yield* client.status.list()
      expect(Object.keys(statuses)).toEqual(["chroma"])
      expect(statuses["chroma"]!.service).toBe("Chroma Server")
      expect(statuses["chroma"]!.state).toBe("closed")
      const one = yield* client.status.get({ path: { id: "chroma" } })
      expect(one.failureCount).toBe(0)
      const missing = yield* Effect.flip(client.status.get({ path: { id: "nope" } }))
      expect(missing._tag).toBe("ServiceNotFound")
    }).pipe(provideTransport(transport)))
})

// docs/observability.md, the standalone StatusApi.api (kept in sync by test/editionDocs.test.ts)
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as OpenApi from "effect/http-api/OpenApi"
import * as HttpRouter from "effect/http/HttpRouter"
import { createServer } from "node:http"
import { CircuitBreaker, ServiceRegistry, StatusApi } from "../../src/index.js"

// the status endpoints alone, on a monitoring port of their own
// (provide the app's ServiceRegistry to it, the one its clients register in)
export const MonitoringLive = HttpRouter.serve(
  HttpApiBuilder.layer(StatusApi.api).pipe(Layer.provide(StatusApi.handlers(StatusApi.api)))
).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: 9000 }))
)

// their OpenAPI document: paths /v1/api/status/services and /v1/api/status/services/{id}
export const spec = OpenApi.fromApi(StatusApi.api)

// a breaker used without a client is listed by hand, for the life of the scope
export const gitBreaker = Effect.gen(function*() {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const breaker = yield* CircuitBreaker.make({ name: "Git" })
  yield* registry.register("git", breaker.status)
  return breaker
})

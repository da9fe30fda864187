// docs/observability.md, "Status page" (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { createServer } from "node:http"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry, StatusApi } from "../../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}
class GitBreaker extends Context.Service<GitBreaker, CircuitBreaker.CircuitBreaker>()("app/GitBreaker") {}

// StatusApi.routerWithPage serves the page at GET /v1/api/status, beside the JSON endpoints
const app = Layer.mergeAll(
  HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
  StatusApi.routerWithPage
)

// or the page alone, under a prefix: GET /admin/v1/api/status
export const adminPage = StatusApi.page.pipe(StatusApi.prefixed("/admin"))

// a standalone breaker is registered with itself as the third argument,
// so that the page shows its recent transitions and its next probe
const GitBreakerLive = Layer.effect(
  GitBreaker,
  Effect.gen(function*() {
    const registry = yield* ServiceRegistry.ServiceRegistry
    const breaker = yield* CircuitBreaker.make({ name: "Git" })
    yield* registry.register("git", breaker.status, breaker)
    return breaker
  })
)

const ServicesLive = Layer.mergeAll(
  ResilientServiceClient.layer(Chroma, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server", id: "chroma" }),
  GitBreakerLive
).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

const ServerLive = HttpRouter.serve(app).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

// the same HTML for another server: render a snapshot of the registry
export const statusHtml = Effect.gen(function*() {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const snapshot = yield* registry.snapshot
  return StatusApi.renderPage(snapshot, { refreshInterval: "10 seconds" })
})

NodeRuntime.runMain(Layer.launch(ServerLive))

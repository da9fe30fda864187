import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry, StatusApi } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
class GitBreaker extends Context.Tag("app/GitBreaker")<GitBreaker, CircuitBreaker.CircuitBreaker>() {}

// StatusApi.routerWithPage serves the page at GET /v1/api/status, beside the JSON endpoints
const app = HttpRouter.empty.pipe(
  HttpRouter.get("/health", HttpServerResponse.text("ok")),
  HttpRouter.concat(StatusApi.routerWithPage)
)

// or the page alone, under a prefix: GET /admin/v1/api/status
export const adminPage = HttpRouter.empty.pipe(HttpRouter.mount("/admin", StatusApi.page))

// a standalone breaker is registered with itself as the third argument,
// so that the page shows its recent transitions and its next probe
const GitBreakerLive = Layer.scoped(
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

const ServerLive = HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

// the same HTML for another server: render a snapshot of the registry
export const statusHtml = Effect.flatMap(
  ServiceRegistry.ServiceRegistry,
  (registry) =>
    Effect.map(registry.snapshot, (snapshot) => StatusApi.renderPage(snapshot, { refreshInterval: "10 seconds" }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

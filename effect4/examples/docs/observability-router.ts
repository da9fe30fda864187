// docs/observability.md, "Adding the endpoint to an HttpRouter app" (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { createServer } from "node:http"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}
class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

// the app's own routes, plus GET /v1/api/status/services and GET /v1/api/status/services/:id
const app = Layer.mergeAll(
  HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
  StatusApi.router
)

// or under a prefix: GET /internal/v1/api/status/services
export const prefixed = StatusApi.router.pipe(StatusApi.prefixed("/internal"))

// the clients register themselves in the registry that the routes read: their layers need it,
// and provideMerge gives it to them and keeps it for the server too
const ServicesLive = Layer.mergeAll(
  ResilientServiceClient.layer(Chroma, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server", id: "chroma" }),
  ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", serviceName: "Billing", id: "billing" })
).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

// provided outside serve, so the routes and the clients share one registry
const ServerLive = HttpRouter.serve(app).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

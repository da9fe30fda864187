import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Layer } from "effect"
import { createServer } from "node:http"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}

// the app's own routes, plus GET /v1/api/status/services and GET /v1/api/status/services/:id
const app = HttpRouter.empty.pipe(
  HttpRouter.get("/health", HttpServerResponse.text("ok")),
  HttpRouter.concat(StatusApi.router)
)

// or under a prefix: GET /internal/v1/api/status/services
export const prefixed = HttpRouter.empty.pipe(HttpRouter.mount("/internal", StatusApi.router))

// the clients register themselves in the registry that the router reads: their layers need it,
// and provideMerge gives it to them and keeps it for the server too
const ServicesLive = Layer.mergeAll(
  ResilientServiceClient.layer(Chroma, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server", id: "chroma" }),
  ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", serviceName: "Billing", id: "billing" })
).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

const ServerLive = HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

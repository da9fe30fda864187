import { HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Layer } from "effect"
import { createServer } from "node:http"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
class Filesystem extends Context.Tag("app/Filesystem")<Filesystem, ResilientServiceClient.ResilientServiceClient>() {}

// GET /v1/api/status/services answers { "chroma": {...}, "filesystem": {...} }
const app = HttpRouter.empty.pipe(HttpRouter.concat(StatusApi.router))

// each client lists itself under its id in the registry it is built with
const ServicesLive = Layer.mergeAll(
  ResilientServiceClient.layer(Chroma, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server", id: "chroma" }),
  ResilientServiceClient.layer(Filesystem, { baseUrl: "http://filesystem:8000", id: "filesystem" })
).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

const ServerLive = HttpServer.serve(app).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

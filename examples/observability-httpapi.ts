import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

// the app's API: its own groups, plus the status group
const SearchGroup = HttpApiGroup.make("search").add(
  HttpApiEndpoint.get("query", "/v1/api/search").addSuccess(Schema.Array(Schema.String))
)
const BackendApi = HttpApi.make("backend").add(SearchGroup).add(StatusApi.group)

const SearchLive = HttpApiBuilder.group(
  BackendApi,
  "search",
  (handlers) => handlers.handle("query", () => Effect.succeed([]))
)

const ApiLive = HttpApiBuilder.api(BackendApi).pipe(
  Layer.provide([SearchLive, StatusApi.handlers(BackendApi)])
)

const ServicesLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server",
  id: "chroma"
}).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

const ServerLive = HttpApiBuilder.serve().pipe(
  // GET /docs: Swagger UI of the OpenAPI document, status endpoints included
  Layer.provide(HttpApiSwagger.layer()),
  // GET /openapi.json: the document itself
  Layer.provide(HttpApiBuilder.middlewareOpenApi()),
  Layer.provide(ApiLive),
  Layer.provide(ServicesLive),
  HttpServer.withLogAddress,
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

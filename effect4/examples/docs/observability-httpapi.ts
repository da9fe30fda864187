// docs/observability.md, "Adding the endpoint to an HttpApi app" (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Schema } from "effect"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiSwagger from "effect/http-api/HttpApiSwagger"
import * as HttpRouter from "effect/http/HttpRouter"
import { createServer } from "node:http"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

// the app's API: its own groups, plus the status group
const SearchGroup = HttpApiGroup.make("search").add(
  HttpApiEndpoint.get("query", "/v1/api/search", { success: Schema.Array(Schema.String) })
)
const BackendApi = HttpApi.make("backend").add(SearchGroup).add(StatusApi.group)

const SearchLive = HttpApiBuilder.group(
  BackendApi,
  "search",
  (handlers) => handlers.handle("query", () => Effect.succeed([]))
)

// GET /openapi.json: the OpenAPI document, status endpoints included
const ApiLive = HttpApiBuilder.layer(BackendApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([SearchLive, StatusApi.handlers(BackendApi)])
)

// GET /docs: Swagger UI of that document
const DocsLive = HttpApiSwagger.layer(BackendApi, { path: "/docs" })

const ServicesLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server",
  id: "chroma"
}).pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

const ServerLive = HttpRouter.serve(Layer.mergeAll(ApiLive, DocsLive)).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

// docs/getting-started.md, src/server.ts (kept in sync by test/gettingStarted.test.ts)
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { ServiceRegistry, StatusApi, UndiciTransport } from "../../src/index.js"
import { ChromaLive } from "./Chroma.js"
import { searchOrEmpty } from "./search.js"

// a route is a layer: GET /search?q=…
const SearchRoute = HttpRouter.add(
  "GET",
  "/search",
  Effect.gen(function*() {
    const { q } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ q: Schema.String }))
    return HttpServerResponse.jsonUnsafe(yield* searchOrEmpty(q))
  })
)

// GET /v1/api/status/services, GET /v1/api/status/services/:id and the HTML page GET /v1/api/status
const Routes = Layer.mergeAll(SearchRoute, StatusApi.routerWithPage)

// the client registers itself in the registry it is built with; provideMerge hands the same registry to the routes
const ServicesLive = ChromaLive.pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(UndiciTransport.layer())
)

const ServerLive = HttpRouter.serve(Routes).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

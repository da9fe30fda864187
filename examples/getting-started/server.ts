// docs/getting-started.md, step 6: the status endpoint
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { ServiceRegistry, StatusApi, UndiciTransport } from "../../src/index.js"
import { ChromaLive } from "./Chroma.js"
import { searchOrEmpty } from "./search.js"

const app = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/search",
    Effect.gen(function*() {
      const { q } = yield* HttpServerRequest.schemaSearchParams(Schema.Struct({ q: Schema.String }))
      return HttpServerResponse.unsafeJson(yield* searchOrEmpty(q))
    })
  ),
  // GET /v1/api/status/services, GET /v1/api/status/services/:id and the HTML page GET /v1/api/status
  HttpRouter.concat(StatusApi.routerWithPage)
)

// the client registers itself in the registry it is built with; provideMerge hands the same registry to the router
const ServicesLive = ChromaLive.pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(UndiciTransport.layer())
)

const ServerLive = HttpServer.serve(app).pipe(
  HttpServer.withLogAddress,
  Layer.provide(ServicesLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 }))
)

NodeRuntime.runMain(Layer.launch(ServerLive))

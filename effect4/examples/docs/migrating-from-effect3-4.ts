// docs/migrating-from-effect3.md, example 4 (kept in sync by test/editionDocs.test.ts)
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ServiceRegistry, StatusApi } from "../../src/index.js"

// the app's own route, and the status endpoints and page under /admin
const Health = HttpRouter.add("GET", "/health", Effect.succeed(HttpServerResponse.text("ok")))
const Routes = Layer.mergeAll(Health, StatusApi.routerWithPage.pipe(StatusApi.prefixed("/admin")))

// HttpRouter.serve gives a layer that needs an HttpServer (NodeHttpServer.layer) and the
// registry the clients list themselves in
export const App = HttpRouter.serve(Routes).pipe(Layer.provide(ServiceRegistry.layer))

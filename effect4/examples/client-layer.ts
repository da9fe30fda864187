// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { ResilientServiceClient, ServiceRegistry } from "../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

const ChromaLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server",
  timeout: "15 seconds"
})

const search = (text: string) =>
  Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { query_texts: [text], n_results: 5 } })
    return yield* response.json
  })

// provide the layer once, at the top of the app: every call then shares one breaker; the client
// lists itself in the registry, which the status endpoint reads (provideMerge keeps it for it)
const main = search("circuit breakers").pipe(
  Effect.provide(ChromaLive.pipe(Layer.provideMerge(ServiceRegistry.layer), Layer.provide(NodeHttpClient.layerUndici)))
)

export { main }

// README.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { Config, Context, Effect, Layer } from "effect"
import { ResilientServiceClient, ServiceRegistry, UndiciTransport } from "../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("Chroma") {}

const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
  baseUrl: Config.String("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
  serviceName: Config.succeed("Chroma Server")
})

// 3 attempts (1 s, 2 s backoff), 10 s per attempt, opens after 5 failures, probes after 60 s
export const search = (q: string) =>
  Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { q } })
    return yield* response.json
  }).pipe(
    // fail open: while Chroma is down (or the breaker is open) answer from a fallback
    Effect.catch(() => Effect.succeed({ results: [] }))
  )

export const MainLive = ChromaLive.pipe(
  Layer.provideMerge(ServiceRegistry.layer),
  // the lean transport; any HttpClient layer works here (NodeHttpClient.layerUndici, FetchHttpClient.layer, …)
  Layer.provide(UndiciTransport.layer())
)

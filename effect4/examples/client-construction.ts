// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { ResilientServiceClient } from "../src/index.js"

const program = Effect.gen(function*() {
  const chroma = yield* ResilientServiceClient.make({
    baseUrl: "http://chroma:6003",
    serviceName: "Chroma Server"
  })
  const response = yield* chroma.post("/query", { json: { query_texts: ["circuit breakers"], n_results: 5 } })
  return yield* response.json
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

export { program }

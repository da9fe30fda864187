// docs/circuit-breaker.md, example 11 (kept in sync by test/editionDocs.test.ts)
import { NodeServices } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import { CircuitBreaker } from "../../src/index.js"

class Chroma extends Context.Service<Chroma, CircuitBreaker.CircuitBreaker>()("Chroma") {}

const ChromaLive = Layer.effect(
  Chroma,
  Effect.flatMap(KeyValueStore.KeyValueStore, (store) => CircuitBreaker.make({ name: "Chroma Server", store }))
).pipe(
  Layer.provide(KeyValueStore.layerFileSystem("/var/lib/my-app/breakers")),
  Layer.provide(NodeServices.layer)
)

// used here so that the example compiles under noUnusedLocals
export { Chroma, ChromaLive }

// docs/circuit-breaker.md, example 11 (kept in sync by test/docs.test.ts)
import { KeyValueStore } from "@effect/platform"
import { NodeKeyValueStore } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { CircuitBreaker } from "../../src/index.js"

class Chroma extends Context.Tag("Chroma")<Chroma, CircuitBreaker.CircuitBreaker>() {}

const ChromaLive = Layer.scoped(
  Chroma,
  Effect.flatMap(KeyValueStore.KeyValueStore, (store) => CircuitBreaker.make({ name: "Chroma Server", store }))
).pipe(Layer.provide(NodeKeyValueStore.layerFileSystem("/var/lib/my-app/breakers")))

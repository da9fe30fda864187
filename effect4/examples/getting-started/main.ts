// docs/getting-started.md, src/main.ts (kept in sync by test/gettingStarted.test.ts)
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { ServiceRegistry, UndiciTransport } from "../../src/index.js"
import { ChromaLive } from "./Chroma.js"
import { searchOrEmpty } from "./search.js"

// the client sends its requests with undici and lists itself in a registry (step 6 serves it);
// provide the layers once, at the edge of the program
const MainLive = ChromaLive.pipe(Layer.provide([UndiciTransport.layer(), ServiceRegistry.layer]))

const program = Effect.gen(function*() {
  const results = yield* searchOrEmpty("circuit breakers")
  yield* Effect.log(`found ${results.ids.flat().length} documents`)
})

program.pipe(Effect.provide(MainLive), NodeRuntime.runMain)

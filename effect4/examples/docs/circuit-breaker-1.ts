// docs/circuit-breaker.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker } from "../../src/index.js"

declare const query: (text: string) => Effect.Effect<ReadonlyArray<string>, Error>

const program = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make({ name: "Chroma Server", failureThreshold: 5 })
  const results = yield* breaker(query("circuit breakers"))
  return results
}).pipe(Effect.scoped)

// used here so that the example compiles under noUnusedLocals
export { program }

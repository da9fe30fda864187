// docs/circuit-breaker.md, example 5 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { CircuitBreaker } from "../../src/index.js"

declare const search: Effect.Effect<ReadonlyArray<string>, Error>
declare const fallbackSearch: Effect.Effect<ReadonlyArray<string>>

const searchWithFallback = (breaker: CircuitBreaker.CircuitBreaker) =>
  breaker(search).pipe(
    Effect.catchTag("ServiceUnavailable", (error) => Effect.andThen(Effect.logWarning(error.message), fallbackSearch))
  )

// used here so that the example compiles under noUnusedLocals
export { searchWithFallback }

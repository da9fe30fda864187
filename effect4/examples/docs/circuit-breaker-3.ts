// docs/circuit-breaker.md, example 3 (kept in sync by test/editionDocs.test.ts)
import { Effect, Stream } from "effect"
import type { CircuitBreaker } from "../../src/index.js"

const logChanges = (breaker: CircuitBreaker.CircuitBreaker) =>
  breaker.changes.pipe(
    Stream.runForEach((change) =>
      Effect.log(`${change.service}: ${change.from} → ${change.to} at ${change.at.toISOString()}`)
    ),
    Effect.forkScoped
  )

// used here so that the example compiles under noUnusedLocals
export { logChanges }

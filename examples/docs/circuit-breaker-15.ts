// docs/circuit-breaker.md, example 15 (kept in sync by test/docs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker } from "../../src/index.js"

const invalid = CircuitBreaker.make({ failureThreshold: 0 }).pipe(
  Effect.catchTag("ConfigError", (error) => Effect.logError(String(error))),
  Effect.scoped
)
// logs: (Invalid data at failureThreshold: "must be a positive integer, got 0")

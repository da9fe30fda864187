// docs/circuit-breaker.md, example 15 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker } from "../../src/index.js"

const invalid = CircuitBreaker.make({ failureThreshold: 0 }).pipe(
  Effect.catchTag("ConfigError", (error) => Effect.logError(String(error))),
  Effect.scoped
)
// logs: ConfigError(SchemaError(must be a positive integer, got 0
//   at ["failureThreshold"]))

// used here so that the example compiles under noUnusedLocals
export { invalid }

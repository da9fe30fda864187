// docs/retry.md, example 7 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { CircuitBreaker } from "../../src/index.js"
import { RetryPolicy } from "../../src/index.js"

const retryWhileClosed = (breaker: CircuitBreaker.CircuitBreaker) => (error: unknown) =>
  RetryPolicy.isTransient(error)
    ? Effect.map(breaker.state, (state) => state === "closed")
    : Effect.succeed(false)
// Effect.retry({ schedule, while: retryWhileClosed(breaker) })

export { retryWhileClosed }

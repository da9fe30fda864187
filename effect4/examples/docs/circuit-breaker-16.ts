// docs/circuit-breaker.md, example 16 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker } from "../../src/index.js"

class Throttled {
  readonly _tag = "Throttled"
  constructor(readonly seconds: number) {}
}

// a throttled answer opens the breaker for at least as long as the service asked
const breaker = CircuitBreaker.make({
  name: "billing",
  failureThreshold: 3,
  recoveryTimeout: "10 seconds",
  retryAfterCap: "10 minutes",
  isFailure: (error) => error instanceof Throttled ? { retryAfter: `${error.seconds} seconds` } : true
})

// a write that may not be dropped: recorded when the breaker admits it, run unrecorded when it would refuse it
export const write = (save: Effect.Effect<void, Error>) =>
  Effect.flatMap(breaker, (made) => made.withOptions({ onRejection: "allow" })(save))

// docs/migrating-from-effect3.md, example 3 (kept in sync by test/editionDocs.test.ts)
import { Effect, Schedule } from "effect"
import { CircuitBreaker, RetryPolicy } from "../../src/index.js"

declare const pull: Effect.Effect<string, Error>

export const program = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make({
    name: "git",
    recoveryTimeout: Schedule.min([Schedule.exponential("10 seconds"), Schedule.spaced("5 minutes")]),
    probeTimeout: "30 seconds"
  })
  const attempt = Effect.result(
    Effect.retry(breaker(pull), { schedule: RetryPolicy.schedule({ maxAttempts: 3 }) })
  )
  return yield* attempt
}).pipe(Effect.scoped)

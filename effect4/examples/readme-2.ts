// README.md, example 2 (kept in sync by test/editionDocs.test.ts)
import { Data, Effect } from "effect"
import { CircuitBreaker, RetryPolicy } from "../src/index.js"

class QuoteError extends Data.TaggedError("QuoteError") {}
declare const fetchQuote: Effect.Effect<number, QuoteError>

export const program = Effect.gen(function*() {
  // opens after 5 failures in a row, lets a probe through after 60 s
  const breaker = yield* CircuitBreaker.make({ name: "quotes" })
  // 3 attempts: wait 1 s, then 2 s; every attempt runs inside the breaker
  const quote = Effect.retry(breaker(fetchQuote), {
    schedule: RetryPolicy.schedule({ maxAttempts: 3, baseDelay: "1 second" }),
    while: (error) => error._tag === "QuoteError"
  })
  return yield* quote.pipe(
    // while the breaker is open, calls fail at once with ServiceUnavailable
    Effect.catchTag("ServiceUnavailable", () => Effect.succeed(0))
  )
}).pipe(Effect.scoped)

// docs/retry.md, example 6 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker, RetryPolicy } from "../../src/index.js"

declare const querySearch: (text: string) => Effect.Effect<ReadonlyArray<string>, Error>
declare const fallbackSearch: (text: string) => Effect.Effect<ReadonlyArray<string>>

const makeSearch = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make({ name: "Chroma Server" })
  const schedule = RetryPolicy.schedule({ maxAttempts: 3, baseDelay: "1 second" })

  return (text: string) =>
    breaker(Effect.timeout(querySearch(text), "10 seconds")).pipe(
      Effect.retry({ schedule, while: RetryPolicy.isTransient }),
      Effect.catchTag("ServiceUnavailable", () => fallbackSearch(text))
    )
})

export { makeSearch }

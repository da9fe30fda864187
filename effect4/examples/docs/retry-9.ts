// docs/retry.md, example 9 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, Error>

const makeRetried = Effect.gen(function*() {
  const budget = yield* RetryPolicy.makeBudget({ maxTokens: 10, tokenRatio: 0.1 })
  return call.pipe(
    // each attempt settles with the budget: a success refunds, a transient failure costs a token
    Effect.tap(() => budget.recordSuccess),
    Effect.tapError((error) => RetryPolicy.isTransient(error) ? budget.recordFailure : Effect.void),
    Effect.retry({
      schedule: RetryPolicy.schedule(),
      while: (error) => RetryPolicy.isTransient(error) && budget.unsafeState().retriesAllowed
    })
  )
})

export { makeRetried }

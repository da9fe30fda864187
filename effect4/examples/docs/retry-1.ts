// docs/retry.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, Error>

const retried = Effect.retry(call, {
  schedule: RetryPolicy.schedule(),
  while: RetryPolicy.isTransient
})

export { retried }

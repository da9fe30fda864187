// docs/retry.md, example 5 (kept in sync by test/editionDocs.test.ts)
import { Config, Effect } from "effect"
import { RetryPolicy } from "../../src/index.js"

const policy = Effect.gen(function*() {
  const maxAttempts = yield* Config.Int("SEARCH_MAX_ATTEMPTS").pipe(Config.withDefault(3))
  return yield* RetryPolicy.make({ maxAttempts, baseDelay: "500 millis" })
})
// Effect<RetryPolicy.RetryPolicy, Config.ConfigError>

export { policy }

// docs/retry.md, example 4 (kept in sync by test/docs.test.ts)
import { Config, Effect } from "effect"
import { RetryPolicy } from "../../src/index.js"

const policy = Effect.gen(function*() {
  const maxAttempts = yield* Config.integer("SEARCH_MAX_ATTEMPTS").pipe(Config.withDefault(3))
  return yield* RetryPolicy.make({ maxAttempts, baseDelay: "500 millis" })
})
// Effect<RetryPolicy.RetryPolicy, ConfigError.ConfigError>

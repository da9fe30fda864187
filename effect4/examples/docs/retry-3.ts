// docs/retry.md, example 3 (kept in sync by test/editionDocs.test.ts)
import { Effect, Random } from "effect"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, Error>

// every draw is 0.5: with jitter "full" the waits are 500 ms, then 1 s
const halfway: Random.Random = { nextDoubleUnsafe: () => 0.5, nextIntUnsafe: () => 0 }

const retried = Effect.retry(call, { schedule: RetryPolicy.schedule({ jitter: "full" }) }).pipe(
  Effect.provideService(Random.Random, halfway)
)

// or draws from a seeded generator, the same on every run
const seeded = Effect.retry(call, { schedule: RetryPolicy.schedule({ jitter: "full" }) }).pipe(
  Random.withSeed("retry test")
)

export { retried, seeded }

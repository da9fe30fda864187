// docs/retry.md, example 4 (kept in sync by test/editionDocs.test.ts)
import { Duration, Effect, Schedule } from "effect"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, Error>

const logged = RetryPolicy.schedule({ jitter: "full" }).pipe(
  Schedule.tap(({ output }) => Effect.logWarning(`attempt failed, retrying in ${Duration.format(output)}`))
)

const retried = Effect.retry(call, { schedule: logged, while: RetryPolicy.isTransient })

export { retried }

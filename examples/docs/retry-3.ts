// docs/retry.md, example 3 (kept in sync by test/docs.test.ts)
import { Duration, Effect, Schedule } from "effect"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, Error>

const logged = RetryPolicy.schedule({ jitter: "full" }).pipe(
  Schedule.onDecision((delay, decision) =>
    decision._tag === "Continue"
      ? Effect.logWarning(`attempt failed, retrying in ${Duration.format(delay)}`)
      : Effect.void
  )
)

const retried = Effect.retry(call, { schedule: logged, while: RetryPolicy.isTransient })

// docs/retry.md, example 8 (kept in sync by test/editionDocs.test.ts)
import { Clock, Duration, Effect, Option, Schedule } from "effect"
import { HttpClientError } from "effect/http"
import { RetryPolicy } from "../../src/index.js"

declare const call: Effect.Effect<string, HttpClientError.HttpClientError>

/** The `Retry-After` of a 429 or 503 answer in milliseconds, or 0. */
const retryAfterMillis = (error: unknown, nowMillis: number): number => {
  if (!HttpClientError.isHttpClientError(error) || error.reason._tag !== "StatusCodeError") return 0
  const { headers, status } = error.reason.response
  if (status !== 429 && status !== 503) return 0
  return Option.match(RetryPolicy.parseRetryAfter(headers["retry-after"], nowMillis), {
    onNone: () => 0,
    onSome: Duration.toMillis
  })
}

// the longer of the backoff and the server's Retry-After: the step sees the error as its input
const schedule = RetryPolicy.schedule().pipe(
  Schedule.modifyDelay(({ duration, input }) =>
    Effect.map(Clock.currentTimeMillis, (now) => Duration.max(duration, Duration.millis(retryAfterMillis(input, now))))
  )
)

const retried = Effect.retry(call, {
  schedule,
  // a Retry-After over 30 s is not waited for: the call fails with that answer
  while: (error) =>
    Effect.map(
      Clock.currentTimeMillis,
      (now) => RetryPolicy.isTransient(error) && retryAfterMillis(error, now) <= 30_000
    )
})

export { retried }

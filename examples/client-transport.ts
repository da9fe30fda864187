import { HttpClient, HttpClientError } from "@effect/platform"
import type { HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"

// A fake transport for tests that never answers. It ends when its signal aborts: without
// that, the attempt timeout could not end the attempt.
const neverAnswers = HttpClient.make((request, _url, signal) =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    const onAbort = () =>
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: signal.reason })))
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })
)

const NeverAnswers = Layer.succeed(HttpClient.HttpClient, neverAnswers)

export { NeverAnswers }

/**
 * What a transport that honours its `AbortSignal` does while it waits: fail once the request is
 * aborted. Shared by the fake upstream of `effect-resilience/testing` and the tests' own fake.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"

/**
 * Fails with `RequestError` `Transport` (the signal's reason as its cause) once `signal` is
 * aborted, at once if it already is; never succeeds.
 *
 * @internal
 */
export const failWhenAborted = (request: HttpClientRequest.HttpClientRequest, signal: AbortSignal) =>
  Effect.async<never, HttpClientError.HttpClientError>((resume) => {
    const onAbort = () =>
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: signal.reason })))
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

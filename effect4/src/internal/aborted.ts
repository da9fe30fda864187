/**
 * What a transport that honours its `AbortSignal` does while it waits: fail once the request is
 * aborted. Shared by the fake upstream of `effect-resilience/testing` and the tests' own fake.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"

/**
 * Fails with an `HttpClientError` whose reason is a `TransportError` (the signal's reason as its
 * cause) once `signal` is aborted, at once if it already is; never succeeds.
 *
 * @internal
 */
export const failWhenAborted = (
  request: HttpClientRequest.HttpClientRequest,
  signal: AbortSignal
): Effect.Effect<never, HttpClientError.HttpClientError> =>
  Effect.callback<never, HttpClientError.HttpClientError>((resume) => {
    const onAbort = () =>
      resume(Effect.fail(
        new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({ request, cause: signal.reason })
        })
      ))
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

/**
 * Helpers of the retry tests: stepping a schedule without sleeping, fixed random doubles, and
 * `HttpClientError`s of each reason.
 */
import { expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Pull from "effect/Pull"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"

/**
 * Steps a schedule the way `Effect.retry` does (one step per failed attempt, the clock moved by
 * the delay chosen), without sleeping, and collects its delays in milliseconds until it is done.
 * Each output is checked against the delay, so an output that differs from the wait taken fails.
 */
export const delaysOf = <I>(
  schedule: Schedule.Schedule<Duration.Duration, I>,
  input: I = undefined as I,
  limit = 64
): Effect.Effect<Array<number>> =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    const delays: Array<number> = []
    let now = 0
    for (let n = 0; n < limit; n++) {
      const next = yield* step(now, input).pipe(
        Effect.map(([output, delay]) => {
          expect(Duration.toMillis(output)).toBe(Duration.toMillis(delay))
          return Duration.toMillis(delay)
        }),
        Pull.catchDone(() => Effect.succeed(undefined))
      )
      if (next === undefined) return delays
      delays.push(next)
      now += next
    }
    throw new Error(`the schedule did not stop within ${limit} steps`)
  })

/** A `Random` whose doubles are `doubles`, cycled (what `Random.fixed` did in Effect 3). */
export const fixedRandom = (doubles: ReadonlyArray<number>): Random.Random => {
  let i = 0
  return {
    nextDoubleUnsafe: () => doubles[i++ % doubles.length]!,
    nextIntUnsafe: () => Math.floor(doubles[i++ % doubles.length]! * Number.MAX_SAFE_INTEGER)
  }
}

/** Runs `effect` with {@link fixedRandom}. */
export const withDoubles = (doubles: ReadonlyArray<number>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Random.Random, fixedRandom(doubles))

export const request = HttpClientRequest.get("http://chroma.test:6003/api/query")

export const response = (status: number, headers: Record<string, string> = {}) =>
  HttpClientResponse.fromWeb(request, new Response(null, { status, headers }))

export const transportError = (cause: unknown = new Error("ECONNREFUSED")) =>
  new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })

export const invalidUrlError = () =>
  new HttpClientError.HttpClientError({ reason: new HttpClientError.InvalidUrlError({ request }) })

export const encodeError = () =>
  new HttpClientError.HttpClientError({ reason: new HttpClientError.EncodeError({ request }) })

export const statusError = (status: number, headers: Record<string, string> = {}) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.StatusCodeError({ request, response: response(status, headers) })
  })

export const decodeError = (status: number) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.DecodeError({ request, response: response(status) })
  })

export const emptyBodyError = (status: number) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.EmptyBodyError({ request, response: response(status) })
  })

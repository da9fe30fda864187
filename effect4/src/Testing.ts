/**
 * A scripted fake upstream for testing code that uses `ResilientServiceClient` (or any
 * `HttpClient`): answers, delays on the `Clock`, transport errors and hangs, per path, with a
 * record of every request it saw. No sockets and no real time: under `TestClock` a whole
 * outage plays out in microseconds.
 *
 * Import it from `effect-resilience/testing`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as TestClock from "effect/testing/TestClock"
 * import { ResilientServiceClient } from "effect-resilience"
 * import * as Testing from "effect-resilience/testing"
 *
 * const chroma = Testing.fakeUpstream({ "/query": [Testing.refused] })
 *
 * const test = Effect.gen(function*() {
 *   const client = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003" })
 *   const fiber = yield* Effect.forkChild(client.post("/query", { json: { q: "x" } }))
 *   yield* TestClock.adjust("3 seconds") // the two backoffs
 *   // ...assert on the fiber's failure and on chroma.requests()
 * }).pipe(Effect.scoped, Effect.provide(chroma.layer))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Core from "../../core/src/fakeUpstream.js"
import { failWhenAborted } from "./internal/aborted.js"

/**
 * What the fake upstream does with one request.
 *
 * @since 0.1.0
 * @category models
 */
export type Answer =
  | Core.PlainAnswer
  | { readonly _tag: "Delay"; readonly delay: Duration.Duration; readonly then: Answer }

/**
 * Answers with a status and, unless `body` is `undefined`, a JSON body
 * (`content-type: application/json`; `headers` are added to it).
 *
 * @since 0.1.0
 * @category answers
 */
export const json: (status: number, body?: unknown, headers?: Record<string, string>) => Answer = Core.json

/**
 * Answers with a status and a text body (`content-type: text/plain`; `headers` are added to it).
 *
 * @since 0.1.0
 * @category answers
 */
export const text: (status: number, body: string, headers?: Record<string, string>) => Answer = Core.text

/**
 * The connection is refused: an `HttpClientError` whose `reason` is a `TransportError` (cause
 * code `ECONNREFUSED`).
 *
 * @since 0.1.0
 * @category answers
 */
export const refused: Answer = Core.refused

/**
 * The connection is reset mid-request: an `HttpClientError` whose `reason` is a
 * `TransportError` (cause code `ECONNRESET`).
 *
 * @since 0.1.0
 * @category answers
 */
export const reset: Answer = Core.reset

/**
 * The host does not resolve: an `HttpClientError` whose `reason` is a `TransportError` (cause
 * code `ENOTFOUND`).
 *
 * @since 0.1.0
 * @category answers
 */
export const unresolvable: Answer = Core.unresolvable

/**
 * Never answers; ends only when the request is aborted (the client's attempt timeout does
 * that) or interrupted.
 *
 * @since 0.1.0
 * @category answers
 */
export const hang: Answer = Core.hang

/**
 * Waits `delay` on the `Clock` (so `TestClock.adjust` moves it), then answers. An aborted
 * request stops waiting at once and fails like {@link hang}. Throws on an input that is not a
 * duration (as `Duration.fromInputUnsafe` does).
 *
 * @since 0.1.0
 * @category answers
 */
export const delayed = (delay: Duration.Input, then: Answer): Answer => ({
  _tag: "Delay",
  delay: Duration.fromInputUnsafe(delay),
  then
})

/**
 * Sends the status and headers, then a first piece of the body, then nothing more: the body
 * never ends. The client's attempt timeout ends the attempt (an attempt includes its body).
 *
 * @since 0.2.0
 * @category answers
 */
export const stalledBody: (status: number, headers?: Record<string, string>) => Answer = Core.stalledBody

/**
 * Sends the status and headers, then a first piece of the body, then the connection is reset:
 * a `ResilientServiceClient`'s attempt fails with an `HttpClientError` whose `reason` is a
 * `TransportError` (the reset, code `ECONNRESET`, as its cause); read straight from the fake, the
 * body fails with a `DecodeError`.
 *
 * @since 0.2.0
 * @category answers
 */
export const brokenBody: (status: number, headers?: Record<string, string>) => Answer = Core.resetBody

/**
 * One request as the fake upstream saw it; `at` is the `Clock` time in milliseconds
 * (`Clock.currentTimeMillis`, the wall clock, which `TestClock` sets and moves).
 *
 * @since 0.1.0
 * @category models
 */
export interface SeenRequest {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

/**
 * A script: for each path (the URL's pathname, or `"*"` for any other), the answers to give in
 * order; the last answer of a list repeats. A path with no script answers 404.
 *
 * @since 0.1.0
 * @category models
 */
export type Script = Core.Script<Answer>

/**
 * The fake upstream.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeUpstream {
  /** Provides it as the `HttpClient`. */
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  /** The same, as a value. */
  readonly client: HttpClient.HttpClient
  /** Every request seen so far, in order. */
  readonly requests: () => ReadonlyArray<SeenRequest>
  /** Replaces the script of the given paths (their answer counters start again). */
  readonly script: (script: Script) => void
}

const bodyText = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Uint8Array":
      return new TextDecoder().decode(body.body)
    case "Raw":
      return typeof body.body === "string" ? body.body : undefined
    default:
      return undefined
  }
}

const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown, description?: string) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError(
      description === undefined ? { request, cause } : { request, cause, description }
    )
  })

/**
 * Makes a fake upstream from a script.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fakeUpstream = (initial: Script = {}): FakeUpstream => {
  const { next, script } = Core.scriptBook<Answer>(initial)
  const seen: Array<SeenRequest> = []

  const play = (
    answer: Answer,
    request: HttpClientRequest.HttpClientRequest,
    signal: AbortSignal
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    switch (answer._tag) {
      case "Respond":
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(answer.body ?? null, { status: answer.status, headers: answer.headers })
        ))
      case "Transport":
        return Effect.fail(
          transportError(request, Object.assign(new Error(answer.message), { code: answer.code }), answer.message)
        )
      case "Delay":
        return Effect.andThen(
          Effect.raceFirst(Effect.sleep(answer.delay), failWhenAborted(request, signal)),
          play(answer.then, request, signal)
        )
      case "Hang":
        return failWhenAborted(request, signal)
      case "BrokenBody": {
        const first = new TextEncoder().encode(Core.brokenBodyStart)
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(first)
            if (!answer.stalls) controller.error(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
          }
        })
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(body, { status: answer.status, headers: answer.headers })
        ))
      }
    }
  }

  const client = HttpClient.make((request, url, signal) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      seen.push({
        at,
        method: request.method,
        url: url.toString(),
        path: url.pathname,
        headers: { ...request.headers },
        body: bodyText(request)
      })
      return play(next(url.pathname), request, signal)
    })
  )

  return {
    client,
    layer: Layer.succeed(HttpClient.HttpClient, client),
    requests: () => seen.slice(),
    script
  }
}

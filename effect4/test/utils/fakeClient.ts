import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import { failWhenAborted } from "../../src/internal/aborted.js"

export interface SeenCall {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

export type Answer =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly body?: unknown
    readonly headers?: Record<string, string> | undefined
  }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "DnsFailure" }
  | { readonly _tag: "After"; readonly millis: number; readonly answer: Answer }

/** An answer with this status (and JSON body); `headers` are added to the response's. */
export const status = (status: number, body?: unknown, headers?: Record<string, string>): Answer => ({
  _tag: "Status",
  status,
  body,
  headers
})
/** The connection was refused: a `TransportError` reason whose cause is Node's `ECONNREFUSED`. */
export const refused: Answer = { _tag: "Refused" }
/** Never answers (until the request is aborted). */
export const hang: Answer = { _tag: "Hang" }
/** The connection was reset after the request was sent: a `TransportError` reason, cause `ECONNRESET`. */
export const reset: Answer = { _tag: "Reset" }
/** The host name did not resolve: a `TransportError` reason, cause `ENOTFOUND` from `getaddrinfo`. */
export const dnsFailure: Answer = { _tag: "DnsFailure" }
/** `answer`, after `delay` on the Clock (an abort meanwhile fails the request, as `hang` does). */
export const after = (delay: Duration.Input, answer: Answer): Answer => ({
  _tag: "After",
  millis: Duration.toMillis(Duration.fromInputUnsafe(delay)),
  answer
})

/** A Node system error as the platform's clients report it in a `TransportError`'s cause. */
const systemError = (message: string, code: string, syscall?: string) =>
  Object.assign(new Error(message), { code, ...(syscall !== undefined ? { syscall } : {}) })

/**
 * A fake transport: answers each request with the next scripted answer (the last repeats),
 * records what it saw and when (on the Clock), and honours the abort signal on hangs and
 * delayed answers, as the platform's clients do. `inFlight` and `peakInFlight` count requests
 * that have not been answered yet.
 */
export const makeFake = (...answers: ReadonlyArray<Answer>) => {
  const calls: Array<SeenCall> = []
  let script = answers
  let inFlight = 0
  let peakInFlight = 0

  const respond = (
    request: HttpClientRequest.HttpClientRequest,
    signal: AbortSignal,
    answer: Answer
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const transport = (cause: unknown) =>
      Effect.fail(
        new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })
      )
    switch (answer._tag) {
      case "Status":
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
            status: answer.status,
            headers: { "content-type": "application/json", ...answer.headers }
          })
        ))
      case "Refused":
        return transport(systemError("ECONNREFUSED", "ECONNREFUSED", "connect"))
      case "Reset":
        return transport(systemError("read ECONNRESET", "ECONNRESET", "read"))
      case "DnsFailure":
        return transport(systemError("getaddrinfo ENOTFOUND chroma", "ENOTFOUND", "getaddrinfo"))
      case "Hang":
        return failWhenAborted(request, signal)
      case "After":
        return Effect.raceFirst(
          Effect.andThen(Effect.sleep(Duration.millis(answer.millis)), respond(request, signal, answer.answer)),
          failWhenAborted(request, signal)
        )
    }
  }

  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url: URL, signal: AbortSignal) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      calls.push({ at, method: request.method, url: url.toString(), headers: { ...request.headers } })
      const answer = script[Math.min(calls.length - 1, script.length - 1)]!
      inFlight++
      peakInFlight = Math.max(peakInFlight, inFlight)
      return Effect.ensuring(
        respond(request, signal, answer),
        Effect.sync(() => {
          inFlight--
        })
      )
    })
  )
  return {
    calls,
    layer: Layer.succeed(HttpClient.HttpClient, client),
    script: (...next: ReadonlyArray<Answer>) => {
      script = next
    },
    inFlight: () => inFlight,
    peakInFlight: () => peakInFlight
  }
}

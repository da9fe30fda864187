import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface SeenCall {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

export type Answer =
  | { readonly _tag: "Status"; readonly status: number; readonly body?: unknown }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Hang" }

export const status = (status: number, body?: unknown): Answer => ({ _tag: "Status", status, body })
export const refused: Answer = { _tag: "Refused" }
export const hang: Answer = { _tag: "Hang" }

/**
 * A fake transport: answers each request with the next scripted answer (the last repeats),
 * records what it saw and when (on the Clock), and honours the abort signal on hangs, as the
 * platform's clients do.
 */
export const makeFake = (...answers: ReadonlyArray<Answer>) => {
  const calls: Array<SeenCall> = []
  let script = answers
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url: URL, signal: AbortSignal) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      calls.push({ at, method: request.method, url: url.toString(), headers: { ...request.headers } })
      const answer = script[Math.min(calls.length - 1, script.length - 1)]!
      switch (answer._tag) {
        case "Status":
          return Effect.succeed(HttpClientResponse.fromWeb(
            request,
            new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
              status: answer.status,
              headers: { "content-type": "application/json" }
            })
          ))
        case "Refused":
          return Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("ECONNREFUSED") })
          )
        case "Hang":
          return Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
            const onAbort = () =>
              resume(
                Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: signal.reason }))
              )
            if (signal.aborted) return onAbort()
            signal.addEventListener("abort", onAbort, { once: true })
            return Effect.sync(() => signal.removeEventListener("abort", onAbort))
          })
      }
    })
  )
  return {
    calls,
    layer: Layer.succeed(HttpClient.HttpClient, client),
    script: (...next: ReadonlyArray<Answer>) => {
      script = next
    }
  }
}

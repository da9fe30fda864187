/**
 * The span of a call, captured with a recording `Tracer`: one `effect-resilience.call` span per
 * call, with its attributes, and the platform's request spans (one per attempt, named by their method
 * in Effect 4) as its children.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/testing/TestClock"
import { ResilientServiceClient } from "../src/index.js"
import { makeFake, status } from "./utils/fakeClient.js"
import { makeRecordingTracer, type RecordedSpan } from "./utils/tracer.js"

const callSpanName = "effect-resilience.call"

const attributesOf = (span: RecordedSpan) => Object.fromEntries(span.attributes)

describe("Tracing", () => {
  it.effect("a call that retried twice: one call span, attempts 3, three request spans under it", () => {
    const recorder = makeRecordingTracer()
    return Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003", serviceName: "Chroma Server" })
        .pipe(Effect.provide(fake.layer))
      const call = yield* Effect.forkChild(
        client.get("/query?limit=10").pipe(Effect.withSpan("handler"))
      )
      yield* TestClock.adjust("1 second") // attempt 2 at +1 s
      fake.script(status(200))
      yield* TestClock.adjust("2 seconds") // attempt 3 at +3 s
      expect((yield* Fiber.join(call)).status).toBe(200)
      expect(fake.calls.length).toBe(3)

      const calls = recorder.named(callSpanName)
      expect(calls.length).toBe(1)
      const span = calls[0]!
      expect(span.kind).toBe("client")
      expect(attributesOf(span)).toEqual({
        "resilience.service": "Chroma Server",
        "http.request.method": "GET",
        "url.path": "/query",
        "resilience.attempts": 3,
        "resilience.outcome": "success",
        "resilience.breaker.state": "closed"
      })
      expect(span.status._tag).toBe("Ended")
      if (span.status._tag === "Ended") expect(Exit.isSuccess(span.status.exit)).toBe(true)

      // the call span sits under the caller's span
      const handler = recorder.named("handler")[0]!
      expect(Option.map(span.parent, (p) => p.spanId)).toEqual(Option.some(handler.spanId))

      // the platform's request spans, one per attempt, are children of the call span
      const requests = recorder.named("GET")
      expect(requests.length).toBe(3)
      expect(recorder.childrenOf(span).filter((child) => child.name === "GET")).toEqual(requests)
      expect(requests.map((r) => r.attributes.get("http.response.status_code"))).toEqual([503, 503, 200])
      expect(requests.every((r) => r.traceId === span.traceId)).toBe(true)
    }).pipe(Effect.withTracer(recorder.tracer))
  })

  it.effect("one call span per call; a failure that opens the breaker, then a rejected call", () => {
    const recorder = makeRecordingTracer()
    return Effect.gen(function*() {
      const fake = makeFake(status(500))
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://billing:8080",
        serviceName: "Billing",
        maxAttempts: 1,
        failureThreshold: 1
      }).pipe(Effect.provide(fake.layer))

      expect((yield* Effect.flip(client.get("/invoices")))._tag).toBe("HttpClientError")
      expect((yield* Effect.flip(client.delete("/invoices/7")))._tag).toBe("ServiceUnavailable")
      expect(fake.calls.length).toBe(1)

      const [failed, rejected] = recorder.named(callSpanName)
      expect(recorder.named(callSpanName).length).toBe(2)
      expect(attributesOf(failed!)).toEqual({
        "resilience.service": "Billing",
        "http.request.method": "GET",
        "url.path": "/invoices",
        "resilience.attempts": 1,
        "resilience.outcome": "failure",
        "resilience.breaker.state": "open"
      })
      expect(recorder.childrenOf(failed!).map((child) => child.name)).toEqual(["GET"])

      expect(attributesOf(rejected!)).toMatchObject({
        "resilience.service": "Billing",
        "http.request.method": "DELETE",
        "url.path": "/invoices/7",
        "resilience.outcome": "rejected",
        "resilience.breaker.state": "open"
      })
      // the breaker refused it: no request was made, so no platform span under it
      expect(recorder.childrenOf(rejected!)).toEqual([])
      expect(recorder.named("DELETE")).toEqual([])
      for (const span of [failed!, rejected!]) {
        expect(span.status._tag).toBe("Ended")
        if (span.status._tag === "Ended") expect(Exit.isFailure(span.status.exit)).toBe(true)
      }
    }).pipe(Effect.withTracer(recorder.tracer))
  })

  it.effect("the httpClient view of the client opens the same call span", () => {
    const recorder = makeRecordingTracer()
    return Effect.gen(function*() {
      const fake = makeFake(status(204))
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://auth:5000", serviceName: "Auth" })
        .pipe(Effect.provide(fake.layer))
      yield* client.httpClient.get("/session")
      const calls = recorder.named(callSpanName)
      expect(calls.length).toBe(1)
      expect(attributesOf(calls[0]!)).toMatchObject({
        "resilience.service": "Auth",
        "http.request.method": "GET",
        "url.path": "/session",
        "resilience.attempts": 1,
        "resilience.outcome": "success"
      })
      expect(recorder.childrenOf(calls[0]!).map((child) => child.name)).toEqual(["GET"])
    }).pipe(Effect.withTracer(recorder.tracer))
  })
})

describe("Tracing under Effect's native tracer", () => {
  it.effect("makes no call span: the request span's parent is the caller's own span", () =>
    Effect.gen(function*() {
      const parents: Array<string> = []
      const transport = HttpClient.make((request) =>
        Effect.map(Effect.currentSpan, (span) => {
          parents.push(span.parent._tag === "Some" && span.parent.value._tag === "Span" ? span.parent.value.name : "")
          return HttpClientResponse.fromWeb(request, new Response(null, { status: 200 }))
        }).pipe(Effect.orDie)
      )
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://svc:1" }).pipe(
        Effect.provide(Layer.succeed(HttpClient.HttpClient, transport))
      )
      yield* client.get("/x").pipe(Effect.withSpan("caller"))
      expect(parents).toEqual(["caller"])
    }))
})

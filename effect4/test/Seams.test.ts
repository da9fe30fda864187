/**
 * The seams where the client meets its transport and an attempt its body, ported from the Effect
 * 3 edition's test/Seams.test.ts (its blocks about the client; the blocks about the breaker's
 * timers and store are the breaker's). Each block answers one defect found in review, numbered
 * as in the issue that listed them; each test fails on the code that had the defect.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { ResilientServiceClient } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { issuesOf } from "./utils/configErrors.js"
import { rawServer } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"
import { makeRecordingTracer } from "./utils/tracer.js"

const baseUrl = "http://upstream.test"

/** An `HttpClient` whose every request runs `respond`, which ignores the abort signal. */
const transport = (
  respond: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError
  >
) => {
  let requests = 0
  const client = HttpClient.make((request) =>
    Effect.suspend(() => {
      requests++
      return respond(request)
    })
  )
  return { layer: Layer.succeed(HttpClient.HttpClient, client), requests: () => requests }
}

const ok = (request: HttpClientRequest.HttpClientRequest) =>
  HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 }))

/** Runs `self` with its log lines kept out of the test output. */
const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => makeLogCapture().provide(self)

/** The reason of a client error that is an `HttpClientError` (else `undefined`). */
const reasonOf = (error: ResilientServiceClient.ClientError) =>
  error._tag === "HttpClientError" ? error.reason : undefined

/** A client made with these options on `NodeHttpClient.layerUndici`, given to `use`, in a scope of its own. */
const withUndiciClient = <A, E>(
  options: ResilientServiceClient.Options,
  use: (client: ResilientServiceClient.ResilientServiceClient) => Effect.Effect<A, E>
) =>
  Effect.scoped(Effect.flatMap(ResilientServiceClient.make(options), use)).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

describe("1. an attempt's timeout fires whatever the transport does with its AbortSignal", () => {
  it.effect("a transport that sleeps an hour and never looks at the signal times out at 1 s", () =>
    Effect.gen(function*() {
      const upstream = transport((request) => Effect.as(Effect.sleep("1 hour"), ok(request)))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(quiet(client.get("/slow")))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(call)
      expect(Exit.isFailure(exit) && Cause.isTimeoutError(Cause.squash(exit.cause))).toBe(true)
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.effect("a call made where interruption is masked (acquiring a resource) times out too", () =>
    Effect.gen(function*() {
      const upstream = transport((request) => Effect.as(Effect.sleep("1 hour"), ok(request)))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const acquiring = yield* Effect.forkChild(Effect.uninterruptible(Effect.exit(quiet(client.get("/slow")))))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(acquiring)
      expect(Exit.isFailure(exit) && Cause.isTimeoutError(Cause.squash(exit.cause))).toBe(true)
    }))

  it.effect("a transport that never resumes and gives no canceller times out too", () =>
    Effect.gen(function*() {
      const upstream = transport(() => Effect.callback<never>(() => {}))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 2 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(quiet(client.get("/never")))
      yield* TestClock.adjust("3 seconds") // 1 s, the 1 s backoff, 1 s
      const error = yield* Effect.flip(Fiber.join(call))
      expect(Cause.isTimeoutError(error)).toBe(true)
      expect(upstream.requests()).toBe(2)
    }))

  it.effect("Testing.delayed(\"1 hour\") under a 1 second timeout fails at 1 s", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.delayed("1 hour", Testing.json(200, {})) })
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(quiet(client.get("/slow")))
      yield* TestClock.adjust("1 second")
      expect(call.pollUnsafe()).toBeDefined()
      expect(Cause.isTimeoutError(yield* Effect.flip(Fiber.join(call)))).toBe(true)
    }))

  it.effect("Testing.delayed honours the abort signal: an aborted request stops waiting at once", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.delayed("1 hour", Testing.json(200, {})) })
      const scope = yield* Scope.make()
      const request = HttpClient.withScope(upstream.client).get(`${baseUrl}/slow`)
      const call = yield* Effect.forkChild(Effect.provideService(request, Scope.Scope, scope))
      yield* TestClock.adjust(0)
      yield* Scope.close(scope, Exit.void) // aborts the request
      const error = yield* Effect.flip(Fiber.join(call))
      expect(error.reason._tag).toBe("TransportError")
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))
})

describe("2. closing a client's scope ends its calls", () => {
  it.effect("a call waiting out a backoff and a call queued in the bulkhead end when the scope closes", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/refused": Testing.refused, "/hang": Testing.hang })
      const scope = yield* Scope.make()
      const client = yield* Scope.provide(
        ResilientServiceClient.make({ baseUrl, backoff: "1 hour", maxConcurrent: 1, maxQueued: 1 }),
        scope
      ).pipe(Effect.provide(upstream.layer))
      const backingOff = yield* Effect.forkChild(quiet(client.get("/refused")))
      yield* TestClock.adjust(0) // attempt 1 failed: it waits an hour; it holds the only place
      const queued = yield* Effect.forkChild(quiet(client.get("/hang")))
      yield* TestClock.adjust(0)
      expect(queued.pollUnsafe()).toBeUndefined()
      yield* Scope.close(scope, Exit.void)
      expect(Exit.hasInterrupts(yield* Fiber.await(backingOff))).toBe(true)
      expect(Exit.hasInterrupts(yield* Fiber.await(queued))).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      expect(upstream.requests().map((r) => r.path)).toEqual(["/refused"])
    }))
})

describe("an attempt is the request and its body", () => {
  it.effect("a body that stalls is a timed-out attempt: retried, counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": [Testing.stalledBody(200), Testing.json(200, { ok: true })] })
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second" })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(quiet(client.get("/q")))
      yield* TestClock.adjust("1 second") // the body of attempt 1 never ends
      expect((yield* client.status).failureCount).toBe(1)
      yield* TestClock.adjust("1 second") // backoff
      const response = yield* Fiber.join(call)
      expect(yield* response.json).toEqual({ ok: true })
      expect(upstream.requests().length).toBe(2)
    }))

  it.effect("a body that breaks off is a transport failure: retried, counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.brokenBody(200) })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxAttempts: 2, backoff: "1 millis" })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(quiet(client.get("/q")))
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(call))
      expect(reasonOf(error)?._tag).toBe("TransportError")
      expect(upstream.requests().length).toBe(2)
      expect((yield* client.status).failureCount).toBe(2)
    }))

  it.effect("the response comes back read: its body can be read again, as JSON and as text", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.json(200, { results: [1, 2] }) })
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(upstream.layer))
      const response = yield* client.get("/q")
      expect(yield* response.json).toEqual({ results: [1, 2] })
      expect(yield* response.text).toBe("{\"results\":[1,2]}")
      expect(new Uint8Array(yield* response.arrayBuffer).length).toBe(17)
      const decoded = yield* HttpIncomingMessage.schemaBodyJson(
        Schema.Struct({ results: Schema.Array(Schema.Number) })
      )(response)
      expect(decoded.results).toEqual([1, 2])
    }))

  it.effect("a body longer than maxResponseBytes fails with a clear DecodeError, neither retried nor counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/announced": Testing.text(200, "x".repeat(2_000)),
        "/streamed": Testing.text(200, "x".repeat(2_000), { "transfer-encoding": "chunked" })
      })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxResponseBytes: 1_000 })
        .pipe(Effect.provide(upstream.layer))
      for (const path of ["/announced", "/streamed"]) {
        const error = yield* Effect.flip(quiet(client.get(path)))
        expect(reasonOf(error)?._tag).toBe("DecodeError")
        expect(error.message).toContain("longer than maxResponseBytes (1000 bytes)")
      }
      expect(upstream.requests().length).toBe(2)
      expect((yield* client.status).failureCount).toBe(0)
      // a call that streams is not limited
      const streamed = yield* client.get("/streamed", { stream: true })
      expect((yield* streamed.text).length).toBe(2_000)
      const invalid = yield* Effect.flip(
        ResilientServiceClient.make({ baseUrl, maxResponseBytes: 0 }).pipe(Effect.provide(upstream.layer))
      )
      expect(issuesOf(invalid)).toEqual([{
        path: ["maxResponseBytes"],
        message: "[upstream.test:80] maxResponseBytes must be a positive integer, got 0"
      }])
    }))

  it.effect("a streamed call's body read is bounded by what is left of its deadline", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.stalledBody(200) })
      const client = yield* ResilientServiceClient.make({ baseUrl, deadline: "2 seconds" })
        .pipe(Effect.provide(upstream.layer))
      const response = yield* client.get("/q", { stream: true })
      const read = yield* Effect.forkChild(response.text)
      yield* TestClock.adjust("1999 millis")
      expect(read.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(read))
      expect(error.message).toContain("Deadline of 2s exceeded while reading the body")
    }))
})

describe("three outcomes, one judge: what a probe's end does to a half_open breaker", () => {
  const halfOpen = (answer: Testing.Answer, options: Partial<ResilientServiceClient.Options> = {}) =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/down": Testing.refused, "/probe": answer })
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds",
        ...options
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.exit(quiet(client.get("/down")))
      yield* TestClock.adjust("10 seconds")
      expect(yield* client.breaker.state).toBe("half_open")
      return { client, upstream }
    })

  it.effect("3. a probe cut by the call's deadline against a hanging upstream opens it again, never closes it", () =>
    Effect.gen(function*() {
      const { client } = yield* halfOpen(Testing.hang)
      const probe = yield* Effect.forkChild(quiet(client.get("/probe", { deadline: "800 millis" })))
      yield* TestClock.adjust("800 millis")
      expect(Cause.isTimeoutError(yield* Effect.flip(Fiber.join(probe)))).toBe(true)
      expect(yield* client.breaker.state).toBe("open")
    }))

  it.effect("3. a probe that was never sent (InvalidUrl) gives its permit back and never closes it", () =>
    Effect.gen(function*() {
      const { client, upstream } = yield* halfOpen(Testing.json(200, {}))
      const error = yield* Effect.flip(quiet(client.execute(HttpClientRequest.get("http://[::1/bad"))))
      expect(reasonOf(error)?._tag).toBe("InvalidUrlError")
      expect(yield* client.breaker.state).toBe("half_open")
      // the permit came back: the next call is the probe, and it closes the breaker
      yield* client.get("/probe")
      expect(yield* client.breaker.state).toBe("closed")
      expect(upstream.requests().map((r) => r.path)).toEqual(["/down", "/probe"])
    }))

  it.effect("3. a probe whose body could not be encoded by the transport says nothing either", () =>
    Effect.gen(function*() {
      let encodeFails = false
      const flaky = transport((request) =>
        Effect.fail(
          new HttpClientError.HttpClientError({
            reason: encodeFails
              ? new HttpClientError.EncodeError({ request, cause: new Error("bad body") })
              : new HttpClientError.TransportError({ request, cause: new Error("down") })
          })
        )
      )
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds"
      }).pipe(Effect.provide(flaky.layer))
      yield* Effect.exit(quiet(client.get("/")))
      yield* TestClock.adjust("10 seconds")
      encodeFails = true
      const error = yield* Effect.flip(quiet(client.post("/", { body: undefined })))
      expect(reasonOf(error)?._tag).toBe("EncodeError")
      expect(yield* client.breaker.state).toBe("half_open")
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.effect("4. under a deadline shorter than the timeout, a hanging upstream still opens the breaker", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.hang })
      const client = yield* ResilientServiceClient.make({ baseUrl, failureThreshold: 2, deadline: "800 millis" })
        .pipe(Effect.provide(upstream.layer))
      for (let i = 0; i < 5; i++) {
        const call = yield* Effect.forkChild(quiet(client.get("/search")))
        yield* TestClock.adjust("800 millis")
        yield* Effect.exit(Fiber.join(call))
      }
      expect(yield* client.breaker.state).toBe("open")
      // the first two calls, each one attempt of 800 ms, opened it; the rest were rejected
      expect(upstream.requests().length).toBe(2)
    }))
})

describe("bad input is an error, never a defect, and never leaks a secret", () => {
  it.live("9. a status outside 200–599 is a StatusCodeError, not a defect", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.end("HTTP/1.1 999 Strange\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi")
      })
      const error = yield* withUndiciClient({ baseUrl: server.url, maxAttempts: 1 }, (client) =>
        Effect.flip(quiet(client.get("/odd"))))
      expect(reasonOf(error)?._tag).toBe("StatusCodeError")
      expect(error._tag === "HttpClientError" && error.response?.status).toBe(999)
      expect(error.message).toContain("invalid status code 999")
    }))

  it.effect("10. a malformed percent-encoding in the base URL's userinfo is a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(ResilientServiceClient.make({ baseUrl: "http://us%zzer:pw@chroma:6003" })).pipe(
          Effect.provide(Testing.fakeUpstream().layer)
        )
      )
      expect(issuesOf(error)).toEqual([{
        path: ["baseUrl"],
        message: "[chroma:6003] baseUrl has a malformed percent-encoding (%XX) in its user or password"
      }])
    }))

  it.effect("11. credentials in an absolute URL given to execute reach no log line or span attribute", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const { spans, tracer } = makeRecordingTracer()
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200, {}) })
      yield* logs.provide(Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003", maxAttempts: 1 })
          .pipe(Effect.provide(upstream.layer))
        yield* client.execute(HttpClientRequest.get("http://admin:s3cret@other:81/x")).pipe(
          Effect.withTracer(tracer)
        )
        // a URL that cannot even be parsed keeps its credentials to itself too
        const invalid = yield* Effect.flip(
          client.execute(HttpClientRequest.get("http://admin:s3cret@[::1/x")).pipe(Effect.withTracer(tracer))
        )
        expect(invalid.message).not.toContain("s3cret")
      }))
      const attributes = spans.flatMap((span) =>
        Array.from(span.attributes, ([key, value]) => `${key}=${String(value)}`)
      )
      const [seen] = upstream.requests()
      expect(seen!.url).toBe("http://other:81/x")
      expect(seen!.headers.authorization).toBe(`Basic ${btoa("admin:s3cret")}`)
      const printed = [...logs.messages(), ...attributes].join("\n")
      expect(attributes.length).toBeGreaterThan(0)
      expect(printed).not.toContain("s3cret")
    }))

  it.effect("12. an invalid call option fails the call with an IllegalArgumentError naming it", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200, {}) })
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(upstream.layer))
      const bad = yield* Effect.flip(client.get("/q", { timeout: "5 secs" as Duration.Input }))
      expect(Cause.isIllegalArgumentError(bad)).toBe(true)
      expect(bad.message).toBe(
        "Invalid call option timeout: must be a duration such as \"5 seconds\" or a number of milliseconds, got \"5 secs\""
      )
      const negative = yield* Effect.flip(client.execute(HttpClientRequest.get("/q"), { deadline: -1 }))
      expect(negative.message).toContain("Invalid call option deadline: must be a positive, finite duration")
      const scoped = yield* Effect.flip(
        client.httpClient.get("/q").pipe(ResilientServiceClient.withTimeout("soon" as Duration.Input))
      )
      expect(scoped.message).toContain("Invalid call option timeout")
      expect(upstream.requests().length).toBe(0)
    }))

  it.effect("12. a per-call timeout and deadline work on execute and on httpClient", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.hang })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxAttempts: 1 }).pipe(
        Effect.provide(upstream.layer)
      )
      const viaExecute = yield* Effect.forkChild(
        quiet(client.execute(HttpClientRequest.get("/a"), { timeout: "2 seconds" }))
      )
      const viaHttpClient = yield* Effect.forkChild(
        quiet(client.httpClient.get("/b")).pipe(ResilientServiceClient.withDeadline("3 seconds"))
      )
      const nested = yield* Effect.forkChild(
        quiet(client.httpClient.get("/c")).pipe(
          ResilientServiceClient.withTimeout("1 second"),
          ResilientServiceClient.withTimeout("30 seconds") // the inner one wins
        )
      )
      yield* TestClock.adjust("1 second")
      expect(nested.pollUnsafe()).toBeDefined()
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(Fiber.join(viaExecute))).message).toBe("Timed out after 2s")
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(Fiber.join(viaHttpClient))).message).toBe(
        "Deadline of 3s exceeded during an attempt"
      )
    }))
})

import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as TestClock from "effect/testing/TestClock"
import { ResilientServiceClient } from "../src/index.js"
import * as Testing from "../src/Testing.js"

// the example of docs/testing.md registers its own test: the doc and the test are one
import "../examples/docs/testing-fallback.js"

/** The fake upstream asked directly, as any `HttpClient`: what a transport would answer. */
describe("effect-resilience/testing, as a plain HttpClient", () => {
  it.effect("answers in order per path, the last one repeating, and records what it saw", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/a": [Testing.json(503), Testing.json(200, { ok: true })],
        "*": Testing.text(418, "teapot")
      })
      const client = upstream.client
      yield* TestClock.adjust("2 seconds")
      const first = yield* client.execute(
        HttpClientRequest.post("http://svc:1/a").pipe(
          HttpClientRequest.bodyJsonUnsafe({ n: 1 }),
          HttpClientRequest.setHeader("x-id", "7")
        )
      )
      expect(first.status).toBe(503)
      expect(first.headers["content-type"]).toBe("application/json")
      yield* TestClock.adjust("1 second")
      const second = yield* client.get("http://svc:1/a")
      expect(second.status).toBe(200)
      expect(yield* second.json).toEqual({ ok: true })
      // the last answer repeats
      expect((yield* client.get("http://svc:1/a")).status).toBe(200)
      const other = yield* client.get("http://svc:1/b?x=1")
      expect([other.status, yield* other.text, other.headers["content-type"]]).toEqual([418, "teapot", "text/plain"])

      const seen = upstream.requests()
      expect(seen.map((r) => [r.method, r.path, r.at])).toEqual([
        ["POST", "/a", 2000],
        ["GET", "/a", 3000],
        ["GET", "/a", 3000],
        ["GET", "/b", 3000]
      ])
      expect(seen[0]!.body).toBe("{\"n\":1}")
      expect(seen[0]!.headers["x-id"]).toBe("7")
      expect(seen[3]!.url).toBe("http://svc:1/b?x=1")
      expect(seen[1]!.body).toBeUndefined()

      // a new script for a path starts its answers again; other paths keep theirs
      upstream.script({ "/a": [Testing.json(201), Testing.json(202)] })
      expect((yield* client.get("http://svc:1/a")).status).toBe(201)
      expect((yield* client.get("http://svc:1/a")).status).toBe(202)
      expect((yield* client.get("http://svc:1/c")).status).toBe(418)
    }))

  it.effect("a path with no script answers 404 with a JSON body naming it", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/a": Testing.json(200) })
      const response = yield* upstream.client.get("http://svc:1/missing")
      expect(response.status).toBe(404)
      expect(yield* response.json).toEqual({ error: "no script for /missing" })
      const empty = yield* upstream.client.get("http://svc:1/a")
      expect(yield* empty.text).toBe("")
    }))

  it.effect("the layer provides it as the HttpClient", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/ping": Testing.text(200, "pong") })
      const body = yield* HttpClient.get("http://svc:1/ping").pipe(
        Effect.flatMap((response) => response.text),
        Effect.provide(upstream.layer)
      )
      expect(body).toBe("pong")
      expect(upstream.requests()).toHaveLength(1)
    }))

  it.effect("transport answers fail with an HttpClientError whose reason is a TransportError, with the code", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/refused": Testing.refused,
        "/reset": Testing.reset,
        "/nxdomain": Testing.unresolvable
      })
      for (const [path, code] of [["/refused", "ECONNREFUSED"], ["/reset", "ECONNRESET"], ["/nxdomain", "ENOTFOUND"]]) {
        const error = yield* Effect.flip(upstream.client.get(`http://svc:1${path}`))
        expect(error._tag).toBe("HttpClientError")
        expect(error.reason._tag, path).toBe("TransportError")
        expect((error.reason.cause as { code?: unknown }).code, path).toBe(code)
      }
    }))

  it.effect("a delay runs on the Clock", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.delayed("4 seconds", Testing.json(200)) })
      const slow = yield* Effect.forkChild(upstream.client.get("http://svc:1/slow"))
      yield* TestClock.adjust("3999 millis")
      expect(slow.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(slow)).status).toBe(200)
      expect(upstream.requests().map((r) => r.at)).toEqual([0])
    }))

  it.effect("a hang ends only with a timeout (or an interruption)", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/hang": Testing.hang })
      const hung = yield* Effect.forkChild(
        upstream.client.get("http://svc:1/hang").pipe(Effect.timeout("5 seconds"))
      )
      yield* TestClock.adjust("4999 millis")
      expect(hung.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      expect(Cause.isTimeoutError(yield* Effect.flip(Fiber.join(hung)))).toBe(true)
    }))

  it.effect("stalledBody sends its headers, then a body that never ends; brokenBody's breaks off", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/stalled": Testing.stalledBody(200, { "x-a": "1" }),
        "/broken": Testing.brokenBody(502)
      })
      const stalled = yield* upstream.client.get("http://svc:1/stalled")
      expect([stalled.status, stalled.headers["x-a"], stalled.headers["content-type"]]).toEqual([
        200,
        "1",
        "application/json"
      ])
      const reading = yield* Effect.forkChild(stalled.text.pipe(Effect.timeout("10 seconds")))
      yield* TestClock.adjust("10 seconds")
      expect(Cause.isTimeoutError(yield* Effect.flip(Fiber.join(reading)))).toBe(true)

      const broken = yield* upstream.client.get("http://svc:1/broken")
      expect(broken.status).toBe(502)
      const error = yield* Effect.flip(broken.text)
      expect(error._tag).toBe("HttpClientError")
      expect(error.reason._tag).toBe("DecodeError")
    }))
})

describe("effect-resilience/testing, under a ResilientServiceClient", () => {
  it.effect("answers in order per path, the last one repeating, and records what it saw", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/a": [Testing.json(503), Testing.json(200, { ok: true })],
        "*": Testing.text(418, "teapot")
      })
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://svc:1", backoff: "1 second" }).pipe(
        Effect.provide(upstream.layer)
      )
      const fiber = yield* Effect.forkChild(client.post("/a", { json: { n: 1 }, headers: { "x-id": "7" } }))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flatMap(Fiber.join(fiber), (r) => r.json)).toEqual({ ok: true })
      const other = yield* Effect.flip(client.get("/b"))
      expect(other._tag === "HttpClientError" && other.reason._tag).toBe("StatusCodeError")
      const seen = upstream.requests()
      expect(seen.map((r) => [r.method, r.path, r.at])).toEqual([
        ["POST", "/a", 0],
        ["POST", "/a", 1000],
        ["GET", "/b", 1000]
      ])
      expect(seen[0]!.body).toBe("{\"n\":1}")
      expect(seen[0]!.headers["x-id"]).toBe("7")
      upstream.script({ "/a": Testing.json(201) })
      expect((yield* client.get("/a")).status).toBe(201)
    }))

  it.effect("delays run on the Clock and hangs end with the client's attempt timeout", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/slow": Testing.delayed("4 seconds", Testing.json(200)),
        "/hang": Testing.hang,
        "/reset": Testing.reset
      })
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://svc:1",
        timeout: "5 seconds",
        maxAttempts: 1
      }).pipe(Effect.provide(upstream.layer))
      const slow = yield* Effect.forkChild(client.get("/slow"))
      yield* TestClock.adjust("4 seconds")
      expect((yield* Fiber.join(slow)).status).toBe(200)
      const hung = yield* Effect.forkChild(client.get("/hang"))
      yield* TestClock.adjust("5 seconds")
      expect(Cause.isTimeoutError(yield* Effect.flip(Fiber.join(hung)))).toBe(true)
      const reset = yield* Effect.flip(client.get("/reset"))
      expect(reset._tag === "HttpClientError" && reset.reason._tag).toBe("TransportError")
    }))

  it.effect("stalledBody times the attempt out; brokenBody fails it; both are retried", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/stalled": [Testing.stalledBody(200), Testing.json(200, { ok: 1 })],
        "/broken": [Testing.brokenBody(200), Testing.json(200, { ok: 2 })]
      })
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://svc:1",
        timeout: "5 seconds",
        backoff: "1 second"
      }).pipe(Effect.provide(upstream.layer))
      const stalled = yield* Effect.forkChild(Effect.flatMap(client.get("/stalled"), (r) => r.json))
      yield* TestClock.adjust("5 seconds") // the first attempt's body never ends: timed out
      yield* TestClock.adjust("1 second") // the backoff, then the second attempt answers
      expect(yield* Fiber.join(stalled)).toEqual({ ok: 1 })
      const broken = yield* Effect.forkChild(Effect.flatMap(client.get("/broken"), (r) => r.json))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(broken)).toEqual({ ok: 2 })
      expect(upstream.requests().map((r) => [r.path, r.at])).toEqual([
        ["/stalled", 0],
        ["/stalled", 6000],
        ["/broken", 6000],
        ["/broken", 7000]
      ])
      // with one attempt, the broken body is what the caller sees: a transport error, the reset as its cause
      upstream.script({ "/broken": Testing.brokenBody(200) })
      const once = yield* ResilientServiceClient.make({ baseUrl: "http://svc:1", maxAttempts: 1 }).pipe(
        Effect.provide(upstream.layer)
      )
      const error = yield* Effect.flip(once.get("/broken"))
      expect(error._tag === "HttpClientError" && error.reason._tag).toBe("TransportError")
      expect(error._tag === "HttpClientError" && (error.reason.cause as { code?: unknown }).code).toBe("ECONNRESET")
    }))
})

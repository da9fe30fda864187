import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { ResilientServiceClient } from "../src/index.js"
import * as Testing from "../src/Testing.js"

// the example of docs/testing.md registers its own test: the doc and the test are one
import "../examples/testing-fallback.js"

describe("effect-resilience/testing", () => {
  it.scoped("answers in order per path, the last one repeating, and records what it saw", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/a": [Testing.json(503), Testing.json(200, { ok: true })],
        "*": Testing.text(418, "teapot")
      })
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://svc:1", backoff: "1 second" }).pipe(
        Effect.provide(upstream.layer)
      )
      const fiber = yield* Effect.fork(client.post("/a", { json: { n: 1 }, headers: { "x-id": "7" } }))
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flatMap(Fiber.join(fiber), (r) => r.json)).toEqual({ ok: true })
      const other = yield* Effect.flip(client.get("/b"))
      expect(other._tag).toBe("ResponseError")
      const seen = upstream.requests()
      expect(seen.map((r) => [r.method, r.path, r.at])).toEqual([["POST", "/a", 0], ["POST", "/a", 1000], [
        "GET",
        "/b",
        1000
      ]])
      expect(seen[0]!.body).toBe("{\"n\":1}")
      expect(seen[0]!.headers["x-id"]).toBe("7")
      upstream.script({ "/a": Testing.json(201) })
      expect((yield* client.get("/a")).status).toBe(201)
    }))

  it.scoped("delays run on the Clock and hangs end with the client's attempt timeout", () =>
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
      })
        .pipe(Effect.provide(upstream.layer))
      const slow = yield* Effect.fork(client.get("/slow"))
      yield* TestClock.adjust("4 seconds")
      expect((yield* Fiber.join(slow)).status).toBe(200)
      const hung = yield* Effect.fork(client.get("/hang"))
      yield* TestClock.adjust("5 seconds")
      expect(Cause.isTimeoutException(yield* Effect.flip(Fiber.join(hung)))).toBe(true)
      const reset = yield* Effect.flip(client.get("/reset"))
      expect(reset._tag === "RequestError" && reset.reason === "Transport").toBe(true)
    }))
})

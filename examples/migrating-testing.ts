import { expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { ResilientServiceClient } from "../src/index.js"
import * as Testing from "../src/Testing.js"

// mock failure: every connection is refused
it.scoped("a failing service ends in ServiceUnavailable", () =>
  Effect.gen(function*() {
    const upstream = Testing.fakeUpstream({ "/endpoint": Testing.refused })
    const client = yield* ResilientServiceClient.make({ baseUrl: "http://service:8080", failureThreshold: 3 }).pipe(
      Effect.provide(upstream.layer)
    )
    // three attempts, 1 s and 2 s apart: the third failure opens the breaker
    const first = yield* Effect.fork(Effect.flip(client.post("/endpoint")))
    yield* TestClock.adjust("3 seconds")
    expect((yield* Fiber.join(first))._tag).toBe("RequestError")
    // the next call is rejected at once, without a request
    const second = yield* Effect.flip(client.post("/endpoint"))
    expect(second._tag).toBe("ServiceUnavailable")
    expect(upstream.requests()).toHaveLength(3)
  }))

// mock success: the service answers 200
it.scoped("a healthy service answers", () =>
  Effect.gen(function*() {
    const upstream = Testing.fakeUpstream({ "/endpoint": Testing.json(200, { ok: true }) })
    const client = yield* ResilientServiceClient.make({ baseUrl: "http://service:8080" }).pipe(
      Effect.provide(upstream.layer)
    )
    const response = yield* client.post("/endpoint")
    expect(response.status).toBe(200)
    expect(yield* response.json).toEqual({ ok: true })
  }))

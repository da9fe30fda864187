import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { json, makeServer, refusedPort } from "../utils/server.js"

// The test server itself: a real server on 127.0.0.1 that records what it was sent.
describe("test server (test/utils/server.ts)", () => {
  it.live("listens on 127.0.0.1, records the request and its body, counts connections", () =>
    Effect.gen(function*() {
      const server = yield* makeServer(json(201, { ok: true }))
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
      const response = yield* Effect.promise(() => fetch(`${server.url}/a?b=1`, { method: "POST", body: "hello" }))
      expect(response.status).toBe(201)
      expect(yield* Effect.promise(() => response.json())).toEqual({ ok: true })
      expect(server.requests).toHaveLength(1)
      expect(server.requests[0]).toMatchObject({ method: "POST", url: "/a?b=1", body: "hello" })
      expect(server.accepted()).toBe(1)
    }))

  it.live("refusedPort gives a port where nothing listens", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const error = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (e: unknown) => e)
      )
      expect(error).toBeInstanceOf(TypeError)
    }))
})

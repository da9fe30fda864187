// docs/testing.md, the fallback example; test/Testing.test.ts imports it, so it also runs as a test.
import { expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as TestClock from "effect/testing/TestClock"
import { ResilientServiceClient } from "../../src/index.js"
import * as Testing from "../../src/Testing.js"

const search = (chroma: ResilientServiceClient.ResilientServiceClient, q: string) =>
  chroma.post("/query", { json: { q } }).pipe(
    Effect.flatMap((response) => response.json),
    Effect.catch(() => Effect.succeed({ results: ["fallback"] }))
  )

it.effect("search falls back when Chroma is down", () =>
  Effect.gen(function*() {
    const upstream = Testing.fakeUpstream({ "/query": Testing.refused })
    const chroma = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003" }).pipe(
      Effect.provide(upstream.layer)
    )
    const fiber = yield* Effect.forkChild(search(chroma, "effect"))
    yield* TestClock.adjust("3 seconds") // the 1 s and 2 s backoffs
    expect(yield* Fiber.join(fiber)).toEqual({ results: ["fallback"] })
    expect(upstream.requests().map((r) => r.at)).toEqual([0, 1000, 3000])
  }))

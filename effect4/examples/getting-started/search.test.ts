// docs/getting-started.md, src/search.test.ts (kept in sync by test/gettingStarted.test.ts)
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { ServiceRegistry } from "../../src/index.js"
import * as Testing from "../../src/Testing.js"
import { Chroma, ChromaLive } from "./Chroma.js"
import { searchOrEmpty } from "./search.js"

it.effect("search answers with Chroma's results while it is up", () => {
  const upstream = Testing.fakeUpstream({ "/query": Testing.json(200, { ids: [["doc-1", "doc-2"]] }) })
  return Effect.gen(function*() {
    expect(yield* searchOrEmpty("a")).toEqual({ ids: [["doc-1", "doc-2"]] })
  }).pipe(Effect.provide(ChromaLive.pipe(Layer.provide([upstream.layer, ServiceRegistry.layer]))))
})

it.effect("search answers with no results while Chroma is down", () => {
  const upstream = Testing.fakeUpstream({ "/query": Testing.refused })
  return Effect.gen(function*() {
    // the first call's 3 attempts are refused (waits of 1 s and 2 s), then the fallback answers;
    // the second call's second attempt is the fifth failed attempt in a row: the breaker opens
    const fiber = yield* Effect.forkChild(Effect.zip(searchOrEmpty("a"), searchOrEmpty("b")))
    yield* TestClock.adjust("4 seconds")
    expect(yield* Fiber.join(fiber)).toEqual([{ ids: [] }, { ids: [] }])
    const chroma = yield* Chroma
    expect((yield* chroma.status).state).toBe("open")
    // while the breaker is open, a call answers at once and sends nothing
    expect(yield* searchOrEmpty("c")).toEqual({ ids: [] })
    expect(upstream.requests().map((request) => request.at)).toEqual([0, 1000, 3000, 3000, 4000])
  }).pipe(Effect.provide(ChromaLive.pipe(Layer.provide([upstream.layer, ServiceRegistry.layer]))))
})

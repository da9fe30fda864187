// docs/getting-started.md, step 7: a test under TestClock
import { expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, TestClock } from "effect"
import * as Testing from "../../src/Testing.js"
import { ChromaLive } from "./Chroma.js"
import { searchOrEmpty } from "./search.js"

it.effect("search answers with no results while Chroma is down", () => {
  const upstream = Testing.fakeUpstream({ "/query": Testing.refused })
  return Effect.gen(function*() {
    // the first call fails after 3 refused attempts (waits of 1 s and 2 s); the second call's
    // second attempt is the fifth failure in a row, which opens the breaker
    const fiber = yield* Effect.fork(Effect.zip(Effect.either(searchOrEmpty("a")), searchOrEmpty("b")))
    yield* TestClock.adjust("4 seconds")
    const [first, second] = yield* Fiber.join(fiber)
    expect(Either.isLeft(first)).toBe(true)
    expect(second).toEqual({ ids: [] })
    // while the breaker is open, a call answers at once and sends nothing
    expect(yield* searchOrEmpty("c")).toEqual({ ids: [] })
    expect(upstream.requests().map((request) => request.at)).toEqual([0, 1000, 3000, 3000, 4000])
  }).pipe(Effect.provide(ChromaLive.pipe(Layer.provide(upstream.layer))))
})

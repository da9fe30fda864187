// docs/circuit-breaker.md, example 14 (kept in sync by test/editionDocs.test.ts)
import { expect, it } from "@effect/vitest"
import { Data, Effect } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "../../src/index.js"

class SearchDown extends Data.TaggedError("SearchDown") {}

// the code under test: search with a fallback
const search = (breaker: CircuitBreaker.CircuitBreaker, backend: Effect.Effect<ReadonlyArray<string>, SearchDown>) =>
  breaker(backend).pipe(Effect.catchTag("ServiceUnavailable", () => Effect.succeed(["cached"])))

it.effect("falls back while the breaker is open and recovers after 30 s", () =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make({ name: "search", failureThreshold: 2, recoveryTimeout: "30 seconds" })
    const down = Effect.fail(new SearchDown())
    const up = Effect.succeed(["fresh"])

    yield* Effect.flip(search(breaker, down))
    yield* Effect.flip(search(breaker, down))
    expect(yield* breaker.state).toBe("open")
    expect(yield* search(breaker, up)).toEqual(["cached"]) // rejected: the backend is not called

    yield* TestClock.adjust("30 seconds")
    expect(yield* breaker.state).toBe("half_open")
    expect(yield* search(breaker, up)).toEqual(["fresh"]) // the probe succeeds
    expect(yield* breaker.state).toBe("closed")
  }))

// used here so that the example compiles under noUnusedLocals
export { search, SearchDown }

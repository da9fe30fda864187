/**
 * The rate strategies as the values users hold: their names, what they ask of the breaker, and
 * their windows read directly through the `TrippingStrategy` interface (a strategy can be wrapped
 * or composed by users, so `shouldTrip` must read the window as of the `now` it is given).
 */
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker } from "../src/index.js"

type Strategy = CircuitBreaker.TrippingStrategy<CircuitBreaker.RateWindow>

/** Records the outcomes at the given times: "F" a failure, "S" a success (0 ms long). */
const record = (strategy: Strategy, calls: ReadonlyArray<readonly [number, "F" | "S"]>) =>
  calls.reduce(
    (state, [at, outcome]) => outcome === "F" ? strategy.onFailure(state, at, 0) : strategy.onSuccess(state, at, 0),
    strategy.initial(0)
  )

const bucketsOf = (state: CircuitBreaker.RateWindow) =>
  (state as unknown as { readonly buckets: ReadonlyArray<unknown> }).buckets.length

describe("rate strategies", () => {
  describe("names say what they count", () => {
    it("failureRate over a count window", () => {
      expect(
        CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 5, window: { kind: "count", size: 10 } }).name
      ).toBe("failureRate(50% of the last 10 calls, at least 5 calls)")
    })

    it("failureRate over a time window, with the default 10 buckets", () => {
      expect(
        CircuitBreaker.failureRate({
          threshold: 0.3333,
          minimumCalls: 3,
          window: { kind: "time", duration: "1 minute" }
        })
          .name
      ).toBe("failureRate(33.33% of the last 1m in 10 buckets, at least 3 calls)")
    })

    it("slowCallRate", () => {
      expect(
        CircuitBreaker.slowCallRate({
          slowerThan: "2 seconds",
          threshold: 0.125,
          minimumCalls: 4,
          window: { kind: "time", duration: "30 seconds", buckets: 6 }
        }).name
      ).toBe("slowCallRate(12.5% failed or slower than 2s of the last 30s in 6 buckets, at least 4 calls)")
    })

    it("invalid options give a strategy named \"…(invalid)\" (CircuitBreaker.make reports why)", () => {
      expect(CircuitBreaker.failureRate({ threshold: 2, minimumCalls: 1, window: { kind: "count", size: 1 } }).name)
        .toBe("failureRate(invalid)")
      expect(
        CircuitBreaker.slowCallRate({
          slowerThan: -1,
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "count", size: 1 }
        })
          .name
      ).toBe("slowCallRate(invalid)")
    })
  })

  it("only slowCallRate asks for durations; both may trip on a success", () => {
    const window = { kind: "count", size: 4 } as const
    const failureRate = CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 2, window })
    const slowCallRate = CircuitBreaker.slowCallRate({
      slowerThan: "1 second",
      threshold: 0.5,
      minimumCalls: 2,
      window
    })
    expect([failureRate.needsDuration, slowCallRate.needsDuration]).toEqual([false, true])
    expect([failureRate.onSuccessMayTrip, slowCallRate.onSuccessMayTrip]).toEqual([true, true])
  })

  describe("a time window read at a later now", () => {
    // built in each test (not when the file is collected), so that each test covers what it runs
    const setup = () => {
      // 10 s in 10 buckets of 1 s; trips at 60 % of at least 2 calls
      const strategy = CircuitBreaker.failureRate({
        threshold: 0.6,
        minimumCalls: 2,
        window: { kind: "time", duration: "10 seconds", buckets: 10 }
      })
      // two successes in bucket 0, two failures in bucket 5
      return { strategy, state: record(strategy, [[0, "S"], [500, "S"], [5_000, "F"], [5_999, "F"]]) }
    }

    it("an empty window never trips", () => {
      const { strategy } = setup()
      expect(strategy.shouldTrip(strategy.initial(0), 0)).toBe(false)
      expect(strategy.shouldTrip(strategy.initial(0), 123_456)).toBe(false)
    })

    it("counts every bucket still inside the window", () => {
      const { state, strategy } = setup()
      expect(strategy.shouldTrip(state, 5_999)).toBe(false) // 2 of 4 = 50 %
      expect(strategy.shouldTrip(state, 9_999)).toBe(false) // bucket 0 is still the oldest kept
    })

    it("leaves out the buckets that aged out, and only those", () => {
      const { state, strategy } = setup()
      expect(strategy.shouldTrip(state, 10_000)).toBe(true) // bucket 0 gone: 2 of 2
      expect(strategy.shouldTrip(state, 14_999)).toBe(true) // bucket 5 is the oldest kept
      expect(strategy.shouldTrip(state, 15_000)).toBe(false) // all gone
    })

    it("a failure recorded later drops the aged buckets from the state itself", () => {
      const { state, strategy } = setup()
      const later = strategy.onFailure(state, 12_000, 0)
      expect([later.calls, later.failures]).toEqual([3, 3])
      expect(strategy.shouldTrip(later, 12_000)).toBe(true)
    })
  })

  it("a time window holds at most one entry per bucket however many calls it sees", () => {
    const strategy = CircuitBreaker.failureRate({
      threshold: 0.5,
      minimumCalls: 1,
      window: { kind: "time", duration: "10 seconds", buckets: 10 }
    })
    const sameInstant = record(strategy, Array.from({ length: 100 }, () => [1_000, "S"] as const))
    expect([sameInstant.calls, bucketsOf(sameInstant)]).toEqual([100, 1])
    const spread = record(strategy, Array.from({ length: 1_000 }, (_, i) => [i * 97, i % 3 === 0 ? "F" : "S"] as const))
    // the last call is at 96,903 ms: buckets 87 to 96 remain, with the 103 calls made from 87,009 ms on
    expect([bucketsOf(spread), spread.calls]).toEqual([10, 103])
    // a clock that goes back records into the newest bucket
    const back = record(strategy, [[5_000, "F"], [3_000, "F"]])
    expect([back.calls, back.failures, bucketsOf(back)]).toEqual([2, 2, 1])
  })
})

/**
 * The rate strategies of the core, with durations in milliseconds: their names, their windows,
 * and the issue a strategy carries for parameters it cannot accept. (Each edition checks the same
 * strategies through its public API, with its own duration input.)
 */
import { describe, expect, it } from "vitest"
import { strategyIssue } from "../src/machine.js"
import * as Strategies from "../src/strategies.js"

const record = (
  strategy: Strategies.TrippingStrategy<Strategies.RateWindow>,
  calls: ReadonlyArray<readonly [number, "F" | "S"]>
) =>
  calls.reduce(
    (state, [at, outcome]) => outcome === "F" ? strategy.onFailure(state, at, 0) : strategy.onSuccess(state, at, 0),
    strategy.initial(0)
  )

describe("core rate strategies", () => {
  it("name their window with durations printed as the editions print them", () => {
    expect(Strategies.failureRate({ threshold: 0.5, minimumCalls: 2, window: { kind: "time", duration: 90_000 } }).name)
      .toBe("failureRate(50% of the last 1m 30s in 10 buckets, at least 2 calls)")
    expect(
      Strategies.slowCallRate({
        slowerThan: 2_000,
        threshold: 0.8,
        minimumCalls: 10,
        window: { kind: "count", size: 20 }
      }).name
    ).toBe("slowCallRate(80% failed or slower than 2s of the last 20 calls, at least 10 calls)")
  })

  it("a count window forgets the oldest call", () => {
    const strategy = Strategies.failureRate({ threshold: 0.5, minimumCalls: 2, window: { kind: "count", size: 2 } })
    expect(strategy.shouldTrip(record(strategy, [[0, "F"], [0, "S"]]), 0)).toBe(true)
    expect(strategy.shouldTrip(record(strategy, [[0, "F"], [0, "S"], [0, "S"]]), 0)).toBe(false)
    expect(strategyIssue(strategy)).toBeUndefined()
  })

  it("a time window ages out whole buckets of milliseconds", () => {
    const strategy = Strategies.failureRate({
      threshold: 1,
      minimumCalls: 1,
      window: { kind: "time", duration: 1_000, buckets: 2 }
    })
    const state = record(strategy, [[0, "F"]])
    expect(strategy.shouldTrip(state, 999)).toBe(true)
    expect(strategy.shouldTrip(state, 1_000)).toBe(false)
  })

  it("a slow call counts against the rate", () => {
    const strategy = Strategies.slowCallRate({
      slowerThan: 100,
      threshold: 1,
      minimumCalls: 1,
      window: { kind: "count", size: 1 }
    })
    expect(strategy.shouldTrip(strategy.onSuccess(strategy.initial(0), 0, 101), 0)).toBe(true)
    expect(strategy.shouldTrip(strategy.onSuccess(strategy.initial(0), 0, 100), 0)).toBe(false)
  })

  it("bad parameters give a strategy that never trips and carries the first issue", () => {
    const cases: ReadonlyArray<readonly [unknown, { readonly path: ReadonlyArray<string>; readonly message: string }]> =
      [
        [
          { threshold: 0, minimumCalls: 0, window: { kind: "count", size: 0 } },
          { path: ["strategy", "threshold"], message: "must be a number in (0, 1] (a fraction of the calls), got 0" }
        ],
        [
          { threshold: 0.5, minimumCalls: 5, window: { kind: "count", size: 4 } },
          {
            path: ["strategy", "minimumCalls"],
            message: "must not exceed window.size (4): a window of 4 calls never holds 5"
          }
        ],
        [
          { threshold: 0.5, minimumCalls: 1, window: { kind: "time", duration: -1 } },
          { path: ["strategy", "window", "duration"], message: "must be a positive, finite duration, got -1" }
        ],
        [
          { threshold: 0.5, minimumCalls: 1, window: { kind: "time", duration: 5, buckets: 10 } },
          {
            path: ["strategy", "window", "buckets"],
            message: "must leave each bucket at least 1 millisecond: 5ms in 10 buckets"
          }
        ],
        [
          { threshold: 0.5, minimumCalls: 1, window: { kind: "sliding" } },
          { path: ["strategy", "window", "kind"], message: `must be "count" or "time", got "sliding"` }
        ]
      ]
    for (const [options, issue] of cases) {
      const strategy = Strategies.failureRate(options as Strategies.FailureRateOptions)
      expect(strategy.name).toBe("failureRate(invalid)")
      expect(strategyIssue(strategy)).toEqual(issue)
      expect(strategy.shouldTrip(strategy.onFailure(strategy.initial(0), 0, 0), 0)).toBe(false)
    }
    expect(
      strategyIssue(
        Strategies.slowCallRate({
          slowerThan: "2 seconds",
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "count", size: 1 }
        })
      )
    ).toEqual({
      path: ["strategy", "slowerThan"],
      message: `must be a duration such as "10 seconds" or a number of milliseconds, got "2 seconds"`
    })
  })
})

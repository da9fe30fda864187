/**
 * The retry arithmetic of the core, in milliseconds: delays with and without jitter for a given
 * random number, `Retry-After` in its four forms, the retry budget's token bucket and its
 * options' issues. (Each edition checks its `Schedule` and effects built on these.)
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Retry from "../src/retry.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const names = { what: "retry budget option", path: [], known: ["maxTokens", "tokenRatio"] }

describe("delays", () => {
  it("grow exponentially from the base, capped by the maximum", () => {
    expect([1, 2, 3, 4].map((n) => Retry.exponentialDelay(100, 2, n))).toEqual([100, 200, 400, 800])
    expect([1, 2, 3, 4].map((n) => Retry.exponentialDelay(100, 2, n, 300))).toEqual([100, 200, 300, 300])
  })

  it("full jitter draws from [0, delay); decorrelated from [base, 3 × previous], capped", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (random, base, previous) => {
          const full = Retry.fullJitter(base, random)
          expect(full).toBeGreaterThanOrEqual(0)
          expect(full).toBeLessThan(base)
          const decorrelated = Retry.decorrelatedDelay(base, previous, random)
          expect(decorrelated).toBeGreaterThanOrEqual(base)
          expect(decorrelated).toBeLessThanOrEqual(Math.max(base, previous * 3))
          expect(Retry.decorrelatedDelay(base, previous, random, base)).toBe(base)
        }
      ),
      { numRuns: propertyRuns }
    )
    expect(Retry.decorrelatedDelay(100, 1_000, 0.5)).toBe(1_550)
  })

  it("transient statuses are 408, 429, 500, 502, 503 and 504", () => {
    const statuses = Array.from({ length: 500 }, (_, i) => 100 + i).filter(Retry.isTransientStatus)
    expect(statuses).toEqual([408, 429, 500, 502, 503, 504])
  })
})

describe("Retry-After", () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 30)

  it("reads delta-seconds, capped at 2^31 seconds", () => {
    expect(Retry.parseRetryAfterMillis("5", now)).toBe(5_000)
    expect(Retry.parseRetryAfterMillis(" 0\t", now)).toBe(0)
    expect(Retry.parseRetryAfterMillis("99999999999999", now)).toBe(2147483648 * 1000)
  })

  it("reads the three HTTP-date forms as the time left from now, never negative", () => {
    expect(Retry.parseRetryAfterMillis("Sun, 06 Nov 1994 08:49:37 GMT", now)).toBe(7_000)
    expect(Retry.parseRetryAfterMillis("Sunday, 06-Nov-94 08:49:37 GMT", now)).toBe(7_000)
    expect(Retry.parseRetryAfterMillis("Sun Nov  6 08:49:37 1994", now)).toBe(7_000)
    expect(Retry.parseRetryAfterMillis("Sun, 06 Nov 1994 08:49:00 GMT", now)).toBe(0)
  })

  it("refuses anything else", () => {
    for (const value of ["soon", "-5", "5.5", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", 5]) {
      expect(Retry.parseRetryAfterMillis(value, now)).toBeUndefined()
    }
    expect(Retry.parseRetryAfterMillis("Sun, 06 Nov 1994 08:49:37 GMT", NaN)).toBeUndefined()
  })
})

describe("retry budget", () => {
  it("a failure takes a token, a success gives back tokenRatio, retries stop at half", () => {
    const bucket = new Retry.TokenBucketState(4, 0.1)
    expect(bucket.unsafeRecordFailure()).toBe(true)
    expect(bucket.unsafeRecordFailure()).toBe(false)
    expect(bucket.unsafeState()).toEqual({ tokens: 2, maxTokens: 4, retriesAllowed: false })
    for (let i = 0; i < 3; i++) bucket.unsafeRecordSuccess()
    expect(bucket.unsafeState()).toEqual({ tokens: 2.3, maxTokens: 4, retriesAllowed: true })
    expect(bucket.takeLocal()).toEqual({ successes: 3, failures: 2 })
    expect(bucket.takeLocal()).toEqual({ successes: 0, failures: 0 })
    bucket.applyRemote(0, 10)
    expect(bucket.unsafeState().tokens).toBe(0)
    bucket.applyRemote(100, 0)
    expect(bucket.unsafeState().tokens).toBe(4)
  })

  it("options get their defaults, or the issue naming the option", () => {
    expect(Retry.resolveBudget({}, names)).toEqual({ _tag: "Valid", value: { maxTokens: 100, tokenRatio: 0.5 } })
    expect(Retry.resolveBudget({ maxTokens: 0 }, names)).toEqual({
      _tag: "Invalid",
      issue: { path: ["maxTokens"], message: "must be an integer from 1 to 1000000, got 0" }
    })
    expect(Retry.resolveBudget({ maxTokens: 2, tokenRatio: 3 }, names)).toEqual({
      _tag: "Invalid",
      issue: { path: ["tokenRatio"], message: "must be a number from 0.001 to maxTokens (2), got 3" }
    })
    expect(Retry.resolveBudget({ maxToken: 2 } as Retry.BudgetOptions, names)).toEqual({
      _tag: "Invalid",
      issue: { path: ["maxToken"], message: "is not a retry budget option; did you mean maxTokens?" }
    })
  })

  it("the policy's numbers are checked with the messages the editions show", () => {
    expect(Retry.checkMaxAttempts(0)).toEqual({
      _tag: "Invalid",
      issue: { path: ["maxAttempts"], message: "must be a positive integer (the first attempt included), got 0" }
    })
    expect(Retry.checkFactor(0.5)._tag).toBe("Invalid")
    expect(Retry.checkJitter("some")).toEqual({
      _tag: "Invalid",
      issue: { path: ["jitter"], message: `must be one of "none", "full", "decorrelated", got "some"` }
    })
    expect(Retry.checkJitter("full")).toEqual({ _tag: "Valid", value: "full" })
  })
})

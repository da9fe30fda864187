/**
 * The defaults both editions apply: the values the docs state, and their durations in
 * milliseconds for code that has no `Duration`.
 */
import { describe, expect, it } from "vitest"
import * as Defaults from "../src/defaults.js"
import * as Machine from "../src/machine.js"

describe("defaults", () => {
  it("are the values the docs state", () => {
    expect(Defaults.breaker).toEqual({
      name: "circuit-breaker",
      failureThreshold: 5,
      recoveryTimeout: "60 seconds",
      halfOpenMaxProbes: 1,
      storeTimeout: "5 seconds",
      retryAfterCap: "1 hour",
      retainOpenings: false
    })
    expect(Defaults.retry).toEqual({ maxAttempts: 3, baseDelay: "1 second", factor: 2, jitter: "none" })
    expect(Defaults.retryBudget).toEqual({ maxTokens: 100, tokenRatio: 0.5 })
    expect(Defaults.client.maxResponseBytes).toBe(16 * 1024 * 1024)
  })

  it("their durations read as milliseconds", () => {
    expect([
      Defaults.millis(Defaults.breaker.recoveryTimeout),
      Defaults.millis(Defaults.breaker.storeTimeout),
      Defaults.millis(Defaults.retry.baseDelay),
      Defaults.millis(Defaults.client.timeout),
      Defaults.millis(Defaults.client.maxRetryAfter),
      Defaults.millis("250 millis"),
      Defaults.millis("2 minutes")
    ]).toEqual([60_000, 5_000, 1_000, 10_000, 30_000, 250, 120_000])
  })

  it("the machine's cap of a Retry-After is the breaker's default retryAfterCap", () => {
    expect(Machine.defaultRetryAfterCapMillis).toBe(Defaults.millis(Defaults.breaker.retryAfterCap))
  })
})

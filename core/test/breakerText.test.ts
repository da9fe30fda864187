/**
 * What a breaker says, as both editions print it: a line per transition at its level, the line of
 * a breaker resumed from its store, and a rejection's message.
 */
import { describe, expect, it } from "vitest"
import { rejectionMessage, restoredLog, transitionLog } from "../src/breakerText.js"
import type { Reason } from "../src/machine.js"

describe("breaker text", () => {
  it("one line per transition reason, openings of a failing service at Error, isolation at Warning", () => {
    const reasons: ReadonlyArray<Reason> = [
      "threshold",
      "probe_failed",
      "probe_timeout",
      "isolated",
      "recovery",
      "recovered",
      "reset",
      "fleet_opened",
      "fleet_closed"
    ]
    expect(reasons.map((reason) => transitionLog("Chroma Server", reason))).toEqual([
      { level: "Error", message: "[Chroma Server] Circuit breaker OPEN (threshold reached)" },
      { level: "Error", message: "[Chroma Server] Circuit breaker OPEN (probe failed)" },
      { level: "Error", message: "[Chroma Server] Circuit breaker OPEN (probe timed out)" },
      { level: "Warning", message: "[Chroma Server] Circuit breaker OPEN (isolated manually)" },
      { level: "Info", message: "[Chroma Server] Circuit breaker HALF_OPEN (testing recovery)" },
      { level: "Info", message: "[Chroma Server] Circuit breaker CLOSED (service recovered)" },
      { level: "Info", message: "[Chroma Server] Circuit breaker CLOSED (reset manually)" },
      { level: "Error", message: "[Chroma Server] Circuit breaker OPEN (opened by the fleet)" },
      { level: "Info", message: "[Chroma Server] Circuit breaker CLOSED (closed by the fleet)" }
    ])
  })

  it("a resumed breaker says what it resumed, and the time left of an opening", () => {
    expect(restoredLog("auth", { state: "open", isolated: false, remainingMillis: 20_000 })).toBe(
      "[auth] Circuit breaker OPEN (restored from the store, next probe in 20s)"
    )
    expect(restoredLog("auth", { state: "open", isolated: false, remainingMillis: -5 })).toBe(
      "[auth] Circuit breaker OPEN (restored from the store, next probe in 0)"
    )
    expect(restoredLog("auth", { state: "open", isolated: true, remainingMillis: Infinity })).toBe(
      "[auth] Circuit breaker OPEN (restored from the store, isolated manually)"
    )
    expect(restoredLog("auth", { state: "half_open", isolated: false, remainingMillis: 0 })).toBe(
      "[auth] Circuit breaker HALF_OPEN (restored from the store)"
    )
  })

  it("a rejection says when the next probe may run", () => {
    expect(rejectionMessage("svc", "open", 45_000)).toBe(
      "[svc] Circuit breaker OPEN: call rejected (next probe in 45s)"
    )
    expect(rejectionMessage("svc", "open", 90_500)).toBe(
      "[svc] Circuit breaker OPEN: call rejected (next probe in 1m 30s 500ms)"
    )
    expect(rejectionMessage("svc", "half_open", 0)).toBe(
      "[svc] Circuit breaker HALF_OPEN: call rejected (a probe is in flight)"
    )
    expect(rejectionMessage("svc", "open", Infinity)).toBe(
      "[svc] Circuit breaker OPEN: call rejected (isolated: no probe until it is reset)"
    )
  })
})

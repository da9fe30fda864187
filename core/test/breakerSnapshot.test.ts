/**
 * The stored snapshot's rules, shared by both editions: what a breaker writes for its state, which
 * stored values it resumes from, and the lines it logs when it cannot.
 */
import { describe, expect, it } from "vitest"
import { defaultKey, fromStored, ignoredLog, notVersion1, toStored } from "../src/breakerSnapshot.js"
import type { StoredV1 } from "../src/breakerSnapshot.js"

const open: StoredV1 = {
  version: 1,
  service: "billing",
  state: "open",
  failureCount: 5,
  lastFailure: 1_000,
  lastStateChange: 1_000,
  openUntil: 61_000,
  isolated: false,
  opens: 1
}

describe("breaker snapshots", () => {
  it("an open snapshot round-trips; openUntil is kept only for an opening that is not isolated", () => {
    const resumed = fromStored("billing", open)
    expect(resumed).toEqual({
      _tag: "Usable",
      snapshot: {
        state: "open",
        failureCount: 5,
        lastFailure: 1_000,
        lastStateChange: 1_000,
        openUntil: 61_000,
        isolated: false,
        opens: 1
      }
    })
    if (resumed._tag === "Usable") expect(toStored("billing", resumed.snapshot)).toEqual(open)
    const isolated = { ...open, isolated: true, openUntil: null }
    expect(fromStored("billing", isolated)).toMatchObject({ _tag: "Usable", snapshot: { openUntil: Infinity } })
    expect(toStored("billing", { ...open, lastFailure: undefined, isolated: true, openUntil: Infinity })).toEqual({
      ...isolated,
      lastFailure: null
    })
    expect(toStored("billing", { ...open, lastFailure: 1_000, state: "closed", openUntil: 0 }).openUntil).toBeNull()
  })

  it("another service's, isolated but not open, or open without an end: unusable, saying why", () => {
    expect(fromStored("search", open)).toEqual({ _tag: "Unusable", reason: "it belongs to \"billing\"" })
    expect(fromStored("billing", { ...open, state: "closed", isolated: true })).toEqual({
      _tag: "Unusable",
      reason: "isolated but closed"
    })
    expect(fromStored("billing", { ...open, openUntil: null })).toEqual({
      _tag: "Unusable",
      reason: "open without openUntil"
    })
  })

  it("the key and the lines", () => {
    expect(defaultKey("git")).toBe("effect-resilience/circuit-breaker/git")
    expect(notVersion1([], undefined)).toBe("not a version 1 snapshot: unreadable")
    expect(notVersion1(["state"], "Expected \"closed\"")).toBe("not a version 1 snapshot at state: Expected \"closed\"")
    expect(ignoredLog("git", defaultKey("git"), "open without openUntil")).toBe(
      "[git] Ignoring the stored circuit breaker state under \"effect-resilience/circuit-breaker/git\" (open without openUntil)"
    )
  })
})

/**
 * The validation rules and the duration text of the core: the issues both editions turn into
 * their config errors, the nearest option name, and durations printed as the editions print them.
 */
import { describe, expect, it } from "vitest"
import { formatMillis } from "../src/format.js"
import * as Validate from "../src/validate.js"

describe("checks", () => {
  it("accept a good value and name the path and the problem of a bad one", () => {
    expect(Validate.checkPositiveInteger(["quorum"], 3)).toEqual({ _tag: "Valid", value: 3 })
    expect(Validate.checkPositiveInteger(["quorum"], 1.5)).toEqual({
      _tag: "Invalid",
      issue: { path: ["quorum"], message: "must be a positive integer, got 1.5" }
    })
    expect(Validate.checkRatio(["strategy", "threshold"], 2)._tag).toBe("Invalid")
    expect(Validate.checkPositiveMillis(["timeout"], Infinity)).toEqual({
      _tag: "Invalid",
      issue: { path: ["timeout"], message: "must be a positive, finite duration, got Infinity" }
    })
    expect(Validate.checkNonEmptyString(["name"], " ")).toEqual({
      _tag: "Invalid",
      issue: { path: ["name"], message: `must be a non-empty string, got " "` }
    })
  })

  it("a lone surrogate is not well-formed text; a pair is", () => {
    expect(Validate.isWellFormed("a\uD83D\uDE00b")).toBe(true)
    expect(Validate.isWellFormed("a\uD83Db")).toBe(false)
    expect(Validate.checkWellFormed(["fleet"], "\uDE00")._tag).toBe("Invalid")
  })

  it("a rejected value is shown by the show function given", () => {
    expect(Validate.show({})).toBe("object")
    expect(Validate.checkPositiveInteger(["n"], {}, () => "1s")).toEqual({
      _tag: "Invalid",
      issue: { path: ["n"], message: "must be a positive integer, got 1s" }
    })
  })
})

describe("option names", () => {
  const names = { what: "fleet option", path: [], known: ["fleet", "url", "quorum", "leaseTtl"] }

  it("suggest the nearest known name: another spelling, an alias or a typo", () => {
    expect(Validate.nearestName("lease_ttl", names.known)).toBe("leaseTtl")
    expect(Validate.nearestName("quorom", names.known)).toBe("quorum")
    expect(Validate.nearestName("maxRetries", ["maxAttempts", "backoff"])).toBe("maxAttempts")
    expect(Validate.nearestName("banana", names.known)).toBeUndefined()
  })

  it("one issue per unknown name, with the hint", () => {
    expect(Validate.unknownNames({ url: "x", quorom: 2, banana: 1 }, names)).toEqual([
      { path: ["quorom"], message: "is not a fleet option; did you mean quorum?" },
      {
        path: ["banana"],
        message: "is not a fleet option (the fleet options are fleet, url, quorum, leaseTtl)"
      }
    ])
  })
})

describe("formatMillis", () => {
  it("prints durations as Duration.format does", () => {
    expect([0, 1, 999, 1_000, 60_000, 90_000, 3_600_000, 86_400_000, 90_061_001].map(formatMillis)).toEqual([
      "0",
      "1ms",
      "999ms",
      "1s",
      "1m",
      "1m 30s",
      "1h",
      "1d",
      "1d 1h 1m 1s 1ms"
    ])
    expect([1.5, 0.0015, Infinity].map(formatMillis)).toEqual(["1ms 500000ns", "1500ns", "Infinity"])
  })
})

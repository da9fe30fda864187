/**
 * The outcome judge of the core: how an attempt's ending becomes `answered`, `failed` or
 * `silent`, whatever the edition's `Cause` looked like.
 */
import { describe, expect, it } from "vitest"
import * as Outcome from "../src/outcome.js"

const counted = () => true
const notCounted = () => false

const cut = (fair: boolean) => ({ _tag: "TimeoutException", [Outcome.DeadlineCutId]: { fair } })

describe("the outcome judge", () => {
  it("a success answered, a defect failed, an interruption says nothing", () => {
    expect(Outcome.judgeEnding({ _tag: "Succeeded" }, counted)).toBe("answered")
    expect(Outcome.judgeEnding({ _tag: "Died" }, notCounted)).toBe("failed")
    expect(Outcome.judgeEnding({ _tag: "Interrupted" }, counted)).toBe("silent")
  })

  it("a typed failure is what isFailure says", () => {
    expect(Outcome.judgeEnding({ _tag: "Failed", error: "boom" }, counted)).toBe("failed")
    expect(Outcome.judgeEnding({ _tag: "Failed", error: "boom" }, notCounted)).toBe("answered")
  })

  it("a request never sent says nothing, whatever isFailure says", () => {
    for (const reason of ["InvalidUrl", "Encode"]) {
      expect(Outcome.judgeEnding({ _tag: "Failed", error: { _tag: "RequestError", reason } }, counted)).toBe("silent")
    }
    expect(Outcome.judgeEnding({ _tag: "Failed", error: { _tag: "RequestError", reason: "Transport" } }, counted))
      .toBe("failed")
  })

  it("a deadline cut says nothing unless the attempt had a fair time", () => {
    expect(Outcome.judgeEnding({ _tag: "Failed", error: cut(false) }, counted)).toBe("silent")
    expect(Outcome.judgeEnding({ _tag: "Failed", error: cut(true) }, counted)).toBe("failed")
    expect(Outcome.deadlineCut(cut(true))).toEqual({ fair: true })
    expect(Outcome.deadlineCut(new Error("x"))).toBeUndefined()
  })

  it("a fair time is half the shorter of the attempt timeout and the deadline", () => {
    expect(Outcome.isFairCut(400, 10_000, 800)).toBe(true)
    expect(Outcome.isFairCut(399, 10_000, 800)).toBe(false)
    expect(Outcome.isFairCut(500, 1_000, 60_000)).toBe(true)
  })
})

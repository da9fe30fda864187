/**
 * The pure helpers of the fleet's shell: deadlines in Redis time from the heartbeats' measures,
 * what remains of an opening, and the retry budgets' messages.
 */
import { describe, expect, it } from "vitest"
import * as Shell from "../src/fleetShell.js"

describe("fleetShell", () => {
  it("gives no deadline before a heartbeat, then the local time plus the greatest recent offset and the timeout", () => {
    const clock = new Shell.RedisClock()
    expect(clock.deadline(100, 500)).toBe(0)
    clock.record(10_000, 100) // offset 9_900
    clock.record(10_050, 200) // offset 9_850: a sample taken late errs early, the greatest wins
    expect(clock.deadline(300, 500)).toBe(300 + 9_900 + 500)
    // the oldest samples leave the window: a step of Redis's clock back is taken in
    for (let i = 0; i < Shell.offsetSamples; i++) clock.record(5_000 + i, i)
    expect(clock.deadline(0, 0)).toBe(5_000)
  })

  it("shares what remains of an opening, nothing outside open", () => {
    const open = { state: "open", openUntil: 1_500 } as unknown as Parameters<typeof Shell.remainingOf>[0]
    expect(Shell.remainingOf(open, 1_000)).toBe(500)
    expect(Shell.remainingOf(open, 2_000)).toBe(0)
    const isolated = { state: "open", openUntil: Infinity } as unknown as Parameters<typeof Shell.remainingOf>[0]
    expect(Shell.remainingOf(isolated, 0)).toBe(Number.MAX_SAFE_INTEGER)
    expect(Shell.remainingOf({ state: "closed", openUntil: 9 } as never, 0)).toBe(0)
    expect(Shell.leaseIdleMillis({ leaseTtlMillis: 3_000 })).toBe(1_500)
  })

  it("sends the budgets' counts in one message, and reads only well-formed counts of other senders", () => {
    expect(Shell.encodeBudgets("r1/a", {})).toBeUndefined()
    const message = Shell.encodeBudgets("r1/a", { billing: [3, 2] })!
    expect(Shell.decodeBudgets(message, "r1/a")).toEqual([])
    expect(Shell.decodeBudgets(message, "r2/b")).toEqual([["billing", 3, 2]])
    const mixed = JSON.stringify({
      budgetsFrom: "r3/c",
      counts: { a: [1, 0], b: [-1, 2], c: [1, Infinity], d: "x", e: [1] }
    })
    expect(Shell.decodeBudgets(mixed, "r2/b")).toEqual([["a", 1, 0]])
    for (const other of ["null", "5", "not json", "{\"service\":\"x\"}", "{\"budgetsFrom\":\"r3\",\"counts\":null}"]) {
      expect(Shell.decodeBudgets(other, "r2/b"), other).toEqual([])
    }
  })
})

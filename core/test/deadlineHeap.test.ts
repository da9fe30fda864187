/**
 * The deadline heap both editions' attempt timeouts sit on: against a sorted list as the model,
 * under any mix of pushes, removals (of live, removed and fired entries) and pops of the earliest.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { HeapEntry } from "../src/deadlineHeap.js"
import { DeadlineHeap } from "../src/deadlineHeap.js"
import { propertyRuns } from "./utils/propertyRuns.js"

interface Entry extends HeapEntry {
  readonly id: number
}

type Command =
  | { readonly _tag: "push"; readonly deadline: number }
  | { readonly _tag: "remove"; readonly pick: number }
  | { readonly _tag: "pop" }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ _tag: fc.constant("push" as const), deadline: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ _tag: fc.constant("remove" as const), pick: fc.nat() }),
  fc.constant({ _tag: "pop" as const })
)

describe("DeadlineHeap", () => {
  it("peek is always an entry with the earliest deadline, and every entry knows its place", () =>
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        const heap = new DeadlineHeap<Entry>()
        const made: Array<Entry> = []
        let live: Array<Entry> = []
        for (const c of commands) {
          if (c._tag === "push") {
            const entry: Entry = { id: made.length, deadline: c.deadline, index: -1 }
            made.push(entry)
            live.push(entry)
            heap.push(entry)
          } else if (c._tag === "remove") {
            // any entry ever made: live, removed or popped (removing those is a no-op)
            const entry = made[c.pick % Math.max(1, made.length)]
            if (entry === undefined) continue
            heap.remove(entry)
            live = live.filter((e) => e !== entry)
            expect(entry.index).toBe(-1)
          } else {
            const top = heap.peek()
            if (top === undefined) {
              expect(live).toEqual([])
              continue
            }
            expect(top.deadline).toBe(Math.min(...live.map((e) => e.deadline)))
            heap.remove(top)
            live = live.filter((e) => e !== top)
          }
          expect(heap.items.length).toBe(live.length)
          heap.items.forEach((entry, i) => expect(entry.index).toBe(i))
          if (live.length > 0) expect(heap.peek()!.deadline).toBe(Math.min(...live.map((e) => e.deadline)))
        }
        // draining pops everything in deadline order
        const drained: Array<number> = []
        for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
          drained.push(top.deadline)
          heap.remove(top)
        }
        expect(drained).toEqual(live.map((e) => e.deadline).sort((a, b) => a - b))
      }),
      { numRuns: propertyRuns }
    ))
})

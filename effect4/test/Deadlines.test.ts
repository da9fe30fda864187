/**
 * The deadline heap on its own (the client registers each attempt's deadline in it): entries
 * fire in order at their monotonic deadline, removed ones never, one failing `expire` stops
 * nothing, a timer that wakes early sleeps again, and no timer outlives its scope.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import * as Deadlines from "../src/internal/deadlines.js"
import * as Time from "../src/internal/time.js"
import { earlyClock, steppedWallClock } from "./utils/clocks.js"

const currentClock = Effect.clockWith((clock) => Effect.succeed(clock))

/** A heap on the current clock in a scope of its own, and a log of what fired when. */
const setup = (clock?: Clock.Clock) =>
  Effect.gen(function*() {
    const theClock = clock ?? (yield* currentClock)
    const scope = yield* Scope.make()
    const deadlines = Deadlines.make(theClock, scope)
    const fired: Array<readonly [string, number]> = []
    const start = Time.monotonicMillis(theClock)
    const expire = (name: string) => Effect.sync(() => fired.push([name, Time.monotonicMillis(theClock) - start]))
    const at = (offset: number, name: string) => deadlines.register(start + offset, expire(name))
    return { deadlines, scope, fired, at, expire, start }
  })

describe("deadlines", () => {
  it.effect("entries fire in deadline order, each when its monotonic deadline passes and not before", () =>
    Effect.gen(function*() {
      const { at, deadlines, fired } = yield* setup()
      yield* at(3_000, "c")
      yield* at(1_000, "a")
      yield* at(2_000, "b")
      yield* at(2_000, "b2")
      expect(deadlines.size()).toBe(4)
      yield* TestClock.adjust(999)
      expect(fired).toEqual([])
      yield* TestClock.adjust(1)
      expect(fired).toEqual([["a", 1_000]])
      yield* TestClock.adjust(1_000)
      expect(fired.map(([name]) => name).sort()).toEqual(["a", "b", "b2"])
      yield* TestClock.adjust(5_000)
      expect(fired.map(([, when]) => when)).toEqual([1_000, 2_000, 2_000, 3_000])
      expect(deadlines.size()).toBe(0)
    }))

  it.effect("a removed entry never fires; removing one that fired, or twice, is a no-op", () =>
    Effect.gen(function*() {
      const { at, deadlines, fired } = yield* setup()
      const a = yield* at(1_000, "a")
      const b = yield* at(2_000, "b")
      const c = yield* at(3_000, "c")
      deadlines.remove(b)
      deadlines.remove(b)
      expect(deadlines.size()).toBe(2)
      yield* TestClock.adjust(1_000)
      deadlines.remove(a)
      yield* TestClock.adjust(5_000)
      expect(fired).toEqual([["a", 1_000], ["c", 3_000]])
      deadlines.remove(c)
      expect(deadlines.size()).toBe(0)
    }))

  it.effect("a deadline earlier than the one the timer sleeps towards starts a timer for it", () =>
    Effect.gen(function*() {
      const { deadlines, expire, fired, start } = yield* setup()
      yield* deadlines.register(start + 10_000, expire("late"))
      const [, startTimer] = deadlines.unsafeRegister(start + 500, expire("early"))
      expect(startTimer).toBeDefined()
      yield* startTimer!
      // no earlier than the current target: no new timer
      const [, none] = deadlines.unsafeRegister(start + 600, expire("after"))
      expect(none).toBeUndefined()
      yield* TestClock.adjust(500)
      expect(fired).toEqual([["early", 500]])
      yield* TestClock.adjust(100)
      expect(fired).toEqual([["early", 500], ["after", 600]])
      yield* TestClock.adjust(10_000)
      expect(fired.map(([name]) => name)).toEqual(["early", "after", "late"])
    }))

  it.effect("an expire that fails or dies keeps neither the others nor the timer from going on", () =>
    Effect.gen(function*() {
      const { deadlines, expire, fired, start } = yield* setup()
      yield* deadlines.register(start + 1_000, Effect.die(new Error("abort threw")))
      yield* deadlines.register(start + 1_000, expire("same time"))
      yield* deadlines.register(start + 2_000, Effect.interrupt)
      yield* deadlines.register(start + 3_000, expire("later"))
      yield* TestClock.adjust(5_000)
      expect(fired).toEqual([["same time", 1_000], ["later", 3_000]])
    }))

  it.effect("a clock whose sleeps wake early: the timer sleeps again for what is left", () =>
    Effect.gen(function*() {
      const { at, fired } = yield* setup(yield* earlyClock)
      yield* at(1_000, "a")
      yield* TestClock.adjust(999)
      expect(fired).toEqual([])
      yield* TestClock.adjust(1)
      expect(fired).toEqual([["a", 1_000]])
    }))

  it.effect("closing the scope stops the timer: nothing fires after, and nothing is left sleeping", () =>
    Effect.gen(function*() {
      const { at, deadlines, fired, scope } = yield* setup()
      yield* at(1_000, "a")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(5_000)
      expect(fired).toEqual([])
      // the entry is still in the heap: the owner of the heap (the client) is gone with the scope
      expect(deadlines.size()).toBe(1)
    }))

  it.effect("deadlines are on monotonic time: a step of the wall clock fires nothing early or late", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const { at, fired } = yield* setup(clock)
      yield* at(1_000, "a")
      yield* stepWall(3_600_000)
      yield* TestClock.adjust(999)
      expect(fired).toEqual([])
      yield* stepWall(-7_200_000)
      yield* TestClock.adjust(1)
      expect(fired).toEqual([["a", 1_000]])
    }))
})

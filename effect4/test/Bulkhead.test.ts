/**
 * The bulkhead on its own (the client's use of it is in the client's tests): places, the FIFO
 * queue, rejections with `BulkheadFull`, interruption, the deadline of a wait, shutdown; and the
 * `BulkheadFull` error itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import { BulkheadFull } from "../src/index.js"
import * as Bulkhead from "../src/internal/bulkhead.js"
import * as Time from "../src/internal/time.js"
import { steppedWallClock } from "./utils/clocks.js"

const noDeadline = Infinity
const deadlineError = () => new Cause.TimeoutError("Deadline of 3s exceeded waiting for a place in the bulkhead")

const currentClock = Effect.clockWith((clock) => Effect.succeed(clock))

const makeBulkhead = (maxConcurrent: number, maxQueued: number) =>
  Effect.map(currentClock, (clock) => Bulkhead.make("Chroma Server", maxConcurrent, maxQueued, clock))

/** A call that records its start and runs until its gate opens. */
const gatedCall = (started: Array<number>, id: number) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const call = Effect.andThen(Effect.sync(() => started.push(id)), Deferred.await(gate))
    return { gate, call }
  })

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

describe("bulkhead", () => {
  it.effect("20 calls at once, maxConcurrent 5, maxQueued 5: 5 run, 5 wait, 10 rejected at once with BulkheadFull", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(5, 5)
      const started: Array<number> = []
      const calls = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => gatedCall(started, i))
      const fibers = yield* Effect.forEach(
        calls,
        ({ call }) => Effect.forkChild(bulkhead.withPlace(call, noDeadline, deadlineError))
      )
      yield* settle
      expect(started).toEqual([0, 1, 2, 3, 4])
      expect(bulkhead.size()).toEqual({ running: 5, queued: 5 })
      const rejected = fibers.slice(10).map((fiber) => fiber.pollUnsafe())
      for (const exit of rejected) {
        expect(exit !== undefined && Exit.isFailure(exit)).toBe(true)
        const error = exit !== undefined && Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(BulkheadFull.isBulkheadFull(error)).toBe(true)
        expect((error as BulkheadFull.BulkheadFull).message).toBe(
          "[Chroma Server] Bulkhead full: 5 calls running and 5 queued, call rejected"
        )
      }
      // each finishing call hands its place to the first in line
      for (let i = 0; i < 10; i++) {
        yield* Deferred.succeed(calls[i]!.gate, undefined)
        yield* settle
      }
      expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      for (const fiber of fibers.slice(0, 10)) expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
      expect(bulkhead.size()).toEqual({ running: 0, queued: 0 })
    }))

  it.effect("a place passes straight to the first in line: a newcomer does not overtake the queue", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 2)
      const started: Array<number> = []
      const [first, second, third] = yield* Effect.forEach([1, 2, 3], (i) => gatedCall(started, i))
      yield* Effect.forkChild(bulkhead.withPlace(first!.call, noDeadline, deadlineError))
      yield* settle
      const queued = yield* Effect.forkChild(bulkhead.withPlace(second!.call, noDeadline, deadlineError))
      yield* settle
      // the running call ends and a newcomer arrives in the same step, before the waiter wakes up
      yield* Deferred.succeed(first!.gate, undefined)
      const newcomer = yield* Effect.forkChild(bulkhead.withPlace(third!.call, noDeadline, deadlineError))
      yield* settle
      expect(started).toEqual([1, 2])
      expect(bulkhead.size()).toEqual({ running: 1, queued: 1 })
      yield* Deferred.succeed(second!.gate, undefined)
      yield* Deferred.succeed(third!.gate, undefined)
      expect(Exit.isSuccess(yield* Fiber.await(queued))).toBe(true)
      expect(Exit.isSuccess(yield* Fiber.await(newcomer))).toBe(true)
      expect(started).toEqual([1, 2, 3])
    }))

  it.effect("a place is held however the call ends: failure, defect, interruption", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 0)
      yield* Effect.exit(bulkhead.withPlace(Effect.fail("boom"), noDeadline, deadlineError))
      yield* Effect.exit(bulkhead.withPlace(Effect.die("defect"), noDeadline, deadlineError))
      const hung = yield* Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
      yield* settle
      expect(bulkhead.size()).toEqual({ running: 1, queued: 0 })
      yield* Fiber.interrupt(hung)
      expect(bulkhead.size()).toEqual({ running: 0, queued: 0 })
      expect(yield* bulkhead.withPlace(Effect.succeed("ok"), noDeadline, deadlineError)).toBe("ok")
    }))

  it.effect("an interrupted queued call leaves the queue and frees its place in it", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 1)
      const started: Array<number> = []
      const [running, waiting, later] = yield* Effect.forEach([1, 2, 3], (i) => gatedCall(started, i))
      yield* Effect.forkChild(bulkhead.withPlace(running!.call, noDeadline, deadlineError))
      yield* settle
      const queued = yield* Effect.forkChild(bulkhead.withPlace(waiting!.call, noDeadline, deadlineError))
      yield* settle
      expect(bulkhead.size()).toEqual({ running: 1, queued: 1 })
      yield* Fiber.interrupt(queued)
      expect(bulkhead.size()).toEqual({ running: 1, queued: 0 })
      // its place in the queue is free again
      const next = yield* Effect.forkChild(bulkhead.withPlace(later!.call, noDeadline, deadlineError))
      yield* settle
      expect(bulkhead.size()).toEqual({ running: 1, queued: 1 })
      yield* Deferred.succeed(running!.gate, undefined)
      yield* Deferred.succeed(later!.gate, undefined)
      expect(Exit.isSuccess(yield* Fiber.await(next))).toBe(true)
      expect(started).toEqual([1, 3])
    }))

  it.effect("a waiter interrupted after it was handed a place, before it woke up, passes the place on", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 1)
      let waiter: Fiber.Fiber<void, unknown> | undefined
      yield* bulkhead.withPlace(
        Effect.gen(function*() {
          waiter = yield* Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
          yield* settle
          expect(bulkhead.size()).toEqual({ running: 1, queued: 1 })
        }),
        noDeadline,
        deadlineError
      )
      // the place went to the waiter as this call ended; it has not run since
      yield* Fiber.interrupt(waiter!)
      expect(bulkhead.size()).toEqual({ running: 0, queued: 0 })
      expect(yield* bulkhead.withPlace(Effect.succeed("ok"), noDeadline, deadlineError)).toBe("ok")
    }))

  it.effect("no place is lost or doubled when running and queued calls are interrupted at any moment", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 0, max: 4 }),
          fc.array(fc.record({ interruptAfter: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }) }), {
            minLength: 1,
            maxLength: 12
          }),
          (maxConcurrent, maxQueued, calls) =>
            Effect.runPromise(Effect.gen(function*() {
              const bulkhead = Bulkhead.make("S", maxConcurrent, maxQueued, yield* currentClock)
              let inside = 0
              let most = 0
              const call = Effect.andThen(
                Effect.sync(() => {
                  inside++
                  most = Math.max(most, inside)
                }),
                Effect.ensuring(
                  Effect.andThen(Effect.yieldNow, Effect.yieldNow),
                  Effect.sync(() => inside--)
                )
              )
              const fibers = yield* Effect.forEach(
                calls,
                () => Effect.forkChild(bulkhead.withPlace(call, noDeadline, deadlineError))
              )
              yield* Effect.forEach(
                calls,
                ({ interruptAfter }, i) =>
                  interruptAfter === undefined ? Effect.void : Effect.forkChild(
                    Effect.andThen(
                      Effect.forEach(Array.from({ length: interruptAfter }), () => Effect.yieldNow),
                      Fiber.interrupt(fibers[i]!)
                    )
                  )
              )
              yield* Fiber.awaitAll(fibers)
              expect(most).toBeLessThanOrEqual(maxConcurrent)
              expect(inside).toBe(0)
              expect(bulkhead.size()).toEqual({ running: 0, queued: 0 })
              // every place is there again
              const all = yield* Effect.forEach(
                Array.from({ length: maxConcurrent }),
                () => Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
              )
              yield* settle
              expect(bulkhead.size()).toEqual({ running: maxConcurrent, queued: 0 })
              yield* Fiber.interruptAll(all)
            }))
        ),
        { numRuns: 100 }
      )
    ))

  it.effect("maxQueued 0 rejects every call beyond maxConcurrent", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(2, 0)
      const fibers = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
      )
      yield* settle
      const third = fibers[2]!.pollUnsafe()
      expect(third !== undefined && Exit.isFailure(third) && BulkheadFull.isBulkheadFull(Cause.squash(third.cause)))
        .toBe(true)
      expect(bulkhead.size()).toEqual({ running: 2, queued: 0 })
      yield* Fiber.interruptAll(fibers)
    }))

  it.effect("a wait still in line at its deadline (monotonic time) fails with the deadline's error and leaves", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 1)
      const clock = yield* currentClock
      const hold = yield* Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
      yield* settle
      const deadlineAt = Time.monotonicMillis(clock) + 3_000
      const waiting = yield* Effect.forkChild(bulkhead.withPlace(Effect.succeed("late"), deadlineAt, deadlineError))
      yield* settle
      yield* TestClock.adjust(2_999)
      expect(waiting.pollUnsafe()).toBeUndefined()
      expect(bulkhead.size()).toEqual({ running: 1, queued: 1 })
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(deadlineError())
      expect(bulkhead.size()).toEqual({ running: 1, queued: 0 })
      yield* Fiber.interrupt(hold)
      expect(bulkhead.size()).toEqual({ running: 0, queued: 0 })
    }))

  it.effect("the wait's deadline is on monotonic time: a step of the wall clock neither cuts nor lengthens it", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const bulkhead = Bulkhead.make("Chroma Server", 1, 1, clock)
      const hold = yield* Effect.forkChild(bulkhead.withPlace(Effect.never, noDeadline, deadlineError))
      yield* settle
      const waiting = yield* Effect.forkChild(
        bulkhead.withPlace(Effect.succeed("late"), Time.monotonicMillis(clock) + 3_000, deadlineError)
      )
      yield* settle
      yield* stepWall(10_000)
      yield* TestClock.adjust(2_999)
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* stepWall(-3_600_000)
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(deadlineError())
      yield* Fiber.interrupt(hold)
    }))

  it.effect("shutdown interrupts the waits in line and refuses later calls; running calls keep their place", () =>
    Effect.gen(function*() {
      const bulkhead = yield* makeBulkhead(1, 2)
      const gate = yield* Deferred.make<void>()
      const running = yield* Effect.forkChild(bulkhead.withPlace(Deferred.await(gate), noDeadline, deadlineError))
      yield* settle
      const queued = yield* Effect.forkChild(bulkhead.withPlace(Effect.void, noDeadline, deadlineError))
      yield* settle
      bulkhead.shutdown()
      expect(Exit.hasInterrupts(yield* Fiber.await(queued))).toBe(true)
      expect(Exit.hasInterrupts(yield* Effect.exit(bulkhead.withPlace(Effect.void, noDeadline, deadlineError))))
        .toBe(true)
      yield* Deferred.succeed(gate, undefined)
      expect(Exit.isSuccess(yield* Fiber.await(running))).toBe(true)
    }))
})

describe("BulkheadFull", () => {
  it("is a tagged error with its fields, message and an HTTP status of 503", () => {
    const error = BulkheadFull.unsafeMake("Billing", 5, 10)
    expect(error._tag).toBe("BulkheadFull")
    expect(error).toBeInstanceOf(Error)
    expect({ service: error.service, maxConcurrent: error.maxConcurrent, maxQueued: error.maxQueued }).toEqual({
      service: "Billing",
      maxConcurrent: 5,
      maxQueued: 10
    })
    expect(error.message).toBe("[Billing] Bulkhead full: 5 calls running and 10 queued, call rejected")
    expect(BulkheadFull.isBulkheadFull(error)).toBe(true)
    expect(BulkheadFull.isBulkheadFull(new Error("Bulkhead full"))).toBe(false)
    expect(BulkheadFull.isBulkheadFull({ _tag: "BulkheadFull" })).toBe(false)
    expect(BulkheadFull.BulkheadFull.ast.annotations?.["httpApiStatus"]).toBe(503)
  })

  it("encodes to its fields as JSON and decodes back", () => {
    const error = new BulkheadFull.BulkheadFull({ service: "Billing", maxConcurrent: 5, maxQueued: 0 })
    const json = Schema.encodeSync(BulkheadFull.BulkheadFull)(error)
    expect(json).toEqual({ _tag: "BulkheadFull", service: "Billing", maxConcurrent: 5, maxQueued: 0 })
    const back = Schema.decodeUnknownSync(BulkheadFull.BulkheadFull)(json)
    expect(back).toBeInstanceOf(BulkheadFull.BulkheadFull)
    expect(back.message).toBe(error.message)
  })

  it("the checked constructor refuses a count that is not an integer; unsafeMake captures no stack", () => {
    expect(() => new BulkheadFull.BulkheadFull({ service: "Billing", maxConcurrent: 1.5, maxQueued: 0 })).toThrow()
    const error = BulkheadFull.unsafeMake("Billing", 1, 0)
    expect((error.stack ?? "").split("\n").filter((line) => line.trimStart().startsWith("at "))).toEqual([])
  })
})

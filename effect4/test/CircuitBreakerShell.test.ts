/**
 * What the breaker does around its state machine: who announces a transition (the call, the read
 * or the timer that sees it first), which timers it leaves pending, when it writes its store, the
 * metrics and log lines of each transition, the rejection it reuses, the recovery schedule it
 * steps ahead, a throwing `isFailure`, and the internal API the HTTP client relies on.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, Metrics, ServiceUnavailable } from "../src/index.js"
import { internals } from "../src/internal/circuitBreaker.js"
import { lateTimerClock, letWokenFibersRun } from "./utils/clocks.js"
import { makeLogCapture } from "./utils/logs.js"

class Boom {
  readonly _tag = "Boom"
}

const fail = Effect.fail(new Boom())
const ok = Effect.succeed("ok")

const failOnce = (breaker: CircuitBreaker.CircuitBreaker) => Effect.ignore(breaker(fail))

const rejection = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.flatMap(Effect.flip(breaker(ok)), (error) =>
    error instanceof ServiceUnavailable.ServiceUnavailable
      ? Effect.succeed(error)
      : Effect.die(`expected a rejection, got ${String(error)}`))

const retryAfterMillis = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(rejection(breaker), (error) => Duration.toMillis(error.retryAfter))

/** Every transition published so far, without waiting for more. */
const published = (subscription: PubSub.Subscription<CircuitBreaker.StateChange>) =>
  Effect.flatMap(PubSub.remaining(subscription), (n) =>
    n === 0
      ? Effect.succeed([])
      : Effect.map(PubSub.takeUpTo(subscription, n), (changes) => changes.map((c) => `${c.from}→${c.to}`)))

/** The in-memory store, recording the key of every write. */
const countingStore = Effect.gen(function*() {
  const store = yield* KeyValueStore.KeyValueStore
  const writes: Array<string> = []
  const counting: KeyValueStore.KeyValueStore = {
    ...store,
    set: (key, value) => Effect.andThen(Effect.sync(() => writes.push(key)), store.set(key, value))
  }
  return { store: counting, writes }
})

/** Lets the breakers' timers run, then waits until their writers have written what they were given. */
const writesDone = (...breakers: ReadonlyArray<CircuitBreaker.CircuitBreaker>) =>
  Effect.andThen(TestClock.adjust(0), Effect.forEach(breakers, (breaker) => internals(breaker).storeIdle))

const gauge = (service: string) =>
  Effect.map(Metric.value(Metric.withAttributes(Metrics.breakerState, { service })), (state) => state.value)
const changesTo = (service: string, to: string) =>
  Effect.map(
    Metric.value(Metric.withAttributes(Metrics.stateChangesTotal, { service, to })),
    (state) => state.count
  )

/**
 * A breaker on the late-timer clock, opened by one failure, with the clock moved to the end of
 * its 10 s opening; `wakeTimer` lets its timer wake and waits until it has finished.
 */
const openedPastItsEnd = Effect.gen(function*() {
  const { advance, clock, releaseTimers } = yield* lateTimerClock
  const breaker = yield* Effect.provideService(
    CircuitBreaker.make({ name: "late-timer", failureThreshold: 1, recoveryTimeout: "10 seconds" }),
    Clock.Clock,
    clock
  )
  const queue = yield* breaker.subscribe
  yield* failOnce(breaker) // opens, and starts the timer
  yield* advance(10_000)
  return { breaker, queue, wakeTimer: Effect.andThen(releaseTimers, letWokenFibersRun) }
})

describe("CircuitBreaker shell", () => {
  describe("a transition is announced by whoever sees it first", () => {
    it.effect("a read of state past the end of an opening publishes half_open when the timer is late", () =>
      Effect.gen(function*() {
        const { breaker, queue, wakeTimer } = yield* openedPastItsEnd
        expect(yield* breaker.state).toBe("half_open")
        expect(yield* published(queue)).toEqual(["closed→open", "open→half_open"])
        expect((yield* breaker.status).state).toBe("half_open")
        yield* wakeTimer
        expect(yield* published(queue)).toEqual([]) // announced once
      }))

    it.effect("a probe admitted past the end of an opening publishes half_open, then closed", () =>
      Effect.gen(function*() {
        const { breaker, queue, wakeTimer } = yield* openedPastItsEnd
        expect(yield* breaker(ok)).toBe("ok")
        expect(yield* published(queue)).toEqual(["closed→open", "open→half_open", "half_open→closed"])
        yield* wakeTimer
        expect(yield* published(queue)).toEqual([])
      }))

    it.effect("a success that trips a rate strategy is published and logged like any opening", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        const { breaker, queue } = yield* logs.provide(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({
            name: "rate",
            strategy: CircuitBreaker.failureRate({
              threshold: 0.5,
              minimumCalls: 2,
              window: { kind: "count", size: 2 }
            })
          })
          const queue = yield* breaker.subscribe
          yield* failOnce(breaker)
          yield* breaker(ok) // 1 failure of 2 calls: 50 %, opened by a success
          return { breaker, queue }
        }))
        expect(yield* published(queue)).toEqual(["closed→open"])
        expect(logs.messages()).toContain("[rate] Circuit breaker OPEN (threshold reached)")
        expect(yield* gauge("rate")).toBe(Metrics.stateValue("open"))
        expect(yield* breaker.state).toBe("open")
      }))
  })

  describe("timers", () => {
    // TestClock.adjust(0) moves no time but lets every fiber run until it is suspended: any timer
    // the breaker forked is then asleep. Effect 4's TestClock lists its sleeps in a field it does
    // not export: read it, and fail loudly if it is gone.
    const pendingSleeps = Effect.andThen(
      TestClock.adjust(0),
      TestClock.testClockWith((clock) =>
        Effect.sync(() => {
          const sleeps = (clock as unknown as { readonly sleeps?: ReadonlyArray<{ readonly timestamp: number }> })
            .sleeps
          if (sleeps === undefined) throw new Error("TestClock no longer lists its sleeps")
          return sleeps.map((sleep) => sleep.timestamp).sort((a, b) => a - b)
        })
      )
    )

    it.effect("an opening leaves one timer pending; closing or isolating leaves none", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
        yield* failOnce(breaker)
        expect(yield* pendingSleeps).toEqual([10_000])
        yield* TestClock.adjust("10 seconds")
        expect(yield* pendingSleeps).toEqual([])
        yield* breaker(ok)
        expect(yield* breaker.state).toBe("closed")
        expect(yield* pendingSleeps).toEqual([])
        yield* breaker.isolate // open with no end: nothing to wait for
        expect(yield* pendingSleeps).toEqual([])
      }))

    it.effect("a breaker restored isolated starts no timer", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const scope = yield* Scope.make()
        const first = yield* Scope.provide(CircuitBreaker.make({ name: "git", store }), scope)
        yield* first.isolate
        yield* Scope.close(scope, Exit.void)
        const second = yield* CircuitBreaker.make({ name: "git", store })
        expect(yield* second.isolated).toBe(true)
        // what is left are the bounds of the store's reads and writes (5 s), no recovery timer
        expect((yield* pendingSleeps).filter((end) => end !== 5_000)).toEqual([])
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))
  })

  describe("the store is written on transitions only", () => {
    it.effect("counted failures below the threshold, successes and a second isolate write nothing", () =>
      Effect.gen(function*() {
        const { store, writes } = yield* countingStore
        const breaker = yield* CircuitBreaker.make({ name: "billing", failureThreshold: 3, store })
        yield* failOnce(breaker)
        yield* failOnce(breaker)
        yield* breaker(ok)
        yield* writesDone(breaker)
        expect(writes).toEqual([])
        for (let i = 0; i < 3; i++) yield* failOnce(breaker)
        yield* writesDone(breaker)
        expect(writes).toEqual(["effect-resilience/circuit-breaker/billing"]) // opened
        yield* TestClock.adjust("60 seconds") // the timer publishes half_open
        yield* writesDone(breaker)
        yield* breaker(ok) // closed
        yield* writesDone(breaker)
        expect(writes.length).toBe(3)
        yield* breaker.isolate
        yield* writesDone(breaker)
        yield* breaker.isolate // already isolated: no transition
        yield* writesDone(breaker)
        expect(writes.length).toBe(4)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("the timer of an opening that was reset or isolated meanwhile writes nothing when it wakes", () =>
      Effect.gen(function*() {
        const { store, writes } = yield* countingStore
        const reset = yield* CircuitBreaker.make({ name: "reset", failureThreshold: 1, store })
        const isolated = yield* CircuitBreaker.make({ name: "isolated", failureThreshold: 1, store })
        yield* failOnce(reset)
        yield* failOnce(isolated)
        yield* writesDone(reset, isolated)
        yield* reset.reset
        yield* isolated.isolate
        yield* writesDone(reset, isolated)
        expect(writes.length).toBe(4)
        yield* TestClock.adjust("60 seconds") // both timers wake to find nothing to publish
        yield* writesDone(reset, isolated) // and whatever they handed the writers is written
        expect(writes.length).toBe(4)
        expect(yield* reset.state).toBe("closed")
        expect(yield* isolated.state).toBe("open")
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("under a slow-call strategy, fast successes and a failure below the rate write nothing", () =>
      Effect.gen(function*() {
        const { store, writes } = yield* countingStore
        const breaker = yield* CircuitBreaker.make({
          name: "slow",
          store,
          strategy: CircuitBreaker.slowCallRate({
            slowerThan: "1 second",
            threshold: 0.5,
            minimumCalls: 4,
            window: { kind: "count", size: 4 }
          })
        })
        for (let i = 0; i < 10; i++) yield* breaker(ok)
        yield* failOnce(breaker)
        yield* writesDone(breaker)
        expect(writes).toEqual([])
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))
  })

  describe("restored from a store", () => {
    const start = (options: CircuitBreaker.Options) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const breaker = yield* Scope.provide(CircuitBreaker.make(options), scope)
        return { breaker, stop: Scope.close(scope, Exit.void) }
      })
    const restartLogs = (options: CircuitBreaker.Options) =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        const restarted = yield* logs.provide(start(options))
        return { ...restarted, lines: logs.lines.filter((line) => line.message.includes("Circuit breaker")) }
      })

    it.effect("each restored state logs one line saying so, annotated with the service; closed logs none", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const options = { name: "auth", failureThreshold: 1, recoveryTimeout: "30 seconds", store } as const

        const first = yield* start(options)
        yield* failOnce(first.breaker)
        yield* first.breaker.reset
        yield* first.stop
        const closed = yield* restartLogs(options) // stored closed (by the reset)
        expect(closed.lines).toEqual([])
        yield* failOnce(closed.breaker)
        yield* TestClock.adjust("10 seconds")
        yield* closed.stop

        const open = yield* restartLogs(options)
        expect(open.lines.map((l) => [l.level, l.message, l.annotations.service])).toEqual([
          ["INFO", "[auth] Circuit breaker OPEN (restored from the store, next probe in 20s)", "auth"]
        ])
        const queue = yield* open.breaker.subscribe
        yield* TestClock.adjust("20 seconds")
        yield* TestClock.adjust(0) // the restored timer has run
        expect(yield* published(queue)).toEqual(["open→half_open"]) // published (and stored) by the timer
        yield* open.stop

        const halfOpen = yield* restartLogs(options)
        expect(halfOpen.lines.map((l) => [l.level, l.message, l.annotations.service])).toEqual([
          ["INFO", "[auth] Circuit breaker HALF_OPEN (restored from the store)", "auth"]
        ])
        yield* halfOpen.breaker.isolate
        yield* halfOpen.stop

        const isolated = yield* restartLogs(options)
        expect(isolated.lines.map((l) => [l.level, l.message, l.annotations.service])).toEqual([
          ["INFO", "[auth] Circuit breaker OPEN (restored from the store, isolated manually)", "auth"]
        ])
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))
  })

  describe("log lines and metrics of transitions", () => {
    it.effect("a failed probe logs OPEN (probe failed)", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        yield* logs.provide(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({ name: "fs", failureThreshold: 1, recoveryTimeout: "5 seconds" })
          yield* failOnce(breaker)
          yield* TestClock.adjust("5 seconds")
          yield* failOnce(breaker)
        }))
        expect(logs.lines.filter((l) => l.message.includes("Circuit breaker")).map((l) => [l.level, l.message]))
          .toEqual([
            ["ERROR", "[fs] Circuit breaker OPEN (threshold reached)"],
            ["INFO", "[fs] Circuit breaker HALF_OPEN (testing recovery)"],
            ["ERROR", "[fs] Circuit breaker OPEN (probe failed)"]
          ])
      }))

    it.effect("the state gauge and the transition counter follow each transition, tagged with the service", () =>
      Effect.gen(function*() {
        // metrics are global: counters are compared with what they held before
        const countsBefore = [
          yield* changesTo("metrics-shell", "open"),
          yield* changesTo("metrics-shell", "half_open"),
          yield* changesTo("metrics-shell", "closed")
        ]
        // an earlier breaker of the same name left the gauge at open; a new one starts closed
        const scope = yield* Scope.make()
        yield* failOnce(
          yield* Scope.provide(CircuitBreaker.make({ name: "metrics-shell", failureThreshold: 1 }), scope)
        )
        yield* Scope.close(scope, Exit.void)
        expect(yield* gauge("metrics-shell")).toBe(Metrics.stateValue("open"))
        const breaker = yield* CircuitBreaker.make({
          name: "metrics-shell",
          failureThreshold: 1,
          recoveryTimeout: "5 seconds"
        })
        expect(yield* gauge("metrics-shell")).toBe(Metrics.stateValue("closed"))
        yield* failOnce(breaker)
        expect(yield* gauge("metrics-shell")).toBe(Metrics.stateValue("open"))
        yield* TestClock.adjust("5 seconds")
        expect(yield* gauge("metrics-shell")).toBe(Metrics.stateValue("half_open"))
        yield* failOnce(breaker)
        yield* TestClock.adjust("5 seconds")
        yield* breaker(ok)
        expect(yield* gauge("metrics-shell")).toBe(Metrics.stateValue("closed"))
        const countsAfter = [
          yield* changesTo("metrics-shell", "open"),
          yield* changesTo("metrics-shell", "half_open"),
          yield* changesTo("metrics-shell", "closed")
        ]
        // the first breaker opened once; this one opened twice, went half_open twice, closed once
        expect(countsAfter.map((n, i) => n - countsBefore[i]!)).toEqual([3, 2, 1])
      }))
  })

  describe("rejections", () => {
    it.effect("rejections of one opening at one instant are one reused error; a later instant gets its own", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
        yield* failOnce(breaker)
        const first = yield* rejection(breaker)
        expect(yield* rejection(breaker)).toBe(first)
        yield* TestClock.adjust("1 second")
        const later = yield* rejection(breaker)
        expect(later).not.toBe(first)
        expect(Duration.toMillis(later.retryAfter)).toBe(9_000)
        expect(yield* rejection(breaker)).toBe(later)
      }))

    it.effect("concurrent calls against half_open: one probe runs, the others are rejected without running", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
        yield* failOnce(breaker)
        yield* TestClock.adjust("10 seconds")
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const call = breaker(Effect.andThen(Ref.update(runs, (n) => n + 1), Deferred.await(gate)))
        const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.forkChild(call))
        yield* TestClock.adjust(0) // every fiber has run until it ended or blocked
        const early = fibers.map((fiber) => fiber.pollUnsafe())
        expect(early.filter((exit) => exit !== undefined).length).toBe(9) // rejected while the probe is in flight
        expect(yield* Ref.get(runs)).toBe(1)
        yield* Deferred.succeed(gate, void 0)
        const exits = yield* Effect.forEach(fibers, Fiber.await)
        expect(exits.filter(Exit.isSuccess).length).toBe(1)
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("a recovery schedule", () => {
    it.effect("is stepped on the timeline of the openings, so a schedule that reads the clock ends on time", () =>
      Effect.gen(function*() {
        // 1 s, 2 s, 4 s, then the schedule is done 7 s in (past 5 s): its last delay repeats
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: Schedule.exponential("1 second").pipe(Schedule.upTo({ duration: "5 seconds" }))
        })
        const openings: Array<number> = []
        yield* failOnce(breaker)
        for (let i = 0; i < 5; i++) {
          const delay = yield* retryAfterMillis(breaker)
          openings.push(delay)
          yield* TestClock.adjust(Duration.millis(delay))
          yield* failOnce(breaker) // the probe fails: the next opening
        }
        expect(openings).toEqual([1_000, 2_000, 4_000, 4_000, 4_000])
      }))

    it.effect("gives 64 openings, then repeats the 64th", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          // 1 s, 2 s, 3 s, ... (Effect 4 has no Schedule.linear)
          recoveryTimeout: Schedule.spaced("1 second").pipe(
            Schedule.modifyDelay((meta) => Effect.succeed(Duration.seconds(meta.attempt)))
          )
        })
        const openings: Array<number> = []
        yield* failOnce(breaker)
        for (let i = 0; i < 66; i++) {
          const delay = yield* retryAfterMillis(breaker)
          openings.push(delay / 1_000)
          yield* TestClock.adjust(Duration.millis(delay))
          yield* failOnce(breaker)
        }
        expect(openings.slice(0, 3)).toEqual([1, 2, 3])
        expect(openings.slice(62)).toEqual([63, 64, 64, 64])
      }))
  })

  describe("an isFailure that throws", () => {
    it.effect("is a defect for the caller, on top of the call's own failure, and the call counts as failed", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 2,
          isFailure: () => {
            throw new Error("classifier bug")
          }
        })
        const exit = yield* Effect.exit(breaker(fail))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(Option.getOrThrow(Cause.findErrorOption(exit.cause))).toBeInstanceOf(Boom)
          expect(Cause.hasDies(exit.cause)).toBe(true)
          expect(String(Result.getOrThrow(Cause.findDefect(exit.cause)))).toContain("classifier bug")
        }
        expect((yield* breaker.status).failureCount).toBe(1)
      }))

    it.effect("does not lose a probe's permit", () =>
      Effect.gen(function*() {
        let throwing = false
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "5 seconds",
          isFailure: () => {
            if (throwing) throw new Error("classifier bug")
            return true
          }
        })
        yield* failOnce(breaker)
        yield* TestClock.adjust("5 seconds")
        throwing = true
        yield* Effect.exit(breaker(fail)) // the probe: counted as failed, open again
        expect(yield* breaker.state).toBe("open")
        throwing = false
        yield* TestClock.adjust("5 seconds")
        expect(yield* breaker(ok)).toBe("ok") // the next probe is admitted
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("members are built on first read", () => {
    it.effect("each member is one value for the life of its breaker, and belongs to that breaker", () =>
      Effect.gen(function*() {
        const first = yield* CircuitBreaker.make({ name: "first" })
        const second = yield* CircuitBreaker.make({ name: "second" })
        // read from the second breaker first: a member is built from the breaker it is read on
        const { isolate, state } = second
        yield* isolate
        expect(yield* state).toBe("open")
        expect(yield* first.state).toBe("closed")
        expect((yield* second.status).service).toBe("second")
        expect((yield* first.status).service).toBe("first")
        for (const breaker of [first, second]) {
          for (const key of ["status", "state", "changes", "subscribe", "isolate", "reset", "isolated"] as const) {
            expect(breaker[key], key).toBe(breaker[key])
          }
          expect(internals(breaker).rejection).toBe(internals(breaker).rejection)
          expect(internals(breaker).awaitRejection).toBe(internals(breaker).awaitRejection)
        }
        expect(yield* second.isolated).toBe(true)
        expect(yield* first.isolated).toBe(false)
        // listed like plain properties, as a breaker always listed them
        expect(Object.keys(first)).toEqual(
          ["service", "status", "state", "changes", "subscribe", "isolate", "reset", "isolated", "withOptions"]
        )
        expect(first[CircuitBreaker.TypeId]).toBe(CircuitBreaker.TypeId)
      }))
  })

  describe("the client's view of the breaker (internals)", () => {
    it.effect("rejection: none while calls would run, the very error a call gets while open", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
        const view = internals(breaker)
        expect(yield* view.rejection).toEqual(Option.none())
        expect(view.currentState()).toBe("closed")
        yield* failOnce(breaker)
        expect(view.currentState()).toBe("open")
        const error = Option.getOrThrow(yield* view.rejection)
        expect(error).toBe(yield* rejection(breaker))
        expect(yield* view.awaitRejection).toBe(error) // at once when it rejects already
        yield* TestClock.adjust("10 seconds")
        expect(yield* view.rejection).toEqual(Option.none())
        expect(view.currentState()).toBe("half_open")
      }))

    it.effect("awaitRejection waits through other transitions for the next opening", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
        const view = internals(breaker)
        const closedWaiter = yield* Effect.forkChild(view.awaitRejection)
        yield* TestClock.adjust(0) // subscribed and waiting
        expect(closedWaiter.pollUnsafe()).toBeUndefined()
        expect(view.rejectionWaiters()).toBe(1)
        yield* breaker.isolate
        expect((yield* Fiber.join(closedWaiter)).state).toBe("open")

        yield* breaker.reset
        yield* failOnce(breaker)
        yield* TestClock.adjust("10 seconds") // half_open: a call would be admitted
        const waiting = yield* Effect.forkChild(view.awaitRejection)
        yield* TestClock.adjust(0)
        expect(waiting.pollUnsafe()).toBeUndefined()
        yield* breaker(ok) // half_open → closed: still waiting
        yield* TestClock.adjust(0)
        expect(waiting.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 second")
        yield* failOnce(breaker) // closed → open: now it rejects
        const rejected = yield* Fiber.join(waiting)
        expect(Duration.toMillis(rejected.retryAfter)).toBe(10_000)
        expect(view.rejectionWaiters()).toBe(0)
      }))
  })
})

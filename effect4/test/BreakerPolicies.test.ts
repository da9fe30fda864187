import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { CircuitBreaker, ServiceUnavailable } from "../src/index.js"
import { internals } from "../src/internal/circuitBreaker.js"
import { issuesOf } from "./utils/configErrors.js"
import { makeLogCapture } from "./utils/logs.js"
import { subscribe } from "./utils/streams.js"

class Boom {
  readonly _tag = "Boom"
}

const fail = Effect.fail(new Boom())
const ok = Effect.succeed("ok")

/** Runs the outcomes one after the other through the breaker ("S" succeeds, "F" fails). */
const calls = (breaker: CircuitBreaker.CircuitBreaker, outcomes: string) =>
  Effect.forEach(outcomes.split(""), (outcome) => Effect.ignore(breaker(outcome === "F" ? fail : ok)), {
    discard: true
  })

/** An effect that counts its runs, to prove a rejected call never ran. */
const counted = Effect.gen(function*() {
  const runs = yield* Ref.make(0)
  return { runs, effect: Effect.andThen(Ref.update(runs, (n) => n + 1), ok) }
})

const rejection = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.flatMap(Effect.flip(breaker(ok)), (error) =>
    error instanceof ServiceUnavailable.ServiceUnavailable
      ? Effect.succeed(error)
      : Effect.die(`expected a rejection, got ${String(error)}`))

describe("CircuitBreaker policies", () => {
  describe("failureRate", () => {
    it.effect("count window: opens exactly when the rate of the last N calls reaches the threshold", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 4, window: { kind: "count", size: 4 } })
        })
        yield* calls(breaker, "SSSF") // 1 of 4
        expect(yield* breaker.state).toBe("closed")
        yield* calls(breaker, "F") // the first S leaves the window: S S F F, 2 of 4 = 50 %
        expect(yield* breaker.state).toBe("open")
      }))

    it.effect("count window: a rate below the threshold keeps it closed however long it runs", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 4, window: { kind: "count", size: 4 } })
        })
        for (let i = 0; i < 21; i++) yield* calls(breaker, "FSSS") // 25 % in every window of 4
        expect(yield* breaker.state).toBe("closed")
        // and a 3-of-10 rate reaches a 0.3 threshold exactly (no floating-point miss)
        const thirty = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({
            threshold: 0.3,
            minimumCalls: 10,
            window: { kind: "count", size: 10 }
          })
        })
        yield* calls(thirty, "FFFSSSSSS") // 3 of 9, below minimumCalls
        expect(yield* thirty.state).toBe("closed")
        yield* calls(thirty, "S")
        expect(yield* thirty.state).toBe("open")
      }))

    it.effect("not before minimumCalls, and a success that completes minimumCalls can open it", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 4, window: { kind: "count", size: 10 } })
        })
        yield* calls(breaker, "FFF") // 100 %, but only 3 calls
        expect(yield* breaker.state).toBe("closed")
        yield* calls(breaker, "S") // 3 of 4
        const status = yield* breaker.status
        expect(status.state).toBe("open")
        expect(status.failureCount).toBe(0) // the success ended the run of consecutive failures
      }))

    it.effect("time window: calls of buckets older than the window no longer count", () =>
      Effect.gen(function*() {
        // 10 s in 5 buckets of 2 s
        const window = { kind: "time", duration: "10 seconds", buckets: 5 } as const
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 4, window })
        })
        yield* calls(breaker, "SSSSS") // bucket [0 s, 2 s)
        yield* TestClock.adjust("9 seconds")
        yield* calls(breaker, "FFF") // 3 of 8
        expect(yield* breaker.state).toBe("closed")
        yield* TestClock.adjust("1 second") // t = 10 s: the successes' bucket has aged out
        yield* calls(breaker, "F") // 4 of 4 (it would be 4 of 9 with them)
        expect(yield* breaker.state).toBe("open")
      }))

    it.effect("time window: failures that aged out do not make up minimumCalls", () =>
      Effect.gen(function*() {
        const window = { kind: "time", duration: "10 seconds", buckets: 5 } as const
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 4, window })
        })
        yield* calls(breaker, "FFF")
        yield* TestClock.adjust("10 seconds")
        yield* calls(breaker, "F") // 1 call in the window, not 4
        expect(yield* breaker.state).toBe("closed")
        yield* calls(breaker, "FFF")
        expect(yield* breaker.state).toBe("open")
      }))

    it.effect("the window starts empty again after the breaker closes", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          recoveryTimeout: "1 second",
          strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 2, window: { kind: "count", size: 10 } })
        })
        yield* calls(breaker, "FF")
        yield* TestClock.adjust("1 second")
        yield* calls(breaker, "S") // the probe closes it
        expect(yield* breaker.state).toBe("closed")
        yield* calls(breaker, "F") // 1 call: below minimumCalls, whatever came before
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("rate windows against a reference model", () => {
    // The reference keeps every call and recomputes the window from scratch each time.
    interface Call {
      readonly at: number
      readonly failed: boolean
    }
    const inWindow = (window: CircuitBreaker.SlidingWindow, history: ReadonlyArray<Call>, now: number) => {
      if (window.kind === "count") return history.slice(Math.max(0, history.length - window.size))
      const width = Duration.toMillis(window.duration) / (window.buckets ?? 10)
      const first = Math.floor(now / width) - (window.buckets ?? 10) + 1
      return history.filter((call) => Math.floor(call.at / width) >= first)
    }

    const windowArbitrary: fc.Arbitrary<CircuitBreaker.SlidingWindow> = fc.oneof(
      fc.record({ kind: fc.constant("count" as const), size: fc.integer({ min: 1, max: 12 }) }),
      fc.record({
        kind: fc.constant("time" as const),
        duration: fc.integer({ min: 10, max: 200 }),
        buckets: fc.integer({ min: 1, max: 10 })
      })
    )

    it("failureRate: every state agrees with the reference, and no later call changes an earlier state", () =>
      fc.assert(
        fc.property(
          windowArbitrary,
          fc.constantFrom(0.1, 0.25, 0.3, 0.5, 2 / 3, 1),
          fc.integer({ min: 1, max: 12 }),
          fc.array(fc.record({ wait: fc.nat({ max: 40 }), failed: fc.boolean() }), { maxLength: 80 }),
          (window, threshold, minimumCallsWanted, steps) => {
            const minimumCalls = window.kind === "count"
              ? Math.min(minimumCallsWanted, window.size)
              : minimumCallsWanted
            const strategy = CircuitBreaker.failureRate({ threshold, minimumCalls, window })
            let now = 0
            let state = strategy.initial(now)
            const history: Array<Call> = []
            const seen: Array<
              { readonly state: CircuitBreaker.RateWindow; readonly calls: number; readonly failures: number }
            > = []
            for (const step of steps) {
              now += step.wait
              state = step.failed ? strategy.onFailure(state, now, 0) : strategy.onSuccess(state, now, 0)
              history.push({ at: now, failed: step.failed })
              const expected = inWindow(window, history, now)
              const failures = expected.filter((call) => call.failed).length
              expect(state.calls).toBe(expected.length)
              expect(state.failures).toBe(failures)
              expect(strategy.shouldTrip(state, now)).toBe(
                expected.length >= minimumCalls && failures / expected.length >= threshold
              )
              seen.push({ state, calls: state.calls, failures: state.failures })
            }
            for (const earlier of seen) {
              expect([earlier.state.calls, earlier.state.failures]).toEqual([earlier.calls, earlier.failures])
            }
          }
        ),
        { numRuns: 300 }
      ))
  })

  describe("slowCallRate", () => {
    const slow = (breaker: CircuitBreaker.CircuitBreaker, duration: Duration.Input) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(breaker(Effect.as(Effect.sleep(duration), "slow")))
        yield* TestClock.adjust(duration)
        return yield* Fiber.join(fiber)
      })

    it.effect("successes slower than slowerThan open it; the calls themselves succeed", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.slowCallRate({
            slowerThan: "1 second",
            threshold: 0.5,
            minimumCalls: 2,
            window: { kind: "count", size: 4 }
          })
        })
        expect(yield* slow(breaker, "1 second")).toBe("slow") // exactly 1 s is not slower than 1 s
        expect(yield* slow(breaker, "1 second")).toBe("slow")
        yield* calls(breaker, "S")
        expect(yield* breaker.state).toBe("closed")
        expect(yield* slow(breaker, "2 seconds")).toBe("slow") // 1 slow of 4
        expect(yield* breaker.state).toBe("closed")
        expect(yield* slow(breaker, "1001 millis")).toBe("slow") // 2 slow of 4
        const status = yield* breaker.status
        expect(status.state).toBe("open")
        expect(Option.isNone(status.lastFailure)).toBe(true) // nothing failed
      }))

    it.effect("failures count against the rate as well", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.slowCallRate({
            slowerThan: "1 second",
            threshold: 0.5,
            minimumCalls: 4,
            window: { kind: "count", size: 4 }
          })
        })
        yield* calls(breaker, "SSF")
        yield* slow(breaker, "5 seconds")
        expect(yield* breaker.state).toBe("open")
      }))

    it.effect("fast calls never open it", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.slowCallRate({
            slowerThan: "1 second",
            threshold: 0.1,
            minimumCalls: 1,
            window: { kind: "count", size: 4 }
          })
        })
        yield* calls(breaker, "SSSSSSSS")
        yield* slow(breaker, "999 millis")
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("half_open probes", () => {
    it.effect("with halfOpenMaxProbes = 3, a failed third probe opens it again", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "1 second",
          halfOpenMaxProbes: 3
        })
        yield* calls(breaker, "F")
        yield* TestClock.adjust("1 second")
        yield* calls(breaker, "SS")
        expect(yield* breaker.state).toBe("half_open")
        yield* calls(breaker, "F")
        const status = yield* breaker.status
        expect(status.state).toBe("open")
        expect(status.failureCount).toBe(2)
      }))

    it.effect("a hung probe is failed by probeTimeout, its late result ignored, and the next call probes", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        yield* logs.provide(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({
            name: "svc",
            failureThreshold: 1,
            recoveryTimeout: "10 seconds",
            probeTimeout: "5 seconds"
          })
          const next = yield* subscribe(breaker.subscribe)
          yield* calls(breaker, "F")
          yield* TestClock.adjust("10 seconds")
          const gate = yield* Deferred.make<void>()
          const hung = yield* Effect.forkChild(breaker(Effect.as(Deferred.await(gate), "late")))
          yield* Effect.yieldNow
          expect((yield* rejection(breaker)).state).toBe("half_open") // the probe holds the permit

          yield* TestClock.adjust(Duration.millis(4_999))
          expect(yield* breaker.state).toBe("half_open")
          yield* TestClock.adjust(Duration.millis(1))
          // published by the timer, dated at the deadline
          const changes = yield* next(3)
          expect(changes.map((c) => `${c.from}→${c.to}@${c.at.getTime()}`)).toEqual([
            "closed→open@0",
            "open→half_open@10000",
            "half_open→open@15000"
          ])
          const status = yield* breaker.status
          expect(status.state).toBe("open")
          expect(status.failureCount).toBe(2)
          expect(Option.getOrThrow(status.lastFailure).getTime()).toBe(15_000)
          expect(hung.pollUnsafe()).toBeUndefined() // the call itself was not interrupted

          // its late success is returned to its caller but changes nothing
          yield* Deferred.succeed(gate, undefined)
          expect(yield* Fiber.join(hung)).toBe("late")
          expect(yield* breaker.state).toBe("open")

          yield* TestClock.adjust("10 seconds")
          const { effect, runs } = yield* counted
          expect(yield* breaker(effect)).toBe("ok") // the next call is the probe
          expect(yield* Ref.get(runs)).toBe(1)
          expect(yield* breaker.state).toBe("closed")
        }))
        expect(logs.messages()).toContain("[svc] Circuit breaker OPEN (probe timed out)")
      }))

    it.effect("a probe that ends within probeTimeout is not failed by it", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "10 seconds",
          probeTimeout: "5 seconds"
        })
        yield* calls(breaker, "F")
        yield* TestClock.adjust("10 seconds")
        const probe = yield* Effect.forkChild(breaker(Effect.as(Effect.sleep("4 seconds"), "done")))
        yield* TestClock.adjust("4 seconds")
        expect(yield* Fiber.join(probe)).toBe("done")
        yield* TestClock.adjust("10 seconds")
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("recoveryTimeout as a Schedule", () => {
    it.effect("open durations follow the schedule on each re-opening and start over after a close", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          // 10 s, 20 s, then capped at 25 s
          recoveryTimeout: Schedule.min([Schedule.exponential("10 seconds"), Schedule.spaced("25 seconds")])
        })
        const openFor = Effect.gen(function*() {
          const error = yield* rejection(breaker)
          expect(error.state).toBe("open")
          return Duration.toMillis(error.retryAfter)
        })
        const failProbeAfter = (millis: number) =>
          Effect.gen(function*() {
            yield* TestClock.adjust(Duration.millis(millis - 1))
            expect(yield* breaker.state).toBe("open")
            yield* TestClock.adjust(Duration.millis(1))
            expect(yield* breaker.state).toBe("half_open")
            yield* calls(breaker, "F")
          })

        yield* calls(breaker, "F")
        const durations: Array<number> = [yield* openFor]
        for (let i = 0; i < 3; i++) {
          yield* failProbeAfter(durations[durations.length - 1]!)
          durations.push(yield* openFor)
        }
        expect(durations).toEqual([10_000, 20_000, 25_000, 25_000])

        yield* TestClock.adjust("25 seconds")
        yield* calls(breaker, "S") // the probe closes it
        expect(yield* breaker.state).toBe("closed")
        yield* calls(breaker, "F")
        expect(yield* openFor).toBe(10_000)
      }))

    it.effect("the end of a scheduled opening is published without any call", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: Schedule.exponential("1 second", 3)
        })
        const next = yield* subscribe(breaker.subscribe)
        yield* calls(breaker, "F")
        yield* TestClock.adjust("1 second")
        yield* calls(breaker, "F")
        yield* TestClock.adjust("3 seconds")
        const changes = yield* next(4)
        expect(changes.map((c) => `${c.to}@${c.at.getTime()}`)).toEqual([
          "open@0",
          "half_open@1000",
          "open@1000",
          "half_open@4000"
        ])
      }))
  })

  describe("isolate and reset", () => {
    it.effect("isolate forces it open without probes until reset; both are published and logged", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        const changes = yield* logs.provide(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({ name: "billing", recoveryTimeout: "1 second" })
          const next = yield* subscribe(breaker.subscribe)
          expect(yield* breaker.isolated).toBe(false)
          yield* breaker.isolate
          expect(yield* breaker.isolated).toBe(true)
          expect(yield* breaker.state).toBe("open")

          const { effect, runs } = yield* counted
          const rejected = yield* Effect.flip(breaker(effect))
          expect(rejected).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
          const error = rejected as ServiceUnavailable.ServiceUnavailable
          expect(error.state).toBe("open")
          expect(Duration.isFinite(error.retryAfter)).toBe(false)
          expect(yield* Ref.get(runs)).toBe(0)

          // no recovery: a day later it is still open and calls are still rejected
          yield* TestClock.adjust("1 day")
          expect(yield* breaker.state).toBe("open")
          yield* Effect.flip(breaker(effect))
          expect(yield* Ref.get(runs)).toBe(0)
          yield* breaker.isolate // already isolated: nothing more

          yield* breaker.reset
          expect(yield* breaker.isolated).toBe(false)
          const status = yield* breaker.status
          expect(status.state).toBe("closed")
          expect(status.failureCount).toBe(0)
          expect(yield* breaker(effect)).toBe("ok")
          return yield* next(2)
        }))
        expect(changes.map((c) => `${c.from}→${c.to}@${c.at.getTime()}`)).toEqual([
          "closed→open@0",
          "open→closed@86400000"
        ])
        const lines = logs.lines.filter((l) => l.message.includes("Circuit breaker"))
        expect(lines.map((l) => [l.level, l.message])).toEqual([
          ["WARN", "[billing] Circuit breaker OPEN (isolated manually)"],
          ["INFO", "[billing] Circuit breaker CLOSED (reset manually)"]
        ])
        expect(lines.every((l) => l.annotations.service === "billing")).toBe(true)
      }))

    it.effect("reset clears the failure count; isolating an open breaker publishes open → open", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 3, recoveryTimeout: "10 seconds" })
        const next = yield* subscribe(breaker.subscribe)
        yield* calls(breaker, "FF")
        expect((yield* breaker.status).failureCount).toBe(2)
        yield* breaker.reset
        expect((yield* breaker.status).failureCount).toBe(0)
        yield* calls(breaker, "FF")
        expect(yield* breaker.state).toBe("closed") // the count started over
        yield* calls(breaker, "F")
        yield* breaker.isolate
        yield* TestClock.adjust("10 seconds") // the recovery timeout of the opening is void
        expect(yield* breaker.state).toBe("open")
        const changes = yield* next(3)
        expect(changes.map((c) => `${c.from}→${c.to}`)).toEqual(["closed→closed", "closed→open", "open→open"])
      }))

    it.effect("results of calls admitted before isolate or reset change nothing", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ failureThreshold: 1 })
        const gate = yield* Deferred.make<void>()
        const running = yield* Effect.forkChild(breaker(Effect.andThen(Deferred.await(gate), fail)))
        yield* Effect.yieldNow
        yield* breaker.reset
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.await(running)
        expect(yield* breaker.state).toBe("closed")
      }))
  })

  describe("persisted state", () => {
    /** Makes a breaker in a scope of its own: closing it is a process ending. */
    const start = (options: CircuitBreaker.Options) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const breaker = yield* Scope.provide(CircuitBreaker.make(options), scope)
        return { breaker, stop: Scope.close(scope, Exit.void) }
      })

    const restartResumesOpen = Effect.gen(function*() {
      const backing = yield* KeyValueStore.KeyValueStore
      // the opening's write is real I/O (a file) bounded by storeTimeout on the TestClock: the
      // clock moves on only once it is written, as it would in real time
      const written = yield* Deferred.make<void>()
      const store: KeyValueStore.KeyValueStore = {
        ...backing,
        set: (key, value) => Effect.andThen(backing.set(key, value), Deferred.succeed(written, undefined))
      }
      const options = { name: "chroma", failureThreshold: 2, recoveryTimeout: "60 seconds", store } as const
      const first = yield* start(options)
      yield* TestClock.adjust("5 seconds")
      yield* calls(first.breaker, "FF")
      yield* Deferred.await(written)
      yield* TestClock.adjust("20 seconds")
      yield* first.stop

      const logs = makeLogCapture()
      const second = yield* logs.provide(start(options))
      const status = yield* second.breaker.status
      expect(status.state).toBe("open")
      expect(status.failureCount).toBe(2)
      expect(Option.getOrThrow(status.lastFailure).getTime()).toBe(5_000)
      expect(status.lastStateChange.getTime()).toBe(5_000)
      const { effect, runs } = yield* counted
      const error = (yield* Effect.flip(second.breaker(effect))) as ServiceUnavailable.ServiceUnavailable
      expect(Duration.toMillis(error.retryAfter)).toBe(40_000) // the time it had left
      expect(yield* Ref.get(runs)).toBe(0)
      expect(logs.messages()).toContain("[chroma] Circuit breaker OPEN (restored from the store, next probe in 40s)")

      // the restored opening ends on time, published by the new process's timer
      const next = yield* subscribe(second.breaker.subscribe)
      yield* TestClock.adjust("40 seconds")
      const [change] = yield* next(1)
      expect([change!.from, change!.to, change!.at.getTime()]).toEqual(["open", "half_open", 65_000])
      expect(yield* second.breaker(effect)).toBe("ok")
      expect(yield* second.breaker.state).toBe("closed")
      yield* second.stop

      // and the close was stored too
      const third = yield* start(options)
      expect(yield* third.breaker.state).toBe("closed")
      yield* third.stop
    })

    it.effect("a restart resumes an open breaker with its remaining time (KeyValueStore.layerMemory)", () =>
      restartResumesOpen.pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("a restart resumes an open breaker with its remaining time (file-system store)", () =>
      Effect.gen(function*() {
        const directory = yield* Effect.acquireRelease(
          Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "breaker-store-"))),
          (directory) => Effect.promise(() => fs.rm(directory, { recursive: true, force: true }))
        )
        yield* restartResumesOpen.pipe(
          Effect.provide(KeyValueStore.layerFileSystem(directory).pipe(Layer.provide(NodeServices.layer)))
        )
        const files = yield* Effect.promise(() => fs.readdir(directory))
        expect(files).toEqual([encodeURIComponent("effect-resilience/circuit-breaker/chroma")])
        const stored = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(directory, files[0]!), "utf8")))
        expect(stored).toEqual({
          version: 1,
          service: "chroma",
          state: "closed",
          failureCount: 0,
          lastFailure: "1970-01-01T00:00:05.000Z",
          lastStateChange: "1970-01-01T00:01:05.000Z",
          openUntil: null,
          isolated: false,
          opens: 0
        })
      }))

    it.effect("an isolated breaker stays isolated across a restart, under its storeKey", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const options = { name: "git", store, storeKey: "breakers/git" }
        const first = yield* start(options)
        yield* first.breaker.isolate
        yield* first.stop
        expect(yield* store.get("breakers/git")).toBeDefined()
        const second = yield* start(options)
        expect(yield* second.breaker.isolated).toBe(true)
        yield* TestClock.adjust("1 day")
        expect(yield* second.breaker.state).toBe("open")
        yield* second.breaker.reset
        yield* second.stop
        const third = yield* start(options)
        expect(yield* third.breaker.state).toBe("closed")
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("a shorter recoveryTimeout after the restart bounds the time left", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const first = yield* start({ name: "auth", failureThreshold: 1, recoveryTimeout: "10 minutes", store })
        yield* calls(first.breaker, "F")
        yield* first.stop
        const second = yield* start({ name: "auth", failureThreshold: 1, recoveryTimeout: "30 seconds", store })
        expect(Duration.toMillis((yield* rejection(second.breaker)).retryAfter)).toBe(30_000)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("a recovery schedule continues where it was across a restart", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const options = {
          name: "auth",
          failureThreshold: 1,
          recoveryTimeout: Schedule.exponential("10 seconds"),
          store
        }
        const first = yield* start(options)
        yield* calls(first.breaker, "F") // opening 1: 10 s
        yield* TestClock.adjust("10 seconds")
        yield* calls(first.breaker, "F") // the probe fails: opening 2, 20 s
        yield* first.stop
        const second = yield* start(options)
        expect(Duration.toMillis((yield* rejection(second.breaker)).retryAfter)).toBe(20_000)
        yield* TestClock.adjust("20 seconds")
        yield* calls(second.breaker, "F") // opening 3: 40 s
        expect(Duration.toMillis((yield* rejection(second.breaker)).retryAfter)).toBe(40_000)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    it.effect("an opening that ended while the process was down reads half_open at once", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const options = { name: "auth", failureThreshold: 1, recoveryTimeout: "30 seconds", store } as const
        const first = yield* start(options)
        yield* calls(first.breaker, "F")
        yield* first.stop
        yield* TestClock.adjust("1 minute")
        const second = yield* start(options)
        const status = yield* second.breaker.status
        expect(status.state).toBe("half_open")
        expect(status.lastStateChange.getTime()).toBe(30_000)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))

    for (
      const [label, stored] of [
        ["not JSON", "{ not json"],
        ["another version", JSON.stringify({ version: 2, state: "open" })],
        ["a wrong field", JSON.stringify({ version: 1, service: "search", state: "sideways" })],
        [
          "another service's",
          JSON.stringify({
            version: 1,
            service: "billing",
            state: "open",
            failureCount: 5,
            lastFailure: null,
            lastStateChange: "1970-01-01T00:00:00.000Z",
            openUntil: "1970-01-01T01:00:00.000Z",
            isolated: false,
            opens: 1
          })
        ]
      ] as const
    ) {
      it.effect(`a corrupt or foreign snapshot (${label}) is ignored with a warning`, () =>
        Effect.gen(function*() {
          const store = yield* KeyValueStore.KeyValueStore
          yield* store.set("effect-resilience/circuit-breaker/search", stored)
          const logs = makeLogCapture()
          const breaker = yield* logs.provide(CircuitBreaker.make({ name: "search", store }))
          expect(yield* breaker.state).toBe("closed")
          expect(yield* breaker(ok)).toBe("ok")
          const warnings = logs.lines.filter((l) => l.level === "WARN")
          expect(warnings.length).toBe(1)
          expect(warnings[0]!.message).toMatch(
            /^\[search\] Ignoring the stored circuit breaker state under "effect-resilience\/circuit-breaker\/search" \(.+\)$/
          )
          expect(warnings[0]!.annotations.service).toBe("search")
        }).pipe(Effect.provide(KeyValueStore.layerMemory)))
    }

    it.effect("a store that fails is logged and never fails the breaker", () =>
      Effect.gen(function*() {
        const broken = KeyValueStore.makeStringOnly({
          get: () => Effect.die("disk on fire"),
          set: () => Effect.die("disk on fire"),
          remove: () => Effect.void,
          clear: Effect.void,
          size: Effect.succeed(0),
          keys: Effect.succeed([])
        })
        const logs = makeLogCapture()
        yield* logs.provide(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({ name: "fs", failureThreshold: 1, store: broken })
          yield* calls(breaker, "F")
          expect(yield* breaker.state).toBe("open")
          yield* internals(breaker).storeIdle // the breaker's writer has tried to store the opening
        }))
        const warnings = logs.lines.filter((l) => l.level === "WARN").map((l) => l.message)
        expect(warnings).toEqual([
          "[fs] Could not read the stored circuit breaker state under \"effect-resilience/circuit-breaker/fs\": disk on fire",
          "[fs] Could not store the circuit breaker state under \"effect-resilience/circuit-breaker/fs\": disk on fire"
        ])
      }))
  })

  describe("invalid new options fail with a ConfigError naming them", () => {
    const count = { kind: "count", size: 10 } as const
    const completeStrategy: CircuitBreaker.TrippingStrategy<number> = {
      name: "complete",
      initial: () => 0,
      onSuccess: (state) => state,
      onFailure: (state) => state + 1,
      shouldTrip: () => false
    }
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string, () => CircuitBreaker.Options]> = [
      [["strategy", "threshold"], "threshold 0", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 0, minimumCalls: 5, window: count })
      })],
      [["strategy", "threshold"], "threshold 1.5", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 1.5, minimumCalls: 5, window: count })
      })],
      [["strategy", "minimumCalls"], "minimumCalls 2.5", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 2.5, window: count })
      })],
      [["strategy", "minimumCalls"], "minimumCalls above the window's size", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 11, window: count })
      })],
      [["strategy", "window", "size"], "a count window of size 0", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 1, window: { kind: "count", size: 0 } })
      })],
      [["strategy", "window", "kind"], "an unknown kind of window", () => ({
        strategy: CircuitBreaker.failureRate({
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "sliding", size: 3 } as unknown as CircuitBreaker.SlidingWindow
        })
      })],
      [["strategy", "window", "duration"], "a negative window duration", () => ({
        strategy: CircuitBreaker.failureRate({
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "time", duration: "-1 seconds", buckets: 10 }
        })
      })],
      [["strategy", "window", "buckets"], "0 buckets", () => ({
        strategy: CircuitBreaker.failureRate({
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "time", duration: "10 seconds", buckets: 0 }
        })
      })],
      [["strategy", "window", "buckets"], "buckets shorter than 1 ms", () => ({
        strategy: CircuitBreaker.failureRate({
          threshold: 0.5,
          minimumCalls: 1,
          window: { kind: "time", duration: "5 millis", buckets: 10 }
        })
      })],
      [["strategy", "slowerThan"], "slowerThan 0", () => ({
        strategy: CircuitBreaker.slowCallRate({ slowerThan: 0, threshold: 0.5, minimumCalls: 1, window: count })
      })],
      [["strategy"], "an object that is not a strategy", () => ({
        strategy: { name: "half a strategy" } as unknown as CircuitBreaker.TrippingStrategy<number>
      })],
      ...(["initial", "onSuccess", "onFailure", "shouldTrip"] as const).map((missing) =>
        [["strategy"], `a strategy without ${missing}`, () => ({
          strategy: { ...completeStrategy, [missing]: undefined } as unknown as CircuitBreaker.TrippingStrategy<number>
        })] as const
      ),
      [["strategy"], "a string for a strategy", () => ({
        strategy: "consecutive" as unknown as CircuitBreaker.TrippingStrategy<number>
      })],
      [["strategy"], "rate options that are not an object", () => ({
        strategy: CircuitBreaker.failureRate(null as unknown as CircuitBreaker.FailureRateOptions)
      })],
      [["strategy", "window"], "no window", () => ({
        strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 1 } as CircuitBreaker.FailureRateOptions)
      })],
      [["strategy", "window"], "null for a window", () => ({
        strategy: CircuitBreaker.failureRate({
          threshold: 0.5,
          minimumCalls: 1,
          window: null as unknown as CircuitBreaker.SlidingWindow
        })
      })],
      [["strategy"], "a string for rate options", () => ({
        strategy: CircuitBreaker.failureRate("fast" as unknown as CircuitBreaker.FailureRateOptions)
      })],
      [["strategy", "window"], "a string for a window", () => ({
        strategy: CircuitBreaker.slowCallRate({
          slowerThan: "1 second",
          threshold: 0.5,
          minimumCalls: 1,
          window: "count" as unknown as CircuitBreaker.SlidingWindow
        })
      })],
      [["strategy", "threshold"], "slowCallRate with threshold 0", () => ({
        strategy: CircuitBreaker.slowCallRate({ slowerThan: "1 second", threshold: 0, minimumCalls: 1, window: count })
      })],
      [["probeTimeout"], "probeTimeout 0", () => ({ probeTimeout: 0 })],
      [["probeTimeout"], "probeTimeout \"later\"", () => ({ probeTimeout: "later" as Duration.Input })],
      [["recoveryTimeout"], "a schedule with a zero delay", () => ({ recoveryTimeout: Schedule.spaced(0) })],
      [["recoveryTimeout"], "a schedule that ends at once", () => ({ recoveryTimeout: Schedule.recurs(0) })],
      [["store"], "a store that is not a KeyValueStore", () => ({ store: {} as KeyValueStore.KeyValueStore })],
      [
        ["store"],
        "a store without get",
        () => ({ store: { set: () => Effect.void } as unknown as KeyValueStore.KeyValueStore })
      ],
      [["store"], "a store without set", () => ({
        store: { get: () => Effect.undefined } as unknown as KeyValueStore.KeyValueStore
      })],
      [["store"], "a string for a store", () => ({ store: "memory" as unknown as KeyValueStore.KeyValueStore })],
      [["store"], "null for a store", () => ({ store: null as unknown as KeyValueStore.KeyValueStore })],
      [["storeKey"], "a storeKey without a store", () => ({ storeKey: "breakers/x" })]
    ]
    // the options are built inside each test, so that what they run is part of that test
    for (const [field, label, options] of cases) {
      it.effect(`${field.join(".")}: ${label}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(CircuitBreaker.make(options()))
          expect(error).toBeInstanceOf(Config.ConfigError)
          const issues = issuesOf(error)!
          expect(issues.length).toBe(1)
          expect(issues[0]!.path).toEqual(field)
          expect(issues[0]!.message.length).toBeGreaterThan(10)
        }))
    }

    it.effect("the messages say what was wrong", () =>
      Effect.gen(function*() {
        const messageOf = (options: CircuitBreaker.Options) =>
          Effect.map(Effect.flip(CircuitBreaker.make(options)), (error) => issuesOf(error)?.[0]?.message)
        const window = (kind: unknown) =>
          CircuitBreaker.failureRate({
            threshold: 0.5,
            minimumCalls: 1,
            window: { kind, size: 1 } as unknown as CircuitBreaker.SlidingWindow
          })
        expect(yield* messageOf({ strategy: window("sliding") })).toBe("must be \"count\" or \"time\", got \"sliding\"")
        expect(yield* messageOf({ strategy: window(42) })).toBe("must be \"count\" or \"time\", got number")
        // an empty object of units is no duration (Effect 4 would read it as zero)
        expect(yield* messageOf({ recoveryTimeout: {} as Duration.Input })).toBe(
          "must be a duration such as \"10 seconds\" or a number of milliseconds, got object"
        )
        expect(yield* messageOf({ recoveryTimeout: { seconds: 0 } })).toBe(
          "must be a positive, finite duration, got object"
        )
        // delays of 1 s, 2 s, then 0 (Effect 4 has no Schedule.fromDelays)
        const delays = Schedule.recurs(3).pipe(
          Schedule.modifyDelay((meta) => Effect.succeed(Duration.millis([1_000, 2_000, 0][meta.attempt - 1] ?? 0)))
        )
        expect(yield* messageOf({ recoveryTimeout: delays })).toBe(
          "every delay of the schedule must be positive and finite, but delay 3 is 0 ms"
        )
      }))

    it.effect("buckets of exactly 1 ms are accepted", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({
            threshold: 0.5,
            minimumCalls: 1,
            window: { kind: "time", duration: "10 millis", buckets: 10 }
          })
        })
        yield* calls(breaker, "F")
        expect(yield* breaker.state).toBe("open")
      }))

    it.effect("an empty storeKey with a store", () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const error = yield* Effect.flip(CircuitBreaker.make({ store, storeKey: " " }))
        expect(issuesOf(error)?.[0]?.path).toEqual(["storeKey"])
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))
  })
})

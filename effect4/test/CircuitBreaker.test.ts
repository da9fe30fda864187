import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, ServiceStatus, ServiceUnavailable } from "../src/index.js"
import { issuesOf } from "./utils/configErrors.js"
import { makeLogCapture } from "./utils/logs.js"
import { subscribe } from "./utils/streams.js"

class Boom {
  readonly _tag = "Boom"
}
class NotFound {
  readonly _tag = "NotFound"
}

const fail = Effect.fail(new Boom())
const ok = Effect.succeed("ok")

/** Runs `n` failing calls through the breaker, one after the other. */
const failTimes = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.ignore(breaker(fail)), { discard: true })

/** An effect that counts its runs, to prove a rejected call never ran. */
const counted = Effect.gen(function*() {
  const runs = yield* Ref.make(0)
  return { runs, effect: Effect.andThen(Ref.update(runs, (n) => n + 1), ok) }
})

describe("CircuitBreaker", () => {
  it.effect("starts closed with a fresh status", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("5 seconds")
      const breaker = yield* CircuitBreaker.make({ name: "Chroma Server" })
      const status = yield* breaker.status
      expect(status.service).toBe("Chroma Server")
      expect(status.state).toBe("closed")
      expect(status.failureCount).toBe(0)
      expect(Option.isNone(status.lastFailure)).toBe(true)
      expect(status.lastStateChange.toISOString()).toBe("1970-01-01T00:00:05.000Z")
      expect(yield* breaker(ok)).toBe("ok")
    }))

  it.effect("the 5th consecutive failure opens it, and then calls are rejected without running", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc" })
      yield* failTimes(breaker, 4)
      expect((yield* breaker.status).failureCount).toBe(4)
      expect(yield* breaker.state).toBe("closed")

      yield* TestClock.adjust("2 seconds")
      const fifth = yield* Effect.flip(breaker(fail))
      expect(fifth).toBeInstanceOf(Boom) // the call that trips still reports its own failure
      const status = yield* breaker.status
      expect(status.state).toBe("open")
      expect(status.failureCount).toBe(5)
      expect(Option.getOrThrow(status.lastFailure).getTime()).toBe(2000)
      expect(status.lastStateChange.getTime()).toBe(2000)

      const { effect, runs } = yield* counted
      const rejected = yield* Effect.flip(breaker(effect))
      expect(rejected).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      expect(rejected._tag).toBe("ServiceUnavailable")
      expect(yield* Ref.get(runs)).toBe(0)
    }))

  it.effect("a success in between resets the count", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 3 })
      yield* failTimes(breaker, 2)
      yield* breaker(ok)
      expect((yield* breaker.status).failureCount).toBe(0)
      yield* failTimes(breaker, 2)
      expect(yield* breaker.state).toBe("closed")
      yield* failTimes(breaker, 1)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("failures that do not count neither add to nor reset the count", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 3,
        isFailure: (error) => !(error instanceof NotFound)
      })
      yield* failTimes(breaker, 2)
      for (let i = 0; i < 10; i++) yield* Effect.ignore(breaker(Effect.fail(new NotFound())))
      const status = yield* breaker.status
      expect(status.failureCount).toBe(2)
      expect(status.state).toBe("closed")
      yield* failTimes(breaker, 1)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("defects count as failures", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 2, isFailure: () => false })
      yield* Effect.exit(breaker(Effect.die("bug")))
      expect((yield* breaker.status).failureCount).toBe(1)
      const exit = yield* Effect.exit(breaker(Effect.die("bug")))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("becomes half_open after exactly recoveryTimeout, with no call, and publishes it", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc", failureThreshold: 1, recoveryTimeout: "60 seconds" })
      // `changes` is hot and subscribes when it starts running: start it, and let it start
      const changes = yield* breaker.changes.pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust(Duration.millis(59_999))
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust(Duration.millis(1))
      const collected = yield* Fiber.join(changes)
      expect(collected.map((c) => [c.from, c.to, c.at.getTime()])).toEqual([
        ["closed", "open", 1000],
        ["open", "half_open", 61_000]
      ])
      const status = yield* breaker.status
      expect(status.state).toBe("half_open")
      expect(status.lastStateChange.getTime()).toBe(61_000)
    }))

  it.effect("a lazy read past the timeout is dated when the timeout elapsed", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 seconds" })
      yield* failTimes(breaker, 1)
      // jump far beyond the timeout in one step: state and date agree with the contract
      yield* TestClock.setTime(25_000)
      const status = yield* breaker.status
      expect(status.state).toBe("half_open")
      expect(status.lastStateChange.getTime()).toBe(10_000)
    }))

  it.effect("retryAfter is the time left until the next probe, zero while a probe is in flight", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "svc", failureThreshold: 1, recoveryTimeout: "60 seconds" })
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust("15 seconds")
      const open = yield* Effect.flip(breaker(ok))
      expect(open).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      const error = open as ServiceUnavailable.ServiceUnavailable
      expect(error.state).toBe("open")
      expect(Duration.toMillis(error.retryAfter)).toBe(45_000)
      expect(error.message).toBe("[svc] Circuit breaker OPEN: call rejected (next probe in 45s)")

      yield* TestClock.adjust("45 seconds")
      const gate = yield* Deferred.make<void>()
      const probe = yield* Effect.forkChild(breaker(Deferred.await(gate)))
      yield* Effect.yieldNow
      const busy = (yield* Effect.flip(breaker(ok))) as ServiceUnavailable.ServiceUnavailable
      expect(busy.state).toBe("half_open")
      expect(Duration.toMillis(busy.retryAfter)).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(probe)
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("a successful probe closes it with the count reset", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 2, recoveryTimeout: "30 seconds" })
      yield* failTimes(breaker, 2)
      yield* TestClock.adjust("30 seconds")
      expect(yield* breaker(ok)).toBe("ok")
      const status = yield* breaker.status
      expect(status.state).toBe("closed")
      expect(status.failureCount).toBe(0)
      expect(status.lastStateChange.getTime()).toBe(30_000)
    }))

  it.effect("a failed probe adds to the count and starts a whole new recovery window", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 2, recoveryTimeout: "60 seconds" })
      yield* failTimes(breaker, 2)
      yield* TestClock.adjust("70 seconds") // half_open since 60 s
      yield* Effect.flip(breaker(fail)) // the probe fails at 70 s
      const status = yield* breaker.status
      expect(status.state).toBe("open")
      expect(status.failureCount).toBe(3)
      expect(Option.getOrThrow(status.lastFailure).getTime()).toBe(70_000)
      expect(status.lastStateChange.getTime()).toBe(70_000)
      yield* TestClock.adjust(Duration.millis(59_999))
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* breaker.state).toBe("half_open")
    }))

  it.effect("a probe that fails with an error that does not count closes the breaker", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        isFailure: (error) => !(error instanceof NotFound)
      })
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(breaker(Effect.fail(new NotFound())))
      expect(error).toBeInstanceOf(NotFound)
      expect(yield* breaker.state).toBe("closed")
    }))

  for (const probes of [1, 3]) {
    it.effect(`50 concurrent callers in half_open: exactly ${probes} run, the rest are rejected at once`, () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "10 seconds",
          halfOpenMaxProbes: probes
        })
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("10 seconds")
        const gate = yield* Deferred.make<void>()
        const started = yield* Ref.make(0)
        const call = breaker(Effect.andThen(Ref.update(started, (n) => n + 1), Deferred.await(gate)))
        const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.forkChild(Effect.exit(call)))
        yield* Effect.yieldNow
        expect(yield* Ref.get(started)).toBe(probes)
        // the rejected ones have already finished, without waiting for the probes
        const done = fibers.filter((fiber) => fiber.pollUnsafe() !== undefined)
        expect(done.length).toBe(50 - probes)
        yield* Deferred.succeed(gate, undefined)
        const exits = yield* Effect.forEach(fibers, Fiber.join)
        expect(exits.filter(Exit.isSuccess).length).toBe(probes)
        expect(yield* breaker.state).toBe("closed")
      }))
  }

  it.effect("with halfOpenMaxProbes = 3, it closes only after 3 successful probes", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        halfOpenMaxProbes: 3
      })
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust("1 second")
      yield* breaker(ok)
      yield* breaker(ok)
      expect(yield* breaker.state).toBe("half_open")
      yield* breaker(ok)
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("an interrupted probe gives its permit back and the next call probes", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "1 second" })
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.forkChild(breaker(Effect.never))
      yield* Effect.yieldNow
      expect((yield* Effect.flip(breaker(ok)))._tag).toBe("ServiceUnavailable")
      yield* Fiber.interrupt(probe)
      const status = yield* breaker.status
      expect(status.state).toBe("half_open")
      expect(status.failureCount).toBe(1) // the interruption counted neither way
      expect(yield* breaker(ok)).toBe("ok")
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("an interrupted call in closed changes nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 2 })
      yield* failTimes(breaker, 1)
      const before = yield* breaker.status
      const fiber = yield* Effect.forkChild(breaker(Effect.never))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const after = yield* breaker.status
      expect(after.failureCount).toBe(1)
      expect(after.state).toBe("closed")
      expect(after).toEqual(before)
    }))

  it.effect("results of calls admitted before the breaker opened change nothing when they finish after", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 2, recoveryTimeout: "60 seconds" })
      const gate = yield* Deferred.make<void>()
      const slowSuccess = yield* Effect.forkChild(breaker(Deferred.await(gate)))
      const slowFailure = yield* Effect.forkChild(breaker(Effect.andThen(Deferred.await(gate), fail)))
      yield* Effect.yieldNow
      yield* failTimes(breaker, 2)
      const opened = yield* breaker.status
      expect(opened.state).toBe("open")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.await(slowSuccess)
      yield* Fiber.await(slowFailure)
      const status = yield* breaker.status
      expect(status.state).toBe("open")
      expect(status.failureCount).toBe(2)
    }))

  it.effect("changes emits closed → open → half_open → closed in order, and logs each", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const transitions = yield* logs.provide(Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: "Chroma Server",
          failureThreshold: 1,
          recoveryTimeout: "5 seconds"
        })
        const next = yield* subscribe(breaker.subscribe)
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("5 seconds")
        yield* breaker(ok)
        return yield* next(3)
      }))
      expect(transitions.map((c) => `${c.from}→${c.to}`)).toEqual(["closed→open", "open→half_open", "half_open→closed"])
      expect(transitions.every((c) => c.service === "Chroma Server")).toBe(true)
      const lines = logs.lines.filter((l) => l.message.includes("Circuit breaker"))
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        ["ERROR", "[Chroma Server] Circuit breaker OPEN (threshold reached)"],
        ["INFO", "[Chroma Server] Circuit breaker HALF_OPEN (testing recovery)"],
        ["INFO", "[Chroma Server] Circuit breaker CLOSED (service recovered)"]
      ])
      expect(lines.every((l) => l.annotations.service === "Chroma Server")).toBe(true)
    }))

  it.effect("half_open is published once even when a call and the timer both see it", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "5 seconds" })
      const next = yield* subscribe(breaker.subscribe)
      yield* failTimes(breaker, 1)
      yield* TestClock.adjust("5 seconds")
      yield* failTimes(breaker, 1) // the probe fails: open again
      yield* TestClock.adjust("5 seconds")
      const collected = yield* next(4)
      expect(collected.map((c) => `${c.from}→${c.to}@${c.at.getTime()}`)).toEqual([
        "closed→open@0",
        "open→half_open@5000",
        "half_open→open@5000",
        "open→half_open@10000"
      ])
    }))

  // Effect 4 has no public fiber supervisor: the recovery timer's end is observed instead (it
  // logs the transition it publishes), with the same breaker left open in a scope that stays open
  // as the control.
  it.effect("closing the breaker's scope stops its recovery timer", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      yield* logs.provide(Effect.gen(function*() {
        const closed = yield* Scope.make()
        const kept = yield* Scope.make()
        const stopped = yield* Scope.provide(
          CircuitBreaker.make({ name: "stopped", failureThreshold: 1, recoveryTimeout: "1 hour" }),
          closed
        )
        const running = yield* Scope.provide(
          CircuitBreaker.make({ name: "running", failureThreshold: 1, recoveryTimeout: "1 hour" }),
          kept
        )
        yield* failTimes(stopped, 1)
        yield* failTimes(running, 1)
        yield* Scope.close(closed, Exit.void)
        yield* TestClock.adjust("2 hours")
        yield* Scope.close(kept, Exit.void)
      }))
      const halfOpen = logs.messages().filter((m) => m.includes("HALF_OPEN"))
      expect(halfOpen).toEqual(["[running] Circuit breaker HALF_OPEN (testing recovery)"])
    }))

  it.effect("closing the breaker's scope stops its probe-timeout timers", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      yield* logs.provide(Effect.gen(function*() {
        const options = (name: string): CircuitBreaker.Options => ({
          name,
          failureThreshold: 1,
          recoveryTimeout: "1 second",
          halfOpenMaxProbes: 2,
          probeTimeout: "1 hour"
        })
        const closed = yield* Scope.make()
        const kept = yield* Scope.make()
        const stopped = yield* Scope.provide(CircuitBreaker.make(options("stopped")), closed)
        const running = yield* Scope.provide(CircuitBreaker.make(options("running")), kept)
        yield* failTimes(stopped, 1)
        yield* failTimes(running, 1)
        yield* TestClock.adjust("1 second")
        // two probes each that never end, each with its probe-timeout timer
        const probes = yield* Effect.forEach(
          [stopped, running, stopped, running],
          (breaker) => Effect.forkChild(breaker(Effect.never))
        )
        yield* Effect.yieldNow
        yield* Scope.close(closed, Exit.void)
        yield* TestClock.adjust("2 hours")
        // read before the probes end: a probe that ends applies the deadline it passed itself
        const timedOut = logs.messages().filter((m) => m.includes("probe timed out"))
        expect(timedOut).toEqual(["[running] Circuit breaker OPEN (probe timed out)"])
        yield* Effect.forEach(probes, Fiber.interrupt, { discard: true })
        yield* Scope.close(kept, Exit.void)
      }))
    }))

  it.effect("an unknown option name is a ConfigError suggesting the nearest", () =>
    Effect.gen(function*() {
      const options = { name: "billing", failureTreshold: 3 }
      const error = yield* Effect.flip(CircuitBreaker.make(options))
      expect(issuesOf(error)).toEqual([{
        path: ["failureTreshold"],
        message: "is not a circuit breaker option; did you mean failureThreshold?"
      }])
    }))

  it.effect("a status encodes to the wire JSON", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "Chroma Server", failureThreshold: 1 })
      yield* TestClock.adjust("2 seconds")
      yield* failTimes(breaker, 1)
      expect(ServiceStatus.toJson(yield* breaker.status)).toEqual({
        service: "Chroma Server",
        state: "open",
        failure_count: 1,
        last_failure: "1970-01-01T00:00:02.000Z",
        last_state_change: "1970-01-01T00:00:02.000Z"
      })
    }))

  describe("invalid options fail with a ConfigError naming the option", () => {
    const cases: ReadonlyArray<[string, CircuitBreaker.Options]> = [
      ["failureThreshold", { failureThreshold: 0 }],
      ["failureThreshold", { failureThreshold: 2.5 }],
      ["halfOpenMaxProbes", { halfOpenMaxProbes: -1 }],
      ["recoveryTimeout", { recoveryTimeout: 0 }],
      ["recoveryTimeout", { recoveryTimeout: "soon" as Duration.Input }],
      ["name", { name: "  " }],
      ["isFailure", { isFailure: 42 as unknown as () => boolean }]
    ]
    for (const [field, options] of cases) {
      it.effect(`${field}: ${JSON.stringify(options)}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(CircuitBreaker.make(options))
          expect(error).toBeInstanceOf(Config.ConfigError)
          expect(error._tag).toBe("ConfigError")
          const issues = issuesOf(error)!
          expect(issues.length).toBe(1)
          expect(issues[0]!.path).toEqual([field])
          expect(issues[0]!.message.length).toBeGreaterThan(10)
          expect(error.message).toContain(`["${field}"]`)
        }))
    }
  })

  it.effect("a custom tripping strategy decides when it opens", () =>
    Effect.gen(function*() {
      // opens on the second failure within any 10 s, whatever the successes in between
      const twoInTenSeconds: CircuitBreaker.TrippingStrategy<ReadonlyArray<number>> = {
        name: "twoInTenSeconds",
        initial: () => [],
        onSuccess: (state) => state,
        onFailure: (state, now) => [...state.filter((t) => now - t < 10_000), now],
        shouldTrip: (state) => state.length >= 2
      }
      const breaker = yield* CircuitBreaker.make({ strategy: twoInTenSeconds })
      yield* failTimes(breaker, 1)
      yield* breaker(ok)
      yield* TestClock.adjust("11 seconds")
      yield* failTimes(breaker, 1)
      expect(yield* breaker.state).toBe("closed")
      yield* breaker(ok)
      yield* failTimes(breaker, 1)
      expect(yield* breaker.state).toBe("open")
    }))
})

/**
 * The breaker's judge and per-call options, through the shell (as test/BreakerJudge.test.ts for
 * the Effect 3 edition): an effectful and probe-aware
 * `isFailure`, a `{ retryAfter }` verdict, a judge that fails, `withOptions({ onRejection })`, and
 * the client's `Retry-After` lengthening the opening it causes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, ResilientServiceClient, ServiceUnavailable } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { makeLogCapture } from "./utils/logs.js"

const boom = Effect.fail("boom")

describe("CircuitBreaker isFailure", () => {
  it.effect("an effectful judge decides, told whether the call is a probe", () =>
    Effect.gen(function*() {
      const seen: Array<boolean> = []
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        isFailure: (_, { probe }) =>
          Effect.sync(() => {
            seen.push(probe)
            return probe
          })
      })
      yield* Effect.exit(breaker(boom))
      expect(yield* breaker.state).toBe("closed")
      // a defect always counts
      yield* Effect.exit(breaker(Effect.die("down")))
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust("1 second")
      yield* Effect.exit(breaker(boom))
      expect(seen).toEqual([false, true])
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("{ retryAfter } counts the failure and lengthens the opening it causes", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        isFailure: () => Effect.succeed({ retryAfter: "30 seconds" })
      })
      yield* Effect.exit(breaker(boom))
      const rejected = yield* Effect.flip(breaker(Effect.void))
      expect(rejected).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      expect(Duration.toMillis(rejected.retryAfter)).toBe(30_000)
    }))

  it.effect("a judge that fails counts the call and surfaces its failure as a defect beside the call's", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        isFailure: () => Effect.fail("judge broke") as unknown as Effect.Effect<boolean>
      })
      const exit = yield* Effect.exit(breaker(boom))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Option.getOrUndefined(Cause.findErrorOption(exit.cause))).toBe("boom")
        expect(Cause.hasDies(exit.cause)).toBe(true)
      }
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("a retryAfter that is not a duration is such a defect too", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        isFailure: () => ({ retryAfter: "soon" as Duration.Input })
      })
      const exit = yield* Effect.exit(breaker(boom))
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("not a duration")
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("a JS judge answering an object without retryAfter (an Error) counts the call, with no defect", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        isFailure: (error) => new Error(String(error)) as unknown as boolean
      })
      const exit = yield* Effect.exit(breaker(boom))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(false)
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.findErrorOption(exit.cause))).toBe("boom")
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("a judge that hangs does not hold an interrupted call: the call ends, silent, and the breaker works on", () =>
    Effect.gen(function*() {
      const judging = yield* Deferred.make<void>()
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        isFailure: () => Effect.andThen(Deferred.succeed(judging, undefined), Effect.never)
      })
      const call = yield* Effect.forkChild(breaker(boom))
      yield* Deferred.await(judging)
      yield* Fiber.interrupt(call)
      expect(Exit.hasInterrupts(yield* Fiber.await(call))).toBe(true)
      const status = yield* breaker.status
      expect(status.state).toBe("closed")
      expect(status.failureCount).toBe(0)
      expect(yield* breaker(Effect.succeed("later"))).toBe("later")
    }))

  it.effect("a probe whose judge hangs gives its permit back when interrupted", () =>
    Effect.gen(function*() {
      const judging = yield* Deferred.make<void>()
      const breaker = yield* CircuitBreaker.make({
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        isFailure: (_, { probe }) =>
          probe ? Effect.andThen(Deferred.succeed(judging, undefined), Effect.never) : Effect.succeed(true)
      })
      yield* Effect.exit(breaker(boom))
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.forkChild(breaker(boom))
      yield* Deferred.await(judging)
      yield* Fiber.interrupt(probe)
      expect(Exit.hasInterrupts(yield* Fiber.await(probe))).toBe(true)
      expect(yield* breaker.state).toBe("half_open")
      // the permit is free again: the next call is the probe, and closes the breaker
      expect(yield* breaker(Effect.succeed("probe"))).toBe("probe")
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("retryAfterCap and retainOpenings are checked", () =>
    Effect.gen(function*() {
      const cap = yield* Effect.flip(CircuitBreaker.make({ retryAfterCap: -1 }))
      expect(String(cap)).toContain("retryAfterCap")
      const retain = yield* Effect.flip(
        CircuitBreaker.make({ retainOpenings: "yes" as unknown as boolean })
      )
      expect(String(retain)).toContain("retainOpenings")
    }))
})

describe("CircuitBreaker withOptions", () => {
  it.effect("onRejection allow: a refused call runs unrecorded and a log line says so", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const breaker = yield* CircuitBreaker.make({ name: "ledger", failureThreshold: 1 })
      yield* Effect.exit(breaker(boom))
      const always = breaker.withOptions({ onRejection: "allow" })
      expect(yield* always(Effect.succeed("written")).pipe(logs.provide)).toBe("written")
      expect(logs.messages()).toContain("[ledger] Circuit breaker OPEN: call run unrecorded (onRejection: allow)")
      expect(yield* Effect.flip(breaker.withOptions({ onRejection: "fail" })(Effect.void))).toBeInstanceOf(
        ServiceUnavailable.ServiceUnavailable
      )
    }))

  it.effect("an unknown onRejection is a defect naming the option", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make()
      const exit = yield* Effect.exit(
        Effect.sync(() => breaker.withOptions({ onRejection: "sometimes" as "allow" }))
      )
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("onRejection")
    }))
})

describe("ResilientServiceClient and Retry-After", () => {
  const opened = (breaker?: ResilientServiceClient.BreakerOptions) =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(503, {}, { "retry-after": "120" }) })
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://upstream.test",
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds",
        breaker
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.exit(client.get("/a"))
      const rejected = yield* Effect.flip(client.get("/a"))
      expect(rejected).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      return Duration.toMillis((rejected as ServiceUnavailable.ServiceUnavailable).retryAfter)
    })

  it.effect("by default, a 503 with Retry-After opens the breaker for recoveryTimeout, as before", () =>
    Effect.gen(function*() {
      expect(yield* opened()).toBe(10_000)
      expect(yield* opened({ openForRetryAfter: false })).toBe(10_000)
    }))

  it.effect("breaker.openForRetryAfter: a 503 with Retry-After that opens the breaker keeps it open that long", () =>
    Effect.gen(function*() {
      expect(yield* opened({ openForRetryAfter: true })).toBe(120_000)
    }))

  it.effect("breaker.openForRetryAfter that is not a boolean is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const invalid = yield* Effect.flip(
        ResilientServiceClient.make({
          baseUrl: "http://upstream.test",
          breaker: { openForRetryAfter: "yes" as unknown as boolean }
        }).pipe(Effect.provide(Testing.fakeUpstream({}).layer))
      )
      expect(String(invalid)).toContain("breaker.openForRetryAfter")
    }))
})

describe("ResilientServiceClient breaker.retryAfterCap", () => {
  it.effect("caps the opening a Retry-After makes; an invalid one is a ConfigError at breaker.retryAfterCap", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(503, {}, { "retry-after": "120" }) })
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://upstream.test",
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds",
        breaker: { openForRetryAfter: true, retryAfterCap: "1 minute" }
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.exit(client.get("/a"))
      const rejected = yield* Effect.flip(client.get("/a"))
      expect(Duration.toMillis((rejected as ServiceUnavailable.ServiceUnavailable).retryAfter)).toBe(60_000)
      const invalid = yield* Effect.flip(
        ResilientServiceClient.make({ baseUrl: "http://upstream.test", breaker: { retryAfterCap: -1 } }).pipe(
          Effect.provide(upstream.layer)
        )
      )
      expect(String(invalid)).toContain("breaker.retryAfterCap")
    }))
})

describe("ResilientServiceClient onRejection", () => {
  it.effect("allow: a call made while the breaker is open reaches the service, unrecorded", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/read": Testing.json(500), "/write": Testing.json(201, { ok: true }) })
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://upstream.test",
        maxAttempts: 1,
        failureThreshold: 1
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.exit(client.get("/read"))
      expect(yield* Effect.flip(client.post("/write"))).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      const response = yield* client.post("/write", { onRejection: "allow" })
      expect(response.status).toBe(201)
      expect(upstream.requests().map((request) => request.path)).toEqual(["/read", "/write"])
      // unrecorded: the breaker is still open, with the failure count of its opening
      const status = yield* client.status
      expect(status.state).toBe("open")
      expect(status.failureCount).toBe(1)
      const invalid = yield* Effect.exit(client.post("/write", { onRejection: "always" as "allow" }))
      expect(Exit.isFailure(invalid) && Cause.pretty(invalid.cause)).toContain("onRejection")
    }))
})

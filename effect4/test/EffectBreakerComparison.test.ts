import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "../src/index.js"

/**
 * The behaviour of Effect 4's own breaker (and of ours) that docs/coming-from-effect-circuit-breaker.md states,
 * checked on the installed `effect`: if a release changes it, this fails and the page is updated.
 */
describe("docs/coming-from-effect-circuit-breaker.md: the behaviour it states", () => {
  it.effect("has no probe timeout: a probe that hangs keeps the circuit HalfOpen, an hour later as at once", () =>
    Effect.gen(function*() {
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 minute" })
      yield* Effect.flip(Effect.fail("down").pipe(breaker.execute({ key: "git" })))
      yield* TestClock.adjust("1 minute")
      const probe = yield* Effect.forkChild(Effect.never.pipe(breaker.execute({ key: "git" })))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 hour")
      const state = yield* breaker.state("git")
      expect(state).toMatchObject({ _tag: "HalfOpen", probing: true })
      const rejected = yield* Effect.flip(Effect.succeed("up").pipe(breaker.execute({ key: "git" })))
      expect(rejected._tag === "CircuitBreakerError" && rejected.reason._tag).toBe("CircuitHalfOpen")
      yield* Fiber.interrupt(probe)
    }).pipe(Effect.provide(EffectBreaker.layerStoreMemory())))

  it.effect("ours, with probeTimeout: the hung probe counts as failed, and a later call probes and closes", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        name: "git",
        failureThreshold: 1,
        recoveryTimeout: "1 minute",
        probeTimeout: "10 seconds"
      })
      yield* Effect.flip(breaker(Effect.fail("down")))
      yield* TestClock.adjust("1 minute")
      const probe = yield* Effect.forkChild(breaker(Effect.never))
      yield* Effect.yieldNow
      expect(yield* breaker.state).toBe("half_open")
      yield* TestClock.adjust("10 seconds")
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust("1 minute")
      expect(yield* breaker(Effect.succeed("up"))).toBe("up")
      expect(yield* breaker.state).toBe("closed")
      yield* Fiber.interrupt(probe)
    }))

  it.effect("its HTTP classifier ignores a 429 (ours counts it): the circuit stays closed", () =>
    Effect.gen(function*() {
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 minute" })
      const tooMany = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 429 })))
      ).pipe(HttpClient.withCircuitBreaker({ breaker }))
      for (let i = 0; i < 3; i++) {
        const response = yield* tooMany.get("http://api.test/items")
        expect(response.status).toBe(429)
      }
      expect((yield* breaker.state("http://api.test"))._tag).toBe("Closed")
      const unavailable = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 503 })))
      ).pipe(HttpClient.withCircuitBreaker({ breaker }))
      yield* unavailable.get("http://api.test/items")
      expect((yield* breaker.state("http://api.test"))._tag).toBe("Open")
    }).pipe(Effect.provide(EffectBreaker.layerStoreMemory())))
})

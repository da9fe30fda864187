/**
 * The breaker under concurrency (TestClock): a thousand fibers racing for the probes of a
 * half_open breaker, and ten thousand calls interrupted at random that must never leave it unable
 * to probe.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import { CircuitBreaker, ServiceUnavailable } from "../src/index.js"
import { makeLogCapture } from "./utils/logs.js"

class Boom {
  readonly _tag = "Boom"
}

/** `n` turns of the scheduler. */
const yields = (n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow, { discard: true })

/** Opens a closed breaker with `threshold` failures, then waits out `recoveryTimeout`: half_open. */
const toHalfOpen = (
  breaker: CircuitBreaker.CircuitBreaker,
  threshold: number,
  recoveryTimeout: Duration.Input
) =>
  Effect.gen(function*() {
    for (let i = 0; i < threshold; i++) yield* Effect.ignore(breaker(Effect.fail(new Boom())))
    expect(yield* breaker.state).toBe("open")
    yield* TestClock.adjust(recoveryTimeout)
    expect(yield* breaker.state).toBe("half_open")
  })

describe("CircuitBreaker under concurrency", () => {
  for (const probes of [1, 3]) {
    it.effect(`1,000 concurrent calls on a half_open breaker: exactly ${probes} run`, () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: "storm",
          failureThreshold: 2,
          recoveryTimeout: "10 seconds",
          halfOpenMaxProbes: probes
        })
        yield* makeLogCapture().provide(toHalfOpen(breaker, 2, "10 seconds"))
        const gate = yield* Deferred.make<void>()
        const runs = yield* Ref.make(0)
        // every call reports once: "run" when its effect starts, or its rejection
        const signals = yield* Queue.unbounded<"run" | ServiceUnavailable.ServiceUnavailable>()
        const call = breaker(
          Effect.andThen(
            Effect.andThen(Ref.update(runs, (n) => n + 1), Queue.offer(signals, "run")),
            Deferred.await(gate)
          )
        ).pipe(Effect.catchTag("ServiceUnavailable", (error) => Queue.offer(signals, error)))
        const all = yield* Effect.forkChild(
          Effect.forEach(Array.from({ length: 1_000 }), () => call, { concurrency: "unbounded", discard: true })
        )
        const reported = yield* Queue.takeN(signals, 1_000)
        expect(yield* Ref.get(runs)).toBe(probes)
        const rejections = Array.from(reported).filter((s) => s !== "run")
        expect(rejections.length).toBe(1_000 - probes)
        for (const rejection of rejections) {
          expect(rejection.state).toBe("half_open")
          expect(Duration.toMillis(rejection.retryAfter)).toBe(0)
        }
        expect(yield* breaker.state).toBe("half_open")
        // the probes succeed: closed
        yield* makeLogCapture().provide(Deferred.succeed(gate, undefined))
        yield* Fiber.join(all)
        const status = yield* breaker.status
        expect(status.state).toBe("closed")
        expect(status.failureCount).toBe(0)
        expect(yield* Ref.get(runs)).toBe(probes)
      }))
  }

  type Plan = {
    readonly outcome: "Success" | "Failure" | "Die" | "Hang"
    /** Yields before the effect ends. */
    readonly work: number
    /** Yields before the call is interrupted; none: not interrupted (a hanging call always is). */
    readonly interruptAfter: number | null
  }
  const planArbitrary: fc.Arbitrary<Plan> = fc.record({
    outcome: fc.constantFrom("Success", "Failure", "Failure", "Die", "Hang"),
    work: fc.nat({ max: 4 }),
    interruptAfter: fc.option(fc.nat({ max: 5 }), { freq: 2 })
  })
  const batchSize = 100
  const calls = 10_000

  it("random interruptions during 10,000 calls never leave the breaker unable to probe", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(planArbitrary, { minLength: calls, maxLength: calls }),
        fc.array(fc.constantFrom(0, 50, 100, 100), { minLength: calls / batchSize, maxLength: calls / batchSize }),
        fc.integer({ min: 1, max: 3 }),
        (plans, clockSteps, halfOpenMaxProbes) =>
          Effect.runPromise(
            Effect.gen(function*() {
              const breaker = yield* CircuitBreaker.make({
                name: "interrupted",
                failureThreshold: 2,
                recoveryTimeout: "100 millis",
                halfOpenMaxProbes
              })
              const interrupted = yield* Ref.make(0)
              for (let b = 0; b < calls / batchSize; b++) {
                const batch = plans.slice(b * batchSize, (b + 1) * batchSize)
                const fibers = yield* Effect.forEach(batch, (plan) =>
                  Effect.forkChild(
                    breaker(
                      Effect.andThen(
                        yields(plan.work),
                        plan.outcome === "Success"
                          ? Effect.void
                          : plan.outcome === "Failure"
                          ? Effect.fail(new Boom())
                          : plan.outcome === "Die"
                          ? Effect.die("boom")
                          : Effect.never
                      )
                    )
                  ))
                yield* Effect.forEach(batch, (plan, i) => {
                  const after = plan.interruptAfter ?? (plan.outcome === "Hang" ? 0 : null)
                  if (after === null) return Effect.void
                  return Effect.forkChild(
                    Effect.andThen(
                      yields(after),
                      Effect.andThen(
                        Fiber.interrupt(fibers[i]!),
                        Effect.flatMap(Fiber.await(fibers[i]!), (exit) =>
                          Exit.hasInterrupts(exit) ? Ref.update(interrupted, (n) => n + 1) : Effect.void)
                      )
                    )
                  )
                }, { discard: true })
                const exits = yield* Effect.forEach(fibers, Fiber.await)
                for (const exit of exits) {
                  // every call ends: done, failed, died, rejected or interrupted; nothing else
                  if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit) && !Cause.hasDies(exit.cause)) {
                    const error = Option.getOrThrow(Cause.findErrorOption(exit.cause))
                    expect(error instanceof Boom || error instanceof ServiceUnavailable.ServiceUnavailable).toBe(true)
                  }
                }
                if (clockSteps[b]! > 0) {
                  yield* TestClock.adjust(`${clockSteps[b]!} millis`)
                }
              }
              expect(yield* Ref.get(interrupted)).toBeGreaterThan(0)

              // after the storm: open it, wait recoveryTimeout, and the probes are admitted and close it
              yield* TestClock.adjust("100 millis") // out of any open window
              for (let i = 0; i < 2 && (yield* breaker.state) !== "open"; i++) {
                const exit = yield* Effect.exit(breaker(Effect.fail(new Boom())))
                // a failure, never a rejection: closed counts it, half_open has a free probe
                expect(
                  Exit.isFailure(exit) && Cause.findErrorOption(exit.cause).pipe(Option.getOrThrow) instanceof Boom
                )
                  .toBe(true)
              }
              expect(yield* breaker.state).toBe("open")
              yield* TestClock.adjust("100 millis")
              expect(yield* breaker.state).toBe("half_open")
              for (let i = 0; i < halfOpenMaxProbes; i++) {
                expect(yield* breaker(Effect.succeed("probe"))).toBe("probe")
              }
              const status = yield* breaker.status
              expect(status.state).toBe("closed")
              expect(status.failureCount).toBe(0)
            }).pipe(Effect.scoped, makeLogCapture().provide, Effect.provide(TestClock.layer()))
          )
      ),
      { numRuns: 1, seed: 20261126 }
    )
  }, 60_000)
})

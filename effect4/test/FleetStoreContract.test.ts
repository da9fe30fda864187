/**
 * The fleet store (`Fleet.layerStore`) under Effect 4's own breaker, on this replica alone (a
 * fleet that joins nothing): the store's contract as Effect 4's memory store keeps it. The same
 * scripts run through Effect 4's breaker on `layerStoreMemory` and on ours, under `TestClock`, and
 * every call's answer, every state read and every transition must be the same: consecutive and
 * rate policies, half-open and its single probe, a probe interrupted, stale outcomes, the backoff
 * of openings (a `Schedule`) kept across a close until the circuit has stayed closed as long as
 * it was last open, `Retry-After` hints. Then what only ours has: the idle expiry and the cap.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Schedule, Stream } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Fleet } from "../src/index.js"
import type * as FleetMembership from "../src/internal/fleetMembership.js"
import * as FleetStore from "../src/internal/fleetStore.js"

/** A fleet nobody else is in: joining it changes nothing. */
const alone = { join: () => Effect.void } as unknown as FleetMembership.FleetService

const ours = (settings: Partial<FleetStore.StoreSettings> = {}) =>
  Layer.effect(
    EffectBreaker.CircuitBreakerStore,
    FleetStore.makeStore(alone, { idleMillis: 3_600_000, maxKeys: 10_000, maxOpenMillis: 3_600_000, ...settings })
  )

type Step =
  | {
    readonly _tag: "call"
    readonly key: string
    readonly outcome: "ok" | "fail" | "ignored"
    readonly retryAfter?: number
  }
  | { readonly _tag: "wait"; readonly millis: number }
  | { readonly _tag: "state"; readonly key: string }
  | { readonly _tag: "interruptedProbe"; readonly key: string }

const describeExit = (exit: Exit.Exit<string, unknown>): string => {
  if (Exit.isSuccess(exit)) return `ok:${exit.value}`
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (error === undefined) return "interrupted"
  const value = (error as { readonly error: unknown }).error
  if (value instanceof EffectBreaker.CircuitBreakerError) {
    const reason = value.reason
    return reason._tag === "CircuitOpen"
      ? `open:${Duration.toMillis(reason.retryAfter)}`
      : reason._tag
  }
  return `error:${String(value)}`
}

const describeState = (state: EffectBreaker.State): string =>
  state._tag === "Open"
    ? `Open ${Duration.toMillis(state.retryAfter)} x${state.consecutiveOpenings}`
    : state._tag === "HalfOpen"
    ? `HalfOpen probing=${state.probing} x${state.consecutiveOpenings}`
    : "Closed"

const describeTransition = (transition: EffectBreaker.Transition): string =>
  transition.to === "Open"
    ? `${transition.key} ${transition.from}->Open ${
      Duration.toMillis(transition.retryAfter)
    } x${transition.consecutiveOpenings}`
    : `${transition.key} ${transition.from}->${transition.to}`

/** Plays `steps` through Effect 4's breaker on `store`; returns what was seen, in order. */
const play = (
  store: Layer.Layer<EffectBreaker.CircuitBreakerStore>,
  options: Parameters<typeof EffectBreaker.make>[0],
  steps: ReadonlyArray<Step>
) =>
  Effect.gen(function*() {
    const breaker = yield* EffectBreaker.make(options)
    const seen: Array<string> = []
    const transitions: Array<string> = []
    yield* breaker.transitions.pipe(
      Stream.runForEach((transition) => Effect.sync(() => transitions.push(describeTransition(transition)))),
      Effect.forkScoped({ startImmediately: true })
    )
    for (const step of steps) {
      switch (step._tag) {
        case "wait":
          yield* TestClock.adjust(Duration.millis(step.millis))
          break
        case "state":
          seen.push(describeState(yield* breaker.state(step.key)))
          break
        case "call": {
          const call: Effect.Effect<string, string> = step.outcome === "ok"
            ? Effect.succeed("v")
            : Effect.fail(step.outcome)
          const exit = yield* Effect.exit(call.pipe(
            breaker.execute({
              key: step.key,
              classify: (exit) =>
                Exit.isSuccess(exit)
                  ? EffectBreaker.success
                  : step.outcome === "ignored"
                  ? EffectBreaker.ignored
                  : EffectBreaker.failure(step.retryAfter === undefined ? undefined : { retryAfter: step.retryAfter })
            })
          ))
          seen.push(describeExit(exit))
          break
        }
        case "interruptedProbe": {
          const started = yield* Deferred.make<void>()
          const fiber = yield* Effect.forkChild(
            Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
              breaker.execute({ key: step.key })
            ),
            { startImmediately: true }
          )
          const ran = yield* Effect.race(Deferred.await(started).pipe(Effect.as("ran")), Effect.succeed("rejected"))
          seen.push(`probe ${ran}`)
          yield* Fiber.interrupt(fiber)
          break
        }
      }
    }
    yield* Effect.yieldNow
    return { seen, transitions }
  }).pipe(Effect.scoped, Effect.provide(store))

const same = (options: Parameters<typeof EffectBreaker.make>[0], steps: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const theirs = yield* play(EffectBreaker.layerStoreMemory(), options, steps)
    const mine = yield* play(ours(), options, steps)
    expect(mine).toEqual(theirs)
    return mine
  })

const call = (key: string, outcome: "ok" | "fail" | "ignored", retryAfter?: number): Step =>
  retryAfter === undefined ? { _tag: "call", key, outcome } : { _tag: "call", key, outcome, retryAfter }
const wait = (millis: number): Step => ({ _tag: "wait", millis })
const state = (key: string): Step => ({ _tag: "state", key })

describe("Fleet.layerStore under Effect 4's breaker, as layerStoreMemory", () => {
  it.effect("consecutive: opens after n failures in a row, rejects with the time left, probes once, closes", () =>
    Effect.gen(function*() {
      const { seen, transitions } = yield* same(
        { tripPolicy: EffectBreaker.consecutive(2), openDuration: "10 seconds" },
        [
          call("a", "fail"),
          call("a", "ok"),
          call("a", "fail"),
          call("a", "ignored"),
          state("a"),
          call("a", "fail"),
          state("a"),
          call("a", "ok"),
          wait(4_000),
          call("a", "ok"),
          call("b", "ok"),
          wait(6_000),
          state("a"),
          call("a", "ok"),
          state("a"),
          call("a", "ok")
        ]
      )
      expect(seen).toEqual([
        "error:fail",
        "ok:v",
        "error:fail",
        "error:ignored",
        "Closed",
        "error:fail",
        "Open 10000 x1",
        "open:10000",
        "open:6000",
        "ok:v",
        "Open 0 x1",
        "ok:v",
        "Closed",
        "ok:v"
      ])
      expect(transitions).toEqual(["a Closed->Open 10000 x1", "a Open->HalfOpen", "a HalfOpen->Closed"])
    }))

  it.effect("rate: opens when the failed fraction of the last calls reaches the threshold", () =>
    Effect.gen(function*() {
      const { transitions } = yield* same(
        { tripPolicy: EffectBreaker.rate({ threshold: 0.5, size: 4, minimumCalls: 3 }), openDuration: "1 second" },
        [
          call("r", "ok"),
          call("r", "fail"),
          call("r", "ok"),
          call("r", "ok"),
          call("r", "fail"),
          call("r", "ignored"),
          call("r", "ok"),
          call("r", "fail"),
          state("r"),
          call("r", "fail"),
          state("r"),
          call("r", "ok")
        ]
      )
      expect(transitions).toEqual(["r Closed->Open 1000 x1"])
    }))

  it.effect("half-open: a failed probe opens again for the schedule's next delay; the count survives a close", () =>
    Effect.gen(function*() {
      const { seen, transitions } = yield* same(
        { tripPolicy: EffectBreaker.consecutive(1), openDuration: Schedule.exponential("1 second") },
        [
          call("k", "fail"),
          wait(1_000),
          state("k"),
          call("k", "fail"),
          state("k"),
          wait(2_000),
          call("k", "ok"),
          // closed for less than the last opening (2 s): the next opening is the third delay
          wait(1_000),
          call("k", "fail"),
          state("k"),
          wait(4_000),
          call("k", "ok"),
          // closed as long as the last opening: the count starts again
          wait(4_000),
          call("k", "ok"),
          call("k", "fail"),
          state("k")
        ]
      )
      expect(seen.filter((line) => line.startsWith("Open"))).toEqual([
        "Open 0 x1",
        "Open 2000 x2",
        "Open 4000 x3",
        "Open 1000 x1"
      ])
      expect(transitions).toContain("k HalfOpen->Open 2000 x2")
    }))

  it.effect("a Retry-After hint lengthens the opening (capped by the breaker's maxOpenDuration)", () =>
    Effect.gen(function*() {
      const { seen } = yield* same(
        { tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 second", maxOpenDuration: "5 seconds" },
        [call("h", "fail", 3_000), state("h"), wait(3_000), call("h", "fail", 60_000), state("h")]
      )
      expect(seen).toEqual(["error:fail", "Open 3000 x1", "error:fail", "Open 5000 x2"])
    }))

  it.effect("an interrupted probe frees its slot: the next call probes", () =>
    Effect.gen(function*() {
      const { seen, transitions } = yield* same(
        { tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 second" },
        [
          call("p", "fail"),
          wait(1_000),
          { _tag: "interruptedProbe", key: "p" },
          state("p"),
          call("p", "ok"),
          state("p")
        ]
      )
      expect(seen).toEqual(["error:fail", "probe ran", "HalfOpen probing=false x1", "ok:v", "Closed"])
      expect(transitions).toEqual(["p Closed->Open 1000 x1", "p Open->HalfOpen", "p HalfOpen->Closed"])
    }))

  it.effect("while the probe runs, other calls are rejected with CircuitHalfOpen; calls admitted before a trip change nothing", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(ours())
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 second" })
        .pipe(Effect.provide(store))
      const gate = yield* Deferred.make<void>()
      // admitted while closed, ends after the trip: its success closes nothing
      const late = yield* Effect.forkChild(Deferred.await(gate).pipe(breaker.execute({ key: "x" })), {
        startImmediately: true
      })
      yield* Effect.ignore(Effect.fail("boom").pipe(breaker.execute({ key: "x" })))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(late)
      expect((yield* breaker.state("x"))._tag).toBe("Open")
      yield* TestClock.adjust("1 second")
      const probeGate = yield* Deferred.make<void>()
      const probe = yield* Effect.forkChild(Deferred.await(probeGate).pipe(breaker.execute({ key: "x" })), {
        startImmediately: true
      })
      const rejected = yield* Effect.flip(Effect.void.pipe(breaker.execute({ key: "x" })))
      expect(rejected.reason._tag).toBe("CircuitHalfOpen")
      expect(yield* breaker.state("x")).toMatchObject({ _tag: "HalfOpen", probing: true })
      yield* Deferred.succeed(probeGate, undefined)
      yield* Fiber.join(probe)
      expect((yield* breaker.state("x"))._tag).toBe("Closed")
    }).pipe(Effect.scoped))

  it.effect("random scripts: every answer, state and transition as layerStoreMemory's", () =>
    Effect.gen(function*() {
      const stepArb: fc.Arbitrary<Step> = fc.oneof(
        fc.record({
          _tag: fc.constant("call" as const),
          key: fc.constantFrom("a", "b"),
          outcome: fc.constantFrom("ok" as const, "fail" as const, "fail" as const, "ignored" as const)
        }),
        fc.record({ _tag: fc.constant("wait" as const), millis: fc.integer({ min: 1, max: 3_000 }) }),
        fc.record({ _tag: fc.constant("state" as const), key: fc.constantFrom("a", "b") }),
        fc.record({ _tag: fc.constant("interruptedProbe" as const), key: fc.constantFrom("a", "b") })
      )
      const policyArb = fc.oneof(
        fc.integer({ min: 1, max: 3 }).map((n) => EffectBreaker.consecutive(n)),
        fc.record({ size: fc.integer({ min: 1, max: 5 }), threshold: fc.constantFrom(0, 0.3, 0.5, 1) }).chain((r) =>
          fc.integer({ min: 1, max: r.size }).map((minimumCalls) => EffectBreaker.rate({ ...r, minimumCalls }))
        )
      )
      const samples = fc.sample(
        fc.tuple(policyArb, fc.boolean(), fc.array(stepArb, { minLength: 1, maxLength: 40 })),
        { numRuns: 150, seed: 24 }
      )
      for (const [tripPolicy, scheduled, steps] of samples) {
        // interrupted probes are the script's own steps: a closed circuit just runs (and interrupts) them
        yield* same(
          { tripPolicy, openDuration: scheduled ? Schedule.exponential("500 millis") : "2 seconds" },
          steps
        )
      }
    }))
})

describe("Fleet.layerStore's own limits", () => {
  it.effect("a probe admission whose scope closes without an outcome gives its slot back", () =>
    Effect.gen(function*() {
      const store = yield* EffectBreaker.CircuitBreakerStore
      const trip = yield* Effect.scoped(store.admit("s"))
      yield* store.record({
        key: "s",
        generation: trip.generation,
        outcome: "Failure",
        tripPolicy: EffectBreaker.consecutive(1),
        openFor: Duration.seconds(1)
      })
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.scoped(Effect.tap(store.admit("s"), () =>
        Effect.gen(function*() {
          expect(yield* store.state("s")).toMatchObject({ _tag: "HalfOpen", probing: true })
        })))
      expect(probe.probe).toBe(true)
      expect(yield* store.state("s")).toMatchObject({ _tag: "HalfOpen", probing: false })
      // its outcome arriving later is stale; the next admission is the probe
      const late = yield* store.record({
        key: "s",
        generation: probe.generation,
        outcome: "Success",
        tripPolicy: EffectBreaker.consecutive(1),
        openFor: Duration.zero
      })
      expect(late).toBeUndefined()
      expect((yield* Effect.scoped(store.admit("s"))).probe).toBe(true)
    }).pipe(Effect.provide(ours())))

  it.effect("a key idle for idleTimeToLive is dropped and starts again closed with no backoff", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(ours({ idleMillis: 60_000 }))
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 second" })
        .pipe(Effect.provide(store))
      yield* Effect.ignore(Effect.fail("boom").pipe(breaker.execute({ key: "idle" })))
      expect(yield* breaker.state("idle")).toMatchObject({ _tag: "Open", consecutiveOpenings: 1 })
      // an open key is kept idleTimeToLive past its opening
      yield* TestClock.adjust("60 seconds")
      expect((yield* breaker.state("idle"))._tag).toBe("Open")
      yield* TestClock.adjust("1 second")
      expect(yield* breaker.state("idle")).toEqual({ _tag: "Closed", key: "idle" })
      // dropped: a failure now opens it as the first opening again
      yield* Effect.ignore(Effect.fail("boom").pipe(breaker.execute({ key: "idle" })))
      expect(yield* breaker.state("idle")).toMatchObject({ _tag: "Open", consecutiveOpenings: 1 })
    }).pipe(Effect.scoped))

  it.effect("beyond maxKeys, a new key runs unrecorded (CircuitBreakerStoreError, which the breaker allows)", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(ours({ maxKeys: 2 }))
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 minute" })
        .pipe(Effect.provide(store))
      const strict = yield* EffectBreaker.make({
        tripPolicy: EffectBreaker.consecutive(1),
        openDuration: "1 minute",
        onStoreError: "fail"
      }).pipe(Effect.provide(store))
      yield* Effect.ignore(Effect.fail("boom").pipe(breaker.execute({ key: "k1" })))
      yield* breaker.execute(Effect.void, { key: "k2" })
      // a third key is not tracked: its failures open nothing
      yield* Effect.ignore(Effect.fail("boom").pipe(breaker.execute({ key: "k3" })))
      expect(yield* breaker.execute(Effect.succeed(3), { key: "k3" })).toBe(3)
      const error = yield* Effect.flip(strict.execute(Effect.void, { key: "k3" }))
      expect(error.reason._tag).toBe("CircuitBreakerStoreError")
      expect(error.message).toContain("maxKeys (2)")
      // the tracked ones still work
      expect((yield* breaker.state("k1"))._tag).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("a full table is swept before a new key is refused, however recently it was swept", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(ours({ idleMillis: 600_000, maxKeys: 2 }))
      const strict = yield* EffectBreaker.make({
        tripPolicy: EffectBreaker.consecutive(1),
        openDuration: "1 minute",
        onStoreError: "fail"
      }).pipe(Effect.provide(store))
      yield* TestClock.adjust("30 seconds")
      yield* strict.execute(Effect.void, { key: "k1" })
      // k2 arrives 10 seconds before k1 expires (a sweep then), k3 10 seconds after it
      yield* TestClock.adjust("590 seconds")
      yield* strict.execute(Effect.void, { key: "k2" })
      yield* TestClock.adjust("20 seconds")
      expect(yield* strict.execute(Effect.succeed(3), { key: "k3" })).toBe(3)
      // k3 is tracked: its failure opens it
      yield* Effect.ignore(Effect.fail("boom").pipe(strict.execute({ key: "k3" })))
      expect((yield* strict.state("k3"))._tag).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("an idle key leaves the fleet with no traffic at all", () =>
    Effect.gen(function*() {
      const left: Array<string> = []
      const recording = {
        join: (breaker: { readonly status: Effect.Effect<{ readonly service: string }> }) =>
          Effect.flatMap(breaker.status, (status) =>
            Effect.addFinalizer(() => Effect.sync(() => left.push(status.service))))
      } as unknown as FleetMembership.FleetService
      const store = yield* Layer.build(
        Layer.effect(
          EffectBreaker.CircuitBreakerStore,
          FleetStore.makeStore(recording, { idleMillis: 60_000, maxKeys: 10, maxOpenMillis: 3_600_000 })
        )
      )
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 second" })
        .pipe(Effect.provide(store))
      yield* breaker.execute(Effect.void, { key: "quiet" })
      yield* TestClock.adjust("59 seconds")
      expect(left).toEqual([])
      yield* TestClock.adjust("2 minutes")
      expect(left).toEqual(["quiet"])
    }).pipe(Effect.scoped))

  it.effect("a call longer than idleTimeToLive keeps its key: its outcome counts", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(ours({ idleMillis: 60_000 }))
      const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(1), openDuration: "1 minute" })
        .pipe(Effect.provide(store))
      const slow = yield* Effect.forkChild(
        Effect.ignore(Effect.fail("boom").pipe(Effect.delay("3 minutes"), breaker.execute({ key: "slow" })))
      )
      yield* TestClock.adjust("3 minutes")
      yield* Fiber.join(slow)
      expect((yield* breaker.state("slow"))._tag).toBe("Open")
    }).pipe(Effect.scoped))

  it.effect("bad options are ConfigErrors naming the field", () =>
    Effect.gen(function*() {
      const build = (options: Record<string, unknown>) =>
        Effect.flip(Layer.build(Fleet.layerStore({ fleet: "f", url: "redis://127.0.0.1:1", ...options })))
      expect(String(yield* build({ maxKeys: 0 }))).toContain("maxKeys")
      expect(String(yield* build({ idleTimeToLive: "soon" }))).toContain("idleTimeToLive")
      expect(String(yield* build({ maxOpenDuration: -1 }))).toContain("maxOpenDuration")
      expect(String(yield* build({ maxKey: 3 }))).toContain("maxKeys")
    }).pipe(Effect.scoped))
})

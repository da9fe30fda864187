/**
 * The shared behaviour suite (core/scenarios/breaker.ts), run by the Effect 4 edition: each
 * scenario's options become this edition's options (`Duration`s, strategies), its steps calls
 * under the TestClock, and after each step the result, state, status and published transitions
 * are checked against the data. The Effect 3 edition runs the same data in
 * test/BreakerScenarios.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import type * as Data from "../../core/scenarios/breaker.js"
import { mismatches, scenarios, stepKinds } from "../../core/scenarios/breaker.js"
import * as Wire from "../../core/scenarios/wire.js"
import { CircuitBreaker, ServiceStatus, ServiceUnavailable } from "../src/index.js"

class ScenarioFailure {
  readonly _tag = "ScenarioFailure"
  /** The `Retry-After` the failure carries, if any. */
  constructor(readonly retryAfterMillis?: number) {}
}
class IgnoredError {
  readonly _tag = "IgnoredError"
}

const effectOf = (
  outcome: Data.Outcome,
  retryAfterMillis?: number
): Effect.Effect<string, ScenarioFailure | IgnoredError> => {
  switch (outcome) {
    case "success":
      return Effect.succeed("ok")
    case "failure":
      return Effect.fail(new ScenarioFailure(retryAfterMillis))
    case "ignored":
      return Effect.fail(new IgnoredError())
    case "defect":
      return Effect.die("scenario defect")
  }
}

const windowOf = (window: Data.Window): CircuitBreaker.SlidingWindow =>
  window.kind === "count"
    ? window
    : window.buckets === undefined
    ? { kind: "time", duration: Duration.millis(window.durationMillis) }
    : { kind: "time", duration: Duration.millis(window.durationMillis), buckets: window.buckets }

const strategyOf = (strategy: Data.Strategy): CircuitBreaker.TrippingStrategy<CircuitBreaker.RateWindow> =>
  strategy.kind === "failureRate"
    ? CircuitBreaker.failureRate({
      threshold: strategy.threshold,
      minimumCalls: strategy.minimumCalls,
      window: windowOf(strategy.window)
    })
    : CircuitBreaker.slowCallRate({
      slowerThan: Duration.millis(strategy.slowerThanMillis),
      threshold: strategy.threshold,
      minimumCalls: strategy.minimumCalls,
      window: windowOf(strategy.window)
    })

/** The scenario's options as this edition's. */
const optionsOf = (options: Data.Options): CircuitBreaker.Options => ({
  ...(options.name === undefined ? {} : { name: options.name }),
  ...(options.failureThreshold === undefined ? {} : { failureThreshold: options.failureThreshold }),
  ...(options.recoveryTimeoutMillis === undefined
    ? {}
    : { recoveryTimeout: Duration.millis(options.recoveryTimeoutMillis) }),
  ...(options.halfOpenMaxProbes === undefined ? {} : { halfOpenMaxProbes: options.halfOpenMaxProbes }),
  ...(options.probeTimeoutMillis === undefined ? {} : { probeTimeout: Duration.millis(options.probeTimeoutMillis) }),
  ...(options.strategy === undefined ? {} : { strategy: strategyOf(options.strategy) }),
  ...(options.recoveryExponentialMillis === undefined
    ? {}
    : { recoveryTimeout: Schedule.exponential(Duration.millis(options.recoveryExponentialMillis)) }),
  ...(options.retryAfterCapMillis === undefined ? {} : { retryAfterCap: Duration.millis(options.retryAfterCapMillis) }),
  ...(options.retainOpenings === undefined ? {} : { retainOpenings: options.retainOpenings }),
  ...(options.isFailure === undefined ? {} : { isFailure: judgeOf(options.isFailure) })
})

/** The scenario's judge as this edition's `isFailure`. */
const judgeOf = (judge: NonNullable<Data.Options["isFailure"]>): NonNullable<CircuitBreaker.Options["isFailure"]> => {
  switch (judge) {
    case "allButIgnored":
      return (error) => !(error instanceof IgnoredError)
    case "allButIgnoredOutsideProbes":
      return (error, { probe }) => probe || !(error instanceof IgnoredError)
    case "retryAfter":
      return (error) =>
        error instanceof ScenarioFailure && error.retryAfterMillis !== undefined
          ? { retryAfter: Duration.millis(error.retryAfterMillis) }
          : true
  }
}

/** What a call's exit says, in the scenario's terms. */
const resultOf = (exit: Exit.Exit<string, unknown>): Data.Result => {
  if (Exit.isSuccess(exit)) return { _tag: "Ran", outcome: "success" }
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) {
    const value = error.value
    if (value instanceof ServiceUnavailable.ServiceUnavailable) {
      return {
        _tag: "Rejected",
        state: value.state,
        retryAfterMillis: Duration.isFinite(value.retryAfter) ? Duration.toMillis(value.retryAfter) : null
      }
    }
    if (value instanceof ScenarioFailure) return { _tag: "Ran", outcome: "failure" }
    if (value instanceof IgnoredError) return { _tag: "Ran", outcome: "ignored" }
  }
  if (Cause.hasDies(exit.cause)) return { _tag: "Ran", outcome: "defect" }
  throw new Error(`a call ended in a way no scenario describes: ${Cause.pretty(exit.cause)}`)
}

interface Held {
  readonly gate: Deferred.Deferred<Data.Outcome>
  readonly fiber: Fiber.Fiber<Exit.Exit<string, unknown>>
}

/** Runs one scenario; fails the test at the first step whose expectations do not hold. */
const run = (scenario: Data.Scenario) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make(optionsOf(scenario.options))
    const published = yield* breaker.subscribe
    const held = new Map<string, Held>()

    const allowing = breaker.withOptions({ onRejection: "allow" })

    /** Calls the breaker with `effect`; `ran` says whether the effect started. */
    const protect = (effect: Effect.Effect<string, ScenarioFailure | IgnoredError>, allow = false) => {
      const started = { ran: false }
      const call = (allow ? allowing : breaker)(Effect.suspend(() => {
        started.ran = true
        return effect
      }))
      return { started, call: Effect.exit(call) }
    }

    for (const [index, step] of scenario.steps.entries()) {
      const where = `"${scenario.name}", step ${index + 1} (${step.kind})`
      const stateBefore = yield* breaker.state
      let result: Data.Result | undefined
      let ran: boolean | undefined
      switch (step.kind) {
        case "advance": {
          yield* TestClock.adjust(Duration.millis(step.millis))
          break
        }
        case "probe":
        case "call": {
          const duration = step.kind === "call" ? step.durationMillis : undefined
          const outcome = effectOf(step.outcome, step.retryAfterMillis)
          const { call, started } = protect(
            duration === undefined ? outcome : Effect.andThen(Effect.sleep(Duration.millis(duration)), outcome),
            step.kind === "call" && step.onRejection === "allow"
          )
          if (duration === undefined) {
            result = resultOf(yield* call)
          } else {
            const fiber = yield* Effect.forkChild(call)
            yield* Effect.yieldNow
            yield* TestClock.adjust(Duration.millis(duration))
            result = resultOf(yield* Fiber.join(fiber))
          }
          ran = started.ran
          break
        }
        case "start": {
          const gate = yield* Deferred.make<Data.Outcome>()
          const { call, started } = protect(Effect.flatMap(Deferred.await(gate), effectOf))
          const fiber = yield* Effect.forkChild(call)
          yield* Effect.yieldNow
          ran = started.ran
          if (ran) {
            held.set(step.id, { gate, fiber })
          } else {
            result = resultOf(yield* Fiber.join(fiber))
          }
          break
        }
        case "finish": {
          const call = held.get(step.id)
          if (call === undefined) throw new Error(`${where}: no call was started as "${step.id}"`)
          held.delete(step.id)
          yield* Deferred.succeed(call.gate, step.outcome)
          result = resultOf(yield* Fiber.join(call.fiber))
          ran = true
          break
        }
        case "interrupt": {
          const call = held.get(step.id)
          if (call === undefined) throw new Error(`${where}: no call was started as "${step.id}"`)
          held.delete(step.id)
          yield* Fiber.interrupt(call.fiber)
          yield* Fiber.await(call.fiber)
          break
        }
        case "isolate": {
          yield* breaker.isolate
          break
        }
        case "reset": {
          yield* breaker.reset
          break
        }
        case "check":
          break
        default: {
          const unknown: never = step
          throw new Error(
            `unknown step kind ${JSON.stringify((unknown as { kind: unknown }).kind)} in ${where}; the kinds are ${
              stepKinds.join(", ")
            }`
          )
        }
      }

      const status = yield* breaker.status
      const waiting = yield* PubSub.remaining(published)
      const changes = waiting === 0 ? [] : yield* PubSub.takeUpTo(published, waiting)
      const transitions = changes.map((change) => [change.from, change.to, change.at.getTime()] as const)
      const observed: Data.Observed = {
        stateBefore,
        result,
        ran,
        state: yield* breaker.state,
        isolated: yield* breaker.isolated,
        status: {
          service: status.service,
          failureCount: status.failureCount,
          lastFailure: Option.match(status.lastFailure, { onNone: () => null, onSome: (date) => date.getTime() }),
          lastStateChange: status.lastStateChange.getTime()
        },
        transitions
      }
      expect(mismatches(step, observed), where).toEqual([])
    }
  })

describe("breaker scenarios (shared with the Effect 3 edition)", () => {
  it("there are at least 20 scenarios, with distinct names", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(20)
    expect(new Set(scenarios.map((scenario) => scenario.name)).size).toBe(scenarios.length)
  })

  for (const scenario of scenarios) {
    it.effect(scenario.name, () => run(scenario))
  }

  it.effect("a step of an unknown kind fails the run loudly", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(run({
        name: "unknown",
        options: {},
        steps: [{ kind: "teleport", millis: 10 } as unknown as Data.Step]
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(String(Cause.squash(exit.cause))).toContain("unknown step kind \"teleport\"")
      }
    }))
})

describe("wire fixtures (shared with the Effect 3 edition)", () => {
  const decodeStatus = Schema.decodeUnknownSync(ServiceStatus.ServiceStatusJson)
  const encodeStatus = Schema.encodeSync(ServiceStatus.ServiceStatusJson)
  const decodeRejection = Schema.decodeUnknownSync(ServiceUnavailable.ServiceUnavailable)
  const encodeRejection = Schema.encodeSync(ServiceUnavailable.ServiceUnavailable)

  it.each(Wire.statuses)("status $name: decodes to its fields and encodes back to the same bytes", (fixture) => {
    const status = decodeStatus(JSON.parse(fixture.json))
    expect({
      service: status.service,
      state: status.state,
      failureCount: status.failureCount,
      lastFailure: Option.match(status.lastFailure, { onNone: () => null, onSome: (date) => date.getTime() }),
      lastStateChange: status.lastStateChange.getTime()
    }).toEqual(fixture.fields)
    expect(JSON.stringify(encodeStatus(status))).toBe(fixture.json)
    expect(JSON.stringify(ServiceStatus.fromMillis({
      ...fixture.fields,
      lastFailure: fixture.fields.lastFailure ?? undefined
    }))).toBe(fixture.json)
  })

  it.each(Wire.invalidStatuses)("not a status: $name", (fixture) => {
    expect(() => decodeStatus(JSON.parse(fixture.json))).toThrow()
  })

  // the same fields and values; the key order differs between the editions (Effect 3's schema
  // writes `_tag` last, Effect 4's first), so the JSON is compared parsed
  it.each(Wire.rejections)("rejection $name: decodes to its fields and encodes back to the same JSON", (fixture) => {
    const error = decodeRejection(JSON.parse(fixture.json))
    expect({
      service: error.service,
      state: error.state,
      retryAfterMillis: Duration.isFinite(error.retryAfter) ? Duration.toMillis(error.retryAfter) : null
    }).toEqual(fixture.fields)
    expect(JSON.parse(JSON.stringify(encodeRejection(error)))).toEqual(JSON.parse(fixture.json))
    const made = ServiceUnavailable.unsafeMake(
      fixture.fields.service,
      fixture.fields.state,
      fixture.fields.retryAfterMillis ?? Infinity
    )
    expect(JSON.parse(JSON.stringify(encodeRejection(made)))).toEqual(JSON.parse(fixture.json))
  })

  for (const fixture of Wire.stored) {
    it.effect(`stored snapshot ${fixture.name}: resumed from, and written byte for byte`, () =>
      Effect.gen(function*() {
        const store = yield* KeyValueStore.KeyValueStore
        const key = `effect-resilience/circuit-breaker/${fixture.service}`
        yield* store.set(key, fixture.json)
        const resumed = yield* CircuitBreaker.make({ name: fixture.service, store })
        expect(yield* resumed.state).toBe(fixture.state)
        expect(yield* resumed.isolated).toBe(fixture.isolated)

        // a fresh breaker making the same transitions at 0 stores the same text
        yield* store.remove(key)
        const scope = yield* Scope.make()
        const fresh = yield* Scope.provide(
          CircuitBreaker.make({ name: fixture.service, failureThreshold: 1, store }),
          scope
        )
        if (fixture.isolated) yield* fresh.isolate
        else yield* Effect.ignore(fresh(Effect.fail("boom")))
        yield* Scope.close(scope, Exit.void) // waits for the last write
        expect(yield* store.get(key)).toBe(fixture.json)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)))
  }
})

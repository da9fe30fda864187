/**
 * A model-based property test of the REAL breaker (`CircuitBreaker.make` under `TestClock`), not
 * of the pure machine: generated sequences of calls that succeed, fail with a counted error, fail
 * with an error `isFailure` does not count, die, hang and are interrupted, clock moves (exactly to
 * the end of the recovery window too) and concurrent bursts, compared after every step with a
 * small reference model written from DESIGN.md's "Circuit breaker" section alone: state,
 * failureCount, lastFailure, lastStateChange and every admitted/rejected decision agree.
 *
 * The Effect 4 edition's port of the Effect 3 edition's model test: same model, commands and
 * seams. Runs: RESILIENCE_PROPERTY_RUNS (default 300, under a second); `npm run test:long` at the
 * top level runs 10,000.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import { propertyRuns } from "../../core/test/utils/propertyRuns.js"
import { CircuitBreaker, ServiceUnavailable } from "../src/index.js"
import { internals, judgeWith } from "../src/internal/circuitBreaker.js"
import { earlyClock, letWokenFibersRun } from "./utils/clocks.js"
import { makeLogCapture } from "./utils/logs.js"

const numRuns = propertyRuns

// -----------------------------------------------------------------------------
// the reference model (DESIGN.md, "Circuit breaker")
// -----------------------------------------------------------------------------

type State = "closed" | "open" | "half_open"
/**
 * How a call ends: `Die` is a defect (it counts), `Ignored` a failure `isFailure` rejects,
 * `Silent` a failure that says nothing about the service (judged so, as the HTTP client judges an
 * attempt that was never sent): it counts neither way and a probe gives its permit back.
 */
type Outcome = "Success" | "Failure" | "Ignored" | "Die" | "Silent"

interface Settings {
  readonly failureThreshold: number
  readonly recoveryTimeout: number
  readonly halfOpenMaxProbes: number
  /**
   * A seam the breaker must not notice: timers that wake a millisecond early, or a store whose
   * writes never end. The model is the same either way.
   */
  readonly seam?: "earlyTimers" | "hangingStore" | undefined
}

interface Ticket {
  /** The transitions the model had made when the call was admitted. */
  readonly epoch: number
  readonly probe: boolean
}

type Decision =
  | { readonly _tag: "Admitted"; readonly ticket: Ticket }
  | { readonly _tag: "Rejected"; readonly state: "open" | "half_open"; readonly retryAfter: number }

class Model {
  state: State = "closed"
  failureCount = 0
  lastFailure: number | null = null
  lastStateChange: number
  openedAt = 0
  /** Every transition starts a new epoch: outcomes of calls admitted in an older one are ignored. */
  epoch = 0
  probesRunning = 0
  probesSucceeded = 0

  constructor(readonly settings: Settings, now: number) {
    this.lastStateChange = now
  }

  private moveTo(state: State, at: number) {
    this.state = state
    this.lastStateChange = at
    this.epoch += 1
    this.probesRunning = 0
    this.probesSucceeded = 0
  }

  private open(now: number) {
    this.moveTo("open", now)
    this.openedAt = now
  }

  /** `open → half_open` once recoveryTimeout has passed, dated opened + recoveryTimeout. */
  observe(now: number) {
    const recoversAt = this.openedAt + this.settings.recoveryTimeout
    if (this.state === "open" && now >= recoversAt) this.moveTo("half_open", recoversAt)
  }

  admit(now: number): Decision {
    this.observe(now)
    switch (this.state) {
      case "closed":
        return { _tag: "Admitted", ticket: { epoch: this.epoch, probe: false } }
      case "open":
        return { _tag: "Rejected", state: "open", retryAfter: this.openedAt + this.settings.recoveryTimeout - now }
      case "half_open":
        if (this.probesRunning + this.probesSucceeded >= this.settings.halfOpenMaxProbes) {
          return { _tag: "Rejected", state: "half_open", retryAfter: 0 }
        }
        this.probesRunning += 1
        return { _tag: "Admitted", ticket: { epoch: this.epoch, probe: true } }
    }
  }

  finish(ticket: Ticket, outcome: Outcome | "Interrupted", now: number) {
    this.observe(now)
    if (ticket.epoch !== this.epoch) return // admitted before a transition: changes nothing
    const counted = outcome === "Failure" || outcome === "Die"
    if (!ticket.probe) {
      if (outcome === "Success") this.failureCount = 0
      if (counted) {
        this.failureCount += 1
        this.lastFailure = now
        if (this.failureCount >= this.settings.failureThreshold) this.open(now)
      }
      return // Ignored, Silent and Interrupted count neither way
    }
    this.probesRunning -= 1
    if (outcome === "Interrupted" || outcome === "Silent") return // the permit is given back
    if (counted) {
      this.failureCount += 1
      this.lastFailure = now
      this.open(now)
      return
    }
    // a success, or a failure that does not count: the service answered
    this.probesSucceeded += 1
    if (this.probesSucceeded >= this.settings.halfOpenMaxProbes) {
      this.moveTo("closed", now)
      this.failureCount = 0
    }
  }
}

// -----------------------------------------------------------------------------
// commands
// -----------------------------------------------------------------------------

type Command =
  | { readonly _tag: "Call"; readonly outcome: Outcome }
  | { readonly _tag: "Start" }
  | { readonly _tag: "Finish"; readonly pick: number; readonly outcome: Outcome | "Interrupted" }
  | { readonly _tag: "Adjust"; readonly millis: number }
  | { readonly _tag: "AdjustToRecovery"; readonly offset: -1 | 0 | 1 }
  | { readonly _tag: "AdjustByRecoveryTimeout" }
  | { readonly _tag: "Burst"; readonly size: number }

const outcomeArbitrary = fc.constantFrom<Outcome>(
  "Success",
  "Success",
  "Failure",
  "Failure",
  "Ignored",
  "Die",
  "Silent"
)

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ _tag: fc.constant("Call" as const), outcome: outcomeArbitrary }), weight: 10 },
  { arbitrary: fc.constant({ _tag: "Start" } as const), weight: 4 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Finish" as const),
      pick: fc.nat({ max: 5 }),
      outcome: fc.oneof(outcomeArbitrary, fc.constant("Interrupted" as const))
    }),
    weight: 6
  },
  { arbitrary: fc.record({ _tag: fc.constant("Adjust" as const), millis: fc.nat({ max: 1_500 }) }), weight: 3 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("AdjustToRecovery" as const),
      offset: fc.constantFrom<-1 | 0 | 1>(-1, 0, 0, 1)
    }),
    weight: 4
  },
  { arbitrary: fc.constant({ _tag: "AdjustByRecoveryTimeout" } as const), weight: 1 },
  { arbitrary: fc.record({ _tag: fc.constant("Burst" as const), size: fc.integer({ min: 2, max: 6 }) }), weight: 3 }
)

const settingsArbitrary: fc.Arbitrary<Settings> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  recoveryTimeout: fc.integer({ min: 1, max: 2_000 }),
  halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
  seam: fc.constantFrom(undefined, undefined, "earlyTimers" as const, "hangingStore" as const)
})

// -----------------------------------------------------------------------------
// driving the real breaker
// -----------------------------------------------------------------------------

class Counted {
  readonly _tag = "Counted"
}
class NotCounted {
  readonly _tag = "NotCounted"
}
class SaysNothing {
  readonly _tag = "SaysNothing"
}

const outcomeEffect = (outcome: Outcome): Effect.Effect<string, Counted | NotCounted | SaysNothing> => {
  switch (outcome) {
    case "Success":
      return Effect.succeed("ok")
    case "Failure":
      return Effect.fail(new Counted())
    case "Ignored":
      return Effect.fail(new NotCounted())
    case "Die":
      return Effect.die("boom")
    case "Silent":
      return Effect.fail(new SaysNothing())
  }
}

/** The judge the HTTP client would pass: `SaysNothing` is silent, the rest as `isFailure` says. */
const judge = (cause: Cause.Cause<Counted | NotCounted | SaysNothing>) => {
  const failure = Cause.findErrorOption(cause)
  if (Option.isSome(failure) && failure.value instanceof SaysNothing && !Cause.hasDies(cause)) return "Silent" as const
  return judgeWith((error) => !(error instanceof NotCounted))(cause)
}

interface Pending {
  readonly fiber: Fiber.Fiber<string, Counted | NotCounted | SaysNothing | ServiceUnavailable.ServiceUnavailable>
  readonly gate: Deferred.Deferred<Outcome>
  readonly ticket: Ticket
}

/** Checks that an exit is what the call's outcome (or the model's rejection) says. */
const expectExit = (
  exit: Exit.Exit<string, Counted | NotCounted | SaysNothing | ServiceUnavailable.ServiceUnavailable>,
  expected: Outcome | "Interrupted" | Extract<Decision, { _tag: "Rejected" }>,
  context: string
) => {
  if (typeof expected === "object") {
    const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
    expect(Option.isSome(failure), context).toBe(true)
    const error = Option.getOrThrow(failure)
    expect(error instanceof ServiceUnavailable.ServiceUnavailable, context).toBe(true)
    const rejection = error as ServiceUnavailable.ServiceUnavailable
    expect(rejection.state, context).toBe(expected.state)
    expect(Duration.toMillis(rejection.retryAfter), context).toBe(expected.retryAfter)
    return
  }
  switch (expected) {
    case "Success":
      expect(Exit.isSuccess(exit) && exit.value, context).toBe("ok")
      return
    case "Failure":
    case "Ignored":
    case "Silent": {
      const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      expect(Option.map(failure, (e) => e._tag), context).toStrictEqual(
        Option.some(expected === "Failure" ? "Counted" : expected === "Ignored" ? "NotCounted" : "SaysNothing")
      )
      return
    }
    case "Die":
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), context).toBe(true)
      return
    case "Interrupted":
      expect(Exit.hasInterrupts(exit), context).toBe(true)
      return
  }
}

/** A store whose writes never end (and are never interruptible). */
const hangingStore = KeyValueStore.makeStringOnly({
  get: () => Effect.undefined,
  set: () => Effect.uninterruptible(Effect.never),
  remove: () => Effect.void,
  clear: Effect.void,
  size: Effect.succeed(0),
  keys: Effect.succeed([])
})

const run = (settings: Settings, commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    // the breaker's own scope: closing it waits up to storeTimeout for a store that hangs
    const breakerScope = yield* Scope.make()
    const made = yield* CircuitBreaker.make({
      name: "model",
      failureThreshold: settings.failureThreshold,
      recoveryTimeout: Duration.millis(settings.recoveryTimeout),
      halfOpenMaxProbes: settings.halfOpenMaxProbes,
      isFailure: (error) => !(error instanceof NotCounted),
      ...(settings.seam === "hangingStore" ? { store: hangingStore, storeTimeout: "1 second" } : {})
    }).pipe(
      settings.seam === "earlyTimers" ? Effect.provideService(Clock.Clock, yield* earlyClock) : (self) => self,
      Scope.provide(breakerScope)
    )
    // every call goes through the judged entry the HTTP client uses
    const breaker = Object.assign(
      <A, E extends Counted | NotCounted | SaysNothing, R>(self: Effect.Effect<A, E, R>) =>
        internals(made).protectJudged(self, judge),
      { status: made.status, state: made.state }
    )
    const model = new Model(settings, yield* Clock.currentTimeMillis)
    const pending: Array<Pending> = []
    const trace: Array<string> = []

    /** Forks a call that runs until its gate opens; resolves once it is running or rejected. */
    const start = Effect.gen(function*() {
      const gate = yield* Deferred.make<Outcome>()
      const started = yield* Deferred.make<void>()
      // in the run's scope: a child of this helper's fiber would be interrupted when it returns
      // (a burst runs the helper in fibers of its own)
      const fiber = yield* Effect.forkScoped(
        breaker(
          Effect.andThen(Deferred.succeed(started, undefined), Effect.flatMap(Deferred.await(gate), outcomeEffect))
        )
      )
      const admitted = yield* Effect.raceFirst(
        Effect.as(Deferred.await(started), true),
        Effect.as(Fiber.await(fiber), false)
      )
      return { fiber, gate, admitted }
    })

    for (const command of commands) {
      trace.push(JSON.stringify(command))
      const context = trace.join("\n")
      const now = yield* Clock.currentTimeMillis
      switch (command._tag) {
        case "Call": {
          const decision = model.admit(now)
          const exit = yield* Effect.exit(breaker(outcomeEffect(command.outcome)))
          if (decision._tag === "Admitted") {
            expectExit(exit, command.outcome, context)
            model.finish(decision.ticket, command.outcome, now)
          } else {
            expectExit(exit, decision, context)
          }
          break
        }
        case "Start": {
          const decision = model.admit(now)
          const started = yield* start
          expect(started.admitted, context).toBe(decision._tag === "Admitted")
          if (decision._tag === "Admitted") {
            pending.push({ fiber: started.fiber, gate: started.gate, ticket: decision.ticket })
          } else {
            expectExit(yield* Fiber.await(started.fiber), decision, context)
          }
          break
        }
        case "Burst": {
          const decisions = Array.from({ length: command.size }, () => model.admit(now))
          const tickets = decisions.flatMap((d) => d._tag === "Admitted" ? [d.ticket] : [])
          const started = yield* Effect.all(Array.from({ length: command.size }, () => start), {
            concurrency: "unbounded"
          })
          const admitted = started.filter((s) => s.admitted)
          // which fibers get the permits is up to the scheduler; how many is not
          expect(admitted.length, context).toBe(tickets.length)
          admitted.forEach((s, i) => pending.push({ fiber: s.fiber, gate: s.gate, ticket: tickets[i]! }))
          for (const rejected of started.filter((s) => !s.admitted)) {
            const rejection = decisions.find((d) => d._tag === "Rejected")!
            expectExit(yield* Fiber.await(rejected.fiber), rejection, context)
          }
          break
        }
        case "Finish": {
          if (pending.length === 0) break
          const index = pending.length - 1 - (command.pick % pending.length)
          const [call] = pending.splice(index, 1)
          if (command.outcome === "Interrupted") {
            yield* Fiber.interrupt(call!.fiber)
            expectExit(yield* Fiber.await(call!.fiber), "Interrupted", context)
          } else {
            yield* Deferred.succeed(call!.gate, command.outcome)
            expectExit(yield* Fiber.await(call!.fiber), command.outcome, context)
          }
          model.finish(call!.ticket, command.outcome, now)
          break
        }
        case "Adjust":
          yield* TestClock.adjust(Duration.millis(command.millis))
          break
        case "AdjustToRecovery": {
          // to the end of the current (or last) recovery window, or just before/after it
          const target = model.openedAt + settings.recoveryTimeout + command.offset
          yield* TestClock.adjust(Duration.millis(Math.max(0, target - now)))
          break
        }
        case "AdjustByRecoveryTimeout":
          yield* TestClock.adjust(Duration.millis(settings.recoveryTimeout))
          break
      }
      const after = yield* Clock.currentTimeMillis
      model.observe(after)
      const status = yield* breaker.status
      expect(
        {
          state: status.state,
          failureCount: status.failureCount,
          lastFailure: Option.getOrNull(Option.map(status.lastFailure, (d) => d.getTime())),
          lastStateChange: status.lastStateChange.getTime()
        },
        context
      ).toStrictEqual({
        state: model.state,
        failureCount: model.failureCount,
        lastFailure: model.lastFailure,
        lastStateChange: model.lastStateChange
      })
      expect(yield* breaker.state, context).toBe(model.state)
    }
    // every call still running is interrupted with its scope; none may be left blocked
    yield* Effect.forEach(pending, (call) => Fiber.interrupt(call.fiber), { discard: true })
    // the close waits for a hanging store's write for its storeTimeout at most
    const closing = yield* Effect.forkChild(Scope.close(breakerScope, Exit.void))
    yield* TestClock.adjust(0)
    yield* letWokenFibersRun
    yield* TestClock.adjust("1 second")
    yield* Fiber.join(closing)
  })

describe("the real CircuitBreaker against a reference model (TestClock)", () => {
  it("agrees with the model after every step", async () => {
    await fc.assert(
      fc.asyncProperty(
        settingsArbitrary,
        fc.array(commandArbitrary, { minLength: 1, maxLength: 30 }),
        (settings, commands) =>
          Effect.runPromise(
            run(settings, commands).pipe(
              Effect.scoped,
              makeLogCapture().provide,
              Effect.provide(TestClock.layer())
            )
          )
      ),
      { numRuns }
    )
  }, Math.max(120_000, numRuns * 100))

  it("the model and the breaker agree on a hand-written path through every state", async () => {
    await Effect.runPromise(
      run({ failureThreshold: 2, recoveryTimeout: 1_000, halfOpenMaxProbes: 2 }, [
        { _tag: "Call", outcome: "Failure" },
        { _tag: "Call", outcome: "Ignored" },
        { _tag: "Call", outcome: "Die" }, // opens
        { _tag: "Call", outcome: "Success" }, // rejected
        { _tag: "AdjustToRecovery", offset: -1 },
        { _tag: "Call", outcome: "Success" }, // still rejected
        { _tag: "AdjustToRecovery", offset: 0 }, // exactly recoveryTimeout: half_open
        { _tag: "Burst", size: 5 }, // 2 probes
        { _tag: "Finish", pick: 0, outcome: "Interrupted" }, // a permit back
        { _tag: "Start" }, // takes it
        { _tag: "Finish", pick: 0, outcome: "Success" },
        { _tag: "Finish", pick: 0, outcome: "Ignored" } // closes
      ]).pipe(Effect.scoped, makeLogCapture().provide, Effect.provide(TestClock.layer()))
    )
  })
})

// -----------------------------------------------------------------------------
// what the generated sequences do not reach (mutants that survived them)
// -----------------------------------------------------------------------------

describe("the real CircuitBreaker: strategies and restarts", () => {
  it("the default strategy is named consecutiveFailures(n)", () => {
    expect(CircuitBreaker.consecutiveFailures(5).name).toBe("consecutiveFailures(5)")
    expect(CircuitBreaker.consecutiveFailures(1).name).toBe("consecutiveFailures(1)")
  })

  /** Counts every call; trips at 2 calls. */
  const countingStrategy = (onSuccessMayTrip: boolean): CircuitBreaker.TrippingStrategy<number> => ({
    name: "calls(2)",
    initial: () => 0,
    onSuccess: (n) => n + 1,
    onFailure: (n) => n + 1,
    shouldTrip: (n) => n >= 2,
    onSuccessMayTrip
  })

  it.effect("shouldTrip is asked after a success only when onSuccessMayTrip is set", () =>
    Effect.gen(function*() {
      const lazy = yield* CircuitBreaker.make({ name: "lazy", strategy: countingStrategy(false) })
      yield* lazy(Effect.succeed(1))
      yield* lazy(Effect.succeed(2))
      expect(yield* lazy.state).toBe("closed")
      // the next counted failure asks it, and it trips
      yield* makeLogCapture().provide(Effect.ignore(lazy(Effect.fail(new Counted()))))
      expect(yield* lazy.state).toBe("open")

      const eager = yield* CircuitBreaker.make({ name: "eager", strategy: countingStrategy(true) })
      yield* makeLogCapture().provide(eager(Effect.succeed(1)))
      expect(yield* eager.state).toBe("closed")
      yield* makeLogCapture().provide(eager(Effect.succeed(2)))
      const status = yield* eager.status
      expect(status.state).toBe("open")
      // a success that trips is not a failure
      expect(Option.isNone(status.lastFailure)).toBe(true)
    }))

  it.effect("a strategy that needs durations is given how long a failed call ran", () =>
    Effect.gen(function*() {
      const seen: Array<[string, number]> = []
      const strategy: CircuitBreaker.TrippingStrategy<number> = {
        name: "recording",
        needsDuration: true,
        initial: () => 0,
        onSuccess: (n, _now, duration) => {
          seen.push(["success", duration])
          return n
        },
        onFailure: (n, _now, duration) => {
          seen.push(["failure", duration])
          return n + 1
        },
        shouldTrip: () => false
      }
      const breaker = yield* CircuitBreaker.make({ name: "timed", strategy })
      const slow = <A, E>(self: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(breaker(Effect.andThen(Effect.sleep("5 seconds"), self)))
          yield* TestClock.adjust("5 seconds")
          return yield* Fiber.await(fiber)
        })
      yield* TestClock.adjust("1 minute") // durations are differences of two readings, wherever the clock is
      yield* slow(Effect.fail(new Counted()))
      yield* slow(Effect.succeed("ok"))
      expect(seen).toEqual([["failure", 5_000], ["success", 5_000]])
    }))

  it.effect("a half_open breaker restored from its store resumes half_open with its count", () =>
    Effect.gen(function*() {
      const store = yield* KeyValueStore.KeyValueStore
      const options = { name: "restored", failureThreshold: 2, recoveryTimeout: "10 seconds", store } as const
      const first = yield* Scope.make()
      const breaker = yield* Scope.provide(CircuitBreaker.make(options), first)
      yield* makeLogCapture().provide(Effect.ignore(breaker(Effect.fail(new Counted()))))
      yield* makeLogCapture().provide(Effect.ignore(breaker(Effect.fail(new Counted()))))
      yield* TestClock.adjust("10 seconds")
      expect(yield* makeLogCapture().provide(breaker.state)).toBe("half_open")
      yield* Scope.close(first, Exit.void)

      const again = yield* makeLogCapture().provide(CircuitBreaker.make(options))
      const status = yield* again.status
      expect(status.state).toBe("half_open")
      expect(status.failureCount).toBe(2)
      expect(status.lastStateChange.getTime()).toBe(10_000)
      // and a probe closes it
      expect(yield* makeLogCapture().provide(again(Effect.succeed("probe")))).toBe("probe")
      expect(yield* again.state).toBe("closed")
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))
})

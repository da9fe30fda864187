/**
 * Deadlines on the monotonic clock: attempt timeouts, call deadlines (before an attempt, during
 * one, over a streamed body, after a wait in the bulkhead) and a breaker's opening are measured
 * with `Clock.currentTimeNanos`, so that a step of the wall clock (NTP, a VM resumed) fires
 * nothing early or late; timestamps (statuses, transitions, stored snapshots) stay on the wall
 * clock. Every test runs on a clock whose wall time is stepped back an hour or forward 10 s while
 * its monotonic time and timers run on with the TestClock (test/utils/clocks.ts).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"
import type { Dispatcher } from "undici"
import { CircuitBreaker, ResilientServiceClient, UndiciTransport } from "../src/index.js"
import * as Machine from "../src/internal/machine.js"
import * as Testing from "../src/Testing.js"
import { steppedWallClock, wallOrigin } from "./utils/clocks.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const hour = 3_600_000
const baseUrl = "http://billing.test"

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

const timedOut = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.squash(exit.cause)
  return Cause.isTimeoutException(error) ? error.message : undefined
}

/** An `UndiciTransport` whose dispatcher takes every request and never answers. */
const deafUndici: Layer.Layer<HttpClient.HttpClient> = UndiciTransport.layerDispatcher(
  { dispatch: () => true } as unknown as Dispatcher
)

const transports = [
  {
    name: "the platform's transport (an attempt in its own fiber)",
    layer: Testing.fakeUpstream({ "/": Testing.hang }).layer
  },
  { name: "UndiciTransport (an attempt stopped by its signal)", layer: deafUndici }
] as const

describe("attempt timeouts are on the monotonic clock", () => {
  for (const transport of transports) {
    it.scoped(`${transport.name}: a 300 ms timeout fires at 300 ms when the wall clock steps back an hour`, () =>
      Effect.gen(function*() {
        const { clock, stepWall } = yield* steppedWallClock()
        const client = yield* Effect.withClock(
          ResilientServiceClient.make({ baseUrl, timeout: "300 millis", maxAttempts: 1 }),
          clock
        ).pipe(Effect.provide(transport.layer))
        const call = yield* Effect.fork(Effect.exit(quiet(client.get("/"))))
        yield* TestClock.adjust("100 millis")
        yield* stepWall(-hour)
        yield* TestClock.adjust("199 millis")
        expect(Option.isNone(yield* Fiber.poll(call))).toBe(true) // not early
        yield* TestClock.adjust("1 milli")
        // on the wall clock the deadline is an hour away: this join would wait for ever
        expect(timedOut(yield* Fiber.join(call))).toBe("Timed out after 300ms")
      }))
  }

  it.scoped("a forward step of 10 s times out no call in flight, and opens no healthy breaker", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const upstream = Testing.fakeUpstream({
        "/slow": Testing.delayed("500 millis", Testing.json(200, {})),
        "/quick": Testing.delayed("50 millis", Testing.json(200, {}))
      })
      const client = yield* Effect.withClock(
        ResilientServiceClient.make({
          baseUrl,
          timeout: "2 seconds",
          maxAttempts: 1,
          breaker: { failureThreshold: 3 }
        }),
        clock
      ).pipe(Effect.provide(upstream.layer))
      const slow = yield* Effect.forEach([1, 2, 3], () => Effect.fork(Effect.exit(quiet(client.get("/slow")))))
      // a call with a shorter timeout sets the client's timer to wake at 100 ms
      const quick = yield* Effect.fork(client.get("/quick", { timeout: "100 millis" }))
      yield* TestClock.adjust("50 millis")
      expect((yield* Fiber.join(quick)).status).toBe(200)
      yield* stepWall(10_000)
      yield* TestClock.adjust("50 millis") // the timer wakes: by the wall clock, every call is 10 s late
      yield* TestClock.adjust("400 millis")
      const exits = yield* Effect.forEach(slow, Fiber.join)
      expect(exits.map((exit) => Exit.isSuccess(exit) ? exit.value.status : timedOut(exit))).toEqual([200, 200, 200])
      const status = yield* client.status
      expect([status.state, status.failureCount]).toEqual(["closed", 0])
    }))
})

describe("a call's deadline is on the monotonic clock", () => {
  it.scoped("a wall clock 10 s ahead during a backoff does not end a call of 5 s at 1 s", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const upstream = Testing.fakeUpstream({ "/flaky": [Testing.json(503), Testing.json(200, {})] })
      const client = yield* Effect.withClock(
        ResilientServiceClient.make({ baseUrl, retry: { backoff: "1 second" } }),
        clock
      ).pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(Effect.exit(quiet(client.get("/flaky", { deadline: "5 seconds" }))))
      yield* TestClock.adjust("500 millis")
      yield* stepWall(10_000)
      yield* TestClock.adjust("500 millis")
      const exit = yield* Fiber.join(call)
      expect(Exit.isSuccess(exit) ? exit.value.status : timedOut(exit)).toBe(200)
    }))

  it.scoped("a wall clock an hour behind during a backoff does not let the next attempt run past the deadline", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const upstream = Testing.fakeUpstream({ "/flaky": [Testing.json(503), Testing.hang] })
      const client = yield* Effect.withClock(
        ResilientServiceClient.make({ baseUrl, timeout: "10 seconds", retry: { backoff: "1 second" } }),
        clock
      ).pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(Effect.exit(quiet(client.get("/flaky", { deadline: "2 seconds" }))))
      yield* TestClock.adjust("500 millis")
      yield* stepWall(-hour)
      yield* TestClock.adjust("1499 millis")
      expect(Option.isNone(yield* Fiber.poll(call))).toBe(true)
      yield* TestClock.adjust("1 milli")
      // by the wall clock the deadline is an hour away: the attempt would run its 10 s
      expect(timedOut(yield* Fiber.join(call))).toBe("Deadline of 2s exceeded during an attempt")
    }))

  it.scoped("a streamed body is read until the deadline, not an hour more", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const upstream = Testing.fakeUpstream({ "/export": Testing.stalledBody(200) })
      const client = yield* Effect.withClock(ResilientServiceClient.make({ baseUrl }), clock).pipe(
        Effect.provide(upstream.layer)
      )
      const response = yield* client.get("/export", { stream: true, deadline: "1 second" })
      yield* stepWall(-hour)
      const read = yield* Effect.fork(Effect.exit(Stream.runDrain(response.stream)))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(read))).toBe(true)
      yield* TestClock.adjust("1 milli")
      const exit = yield* Fiber.join(read)
      expect(Exit.isFailure(exit) && String(Cause.squash(exit.cause))).toContain(
        "Deadline of 1s exceeded while reading the body"
      )
    }))

  it.scoped("a call that waited in the bulkhead while the wall clock jumped 10 s has the rest of its deadline", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const upstream = Testing.fakeUpstream({
        "/slow": Testing.delayed("500 millis", Testing.json(200, {})),
        "/ok": Testing.json(200, {})
      })
      const client = yield* Effect.withClock(
        ResilientServiceClient.make({ baseUrl, bulkhead: { maxConcurrent: 1, maxQueued: 1 } }),
        clock
      ).pipe(Effect.provide(upstream.layer))
      const first = yield* Effect.fork(client.get("/slow"))
      const queued = yield* Effect.fork(Effect.exit(quiet(client.get("/ok", { deadline: "1 second" }))))
      yield* TestClock.adjust("100 millis")
      yield* stepWall(10_000)
      yield* TestClock.adjust("400 millis")
      expect((yield* Fiber.join(first)).status).toBe(200)
      const exit = yield* Fiber.join(queued)
      expect(Exit.isSuccess(exit) ? exit.value.status : timedOut(exit)).toBe(200)
    }))
})

describe("a breaker's opening is on the monotonic clock, its timestamps on the wall clock", () => {
  it.scoped("an opening of 60 s ends after 60 s whatever the wall clock does, and is dated on the wall clock", () =>
    Effect.gen(function*() {
      const { clock, stepWall, wall } = yield* steppedWallClock()
      const breaker = yield* Effect.withClock(
        CircuitBreaker.make({ name: "billing", failureThreshold: 1, recoveryTimeout: "60 seconds" }),
        clock
      )
      const changes = yield* breaker.subscribe
      yield* TestClock.adjust("5 seconds")
      const failedAt = wall()
      yield* Effect.exit(quiet(breaker(Effect.fail("down"))))
      const opened = yield* breaker.status
      expect(opened.state).toBe("open")
      expect([opened.lastStateChange.getTime(), Option.getOrThrow(opened.lastFailure).getTime()]).toEqual([
        failedAt,
        failedAt
      ])
      yield* stepWall(-hour)
      yield* TestClock.adjust("30 seconds")
      yield* stepWall(10_000)
      yield* TestClock.adjust("29999 millis")
      expect(yield* breaker.state).toBe("open") // by the wall clock, it would end 10 s early
      yield* TestClock.adjust("1 milli")
      expect(yield* breaker.state).toBe("half_open") // by the wall clock, an hour late
      const halfOpen = yield* breaker.status
      const recoveredAt = failedAt + 60_000 - hour + 10_000
      expect(halfOpen.lastStateChange.getTime()).toBe(recoveredAt)
      const published = Chunk.toReadonlyArray(yield* Queue.takeAll(changes))
      expect(published.map((change) => `${change.from}→${change.to}@${change.at.getTime()}`)).toEqual([
        `closed→open@${failedAt}`,
        `open→half_open@${recoveredAt}`
      ])
    }))

  it.scoped("a time window of failures holds the calls of its last 60 s, whatever the wall clock does", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const breaker = yield* Effect.withClock(
        CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({
            threshold: 0.5,
            minimumCalls: 4,
            window: { kind: "time", duration: "60 seconds", buckets: 6 }
          })
        }),
        clock
      )
      const fail = Effect.exit(quiet(breaker(Effect.fail("down"))))
      yield* fail
      yield* fail
      yield* fail
      // by the wall clock an hour has passed and the window is empty: the next failure would be
      // the only call in it, under minimumCalls
      yield* stepWall(hour)
      yield* TestClock.adjust("1 second")
      yield* fail
      expect(yield* breaker.state).toBe("open")
    }))

  it.scoped("an opening restored after a restart keeps the time it had left by the wall clock", () =>
    Effect.gen(function*() {
      const store = yield* Effect.provide(KeyValueStore.KeyValueStore, KeyValueStore.layerMemory)
      const options = { name: "billing", failureThreshold: 1, recoveryTimeout: "60 seconds", store } as const
      const before = yield* steppedWallClock(3_600_000)
      const scope = yield* Scope.make()
      const first = yield* Effect.withClock(CircuitBreaker.make(options), before.clock).pipe(Scope.extend(scope))
      yield* Effect.exit(quiet(first(Effect.fail("down"))))
      yield* Scope.close(scope, Exit.void) // a graceful shutdown writes the last snapshot
      yield* TestClock.adjust("20 seconds") // the process is down
      // a new process: its monotonic clock starts anew, far behind the old one's
      const after = yield* steppedWallClock(1_000)
      const second = yield* Effect.withClock(quiet(CircuitBreaker.make(options)), after.clock)
      const rejection = yield* Effect.flip(second(Effect.void))
      expect(Duration.toMillis(rejection.retryAfter)).toBe(40_000)
      yield* TestClock.adjust("39999 millis")
      expect(yield* second.state).toBe("open")
      yield* TestClock.adjust("1 milli")
      expect(yield* second.state).toBe("half_open")
      expect((yield* second.status).lastStateChange.getTime()).toBe(wallOrigin + 60_000)
    }))
})

describe("the machine takes monotonic time for deadlines and wall time for dates", () => {
  const config: Machine.Config<number> = {
    strategy: Machine.consecutiveFailures(1),
    recoveryTimeoutMillis: 1_000,
    halfOpenMaxProbes: 1
  }
  it("an opening ends by the monotonic time; its transitions are dated by the wall time", () => {
    const fresh = Machine.initial(config, 0, wallOrigin)
    expect(fresh.lastStateChange).toBe(wallOrigin)
    const ticket = Machine.step(fresh, Machine.admitEvent, 10, config, wallOrigin + 10).decision as Machine.Ticket
    const opened = Machine.step(fresh, { _tag: "Failure", ticket }, 10, config, wallOrigin + 10)
    expect(opened.machine).toMatchObject({ openUntil: 1_010, lastFailure: wallOrigin + 10 })
    expect(opened.transitions).toEqual([{ from: "closed", to: "open", at: wallOrigin + 10, reason: "threshold" }])
    // the wall clock is now an hour behind: the opening still ends at 1010, dated 1010 on it
    expect(Machine.step(opened.machine, Machine.observeEvent, 1_009, config, wallOrigin - hour + 1_009).transitions)
      .toEqual([])
    const recovered = Machine.step(opened.machine, Machine.observeEvent, 1_500, config, wallOrigin - hour + 1_500)
    expect(recovered.transitions).toEqual([
      { from: "open", to: "half_open", at: wallOrigin - hour + 1_010, reason: "recovery" }
    ])
  })

  it("a snapshot dates the opening's end on the wall clock; a restore puts it back on the new monotonic clock", () => {
    const ticket = Machine.step(Machine.initial(config, 0, wallOrigin), Machine.admitEvent, 0, config, wallOrigin)
      .decision as Machine.Ticket
    const opened = Machine.step(
      Machine.initial(config, 0, wallOrigin),
      { _tag: "Failure", ticket },
      0,
      config,
      wallOrigin
    )
    const saved = Machine.snapshot(opened.machine, 400, wallOrigin + 400)
    expect(saved.openUntil).toBe(wallOrigin + 1_000)
    // restored 300 ms of wall time later by a process whose monotonic clock reads 5
    const restored = Machine.restore(config, saved, 5, wallOrigin + 700)
    expect(restored.openUntil).toBe(305)
    expect(restored.lastStateChange).toBe(wallOrigin)
    // a wall clock that went back an hour meanwhile cannot make the opening longer than one opening
    expect(Machine.restore(config, saved, 5, wallOrigin - hour).openUntil).toBe(1_005)
  })
})

describe("the wall clock decides nothing (property)", () => {
  type Command =
    | { readonly _tag: "Advance"; readonly millis: number }
    | { readonly _tag: "StepWall"; readonly millis: number }
    | { readonly _tag: "Admit" }
    | { readonly _tag: "End"; readonly outcome: "Success" | "Failure" | "Ignored" | "Silent"; readonly which: number }
    | { readonly _tag: "Observe" }
  const command: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ _tag: fc.constant("Advance" as const), millis: fc.integer({ min: 0, max: 1_500 }) }),
    fc.record({ _tag: fc.constant("StepWall" as const), millis: fc.integer({ min: -hour, max: hour }) }),
    fc.constant({ _tag: "Admit" as const }),
    fc.record({
      _tag: fc.constant("End" as const),
      outcome: fc.constantFrom("Success" as const, "Failure" as const, "Ignored" as const, "Silent" as const),
      which: fc.nat()
    }),
    fc.constant({ _tag: "Observe" as const })
  )
  const config: Machine.Config<number> = {
    strategy: Machine.consecutiveFailures(2),
    recoveryTimeoutMillis: 1_000,
    halfOpenMaxProbes: 2,
    probeTimeoutMillis: 700
  }
  /** Everything but the dates: what the breaker decides. */
  const decided = (machine: Machine.Machine<number>) => {
    const { lastFailure: _, lastStateChange: __, ...rest } = machine
    return rest
  }

  it("a machine whose wall clock steps decides exactly as one whose wall clock follows the monotonic one", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        let now = 0
        let offset = wallOrigin
        // `steady` sees a wall clock that never steps; `stepped` one that is stepped by hand
        let steady = Machine.initial(config, now, wallOrigin)
        let stepped = Machine.initial(config, now, wallOrigin)
        const tickets: Array<Machine.Ticket> = []
        const both = (event: Machine.Event) => {
          const a = Machine.step(steady, event, now, config, wallOrigin + now)
          const b = Machine.step(stepped, event, now, config, offset + now)
          expect(b.decision).toEqual(a.decision)
          expect(b.transitions.map((t) => [t.from, t.to, t.reason])).toEqual(
            a.transitions.map((t) => [t.from, t.to, t.reason])
          )
          // each transition is dated on the wall clock of its own run, at the same instant
          b.transitions.forEach((t, i) => expect(t.at - offset).toBe(a.transitions[i]!.at - wallOrigin))
          steady = a.machine
          stepped = b.machine
          expect(decided(stepped)).toEqual(decided(steady))
          return a.decision
        }
        for (const c of commands) {
          switch (c._tag) {
            case "Advance":
              now += c.millis
              break
            case "StepWall":
              offset += c.millis
              break
            case "Observe":
              both(Machine.observeEvent)
              break
            case "Admit": {
              const decision = both(Machine.admitEvent)
              if (decision?._tag === "Ticket") tickets.push(decision)
              break
            }
            case "End": {
              if (tickets.length === 0) break
              const [ticket] = tickets.splice(c.which % tickets.length, 1)
              both({ _tag: c.outcome, ticket: ticket! })
              break
            }
          }
        }
      }),
      { numRuns: propertyRuns }
    )
  })
})

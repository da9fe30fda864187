/**
 * A breaker's deadlines on the monotonic clock: its opening and its strategy's time window are
 * measured with `Clock.monotonicTimeNanos` (in Effect 4 `Clock.currentTimeNanos` is wall time),
 * so that a step of the wall clock (NTP, a VM resumed) fires nothing early or late; its
 * timestamps (statuses, transitions, stored snapshots) stay on the wall clock. Every test runs on
 * a clock whose wall time (`currentTimeMillis` and `currentTimeNanos`) is stepped back an hour or
 * forward while its monotonic time and timers run on with the TestClock (test/utils/clocks.ts).
 * (The machine's own tests of the two times run once, with the core.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as PubSub from "effect/PubSub"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker } from "../src/index.js"
import { steppedWallClock, wallOrigin } from "./utils/clocks.js"

const hour = 3_600_000

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, References.MinimumLogLevel, "None")

describe("TestClock moves both times", () => {
  it.effect("adjust moves the wall and the monotonic time alike; setTime back moves only the wall time", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const monotonic0 = clock.monotonicTimeNanosUnsafe()
      yield* TestClock.adjust("2 seconds")
      expect(clock.currentTimeMillisUnsafe()).toBe(2_000)
      expect(clock.monotonicTimeNanosUnsafe() - monotonic0).toBe(2_000_000_000n)
      yield* TestClock.setTime(0)
      expect(clock.currentTimeMillisUnsafe()).toBe(0)
      expect(clock.monotonicTimeNanosUnsafe() - monotonic0).toBe(2_000_000_000n)
    }))
})

describe("a breaker's opening is on the monotonic clock, its timestamps on the wall clock", () => {
  it.effect("an opening of 60 s ends after 60 s whatever the wall clock does, and is dated on the wall clock", () =>
    Effect.gen(function*() {
      const { clock, stepWall, wall } = yield* steppedWallClock()
      const breaker = yield* Effect.provideService(
        CircuitBreaker.make({ name: "billing", failureThreshold: 1, recoveryTimeout: "60 seconds" }),
        Clock.Clock,
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
      const published = yield* PubSub.takeUpTo(changes, yield* PubSub.remaining(changes))
      expect(published.map((change) => `${change.from}→${change.to}@${change.at.getTime()}`)).toEqual([
        `closed→open@${failedAt}`,
        `open→half_open@${recoveredAt}`
      ])
    }))

  it.effect("a time window of failures holds the calls of its last 60 s, whatever the wall clock does", () =>
    Effect.gen(function*() {
      const { clock, stepWall } = yield* steppedWallClock()
      const breaker = yield* Effect.provideService(
        CircuitBreaker.make({
          strategy: CircuitBreaker.failureRate({
            threshold: 0.5,
            minimumCalls: 4,
            window: { kind: "time", duration: "60 seconds", buckets: 6 }
          })
        }),
        Clock.Clock,
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

  it.effect("an opening restored after a restart keeps the time it had left by the wall clock", () =>
    Effect.gen(function*() {
      const store = yield* Effect.provide(KeyValueStore.KeyValueStore, KeyValueStore.layerMemory)
      const options = { name: "billing", failureThreshold: 1, recoveryTimeout: "60 seconds", store } as const
      const before = yield* steppedWallClock(3_600_000)
      const scope = yield* Scope.make()
      const first = yield* Effect.provideService(CircuitBreaker.make(options), Clock.Clock, before.clock).pipe(
        Scope.provide(scope)
      )
      yield* Effect.exit(quiet(first(Effect.fail("down"))))
      yield* Scope.close(scope, Exit.void) // a graceful shutdown writes the last snapshot
      yield* TestClock.adjust("20 seconds") // the process is down
      // a new process: its monotonic clock starts anew, far behind the old one's
      const after = yield* steppedWallClock(1_000)
      const second = yield* Effect.provideService(quiet(CircuitBreaker.make(options)), Clock.Clock, after.clock)
      const rejection = yield* Effect.flip(second(Effect.void))
      expect(Duration.toMillis(rejection.retryAfter)).toBe(40_000)
      yield* TestClock.adjust("39999 millis")
      expect(yield* second.state).toBe("open")
      yield* TestClock.adjust("1 milli")
      expect(yield* second.state).toBe("half_open")
      expect((yield* second.status).lastStateChange.getTime()).toBe(wallOrigin + 60_000)
    }))
})

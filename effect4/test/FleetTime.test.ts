/**
 * Fleet mode on a clock whose wall time is an hour behind its monotonic time: an opening sent to
 * the fleet carries the time it has left on the monotonic clock, on which the breaker measures
 * it (`Clock.monotonicTimeNanos` in Effect 4), so the other replicas open for the same few seconds, not for an hour. A live
 * test on a private redis-server, like test/Fleet.test.ts.
 */
import { expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { describeWithRedisServer } from "../../test/utils/redisSuite.js"
import { awaitReachable, awaitState, boom, makeReplica } from "./utils/fleet.js"

const hour = 3_600_000

/**
 * The live clock with its wall time (millis and nanos) an hour behind: its monotonic time and
 * timers unchanged.
 */
const wallHourBehind = Effect.map(Effect.service(Clock.Clock), (live): Clock.Clock => ({
  currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe() - hour,
  currentTimeMillis: Effect.sync(() => live.currentTimeMillisUnsafe() - hour),
  currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe() - BigInt(hour) * BigInt(1_000_000),
  currentTimeNanos: Effect.sync(() => live.currentTimeNanosUnsafe() - BigInt(hour) * BigInt(1_000_000)),
  monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: live.monotonicTimeNanos,
  sleep: (duration) => live.sleep(duration)
}))

describeWithRedisServer("Fleet on the monotonic clock", (server) => {
  it.live("an opening travels with the time it has left, whatever the wall clock of its replica says", () =>
    Effect.gen(function*() {
      const clock = yield* wallHourBehind
      const fleet = "fleet-time-test"
      const breaker = { recoveryTimeout: "5 seconds" } as const
      const opener = yield* makeReplica({ url: server().url, fleet, name: "r1", breaker }).pipe(
        Effect.provideService(Clock.Clock, clock)
      )
      const follower = yield* makeReplica({ url: server().url, fleet, name: "r2", breaker })
      yield* awaitReachable(opener)
      yield* awaitReachable(follower)
      yield* Effect.all([
        Effect.ignore(opener.breaker(boom)).pipe(Effect.repeat({ times: 1 })),
        awaitState(follower.breaker, "open")
      ], { concurrency: "unbounded", discard: true })
      const rejection = yield* Effect.flip(follower.breaker(Effect.void))
      expect(rejection._tag).toBe("ServiceUnavailable")
      // at most the 5 s recovery timeout, not an hour more; and not nothing either (Effect 4's wall
      // and monotonic clocks have different origins: a remaining time read on the wrong one is 0)
      expect(Duration.toMillis(rejection.retryAfter)).toBeLessThanOrEqual(5_000)
      expect(Duration.toMillis(rejection.retryAfter)).toBeGreaterThan(3_000)
    }))
})

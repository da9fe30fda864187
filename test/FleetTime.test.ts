/**
 * Fleet mode on a clock whose wall time is an hour behind its monotonic time: an opening sent to
 * the fleet carries the time it has left on the monotonic clock, on which the breaker measures
 * it, so the other replicas open for the same few seconds, not for an hour. A live
 * test on a private redis-server, like test/Fleet.test.ts.
 */
import { expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { awaitReachable, awaitState, boom, makeReplica } from "./utils/fleet.js"
import { describeWithRedisServer } from "./utils/redisSuite.js"

const hour = 3_600_000

/** The live clock with its wall time an hour behind: its monotonic time and timers unchanged. */
const wallHourBehind = Effect.map(Effect.clock, (live): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis() - hour,
  currentTimeMillis: Effect.sync(() => live.unsafeCurrentTimeMillis() - hour),
  unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos(),
  currentTimeNanos: live.currentTimeNanos,
  sleep: (duration) => live.sleep(duration)
}))

describeWithRedisServer("Fleet on the monotonic clock", (server) => {
  it.scopedLive("an opening travels with the time it has left, whatever the wall clock of its replica says", () =>
    Effect.gen(function*() {
      const clock = yield* wallHourBehind
      const fleet = "fleet-time-test"
      const breaker = { recoveryTimeout: "5 seconds" } as const
      const opener = yield* Effect.withClock(makeReplica({ url: server().url, fleet, name: "r1", breaker }), clock)
      const follower = yield* makeReplica({ url: server().url, fleet, name: "r2", breaker })
      yield* awaitReachable(opener)
      yield* awaitReachable(follower)
      yield* Effect.zipRight(
        Effect.ignore(opener.breaker(boom)).pipe(Effect.repeatN(1)),
        awaitState(follower.breaker, "open"),
        { concurrent: true }
      )
      const rejection = yield* Effect.flip(follower.breaker(Effect.void))
      expect(rejection._tag).toBe("ServiceUnavailable")
      // at most the 5 s recovery timeout, not an hour more
      expect(Duration.toMillis(rejection.retryAfter)).toBeLessThanOrEqual(5_000)
    }))
})

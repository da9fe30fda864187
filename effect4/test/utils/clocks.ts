/**
 * Clocks for tests of timers: one whose timers are late (they wake only when released), one
 * whose timers are early (they wake a millisecond before their time), and one whose wall time
 * steps while its monotonic time runs on. Install one with `Effect.provideService(effect,
 * Clock.Clock, clock)` around the code under test.
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

const nanos = (millis: number): bigint => BigInt(millis) * 1_000_000n

/**
 * A clock moved by hand whose sleeps end only when the test releases them: the breaker's timer
 * is late (a starved fiber), so a transition is seen first by a call or a read, and the timer
 * wakes afterwards to find it already announced.
 */
export const lateTimerClock = Effect.gen(function*() {
  let time = 0
  const release = yield* Deferred.make<void>()
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => time,
    currentTimeMillis: Effect.sync(() => time),
    currentTimeNanosUnsafe: () => nanos(time),
    currentTimeNanos: Effect.sync(() => nanos(time)),
    monotonicTimeNanosUnsafe: () => nanos(time),
    monotonicTimeNanos: Effect.sync(() => nanos(time)),
    sleep: () => Deferred.await(release)
  }
  return {
    clock,
    advance: (millis: number) => Effect.sync(() => void (time += millis)),
    releaseTimers: Deferred.succeed(release, void 0)
  }
})

/**
 * A clock over the TestClock whose sleeps of more than a millisecond end one millisecond early,
 * as Node's timers can end before `Date.now()` reaches their target.
 */
export const earlyClock = Effect.clockWith((test) =>
  Effect.succeed<Clock.Clock>({
    currentTimeMillisUnsafe: () => test.currentTimeMillisUnsafe(),
    currentTimeMillis: test.currentTimeMillis,
    currentTimeNanosUnsafe: () => test.currentTimeNanosUnsafe(),
    currentTimeNanos: test.currentTimeNanos,
    monotonicTimeNanosUnsafe: () => test.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: test.monotonicTimeNanos,
    sleep: (duration) => {
      const millis = Duration.toMillis(duration)
      return test.sleep(Duration.millis(millis > 1 ? millis - 1 : millis))
    }
  })
)

/** 2026-12-06T12:00:00Z: where the wall time of {@link steppedWallClock} starts. */
export const wallOrigin = Date.UTC(2026, 11, 6, 12)

/**
 * A clock over the TestClock whose wall time (`currentTimeMillis`, `currentTimeNanos`) can be
 * stepped by hand, as NTP or a resumed VM steps the system clock, while its monotonic time
 * (`monotonicTimeNanos`) and its timers run on with the TestClock. As on a real process, the two
 * start far apart: the wall time at {@link wallOrigin}, the monotonic time at `uptime`
 * milliseconds, so that code which mixes them is caught at once.
 *
 * Make the code under test under `Effect.provideService(…, Clock.Clock, clock)` and move time
 * with `TestClock.adjust` outside it.
 */
export const steppedWallClock = (uptime = 60_000) =>
  Effect.clockWith((test) => {
    let offset = wallOrigin
    const uptimeNanos = nanos(uptime)
    const wall = () => test.currentTimeMillisUnsafe() + offset
    const monotonic = () => test.monotonicTimeNanosUnsafe() + uptimeNanos
    const clock: Clock.Clock = {
      currentTimeMillisUnsafe: wall,
      currentTimeMillis: Effect.sync(wall),
      currentTimeNanosUnsafe: () => nanos(wall()),
      currentTimeNanos: Effect.sync(() => nanos(wall())),
      monotonicTimeNanosUnsafe: monotonic,
      monotonicTimeNanos: Effect.sync(monotonic),
      sleep: (duration) => test.sleep(duration)
    }
    return Effect.succeed({
      clock,
      /** Steps the wall time by `millis` (negative: back); the monotonic time does not move. */
      stepWall: (millis: number) => Effect.sync(() => void (offset += millis)),
      /** The wall time now, in milliseconds. */
      wall
    })
  })

/**
 * Lets fibers that were just woken (a late timer released, a store writer handed a snapshot) run
 * to their end. Effect 4 has no public fiber supervisor to await them by, and its TestClock waits
 * only for the fibers its own sleeps wake: their remaining work waits on no time, so turns of the
 * scheduler finish it (a store write takes about 30 hops between fibers; 100 turns leave room).
 */
export const letWokenFibersRun: Effect.Effect<void> = Effect.forEach(
  Array.from({ length: 100 }),
  () => Effect.yieldNow,
  { discard: true }
)

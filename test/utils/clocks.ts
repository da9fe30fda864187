/**
 * Clocks for tests of timers: one whose timers are late (they wake only when released) and one
 * whose timers are early (they wake a millisecond before their time).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * A clock moved by hand whose sleeps end only when the test releases them: the breaker's timer
 * is late (a starved fiber), so a transition is seen first by a call or a read, and the timer
 * wakes afterwards to find it already announced.
 */
export const lateTimerClock = Effect.gen(function*() {
  let time = 0
  const release = yield* Deferred.make<void>()
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => time,
    currentTimeMillis: Effect.sync(() => time),
    unsafeCurrentTimeNanos: () => BigInt(time) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(time) * 1_000_000n),
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
export const earlyClock = Effect.map(Effect.clock, (test): Clock.Clock => ({
  ...test,
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => test.unsafeCurrentTimeMillis(),
  currentTimeMillis: test.currentTimeMillis,
  unsafeCurrentTimeNanos: () => test.unsafeCurrentTimeNanos(),
  currentTimeNanos: test.currentTimeNanos,
  sleep: (duration) => {
    const millis = Duration.toMillis(duration)
    return test.sleep(Duration.millis(millis > 1 ? millis - 1 : millis))
  }
}))

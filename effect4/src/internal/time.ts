/**
 * The two times the library reads from a `Clock`. Every deadline and duration (attempt timeouts,
 * call deadlines, the bulkhead's wait, a breaker's opening) is measured on the monotonic clock,
 * which in Effect 4 is `Clock.monotonicTimeNanos` (`currentTimeNanos` is wall time there): a step
 * of the system clock (NTP, a VM resumed) does not move it, and `TestClock.adjust` moves it with
 * the wall clock. The wall clock, `currentTimeMillis`, dates only what people read or what
 * outlives the process (statuses, transitions, stored snapshots).
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

const nanosPerMilli = BigInt(1_000_000)

/**
 * The monotonic time of `clock` in whole milliseconds. Its origin is arbitrary: only differences
 * and comparisons mean something, and never across processes.
 *
 * @internal
 */
export const monotonicMillis = (clock: Clock.Clock): number => Number(clock.monotonicTimeNanosUnsafe() / nanosPerMilli)

/**
 * {@link monotonicMillis} of the current `Clock`.
 *
 * @internal
 */
export const currentMonotonicMillis: Effect.Effect<number> = Effect.clockWith((clock) =>
  Effect.sync(() => monotonicMillis(clock))
)

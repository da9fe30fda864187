/**
 * The two times the library reads from a `Clock`. Every deadline and duration (attempt timeouts,
 * call deadlines, the bulkhead's wait, a breaker's opening) is measured on the monotonic clock,
 * `currentTimeNanos`, which a step of the system clock (NTP, a VM resumed) does not move: on
 * Effect's default clock it is `process.hrtime` (or `performance.now`), and `TestClock.adjust`
 * moves it with `currentTimeMillis`. The wall clock, `currentTimeMillis`, dates only what people
 * read or what outlives the process (statuses, transitions, stored snapshots).
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
export const monotonicMillis = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos() / nanosPerMilli)

/**
 * {@link monotonicMillis} of the current `Clock`.
 *
 * @internal
 */
export const currentMonotonicMillis: Effect.Effect<number> = Effect.clockWith((clock) =>
  Effect.sync(() => monotonicMillis(clock))
)

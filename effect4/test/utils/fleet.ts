import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/**
 * Reads `effect` every 10 ms until `done` holds for its value, and returns that value; 10 s guard.
 * For state outside the process (Redis), which announces nothing.
 */
export const pollUntil = <A, E>(effect: Effect.Effect<A, E>, done: (a: A) => boolean): Effect.Effect<A, unknown> =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet" as const),
    Effect.retry(Schedule.spaced("10 millis")),
    Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.fail("condition never held") })
  )

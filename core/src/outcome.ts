/**
 * The three outcomes of an attempt, decided in one place.
 *
 * Every attempt ends as exactly one of:
 *
 * - `answered`: the service answered: a success, or a failure the breaker does not count (a
 *   status such as 404, or anything `isFailure` turns down);
 * - `failed`: the service failed: counted by the breaker (by default a transport error, a
 *   timeout, 408/429/500/502/503/504, a defect);
 * - `silent`: the attempt says nothing about the service: it was never sent (an invalid URL, a
 *   body that could not be encoded), it was interrupted (by the caller, or by the client's scope
 *   closing), or the call's deadline cut it before it had had a fair time to answer.
 *
 * A `silent` attempt neither counts nor resets the breaker's count, and a probe that ends so
 * gives its permit back without closing the breaker.
 *
 * This is the pure part, shared by both editions: the rules, given how the attempt ended. Each
 * edition reads its own `Cause` into an {@link Ending} and asks {@link judgeEnding}.
 *
 * @internal
 */

/** @internal */
export type Outcome = "answered" | "failed" | "silent"

/**
 * Marks the `TimeoutException` of an attempt cut short by the call's deadline, and says whether
 * the attempt had a fair time to answer. A property, not a WeakSet: Effect may hand on a failure
 * wrapped in a Proxy (to attach its span).
 *
 * @internal
 */
export const DeadlineCutId: unique symbol = Symbol.for("effect-resilience/ResilientServiceClient/deadlineCut")

/** @internal */
export interface DeadlineCut {
  readonly [DeadlineCutId]: { readonly fair: boolean }
}

/** @internal */
export const deadlineCut = (error: unknown): DeadlineCut[typeof DeadlineCutId] | undefined =>
  typeof error === "object" && error !== null && DeadlineCutId in error
    ? (error as DeadlineCut)[DeadlineCutId]
    : undefined

/**
 * Whether an attempt cut short by the deadline after running `ranMillis` had a fair time to
 * answer: at least half of the shorter of the attempt timeout and the whole deadline. A first
 * attempt under `deadline: "800 millis"` (against the default 10 s timeout) runs its 800 ms and
 * counts, so a hanging upstream opens the breaker; a retry left with a sliver of the deadline
 * says nothing.
 *
 * @internal
 */
export const isFairCut = (ranMillis: number, timeoutMillis: number, deadlineMillis: number): boolean =>
  ranMillis * 2 >= Math.min(timeoutMillis, deadlineMillis)

const neverSent = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const { _tag, reason } = error as { readonly _tag?: unknown; readonly reason?: unknown }
  return _tag === "RequestError" && (reason === "InvalidUrl" || reason === "Encode")
}

/**
 * How an attempt ended, as the judge needs it: it succeeded, it died (a defect), it failed with
 * `error`, or it ended without a failure (interrupted).
 *
 * @internal
 */
export type Ending =
  | { readonly _tag: "Succeeded" }
  | { readonly _tag: "Died" }
  | { readonly _tag: "Failed"; readonly error: unknown }
  | { readonly _tag: "Interrupted" }

/**
 * The judge: the outcome of an attempt that ended so. `isFailure` decides only for typed
 * failures that were sent and not cut unfairly.
 *
 * @internal
 */
export const judgeEnding = (ending: Ending, isFailure: (error: unknown) => boolean): Outcome => {
  switch (ending._tag) {
    case "Succeeded":
      return "answered"
    case "Died":
      return "failed"
    case "Interrupted":
      return "silent"
    case "Failed": {
      const error = ending.error
      if (neverSent(error)) return "silent"
      // a cut after a fair time is a timeout like any other (isFailure decides); before, it is silent
      const cut = deadlineCut(error)
      if (cut !== undefined && !cut.fair) return "silent"
      return isFailure(error) ? "failed" : "answered"
    }
  }
}

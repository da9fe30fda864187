/**
 * What a call does after a failed attempt, as a pure function of the failure, the attempt, the
 * time, the budget and the breaker: give up (and why), end with the breaker's rejection, or wait
 * and try again. The client gathers the facts, asks {@link decide}, and carries out the answer.
 * Shared by both editions: `Rejection` is the rejection value of the edition's breaker.
 *
 * @internal
 */

/** @internal */
export interface Facts<Rejection> {
  readonly attempt: number
  readonly maxAttempts: number
  /** Monotonic milliseconds, as `deadlineAt`. */
  readonly now: number
  /** The failure is the call's deadline passing (during an attempt or before one). */
  readonly deadlinePassed: boolean
  /** `retryOn` accepts the failure. */
  readonly retryable: boolean
  /** The rejection the breaker gives now, if it rejects calls. */
  readonly rejection: Rejection | undefined
  /** Sending the request again may do twice what it asks, and the failure does not show it was never sent. */
  readonly unsafeToRepeat: boolean
  /** The request's body is a one-shot stream that has started to go out: it cannot be sent again. */
  readonly bodySpent: boolean
  /** The retry budget lets a retry start. */
  readonly budgetAllows: boolean
  /** The delay the retry schedule chose; `undefined` when the schedule is done. */
  readonly scheduledMillis: number | undefined
  /** The server's `Retry-After` (429 or 503), if valid. */
  readonly retryAfterMillis: number | undefined
  readonly maxRetryAfterMillis: number
  /** Monotonic milliseconds by which the call must end; `Infinity` without a deadline. */
  readonly deadlineAt: number
}

/**
 * Why a call stops after a failed attempt:
 * - `deadline`: the call's deadline passed;
 * - `notRetried`: `retryOn` turned the failure down;
 * - `exhausted`: it was the last attempt, or the schedule ended;
 * - `unsafe`: a POST or PATCH that may have reached the server (with `retryUnsafeMethods: false`);
 * - `bodySpent`: the body is a one-shot stream that has started to go out (never sent twice, never
 *   sent empty);
 * - `budget`: the retry budget is spent;
 * - `retryAfter`: the server asked for a longer wait than `maxRetryAfter`;
 * - `pastDeadline`: the wait would end at or past the deadline.
 *
 * @internal
 */
export type GiveUp =
  | { readonly _tag: "deadline" }
  | { readonly _tag: "notRetried" }
  | { readonly _tag: "exhausted" }
  | { readonly _tag: "unsafe" }
  | { readonly _tag: "bodySpent" }
  | { readonly _tag: "budget" }
  | { readonly _tag: "retryAfter"; readonly retryAfterMillis: number }
  | { readonly _tag: "pastDeadline"; readonly delayMillis: number }

/** @internal */
export type Decision<Rejection> =
  | { readonly _tag: "GiveUp"; readonly why: GiveUp }
  | { readonly _tag: "Reject"; readonly rejection: Rejection }
  | { readonly _tag: "Wait"; readonly delayMillis: number; readonly fromServer: boolean }

const giveUp = (why: GiveUp): Decision<never> => ({ _tag: "GiveUp", why })

/**
 * In order: a passed deadline and a failure `retryOn` turns down end the call; the last attempt
 * reports its own failure (even when it is the one that opened the breaker), and so does an
 * attempt whose one-shot body has started to go out; an open breaker
 * ends the call with its rejection, without waiting for a backoff; then an unsafe method, a
 * spent budget, an ended schedule, a `Retry-After` over the cap and a wait that would end past
 * the deadline each end it; otherwise it waits the longer of the backoff and `Retry-After`.
 *
 * @internal
 */
export const decide = <Rejection>(facts: Facts<Rejection>): Decision<Rejection> => {
  if (facts.deadlinePassed) return giveUp({ _tag: "deadline" })
  if (!facts.retryable) return giveUp({ _tag: "notRetried" })
  if (facts.attempt >= facts.maxAttempts) return giveUp({ _tag: "exhausted" })
  if (facts.bodySpent) return giveUp({ _tag: "bodySpent" })
  if (facts.rejection !== undefined) return { _tag: "Reject", rejection: facts.rejection }
  if (facts.unsafeToRepeat) return giveUp({ _tag: "unsafe" })
  if (!facts.budgetAllows) return giveUp({ _tag: "budget" })
  if (facts.scheduledMillis === undefined) return giveUp({ _tag: "exhausted" })
  let delayMillis = Math.max(0, facts.scheduledMillis)
  let fromServer = false
  if (facts.retryAfterMillis !== undefined) {
    if (facts.retryAfterMillis > facts.maxRetryAfterMillis) {
      return giveUp({ _tag: "retryAfter", retryAfterMillis: facts.retryAfterMillis })
    }
    if (facts.retryAfterMillis > delayMillis) {
      delayMillis = facts.retryAfterMillis
      fromServer = true
    }
  }
  // no wait starts that would leave no time for the attempt after it
  if (facts.now + delayMillis >= facts.deadlineAt) return giveUp({ _tag: "pastDeadline", delayMillis })
  return { _tag: "Wait", delayMillis, fromServer }
}

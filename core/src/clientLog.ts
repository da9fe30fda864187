/**
 * The client's log lines as text, the same in both editions: a success (Debug), an attempt that
 * will be retried (Warning), and why a call stopped after a failed attempt (Error, or Debug for a
 * failure `retryOn` turns down). The failure is given in words by the edition (`HTTP 503`,
 * `Connection failed`), which knows its own error types.
 *
 * @internal
 */
import { formatMillis } from "./format.js"
import type { GiveUp } from "./retryDecision.js"

/** @internal */
export const successLine = (serviceName: string, method: string, path: string): string =>
  `[${serviceName}] ✓ ${method} ${path} succeeded`

/**
 * The Warning line of an attempt that failed and will be retried after `delayMillis`
 * (`fromServer`: the delay is the service's `Retry-After`).
 *
 * @internal
 */
export const retryLine = (
  serviceName: string,
  words: string,
  attempt: number,
  maxAttempts: number,
  delayMillis: number,
  fromServer: boolean
): string =>
  `[${serviceName}] ${words} on attempt ${attempt}/${maxAttempts}, retrying in ${formatMillis(delayMillis)}${
    fromServer ? " (Retry-After)" : ""
  }...`

/** What the line of a call that stops after a failed attempt says, besides why. @internal */
export interface Stopped {
  readonly serviceName: string
  /** The failure in words (`HTTP 503`). */
  readonly words: string
  readonly method: string
  /** The path relative to the base URL, without its query. */
  readonly path: string
  readonly attempt: number
  readonly maxAttempts: number
  /** The retry budget's tokens now and its size (for a `budget` stop). */
  readonly budget: { readonly tokens: number; readonly maxTokens: number } | undefined
  readonly maxRetryAfterMillis: number
  /** The call's deadline as given, in milliseconds (0 without one). */
  readonly deadlineMillis: number
}

/**
 * The line of a call that stops after a failed attempt, and its level: Debug for a failure
 * `retryOn` turns down (an answer such as a 404 is no news), Error otherwise.
 *
 * @internal
 */
export const giveUpLine = (
  why: GiveUp,
  stopped: Stopped
): { readonly level: "Error" | "Debug"; readonly message: string } => {
  const { attempt, maxAttempts, method, path, serviceName, words } = stopped
  const notRetried = (reason: string) => ({
    level: "Error" as const,
    message: `[${serviceName}] ${words} on attempt ${attempt}/${maxAttempts}, not retried: ${reason}`
  })
  switch (why._tag) {
    case "deadline":
      return { level: "Error", message: `[${serviceName}] ${method} ${path}: ${words} (attempt ${attempt})` }
    case "notRetried":
      return { level: "Debug", message: `[${serviceName}] ✗ ${method} ${path} failed: ${words} (not retried)` }
    case "exhausted":
      return { level: "Error", message: `[${serviceName}] All ${maxAttempts} attempts failed: ${words}` }
    case "unsafe":
      return notRetried(`a ${method} without an Idempotency-Key header may have reached the server`)
    case "bodySpent":
      return notRetried("its body is a stream that can be read once, and it has started to go out")
    case "budget":
      return notRetried(
        `retry budget spent (${stopped.budget?.tokens} of ${stopped.budget?.maxTokens} tokens left)`
      )
    case "retryAfter":
      return notRetried(
        `Retry-After ${formatMillis(why.retryAfterMillis)} exceeds maxRetryAfter (${
          formatMillis(stopped.maxRetryAfterMillis)
        })`
      )
    case "pastDeadline":
      return notRetried(
        `a retry in ${formatMillis(why.delayMillis)} would start past the deadline of ${
          formatMillis(stopped.deadlineMillis)
        }`
      )
  }
}

/**
 * The three outcomes of an attempt (`answered`, `failed`, `silent`): the rules live in the core
 * shared by both editions (`core/src/outcome.ts`); this module reads an Effect 4 `Cause` for them.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as HttpClientError from "effect/http/HttpClientError"
import type { Ending, Outcome } from "../../../../core/src/outcome.js"
import { judgeEnding } from "../../../../core/src/outcome.js"

export * from "../../../../core/src/outcome.js"

const succeeded: Ending = { _tag: "Succeeded" }
const died: Ending = { _tag: "Died" }
const interrupted: Ending = { _tag: "Interrupted" }

/**
 * Whether `error` is a request that never left: its URL was invalid or its body could not be
 * encoded. Core knows the Effect 3 form of these errors; in Effect 4 they are one
 * `HttpClientError` class whose `reason` says which, and core hears of them as such.
 */
const neverSent = (error: unknown): boolean =>
  HttpClientError.isHttpClientError(error) &&
  (error.reason._tag === "InvalidUrlError" || error.reason._tag === "EncodeError")

/** The Effect 3 shape core's judge reads as "never sent". */
const notSent: Ending = { _tag: "Failed", error: { _tag: "RequestError", reason: "InvalidUrl" } }

/**
 * The judge: the outcome of an attempt that ended with `cause` (`undefined` for a success).
 * `isFailure` decides only for typed failures that were sent and not cut unfairly.
 *
 * @internal
 */
export const judge = (
  cause: Cause.Cause<unknown> | undefined,
  isFailure: (error: unknown) => boolean
): Outcome => {
  if (cause === undefined) return judgeEnding(succeeded, isFailure)
  if (Cause.hasDies(cause)) return judgeEnding(died, isFailure)
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "None") return judgeEnding(interrupted, isFailure)
  return judgeEnding(neverSent(failure.value) ? notSent : { _tag: "Failed", error: failure.value }, isFailure)
}

/**
 * The three outcomes of an attempt (`answered`, `failed`, `silent`): the rules live in the core
 * shared by both editions (`core/src/outcome.ts`); this module reads an Effect 3 `Cause` for them.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type { Ending, Outcome } from "../../../core/src/outcome.js"
import { judgeEnding } from "../../../core/src/outcome.js"

export * from "../../../core/src/outcome.js"

const succeeded: Ending = { _tag: "Succeeded" }
const died: Ending = { _tag: "Died" }
const interrupted: Ending = { _tag: "Interrupted" }

/**
 * The judge: the outcome of an attempt that ended with `exit`'s cause (`undefined` for a
 * success). `isFailure` decides only for typed failures that were sent and not cut unfairly.
 *
 * @internal
 */
export const judge = (
  cause: Cause.Cause<unknown> | undefined,
  isFailure: (error: unknown) => boolean
): Outcome => {
  if (cause === undefined) return judgeEnding(succeeded, isFailure)
  if (Cause.isDie(cause)) return judgeEnding(died, isFailure)
  const failure = Cause.failureOption(cause)
  return judgeEnding(failure._tag === "None" ? interrupted : { _tag: "Failed", error: failure.value }, isFailure)
}

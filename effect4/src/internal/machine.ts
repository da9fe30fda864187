/**
 * The circuit breaker's pure state machine lives in the core shared by both editions
 * (`core/src/machine.ts`); this module re-exports it and turns the issue a strategy constructor
 * carries into this edition's `ConfigError`.
 *
 * @internal
 */
import type * as Config from "effect/Config"
import type { TrippingStrategy } from "../../../core/src/machine.js"
import { strategyIssue } from "../../../core/src/machine.js"
import * as validate from "./validate.js"

export * from "../../../core/src/machine.js"

/**
 * The `ConfigError` for parameters a strategy constructor could not accept, if any: `make`
 * reports it when the strategy is used.
 *
 * @internal
 */
export const strategyError = (strategy: TrippingStrategy<unknown>): Config.ConfigError | undefined => {
  const issue = strategyIssue(strategy)
  return issue === undefined ? undefined : validate.issueError(issue)
}

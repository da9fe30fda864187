/**
 * Option validation shared by every constructor of this edition: each check fails with a
 * `Config.ConfigError` whose path names the option and whose message says what was wrong with it.
 * The rules are the core's (`core/src/validate.ts`, plain issues shared with the Effect 3
 * edition); this module shows `Duration` values, checks `Duration` input and turns issues into
 * Effect 4 `ConfigError`s (a `Schema.SchemaError` pointing at the option's path, so the message
 * reads `must be a positive integer, got 0` followed by `at ["failureThreshold"]`). The
 * synchronous forms (`check…`, usable outside an effect) return a `Result`; the effectful forms
 * (`positiveInteger`, …) apply a default and run the same check.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type { Checked, Issue, OptionNames } from "../../../core/src/validate.js"
import * as Core from "../../../core/src/validate.js"
import { unknownNames } from "../../../core/src/validate.js"

export { nearestName, unknownNames } from "../../../core/src/validate.js"
export type { Issue, OptionNames } from "../../../core/src/validate.js"

const pointer = (issue: Issue): SchemaIssue.Issue =>
  new SchemaIssue.Pointer([...issue.path], new SchemaIssue.InvalidValue({ message: issue.message }))

/**
 * Issues as one `ConfigError` (several under one composite issue, each with its own path), or
 * `undefined` when there is none. The only place this edition builds a `ConfigError` by hand.
 *
 * @internal
 */
export const configError = (issues: ReadonlyArray<Issue>): Config.ConfigError | undefined => {
  const [first, ...rest] = issues
  if (first === undefined) return undefined
  const issue = rest.length === 0
    ? pointer(first)
    : new SchemaIssue.Composite(Schema.Unknown.ast, [pointer(first), ...rest.map(pointer)])
  return new Config.ConfigError(new Schema.SchemaError(issue))
}

/** The `ConfigError` naming `path`. @internal */
export const invalidAt = (path: ReadonlyArray<string>, reason: string): Config.ConfigError =>
  configError([{ path, message: reason }])!

/** A core issue as this edition's `ConfigError`. @internal */
export const issueError = (issue: Issue): Config.ConfigError => invalidAt(issue.path, issue.message)

/** Fails with the `ConfigError` naming `field`. @internal */
export const invalid = (field: string, reason: string): Effect.Effect<never, Config.ConfigError> =>
  Effect.fail(invalidAt([field], reason))

/** A value as an error message shows it (a `Duration` formatted). @internal */
export const show = (value: unknown): string => Duration.isDuration(value) ? Duration.format(value) : Core.show(value)

/** A core check's result as a `Result`. @internal */
export const toResult = <A>(checked: Checked<A>): Result.Result<A, Config.ConfigError> =>
  checked._tag === "Valid" ? Result.succeed(checked.value) : Result.fail(issueError(checked.issue))

const toEffect = <A>(checked: Checked<A>): Effect.Effect<A, Config.ConfigError> =>
  checked._tag === "Valid" ? Effect.succeed(checked.value) : Effect.fail(issueError(checked.issue))

/** @internal */
export const positiveInteger = (
  field: string,
  value: unknown,
  fallback: number
): Effect.Effect<number, Config.ConfigError> =>
  value === undefined ? Effect.succeed(fallback) : toEffect(Core.checkPositiveInteger([field], value, show))

/** @internal */
export const positiveDuration = (
  field: string,
  value: unknown,
  fallback: Duration.Input
): Effect.Effect<Duration.Duration, Config.ConfigError> =>
  value === undefined
    ? Effect.succeed(Duration.fromInputUnsafe(fallback))
    : toEffect(checkDurationInput([field], value))

/** @internal */
export const nonEmptyString = (
  field: string,
  value: unknown,
  fallback: string
): Effect.Effect<string, Config.ConfigError> =>
  value === undefined ? Effect.succeed(fallback) : toEffect(Core.checkNonEmptyString([field], value, show))

/** A name that is well-formed UTF-16 (no lone surrogate), else a `ConfigError` naming `field`. @internal */
export const wellFormed = (field: string, value: string): Effect.Effect<string, Config.ConfigError> =>
  toEffect(Core.checkWellFormed([field], value, show))

/** @internal */
export const optionalFunction = <F>(
  field: string,
  value: unknown,
  fallback: F
): Effect.Effect<F, Config.ConfigError> => {
  if (value === undefined) return Effect.succeed(fallback)
  return typeof value === "function"
    ? Effect.succeed(value as F)
    : invalid(field, `must be a function, got ${show(value)}`)
}

/** @internal */
export const checkPositiveInteger = (
  path: ReadonlyArray<string>,
  value: unknown
): Result.Result<number, Config.ConfigError> => toResult(Core.checkPositiveInteger(path, value, show))

/** @internal */
export const checkRatio = (
  path: ReadonlyArray<string>,
  value: unknown
): Result.Result<number, Config.ConfigError> => toResult(Core.checkRatio(path, value, show))

/**
 * A positive, finite `Duration` (any `Duration.Input`), or the issue naming `path`.
 *
 * @internal
 */
export const checkDurationInput = (path: ReadonlyArray<string>, value: unknown): Checked<Duration.Duration> => {
  const decoded = isDurationInput(value) ? Duration.fromInput(value) : undefined
  if (decoded === undefined || decoded._tag === "None") {
    return Core.invalid(
      path,
      `must be a duration such as "10 seconds" or a number of milliseconds, got ${show(value)}`
    )
  }
  return Duration.isGreaterThan(decoded.value, Duration.zero) && Duration.isFinite(decoded.value)
    ? Core.valid(decoded.value)
    : Core.invalid(path, `must be a positive, finite duration, got ${show(value)}`)
}

// `Duration.fromInput` is typed for `Duration.Input`; anything else is rejected before it. An
// object of units (`{ seconds: 2 }`) needs at least one: Effect 4 reads `{}` as zero, which
// would be reported as a duration that is not positive rather than as no duration at all.
const isDurationInput = (value: unknown): value is Duration.Input =>
  typeof value === "number" || typeof value === "bigint" || typeof value === "string" ||
  Duration.isDuration(value) || Array.isArray(value) ||
  (typeof value === "object" && value !== null && Object.keys(value).length > 0)

/** The same check, in milliseconds: how the core's strategies read this edition's durations. @internal */
export const checkDurationMillis = (path: ReadonlyArray<string>, value: unknown): Checked<number> =>
  Core.andThen(checkDurationInput(path, value), (duration) => Core.valid(Duration.toMillis(duration)))

/** @internal */
export const checkPositiveDuration = (
  path: ReadonlyArray<string>,
  value: unknown
): Result.Result<Duration.Duration, Config.ConfigError> => toResult(checkDurationInput(path, value))

/** Fails with the `ConfigError` of the unknown names in `value`, if any. @internal */
export const knownNames = (
  value: object,
  names: OptionNames,
  elsewhere: ReadonlyArray<OptionNames> = []
): Effect.Effect<void, Config.ConfigError> => {
  const error = configError(unknownNames(value, names, elsewhere))
  return error === undefined ? Effect.void : Effect.fail(error)
}

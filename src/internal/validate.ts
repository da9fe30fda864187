/**
 * Option validation shared by every constructor: each check fails with a `ConfigError` whose
 * path names the option and whose message says what was wrong with it. The rules are the core's
 * (`core/src/validate.ts`, plain issues shared with the Effect 4 edition); this module shows
 * `Duration` values, checks `Duration` input and turns issues into `ConfigError`s. The
 * synchronous forms (`check…`, usable outside an effect: the strategy constructors) return an
 * `Either`; the effectful forms (`positiveInteger`, …) apply a default and run the same check (an
 * `Either` is an `Effect`).
 *
 * @internal
 */
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Checked, Issue, OptionNames } from "../../core/src/validate.js"
import * as Core from "../../core/src/validate.js"
import { unknownNames } from "../../core/src/validate.js"

export { nearestName, unknownNames } from "../../core/src/validate.js"
export type { Issue, OptionNames } from "../../core/src/validate.js"

/** @internal */
export const invalid = (field: string, reason: string): Effect.Effect<never, ConfigError.ConfigError> =>
  Effect.fail(ConfigError.InvalidData([field], reason))

/** A value as an error message shows it (a `Duration` formatted). @internal */
export const show = (value: unknown): string => Duration.isDuration(value) ? Duration.format(value) : Core.show(value)

/** @internal */
export const positiveInteger = (
  field: string,
  value: unknown,
  fallback: number
): Effect.Effect<number, ConfigError.ConfigError> =>
  value === undefined ? Effect.succeed(fallback) : checkPositiveInteger([field], value)

/** @internal */
export const positiveDuration = (
  field: string,
  value: unknown,
  fallback: Duration.DurationInput
): Effect.Effect<Duration.Duration, ConfigError.ConfigError> =>
  value === undefined ? Effect.succeed(Duration.decode(fallback)) : checkPositiveDuration([field], value)

/** @internal */
export const nonEmptyString = (
  field: string,
  value: unknown,
  fallback: string
): Effect.Effect<string, ConfigError.ConfigError> =>
  value === undefined ? Effect.succeed(fallback) : toEither(Core.checkNonEmptyString([field], value, show))

/** A name that is well-formed UTF-16 (no lone surrogate), else a `ConfigError` naming `field`. @internal */
export const wellFormed = (field: string, value: string): Effect.Effect<string, ConfigError.ConfigError> =>
  toEither(Core.checkWellFormed([field], value, show))

/** @internal */
export const optionalFunction = <F>(
  field: string,
  value: unknown,
  fallback: F
): Effect.Effect<F, ConfigError.ConfigError> => {
  if (value === undefined) return Effect.succeed(fallback)
  return typeof value === "function"
    ? Effect.succeed(value as F)
    : invalid(field, `must be a function, got ${show(value)}`)
}

// Synchronous checks, for values built outside an effect (the strategy constructors): each
// returns the accepted value or the `ConfigError` naming the field by its path.

/** @internal */
export const invalidAt = (path: ReadonlyArray<string>, reason: string): ConfigError.ConfigError =>
  ConfigError.InvalidData([...path], reason)

/** A core issue as this edition's `ConfigError`. @internal */
export const issueError = (issue: Issue): ConfigError.ConfigError => invalidAt(issue.path, issue.message)

/** A core check's result as an `Either`. @internal */
export const toEither = <A>(checked: Checked<A>): Either.Either<A, ConfigError.ConfigError> =>
  checked._tag === "Valid" ? Either.right(checked.value) : Either.left(issueError(checked.issue))

/** @internal */
export const checkPositiveInteger = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<number, ConfigError.ConfigError> => toEither(Core.checkPositiveInteger(path, value, show))

/** @internal */
export const checkRatio = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<number, ConfigError.ConfigError> => toEither(Core.checkRatio(path, value, show))

/**
 * A positive, finite `Duration` (any `DurationInput`), or the issue naming `path`.
 *
 * @internal
 */
export const checkDurationInput = (path: ReadonlyArray<string>, value: unknown): Checked<Duration.Duration> => {
  const decoded = Duration.decodeUnknown(value)
  if (decoded._tag === "None") {
    return Core.invalid(
      path,
      `must be a duration such as "10 seconds" or a number of milliseconds, got ${show(value)}`
    )
  }
  return Duration.greaterThan(decoded.value, Duration.zero) && Duration.isFinite(decoded.value)
    ? Core.valid(decoded.value)
    : Core.invalid(path, `must be a positive, finite duration, got ${show(value)}`)
}

/** The same check, in milliseconds: how the core's strategies read this edition's durations. @internal */
export const checkDurationMillis = (path: ReadonlyArray<string>, value: unknown): Checked<number> =>
  Core.andThen(checkDurationInput(path, value), (duration) => Core.valid(Duration.toMillis(duration)))

/** @internal */
export const checkPositiveDuration = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<Duration.Duration, ConfigError.ConfigError> => toEither(checkDurationInput(path, value))

/** Issues as one `ConfigError` (several joined with `And`), or none. @internal */
export const configError = (issues: ReadonlyArray<Issue>): ConfigError.ConfigError | undefined =>
  issues.length === 0 ? undefined : issues.map((issue) => invalidAt(issue.path, issue.message)).reduce(
    (left, right) => ConfigError.And(left, right)
  )

/** Fails with the `ConfigError` of the unknown names in `value`, if any. @internal */
export const knownNames = (
  value: object,
  names: OptionNames,
  elsewhere: ReadonlyArray<OptionNames> = []
): Effect.Effect<void, ConfigError.ConfigError> => {
  const error = configError(unknownNames(value, names, elsewhere))
  return error === undefined ? Effect.void : Effect.fail(error)
}

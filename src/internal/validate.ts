/**
 * Option validation shared by every constructor: each check fails with a `ConfigError` whose
 * path names the option and whose message says what was wrong with it. Each rule is written once,
 * as a synchronous check (`check…`, usable outside an effect: the strategy constructors); the
 * effectful forms (`positiveInteger`, …) apply a default and run the same check (an `Either` is
 * an `Effect`).
 *
 * @internal
 */
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/** @internal */
export const invalid = (field: string, reason: string): Effect.Effect<never, ConfigError.ConfigError> =>
  Effect.fail(ConfigError.InvalidData([field], reason))

/** A value as an error message shows it. @internal */
export const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  if (Duration.isDuration(value)) return Duration.format(value)
  return typeof value
}

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
): Effect.Effect<string, ConfigError.ConfigError> => {
  if (value === undefined) return Effect.succeed(fallback)
  return typeof value === "string" && value.trim().length > 0
    ? Effect.succeed(value)
    : invalid(field, `must be a non-empty string, got ${show(value)}`)
}

// a surrogate without its pair: a string that UTF-8 (Redis, URIs, JSON over the wire) cannot carry
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** A name that is well-formed UTF-16 (no lone surrogate), else a `ConfigError` naming `field`. @internal */
export const wellFormed = (field: string, value: string): Effect.Effect<string, ConfigError.ConfigError> =>
  loneSurrogate.test(value)
    ? invalid(field, `must be well-formed UTF-16 text (it has a lone surrogate), got ${show(value)}`)
    : Effect.succeed(value)

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

/** @internal */
export const checkPositiveInteger = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<number, ConfigError.ConfigError> =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0
    ? Either.right(value)
    : Either.left(invalidAt(path, `must be a positive integer, got ${show(value)}`))

/** @internal */
export const checkRatio = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<number, ConfigError.ConfigError> =>
  typeof value === "number" && value > 0 && value <= 1
    ? Either.right(value)
    : Either.left(invalidAt(path, `must be a number in (0, 1] (a fraction of the calls), got ${show(value)}`))

/** @internal */
export const checkPositiveDuration = (
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<Duration.Duration, ConfigError.ConfigError> => {
  const decoded = Duration.decodeUnknown(value)
  if (decoded._tag === "None") {
    return Either.left(
      invalidAt(path, `must be a duration such as "10 seconds" or a number of milliseconds, got ${show(value)}`)
    )
  }
  return Duration.greaterThan(decoded.value, Duration.zero) && Duration.isFinite(decoded.value)
    ? Either.right(decoded.value)
    : Either.left(invalidAt(path, `must be a positive, finite duration, got ${show(value)}`))
}

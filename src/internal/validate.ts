/**
 * Option validation shared by every constructor: each check fails with a `ConfigError` whose
 * path names the option and whose message says what was wrong with it.
 *
 * @internal
 */
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** @internal */
export const invalid = (field: string, reason: string): Effect.Effect<never, ConfigError.ConfigError> =>
  Effect.fail(ConfigError.InvalidData([field], reason))

const show = (value: unknown): string => {
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
): Effect.Effect<number, ConfigError.ConfigError> => {
  if (value === undefined) return Effect.succeed(fallback)
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0
    ? Effect.succeed(value)
    : invalid(field, `must be a positive integer, got ${show(value)}`)
}

/** @internal */
export const positiveDuration = (
  field: string,
  value: unknown,
  fallback: Duration.DurationInput
): Effect.Effect<Duration.Duration, ConfigError.ConfigError> => {
  if (value === undefined) return Effect.succeed(Duration.decode(fallback))
  const decoded = Duration.decodeUnknown(value)
  if (decoded._tag === "None") {
    return invalid(field, `must be a duration such as "10 seconds" or a number of milliseconds, got ${show(value)}`)
  }
  const duration = decoded.value
  return Duration.greaterThan(duration, Duration.zero) && Duration.isFinite(duration)
    ? Effect.succeed(duration)
    : invalid(field, `must be a positive, finite duration, got ${show(value)}`)
}

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

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

// Option names: a name that no option has is a typo (TypeScript catches it only in an object
// literal, not in a variable or a spread), reported with the nearest name that exists.

/** Names users bring from elsewhere (the Python client, other libraries) that spelling alone does not reach. */
const aliases: Readonly<Record<string, ReadonlyArray<string>>> = {
  maxretries: ["maxAttempts"],
  retries: ["maxAttempts"],
  attempts: ["maxAttempts"],
  circuitbreaker: ["breaker"],
  url: ["baseUrl", "url"],
  name: ["serviceName", "name"],
  threshold: ["failureThreshold"],
  resettimeout: ["recoveryTimeout"],
  delay: ["backoff", "baseDelay"],
  initialdelay: ["backoff", "baseDelay"],
  concurrency: ["maxConcurrent"]
}

/** Lower case without `_` and `-`: `max_retries`, `MaxRetries` and `maxRetries` are one name. */
const normalizeName = (name: string): string => name.toLowerCase().replace(/[_-]/g, "")

/** Edit distance with adjacent transpositions (optimal string alignment). */
const editDistance = (a: string, b: string): number => {
  const rows: Array<Array<number>> = []
  for (let i = 0; i <= a.length; i++) {
    rows.push([i])
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j)
        continue
      }
      const row = rows[i]!
      const above = rows[i - 1]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      }
      row.push(best)
    }
  }
  return rows[a.length]![b.length]!
}

/**
 * The known name nearest to `name`: the same name written another way (`max_retries`), a known
 * alias (`maxRetries` → `maxAttempts`), or one within a few typing mistakes (`failureTreshold`).
 *
 * @internal
 */
export const nearestName = (name: string, known: ReadonlyArray<string>): string | undefined => {
  const normalized = normalizeName(name)
  const same = known.find((candidate) => normalizeName(candidate) === normalized)
  if (same !== undefined) return same
  const alias = aliases[normalized]?.find((candidate) => known.includes(candidate))
  if (alias !== undefined) return alias
  const allowed = Math.max(1, Math.min(3, Math.floor(normalized.length / 3)))
  let best: string | undefined
  let bestDistance = allowed + 1
  for (const candidate of known) {
    const distance = editDistance(normalized, normalizeName(candidate))
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/**
 * Where an option's names are checked: the names it takes, what the error calls it (`"client
 * option"`, `"retry option"`), and the path of the object (`[]`, `["retry"]`).
 *
 * @internal
 */
export interface OptionNames {
  readonly what: string
  readonly path: ReadonlyArray<string>
  readonly known: ReadonlyArray<string>
}

/** An issue as plain data: the option's path and what is wrong with it. @internal */
export interface Issue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

/**
 * One issue per own key of `value` that `names` does not know, suggesting the nearest known
 * name, or the place where that name belongs (`elsewhere`: a group, or the top level).
 *
 * @internal
 */
export const unknownNames = (
  value: object,
  names: OptionNames,
  elsewhere: ReadonlyArray<OptionNames> = []
): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  for (const key of Object.keys(value)) {
    if (names.known.includes(key)) continue
    const at = (place: OptionNames, name: string) => [...place.path, name].join(".")
    const suggestion = nearestName(key, names.known)
    const other = suggestion === undefined ? elsewhere.find((place) => place.known.includes(key)) : undefined
    const hint = suggestion !== undefined
      ? `; did you mean ${at(names, suggestion)}?`
      : other !== undefined
      ? other.path.length === 0
        ? `; it is a ${other.what}, given at the top level`
        : `; it is a ${other.what}: ${at(other, key)}`
      : names.known.length <= 12
      ? ` (the ${names.what}s are ${names.known.join(", ")})`
      : ""
    issues.push({ path: [...names.path, key], message: `is not a ${names.what}${hint}` })
  }
  return issues
}

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

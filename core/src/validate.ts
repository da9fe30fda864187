/**
 * The validation rules both editions share, as plain checks: each returns the accepted value or
 * an issue (`{ path, message }`) naming the option and saying what was wrong with it. Each
 * edition turns issues into its own `ConfigError` (`InvalidData(path, message)`, several joined
 * with `And`), so the messages are the same in both.
 *
 * @internal
 */
import type { Checked, Issue } from "./types.js"
import { invalid, valid } from "./types.js"

export type { Checked, Issue } from "./types.js"

/**
 * A value as an error message shows it: a string quoted, a number, boolean, `null` or
 * `undefined` as itself, anything else as its `typeof`.
 *
 * @internal
 */
export const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  return typeof value
}

/**
 * How a check shows a rejected value: an edition passes its own (one that also prints its
 * `Duration` values), the default is {@link show}.
 *
 * @internal
 */
export type Show = (value: unknown) => string

/** @internal */
export const checkPositiveInteger = (
  path: ReadonlyArray<string>,
  value: unknown,
  showValue: Show = show
): Checked<number> =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0
    ? valid(value)
    : invalid(path, `must be a positive integer, got ${showValue(value)}`)

/** A fraction in (0, 1]. @internal */
export const checkRatio = (
  path: ReadonlyArray<string>,
  value: unknown,
  showValue: Show = show
): Checked<number> =>
  typeof value === "number" && value > 0 && value <= 1
    ? valid(value)
    : invalid(path, `must be a number in (0, 1] (a fraction of the calls), got ${showValue(value)}`)

/**
 * A positive, finite number of milliseconds: the duration check of core, for callers that give
 * plain numbers (each edition checks its own `Duration` input with the same messages).
 *
 * @internal
 */
export const checkPositiveMillis = (
  path: ReadonlyArray<string>,
  value: unknown,
  showValue: Show = show
): Checked<number> => {
  if (typeof value !== "number" || Number.isNaN(value)) {
    return invalid(path, `must be a duration such as "10 seconds" or a number of milliseconds, got ${showValue(value)}`)
  }
  return value > 0 && Number.isFinite(value)
    ? valid(value)
    : invalid(path, `must be a positive, finite duration, got ${showValue(value)}`)
}

/** @internal */
export const checkNonEmptyString = (
  path: ReadonlyArray<string>,
  value: unknown,
  showValue: Show = show
): Checked<string> =>
  typeof value === "string" && value.trim().length > 0
    ? valid(value)
    : invalid(path, `must be a non-empty string, got ${showValue(value)}`)

// a surrogate without its pair: a string that UTF-8 (Redis, URIs, JSON over the wire) cannot carry
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether `value` is well-formed UTF-16 (no lone surrogate). @internal */
export const isWellFormed = (value: string): boolean => !loneSurrogate.test(value)

/** A name that is well-formed UTF-16, else the issue naming `path`. @internal */
export const checkWellFormed = (path: ReadonlyArray<string>, value: string, showValue: Show = show): Checked<string> =>
  isWellFormed(value)
    ? valid(value)
    : invalid(path, `must be well-formed UTF-16 text (it has a lone surrogate), got ${showValue(value)}`)

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

export { andThen, invalid, valid } from "./types.js"

/**
 * The client's options: validated once, when the client is made (a `ConfigError` naming the
 * option), and per call (an `IllegalArgumentException` naming the option). Defaults come from
 * `../defaults.ts`, checks from `../validate.ts`.
 *
 * @internal
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type { Target } from "../../../core/src/clientRules.js"
import * as Rules from "../../../core/src/clientRules.js"
import { breakerKeyMessages } from "../../../core/src/keyed.js"
import type * as CircuitBreaker from "../../CircuitBreaker.js"
import type * as KeyedCircuitBreaker from "../../KeyedCircuitBreaker.js"
import type * as ResilientServiceClient from "../../ResilientServiceClient.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as CircuitBreakerInternal from "../circuitBreaker.js"
import * as Defaults from "../defaults.js"
import * as KeyedInternal from "../keyedCircuitBreaker.js"
import * as OptionNames from "../optionNames.js"
import * as RetryPolicyInternal from "../retryPolicy.js"
import * as validate from "../validate.js"

type ClientError = ResilientServiceClient.ClientError

/** @internal */
export interface Settings {
  readonly target: Target
  readonly serviceName: string
  readonly id: string
  readonly maxAttempts: number
  readonly timeoutMillis: number
  readonly retry: RetryPolicy.RetryPolicy
  /** The breaker's settings, or a shared breaker made by `CircuitBreaker.make`. */
  readonly breaker: CircuitBreaker.Options | CircuitBreaker.CircuitBreaker
  /** Where each breaker setting was given (`breaker.failureThreshold`, or flat): errors name that place. */
  readonly breakerPaths: Readonly<Record<string, string>>
  readonly retryOn: (error: ClientError) => boolean
  readonly isFailure: (error: ClientError) => boolean
  readonly maxRetryAfterMillis: number
  /** `breaker.openForRetryAfter`: a 429/503's `Retry-After` lengthens the opening it causes. */
  readonly openForRetryAfter: boolean
  /** Milliseconds; 0 for none. */
  readonly deadlineMillis: number
  readonly retryBudget: { readonly maxTokens: number; readonly tokenRatio: number } | undefined
  readonly retryUnsafeMethods: boolean
  readonly bulkhead: { readonly maxConcurrent: number; readonly maxQueued: number } | undefined
  readonly maxResponseBytes: number
  /** `breaker.idleTimeToLive` and `breaker.maxKeys` as given (checked by the keyed breaker). */
  readonly keyTable: { readonly idleTimeToLive?: unknown; readonly maxKeys?: unknown }
  /** How a call picks its breaker's key; `undefined`: one breaker for every call. */
  readonly breakerKey: "host" | ((request: HttpClientRequest.HttpClientRequest) => string) | undefined
}

/** @internal */
export const parseBaseUrl = (value: unknown): Effect.Effect<Target, ConfigError.ConfigError> => {
  const checked = Rules.parseBaseUrl(value)
  return checked._tag === "Valid" ? Effect.succeed(checked.value) : Effect.fail(validate.issueError(checked.issue))
}

const retryBudgetSettings = (
  value: unknown
): Effect.Effect<{ readonly maxTokens: number; readonly tokenRatio: number } | undefined, ConfigError.ConfigError> => {
  if (value === false) return Effect.succeed(undefined)
  if (value === undefined || value === true) return Effect.succeed(Defaults.retryBudget)
  if (typeof value !== "object" || value === null) {
    return validate.invalid("retryBudget", "must be false, true or { maxTokens, tokenRatio }")
  }
  return Either.match(RetryPolicyInternal.resolveBudget(value), {
    onLeft: ({ field, reason }) =>
      Effect.fail(ConfigError.InvalidData(field === "" ? ["retryBudget"] : ["retryBudget", field], reason)),
    onRight: Effect.succeed
  })
}

const bulkheadSettings = (
  { path: concurrentPath, value: maxConcurrent }: { readonly value: unknown; readonly path: string },
  { path: queuedPath, value: maxQueued }: { readonly value: unknown; readonly path: string }
): Effect.Effect<
  { readonly maxConcurrent: number; readonly maxQueued: number } | undefined,
  ConfigError.ConfigError
> => {
  if (maxConcurrent === undefined) {
    return maxQueued === undefined
      ? Effect.succeed(undefined)
      : validate.invalid(queuedPath, "needs maxConcurrent: without a limit on running calls no call ever waits")
  }
  if (typeof maxConcurrent !== "number" || !Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) {
    return validate.invalid(concurrentPath, `must be a positive integer, got ${validate.show(maxConcurrent)}`)
  }
  if (maxQueued === undefined) return Effect.succeed({ maxConcurrent, maxQueued: Infinity })
  if (typeof maxQueued !== "number" || !Number.isSafeInteger(maxQueued) || maxQueued < 0) {
    return validate.invalid(queuedPath, `must be an integer ≥ 0, got ${validate.show(maxQueued)}`)
  }
  return Effect.succeed({ maxConcurrent, maxQueued })
}

type Path = ReadonlyArray<string>

const invalidAt = (path: Path, reason: string) => Effect.fail(ConfigError.InvalidData([...path], reason))

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A field given flat (deprecated, or one of the Python names) and in its group: one of them, or a conflict. */
const eitherPlace = (
  group: string,
  field: string,
  flat: unknown,
  grouped: Record<string, unknown> | undefined
): Effect.Effect<{ readonly value: unknown; readonly path: string }, ConfigError.ConfigError> => {
  const inGroup = grouped?.[field]
  if (flat !== undefined && inGroup !== undefined) {
    return invalidAt(
      [group, field],
      `is given twice, as ${field} and as ${group}.${field}: keep one (${group}.${field} is the new place)`
    )
  }
  return Effect.succeed(
    inGroup !== undefined ? { value: inGroup, path: `${group}.${field}` } : { value: flat, path: field }
  )
}

const group = (
  name: string,
  value: unknown
): Effect.Effect<Record<string, unknown> | undefined, ConfigError.ConfigError> =>
  value === undefined || isObject(value)
    ? Effect.succeed(value)
    : invalidAt([name], `must be an object of ${name} settings, got ${validate.show(value)}`)

const breakerFields = [
  "failureThreshold",
  "recoveryTimeout",
  "strategy",
  "halfOpenMaxProbes",
  "probeTimeout",
  "store",
  "storeKey",
  "storeTimeout"
] as const

/** @internal */
export interface SettingsContext {
  /** Whether `baseUrl` is required (`make`) or optional (`transform`). */
  readonly baseUrlRequired: boolean
}

const noBaseUrl = (serviceName: string): Target => ({ baseUrl: "", authority: serviceName, authorization: undefined })

/** @internal */
export const settings = (
  options: ResilientServiceClient.TransformOptions,
  context: SettingsContext = { baseUrlRequired: true }
): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* validate.invalid("baseUrl", "is required: pass an options object with an absolute http(s) baseUrl")
    }
    yield* unknownNames(options)
    if (!context.baseUrlRequired && options.baseUrl === undefined && options.serviceName === undefined) {
      return yield* validate.invalid("serviceName", "is required when no baseUrl is given: it names the service")
    }
    const parsed = context.baseUrlRequired || options.baseUrl !== undefined
      ? yield* parseBaseUrl(options.baseUrl)
      : undefined
    const serviceName = yield* validate.nonEmptyString("serviceName", options.serviceName, parsed?.authority ?? "")
    const target = parsed ?? noBaseUrl(serviceName)
    const id = yield* validate.nonEmptyString("id", options.id, serviceName)

    const retryGroup = yield* group("retry", options.retry)
    const bulkheadGroup = yield* group("bulkhead", options.bulkhead)
    const sharedBreaker = typeof options.breaker === "function" && CircuitBreakerInternal.TypeId in options.breaker
      ? options.breaker
      : undefined
    const breakerGroup = sharedBreaker === undefined ? yield* group("breaker", options.breaker) : undefined
    if (sharedBreaker !== undefined) {
      if (!(CircuitBreakerInternal.InternalTypeId in sharedBreaker)) {
        return yield* invalidAt(["breaker"], "must be a breaker made by CircuitBreaker.make, or breaker settings")
      }
      const beside = breakerFields.find((field) => options[field] !== undefined)
      if (beside !== undefined) {
        return yield* invalidAt(
          [beside],
          "cannot stand beside a shared breaker: the breaker given as `breaker` keeps its own settings"
        )
      }
    }

    const maxAttemptsAt = yield* eitherPlace("retry", "maxAttempts", options.maxAttempts, retryGroup)
    const backoffAt = yield* eitherPlace("retry", "backoff", options.backoff, retryGroup)
    const maxDelayAt = yield* eitherPlace("retry", "maxDelay", options.maxDelay, retryGroup)
    const jitterAt = yield* eitherPlace("retry", "jitter", options.jitter, retryGroup)
    const retryOnAt = yield* eitherPlace("retry", "retryOn", options.retryOn, retryGroup)
    const maxRetryAfterAt = yield* eitherPlace("retry", "maxRetryAfter", options.maxRetryAfter, retryGroup)
    const unsafeAt = yield* eitherPlace("retry", "retryUnsafeMethods", options.retryUnsafeMethods, retryGroup)
    const maxConcurrentAt = yield* eitherPlace("bulkhead", "maxConcurrent", options.maxConcurrent, bulkheadGroup)
    const maxQueuedAt = yield* eitherPlace("bulkhead", "maxQueued", options.maxQueued, bulkheadGroup)
    if (bulkheadGroup !== undefined && bulkheadGroup.maxConcurrent === undefined) {
      return yield* invalidAt(
        ["bulkhead", "maxConcurrent"],
        "is required in bulkhead: the number of calls that may run at once"
      )
    }
    const breakerAt: Record<string, { readonly value: unknown; readonly path: string }> = {}
    for (const field of breakerFields) {
      breakerAt[field] = yield* eitherPlace("breaker", field, options[field], breakerGroup)
    }
    if (breakerAt.failureThreshold!.value !== undefined && breakerAt.strategy!.value !== undefined) {
      return yield* invalidAt(
        breakerAt.failureThreshold!.path.split("."),
        "conflicts with strategy, which decides when the breaker opens: drop one (CircuitBreaker.consecutiveFailures(n) is a threshold as a strategy)"
      )
    }

    const maxAttempts = yield* validate.positiveInteger(
      maxAttemptsAt.path,
      maxAttemptsAt.value,
      Defaults.client.maxAttempts
    )
    const timeout = yield* validate.positiveDuration("timeout", options.timeout, Defaults.client.timeout)
    const backoff = yield* validate.positiveDuration(backoffAt.path, backoffAt.value, Defaults.client.backoff)
    const retryOn = yield* validate.optionalFunction<(error: ClientError) => boolean>(
      retryOnAt.path,
      retryOnAt.value,
      RetryPolicy.isTransient
    )
    const isFailure = yield* validate.optionalFunction<(error: ClientError) => boolean>(
      "isFailure",
      options.isFailure,
      RetryPolicy.isTransient
    )
    const maxRetryAfter = yield* validate.positiveDuration(
      maxRetryAfterAt.path,
      maxRetryAfterAt.value,
      Defaults.client.maxRetryAfter
    )
    const deadline = options.deadline === undefined
      ? undefined
      : yield* validate.positiveDuration("deadline", options.deadline, 0)
    const retryBudget = yield* retryBudgetSettings(options.retryBudget)
    const retryUnsafeMethods = unsafeAt.value ?? Defaults.client.retryUnsafeMethods
    if (typeof retryUnsafeMethods !== "boolean") {
      return yield* validate.invalid(unsafeAt.path, `must be true or false, got ${validate.show(retryUnsafeMethods)}`)
    }
    const bulkhead = yield* bulkheadSettings(maxConcurrentAt, maxQueuedAt)
    const maxResponseBytes = yield* validate.positiveInteger(
      "maxResponseBytes",
      options.maxResponseBytes,
      Defaults.client.maxResponseBytes
    )
    const retry = yield* Effect.mapError(
      RetryPolicy.make({
        maxAttempts,
        baseDelay: backoff,
        maxDelay: maxDelayAt.value as Duration.DurationInput | undefined,
        jitter: jitterAt.value as RetryPolicy.Jitter | undefined
      }),
      (error) =>
        ConfigError.isInvalidData(error) && error.path[0] === "maxDelay"
          ? ConfigError.InvalidData(maxDelayAt.path.split("."), error.message)
          : ConfigError.isInvalidData(error) && error.path[0] === "jitter"
          ? ConfigError.InvalidData(jitterAt.path.split("."), error.message)
          : error
    )
    const breakerKey = options.breakerKey
    if (breakerKey !== undefined && breakerKey !== "host" && typeof breakerKey !== "function") {
      return yield* invalidAt(["breakerKey"], breakerKeyMessages.invalid)
    }
    if (breakerKey !== undefined && sharedBreaker !== undefined) {
      return yield* invalidAt(["breakerKey"], breakerKeyMessages.besideShared)
    }
    const keyTable = {
      ...(breakerGroup?.idleTimeToLive === undefined ? {} : { idleTimeToLive: breakerGroup.idleTimeToLive }),
      ...(breakerGroup?.maxKeys === undefined ? {} : { maxKeys: breakerGroup.maxKeys })
    }
    const tableField = Object.keys(keyTable)[0]
    if (tableField !== undefined && breakerKey === undefined) {
      return yield* invalidAt(["breaker", tableField], breakerKeyMessages.needsKey)
    }
    const openForRetryAfter = breakerGroup?.openForRetryAfter ?? false
    if (typeof openForRetryAfter !== "boolean") {
      return yield* validate.invalid(
        "breaker.openForRetryAfter",
        `must be true or false, got ${validate.show(openForRetryAfter)}`
      )
    }
    const breakerValue = (field: typeof breakerFields[number]) => breakerAt[field]!.value as any
    const breakerPaths: Record<string, string> = {}
    for (const field of breakerFields) breakerPaths[field] = breakerAt[field]!.path
    breakerPaths.retryAfterCap = "breaker.retryAfterCap"
    breakerPaths.retainOpenings = "breaker.retainOpenings"
    return {
      target,
      serviceName,
      id,
      maxAttempts,
      timeoutMillis: Duration.toMillis(timeout),
      retry,
      retryOn,
      isFailure,
      maxRetryAfterMillis: Duration.toMillis(maxRetryAfter),
      openForRetryAfter,
      deadlineMillis: deadline === undefined ? 0 : Duration.toMillis(deadline),
      retryBudget,
      retryUnsafeMethods,
      bulkhead,
      maxResponseBytes,
      breakerKey,
      keyTable,
      // the breaker's own options go through as given: CircuitBreaker.make validates them
      // (with the same field names) before the client builds anything else; the client judges
      // its attempts itself (see outcome.ts), so the breaker gets no isFailure
      breaker: sharedBreaker ?? {
        name: serviceName,
        failureThreshold: breakerValue("strategy") === undefined
          ? breakerValue("failureThreshold") ?? Defaults.client.failureThreshold
          : undefined,
        recoveryTimeout: breakerValue("recoveryTimeout") ?? Defaults.client.recoveryTimeout,
        halfOpenMaxProbes: breakerValue("halfOpenMaxProbes"),
        probeTimeout: breakerValue("probeTimeout"),
        strategy: breakerValue("strategy"),
        store: breakerValue("store"),
        storeKey: breakerValue("storeKey"),
        storeTimeout: breakerValue("storeTimeout"),
        // only in the group: they have no flat form
        retryAfterCap: breakerGroup?.retryAfterCap as any,
        retainOpenings: breakerGroup?.retainOpenings as any
      },
      breakerPaths
    }
  })

/**
 * Unknown option names at the top level and in each group, all at once: a typo such as
 * `maxRetries` or `retry.backof` would otherwise leave the default in force without a word.
 */
const unknownNames = (
  options: ResilientServiceClient.TransformOptions
): Effect.Effect<void, ConfigError.ConfigError> => {
  const groups = [OptionNames.clientRetry, OptionNames.clientBreaker, OptionNames.clientBulkhead]
  const issues = [...validate.unknownNames(options, OptionNames.client, groups)]
  const inGroup = (names: validate.OptionNames, value: unknown) => {
    if (!isObject(value)) return
    const others = [OptionNames.client, ...groups.filter((group) => group !== names)]
    issues.push(...validate.unknownNames(value, names, others))
  }
  inGroup(OptionNames.clientRetry, options.retry)
  inGroup(OptionNames.clientBreaker, options.breaker)
  inGroup(OptionNames.clientBulkhead, options.bulkhead)
  inGroup(OptionNames.retryBudget(["retryBudget"]), options.retryBudget)
  const error = validate.configError(issues)
  return error === undefined ? Effect.void : Effect.fail(error)
}

/**
 * The client's breaker: the shared one, or one made from the client's settings, whose errors
 * name each setting where it was given (`breaker.failureThreshold`, not `failureThreshold`).
 *
 * @internal
 */
export const makeBreaker = (
  settings: Settings
): Effect.Effect<CircuitBreaker.CircuitBreaker, ConfigError.ConfigError, Scope.Scope> =>
  typeof settings.breaker === "function"
    ? Effect.succeed(settings.breaker)
    : Effect.mapError(
      CircuitBreakerInternal.make(settings.breaker),
      (error) => atGivenPath(error, settings.breakerPaths)
    )

/**
 * The client's keyed breakers (with `breakerKey`), whose errors name each setting where it was
 * given (`breaker.maxKeys`); `overflow` is the client's own breaker.
 *
 * @internal
 */
export const makeKeyed = (
  settings: Settings,
  overflow: CircuitBreaker.CircuitBreaker
): Effect.Effect<KeyedCircuitBreaker.KeyedCircuitBreaker, ConfigError.ConfigError, Scope.Scope> =>
  Effect.mapError(
    KeyedInternal.make(
      { ...(settings.breaker as CircuitBreaker.Options), ...settings.keyTable } as KeyedCircuitBreaker.Options,
      overflow
    ),
    (error) =>
      atGivenPath(error, {
        ...settings.breakerPaths,
        idleTimeToLive: "breaker.idleTimeToLive",
        maxKeys: "breaker.maxKeys"
      })
  )

const atGivenPath = (
  error: ConfigError.ConfigError,
  paths: Readonly<Record<string, string>>
): ConfigError.ConfigError => {
  switch (error._op) {
    case "And":
      return ConfigError.And(atGivenPath(error.left, paths), atGivenPath(error.right, paths))
    case "Or":
      return ConfigError.Or(atGivenPath(error.left, paths), atGivenPath(error.right, paths))
    case "InvalidData": {
      const given = paths[error.path[0] ?? ""]
      return given === undefined
        ? error
        : ConfigError.InvalidData([...given.split("."), ...error.path.slice(1)], error.message)
    }
    default:
      return error
  }
}

// -----------------------------------------------------------------------------
// Errors that name the culprit
// -----------------------------------------------------------------------------

/**
 * The configuration key a `Config` reads, when it is one named value (`Config.string("B_URL")`,
 * possibly with a default, a description or a mapping): what Effect's own errors name.
 */
export const configKey = (config: unknown, depth = 0): string | undefined => {
  if (typeof config !== "object" || config === null || depth > 16) return undefined
  const op = config as {
    readonly _tag?: unknown
    readonly name?: unknown
    readonly config?: unknown
    readonly first?: unknown
    readonly original?: unknown
  }
  switch (op._tag) {
    case "Nested": {
      if (typeof op.name !== "string") return undefined
      const inner = configKey(op.config, depth + 1)
      return inner === undefined ? op.name : `${op.name}.${inner}`
    }
    case "Described":
      return configKey(op.config, depth + 1)
    case "Fallback":
      return configKey(op.first, depth + 1)
    case "MapOrFail":
      return configKey(op.original, depth + 1)
    case "Lazy":
      return typeof op.config === "function" ? configKey((op.config as () => unknown)(), depth + 1) : undefined
    default:
      return undefined
  }
}

/**
 * The configuration keys of the options given as `Config`s in a `Config.Wrap` of options, by
 * option path (`"baseUrl"`, `"retry.backoff"`).
 *
 * @internal
 */
export const configKeys = (wrapped: unknown): ReadonlyMap<string, string> => {
  const keys = new Map<string, string>()
  const visit = (value: unknown, path: string, depth: number) => {
    if (typeof value !== "object" || value === null || depth > 3) return
    if (Config.isConfig(value)) {
      const key = configKey(value)
      if (key !== undefined && path !== "") keys.set(path, key)
      return
    }
    for (const [field, inner] of Object.entries(value)) {
      visit(inner, path === "" ? field : `${path}.${field}`, depth + 1)
    }
  }
  visit(wrapped, "", 0)
  return keys
}

/** Who an option error is about: the client's id or name as given, else its host, else the layer's tag. */
export const culpritOf = Rules.culpritOf

/**
 * An option error that names the client (`[billing] maxAttempts must be …`) and, when the option
 * came from `Config`, has the configuration key as its path, as Effect's own `Config` errors do
 * (`Invalid data at B_URL: [billing] baseUrl must be …`).
 *
 * @internal
 */
export const nameCulprit = (
  error: ConfigError.ConfigError,
  culprit: string | undefined,
  keys: ReadonlyMap<string, string> | undefined
): ConfigError.ConfigError => {
  switch (error._op) {
    case "And":
      return ConfigError.And(nameCulprit(error.left, culprit, keys), nameCulprit(error.right, culprit, keys))
    case "Or":
      return ConfigError.Or(nameCulprit(error.left, culprit, keys), nameCulprit(error.right, culprit, keys))
    case "InvalidData": {
      const field = error.path.join(".")
      const key = keys?.get(field) ?? keys?.get(error.path[0] ?? "")
      const who = culprit === undefined ? "" : `[${culprit}] `
      const message = `${who}${field} ${error.message}`
      return key === undefined
        ? ConfigError.InvalidData(error.path.flatMap((p) => p.split(".")), message)
        : ConfigError.InvalidData(key.split("."), message)
    }
    default:
      return error
  }
}

/** The text a configuration key holds, as typed (`Config.string` at the same key). */
const rawConfigText = (key: string): Effect.Effect<string | undefined> => {
  const segments = key.split(".")
  const config = segments.slice(0, -1).reduceRight<Config.Config<string>>(
    (inner, name) => Config.nested(inner, name),
    Config.string(segments[segments.length - 1]!)
  )
  return Effect.orElseSucceed(Effect.map(config, (text): string | undefined => text), () => undefined)
}

/**
 * An option error of `layerConfig` that shows the text of its configuration key, when the value
 * the option got from it reads differently: `CHROMA_TIMEOUT="-5 seconds"` is the duration 0 once
 * `Config.duration` has read it, and `got 0` alone would not say what to fix.
 *
 * @internal
 */
export const showConfigText = (
  keys: ReadonlyMap<string, string>
) =>
(error: ConfigError.ConfigError): Effect.Effect<never, ConfigError.ConfigError> => {
  const configKeys = new Set(keys.values())
  const rewrite = (error: ConfigError.ConfigError): Effect.Effect<ConfigError.ConfigError> => {
    switch (error._op) {
      case "And":
        return Effect.zipWith(rewrite(error.left), rewrite(error.right), ConfigError.And)
      case "Or":
        return Effect.zipWith(rewrite(error.left), rewrite(error.right), ConfigError.Or)
      case "InvalidData": {
        const key = error.path.join(".")
        const got = /, got (.*?)(;|$)/.exec(error.message)
        if (!configKeys.has(key) || got === null) return Effect.succeed(error)
        return Effect.map(rawConfigText(key), (text) => {
          const read = got[1]!
          // a string shown is the text itself, credentials hidden: only a value Config turned
          // into something else (a duration, a number) gains from its text
          if (text === undefined || read.startsWith("\"") || read === text) return error
          const shown = `, got ${JSON.stringify(text)} (read as ${read})${got[2]}`
          return ConfigError.InvalidData(error.path, error.message.replace(got[0], shown))
        })
      }
      default:
        return Effect.succeed(error)
    }
  }
  return Effect.flatMap(rewrite(error), Effect.fail)
}

// -----------------------------------------------------------------------------
// Per call
// -----------------------------------------------------------------------------

/** What one call runs with, after its own options and those of its context. @internal */
export interface CallSettings {
  readonly timeoutMillis: number
  /** 0 for none. */
  readonly deadlineMillis: number
  readonly stream: boolean
  /** Run an attempt the breaker would refuse, unrecorded (`onRejection: "allow"`). */
  readonly allow: boolean
}

const invalidCallOption = (field: string, value: unknown, what: string) =>
  Either.left(
    new Cause.IllegalArgumentException(
      `Invalid call option ${field}: must be ${what} such as "5 seconds" or a number of milliseconds, got ${
        validate.show(value)
      }`
    )
  )

const callDuration = (
  field: string,
  value: unknown,
  fallback: number
): Either.Either<number, Cause.IllegalArgumentException> => {
  if (value === undefined) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(value)
  if (decoded._tag === "None") return invalidCallOption(field, value, "a duration")
  const millis = Duration.toMillis(decoded.value)
  return millis > 0 && Number.isFinite(millis)
    ? Either.right(millis)
    : invalidCallOption(field, value, "a positive, finite duration")
}

/**
 * The settings of one call: its own options first, then those of its context
 * (`withCallOptions`), then the client's. An invalid value fails the call with an
 * `IllegalArgumentException` naming the option.
 *
 * @internal
 */
export const callSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined,
  defaults: Either.Either<CallSettings, Cause.IllegalArgumentException>
): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  // the common call sets nothing: the client's own settings, made once
  scoped.timeout === undefined && scoped.deadline === undefined && scoped.stream === undefined &&
    scoped.onRejection === undefined &&
    (own === undefined ||
      (own.timeout === undefined && own.deadline === undefined && own.stream === undefined &&
        own.onRejection === undefined))
    ? defaults
    : resolveCallSettings(client, scoped, own)

/** The client's settings for a call that sets nothing of its own. @internal */
export const defaultCallSettings = (client: Settings): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  Either.right({
    timeoutMillis: client.timeoutMillis,
    deadlineMillis: client.deadlineMillis,
    stream: false,
    allow: false
  })

const resolveCallSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined
): Either.Either<CallSettings, Cause.IllegalArgumentException> =>
  Either.gen(function*() {
    const fromContext = {
      timeoutMillis: yield* callDuration("timeout", scoped.timeout, client.timeoutMillis),
      deadlineMillis: yield* callDuration("deadline", scoped.deadline, client.deadlineMillis)
    }
    const stream = own?.stream ?? scoped.stream ?? false
    if (typeof stream !== "boolean") {
      return yield* Either.left(
        new Cause.IllegalArgumentException(
          `Invalid call option stream: must be true or false, got ${validate.show(stream)}`
        )
      )
    }
    const onRejection: unknown = own?.onRejection ?? scoped.onRejection ?? "fail"
    if (onRejection !== "fail" && onRejection !== "allow") {
      return yield* Either.left(
        new Cause.IllegalArgumentException(
          `Invalid call option onRejection: must be "fail" or "allow", got ${validate.show(onRejection)}`
        )
      )
    }
    const allow = onRejection === "allow"
    if (own === undefined) return { ...fromContext, stream, allow }
    return {
      timeoutMillis: yield* callDuration("timeout", own.timeout, fromContext.timeoutMillis),
      deadlineMillis: yield* callDuration("deadline", own.deadline, fromContext.deadlineMillis),
      stream,
      allow
    }
  })

/**
 * The client's options: validated once, when the client is made (a `ConfigError` naming the
 * option), and per call (an `IllegalArgumentError` naming the option). Defaults come from
 * `../defaults.ts`, checks from `../validate.ts` (both on the core shared with the Effect 3
 * edition).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SchemaIssue from "effect/SchemaIssue"
import type * as Scope from "effect/Scope"
import type { Target } from "../../../../core/src/clientRules.js"
import * as Rules from "../../../../core/src/clientRules.js"
import { breakerKeyMessages } from "../../../../core/src/keyed.js"
import * as Retry from "../../../../core/src/retry.js"
import type { Issue } from "../../../../core/src/validate.js"
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
export const parseBaseUrl = (value: unknown): Effect.Effect<Target, Config.ConfigError> => {
  const checked = Rules.parseBaseUrl(value)
  return checked._tag === "Valid" ? Effect.succeed(checked.value) : Effect.fail(validate.issueError(checked.issue))
}

const retryBudgetSettings = (
  value: unknown
): Effect.Effect<{ readonly maxTokens: number; readonly tokenRatio: number } | undefined, Config.ConfigError> => {
  if (value === false) return Effect.succeed(undefined)
  if (value === undefined || value === true) return Effect.succeed(Defaults.retryBudget)
  if (typeof value !== "object" || value === null) {
    return validate.invalid("retryBudget", "must be false, true or { maxTokens, tokenRatio }")
  }
  const resolved = Retry.resolveBudget(value, RetryPolicyInternal.budgetOptionNames([]))
  return resolved._tag === "Valid"
    ? Effect.succeed(resolved.value)
    : invalidAt(["retryBudget", ...resolved.issue.path], resolved.issue.message)
}

const bulkheadSettings = (
  { path: concurrentPath, value: maxConcurrent }: { readonly value: unknown; readonly path: string },
  { path: queuedPath, value: maxQueued }: { readonly value: unknown; readonly path: string }
): Effect.Effect<
  { readonly maxConcurrent: number; readonly maxQueued: number } | undefined,
  Config.ConfigError
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

const invalidAt = (path: Path, reason: string) => Effect.fail(validate.invalidAt(path, reason))

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A field given flat (deprecated, or one of the Python names) and in its group: one of them, or a conflict. */
const eitherPlace = (
  group: string,
  field: string,
  flat: unknown,
  grouped: Record<string, unknown> | undefined
): Effect.Effect<{ readonly value: unknown; readonly path: string }, Config.ConfigError> => {
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
): Effect.Effect<Record<string, unknown> | undefined, Config.ConfigError> =>
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

const millisOf = (duration: Duration.Duration): number => Duration.toMillis(duration)

/** @internal */
export const settings = (
  options: ResilientServiceClient.TransformOptions,
  context: SettingsContext = { baseUrlRequired: true }
): Effect.Effect<Settings, Config.ConfigError> =>
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
    // the policy's own errors name `maxDelay` and `jitter`: here they name the place each was given
    const retry = yield* Effect.mapError(
      RetryPolicy.make({
        maxAttempts,
        baseDelay: backoff,
        maxDelay: maxDelayAt.value as Duration.Input | undefined,
        jitter: jitterAt.value as RetryPolicy.Jitter | undefined
      }),
      (error) => atGivenPath(error, { maxDelay: maxDelayAt.path, jitter: jitterAt.path })
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
      timeoutMillis: millisOf(timeout),
      retry,
      retryOn,
      isFailure,
      maxRetryAfterMillis: millisOf(maxRetryAfter),
      openForRetryAfter,
      deadlineMillis: deadline === undefined ? 0 : millisOf(deadline),
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
): Effect.Effect<void, Config.ConfigError> => {
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
  inGroup(RetryPolicyInternal.budgetOptionNames(["retryBudget"]), options.retryBudget)
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
): Effect.Effect<CircuitBreaker.CircuitBreaker, Config.ConfigError, Scope.Scope> =>
  typeof settings.breaker === "function"
    ? Effect.succeed(settings.breaker)
    : Effect.mapError(
      CircuitBreakerInternal.make(settings.breaker),
      (error) => atGivenPath(error, settings.breakerPaths)
    )

// -----------------------------------------------------------------------------
// Reading and rewriting the issues of a ConfigError
// -----------------------------------------------------------------------------

/**
 * The issues of a `ConfigError` this edition built (`validate.configError`: a `SchemaError`
 * whose issue is a pointer to an invalid value, or a composite of them), `undefined` for any
 * other (a provider's), which is then passed on untouched.
 */
const issuesOf = (error: Config.ConfigError): ReadonlyArray<Issue> | undefined => {
  if (!Schema.isSchemaError(error.cause)) return undefined
  const issues: Array<Issue> = []
  const visit = (issue: SchemaIssue.Issue): boolean => {
    if (issue._tag === "Composite") return issue.issues.every(visit)
    if (issue._tag !== "Pointer" || issue.issue._tag !== "InvalidValue") return false
    const message = issue.issue.annotations?.message
    if (typeof message !== "string") return false
    issues.push({ path: issue.path.map(String), message })
    return true
  }
  return visit(error.cause.issue) ? issues : undefined
}

/** `error` with each of its issues rewritten by `f` (an error not built here is returned as it is). */
const mapIssues = (error: Config.ConfigError, f: (issue: Issue) => Issue): Config.ConfigError => {
  const issues = issuesOf(error)
  return issues === undefined ? error : validate.configError(issues.map(f)) ?? error
}

/**
 * The client's keyed breakers (with `breakerKey`), whose errors name each setting where it was
 * given (`breaker.maxKeys`); `overflow` is the client's own breaker.
 *
 * @internal
 */
export const makeKeyed = (
  settings: Settings,
  overflow: CircuitBreaker.CircuitBreaker
): Effect.Effect<KeyedCircuitBreaker.KeyedCircuitBreaker, Config.ConfigError, Scope.Scope> =>
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
  error: Config.ConfigError,
  paths: Readonly<Record<string, string>>
): Config.ConfigError =>
  mapIssues(error, (issue) => {
    const given = paths[issue.path[0] ?? ""]
    return given === undefined ? issue : { path: [...given.split("."), ...issue.path.slice(1)], message: issue.message }
  })

// -----------------------------------------------------------------------------
// Errors that name the culprit
// -----------------------------------------------------------------------------

/**
 * Where an option given as a `Config` was read: the configuration key (its path, as Effect's
 * own `Config` errors name it) and the text found there, if any.
 *
 * @internal
 */
export interface ConfigSource {
  readonly key: string
  readonly text: string | undefined
}

/**
 * The configuration keys of the options given as `Config`s in a `Config.Wrap` of options, by
 * option path (`"baseUrl"`, `"retry.backoff"`). An Effect 4 `Config` does not show the key it
 * reads: each one is parsed again against the current provider, wrapped to record the first
 * path it is asked for (a `Config.succeed` asks for none, and names no key).
 *
 * @internal
 */
export const configSources = (wrapped: unknown): Effect.Effect<ReadonlyMap<string, ConfigSource>> =>
  Effect.gen(function*() {
    const provider = yield* ConfigProvider.ConfigProvider
    const sources = new Map<string, ConfigSource>()
    const found: Array<readonly [string, Config.Config<unknown>]> = []
    const visit = (value: unknown, path: string, depth: number) => {
      if (typeof value !== "object" || value === null || depth > 3) return
      if (Config.isConfig(value)) {
        if (path !== "") found.push([path, value])
        return
      }
      for (const [field, inner] of Object.entries(value)) {
        visit(inner, path === "" ? field : `${path}.${field}`, depth + 1)
      }
    }
    visit(wrapped, "", 0)
    for (const [path, config] of found) {
      let seen: ConfigSource | undefined
      const recording = ConfigProvider.make((at) =>
        Effect.map(provider.load(at), (node) => {
          if (seen === undefined) {
            seen = { key: at.map(String).join("."), text: node?._tag === "Value" ? node.value : undefined }
          }
          return node
        })
      )
      yield* Effect.ignore(config.parse(recording))
      if (seen !== undefined) sources.set(path, seen)
    }
    return sources
  })

/** Who an option error is about: the client's id or name as given, else its host, else the layer's tag. */
export const culpritOf = Rules.culpritOf

/**
 * An option error that names the client (`[billing] maxAttempts must be …`) and, when the option
 * came from `Config`, has the configuration key as its path, as Effect's own `Config` errors do
 * (`… at ["B_URL"]`). An option read from a key whose text reads differently once decoded
 * (`CHROMA_TIMEOUT="-5 seconds"` is not what `got 0` shows) shows that text too.
 *
 * @internal
 */
export const nameCulprit = (
  error: Config.ConfigError,
  culprit: string | undefined,
  sources: ReadonlyMap<string, ConfigSource> | undefined
): Config.ConfigError =>
  mapIssues(error, (issue) => {
    const field = issue.path.join(".")
    const source = sources?.get(field) ?? sources?.get(issue.path[0] ?? "")
    const who = culprit === undefined ? "" : `[${culprit}] `
    const message = `${who}${field} ${source === undefined ? issue.message : withConfigText(issue.message, source)}`
    return source === undefined
      ? { path: issue.path.flatMap((p) => p.split(".")), message }
      : { path: source.key.split("."), message }
  })

/**
 * The message of an option read from configuration, with the text of its key when the value the
 * option got from it reads differently: a string shown is the text itself (credentials hidden),
 * so only a value `Config` turned into something else (a duration, a number) gains from it.
 */
const withConfigText = (message: string, source: ConfigSource): string => {
  const got = /, got (.*?)(;|$)/.exec(message)
  if (got === null || source.text === undefined) return message
  const read = got[1]!
  if (read.startsWith("\"") || read === source.text) return message
  return message.replace(got[0], `, got ${JSON.stringify(source.text)} (read as ${read})${got[2]}`)
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
  Result.fail(
    new Cause.IllegalArgumentError(
      `Invalid call option ${field}: must be ${what} such as "5 seconds" or a number of milliseconds, got ${
        validate.show(value)
      }`
    )
  )

const callDuration = (
  field: string,
  value: unknown,
  fallback: number
): Result.Result<number, Cause.IllegalArgumentError> => {
  if (value === undefined) return Result.succeed(fallback)
  const checked = validate.checkDurationInput([field], value)
  if (checked._tag === "Valid") return Result.succeed(millisOf(checked.value))
  return invalidCallOption(
    field,
    value,
    /positive, finite/.test(checked.issue.message) ? "a positive, finite duration" : "a duration"
  )
}

/**
 * The settings of one call: its own options first, then those of its context
 * (`withCallOptions`), then the client's. An invalid value fails the call with an
 * `IllegalArgumentError` naming the option.
 *
 * @internal
 */
export const callSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined,
  defaults: Result.Result<CallSettings, Cause.IllegalArgumentError>
): Result.Result<CallSettings, Cause.IllegalArgumentError> =>
  // the common call sets nothing: the client's own settings, made once
  scoped.timeout === undefined && scoped.deadline === undefined && scoped.stream === undefined &&
    scoped.onRejection === undefined &&
    (own === undefined ||
      (own.timeout === undefined && own.deadline === undefined && own.stream === undefined &&
        own.onRejection === undefined))
    ? defaults
    : resolveCallSettings(client, scoped, own)

/** The client's settings for a call that sets nothing of its own. @internal */
export const defaultCallSettings = (client: Settings): Result.Result<CallSettings, Cause.IllegalArgumentError> =>
  Result.succeed({
    timeoutMillis: client.timeoutMillis,
    deadlineMillis: client.deadlineMillis,
    stream: false,
    allow: false
  })

const resolveCallSettings = (
  client: Settings,
  scoped: ResilientServiceClient.CallOptions,
  own: ResilientServiceClient.CallOptions | undefined
): Result.Result<CallSettings, Cause.IllegalArgumentError> =>
  Result.gen(function*() {
    const fromContext = {
      timeoutMillis: yield* callDuration("timeout", scoped.timeout, client.timeoutMillis),
      deadlineMillis: yield* callDuration("deadline", scoped.deadline, client.deadlineMillis)
    }
    const stream = own?.stream ?? scoped.stream ?? false
    if (typeof stream !== "boolean") {
      return yield* Result.fail(
        new Cause.IllegalArgumentError(
          `Invalid call option stream: must be true or false, got ${validate.show(stream)}`
        )
      )
    }
    const onRejection: unknown = own?.onRejection ?? scoped.onRejection ?? "fail"
    if (onRejection !== "fail" && onRejection !== "allow") {
      return yield* Result.fail(
        new Cause.IllegalArgumentError(
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

/**
 * The circuit breaker's effectful shell over the core's pure machine (`core/src/machine.ts`): a
 * `Ref` holds the machine, every call, timer and operator action steps it with an event at the
 * breaker's monotonic time, and whatever the step changed is announced (metrics, the `changes`
 * hub, a log line, the store, the timer of an opening's end).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as PubSub from "effect/PubSub"
import * as Pull from "effect/Pull"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import * as Metrics from "../Metrics.js"
import * as ServiceStatus from "../ServiceStatus.js"
import * as ServiceUnavailable from "../ServiceUnavailable.js"
import * as BreakerStore from "./breakerStore.js"
import * as BreakerText from "./breakerText.js"
import * as defaults from "./defaults.js"
import * as Machine from "./machine.js"
import * as OptionNames from "./optionNames.js"
import * as Time from "./time.js"
import * as validate from "./validate.js"

/** @internal */
export const TypeId: CircuitBreaker.TypeId = Symbol.for("effect-resilience/CircuitBreaker") as CircuitBreaker.TypeId

/**
 * What the HTTP client needs from its breaker beyond the public interface.
 *
 * @internal
 */
export const InternalTypeId: unique symbol = Symbol.for("effect-resilience/CircuitBreaker/internal")

/** @internal */
export interface Internals {
  /** The rejection a call would get now, if any; takes no permit and changes nothing. */
  readonly rejection: Effect.Effect<Option.Option<ServiceUnavailable.ServiceUnavailable>>
  /**
   * Completes with the rejection once the breaker rejects calls: at once if it does now,
   * otherwise at its next transition to `open`.
   */
  readonly awaitRejection: Effect.Effect<ServiceUnavailable.ServiceUnavailable>
  /** The state as last stepped, read without an effect (for span attributes). */
  readonly currentState: () => CircuitBreaker.State
  /** Subscriptions held by `awaitRejection` waiters now (for tests: one per waiter). */
  readonly rejectionWaiters: () => number
  /**
   * Completes once every snapshot handed to the store so far is written (or given up), at once
   * without a store: for tests, which cannot otherwise tell when the breaker's own writer is done.
   */
  readonly storeIdle: Effect.Effect<void>
  /**
   * Protects `self` like calling the breaker, but with the outcome of a failed call decided by
   * `judge` instead of `isFailure`: the HTTP client knows the three outcomes of an attempt. With
   * `allow`, a call the breaker would refuse runs unrecorded (`onRejection: "allow"`).
   */
  readonly protectJudged: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    judge: (cause: Cause.Cause<E>) => FailedOutcome | Effect.Effect<FailedOutcome>,
    allow?: boolean
  ) => Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R>
}

/**
 * How a failed call ends for the breaker: counted (`Failure`), the service answered but the
 * failure does not count (`Ignored`), or it says nothing about the service (`Silent`).
 *
 * @internal
 */
export type FailedOutcome = "Failure" | "Ignored" | "Silent" | CountedWithRetryAfter

/**
 * A counted failure that carries a `Retry-After` (milliseconds): should it open the breaker, the
 * opening lasts at least that long (up to `retryAfterCap`).
 *
 * @internal
 */
export interface CountedWithRetryAfter {
  readonly _tag: "Failure"
  readonly retryAfterMillis: number
}

/** What a breaker's `isFailure` is given and may answer. */
type IsFailure = (
  error: unknown,
  context: CircuitBreaker.FailureContext
) => CircuitBreaker.FailureVerdict | Effect.Effect<CircuitBreaker.FailureVerdict>

const probeContext: CircuitBreaker.FailureContext = { probe: true }
const callContext: CircuitBreaker.FailureContext = { probe: false }

/**
 * The outcome an `isFailure` verdict gives; throws on a `retryAfter` that is not a duration
 * (a bug of the judge, settled as one that throws).
 */
const verdictOutcome = (verdict: CircuitBreaker.FailureVerdict): FailedOutcome => {
  // only an object with a `retryAfter` is such a verdict: anything else truthy (an Error a JS
  // judge returns, say) counts as `true`
  if (typeof verdict !== "object" || verdict === null || !("retryAfter" in verdict)) {
    return verdict ? "Failure" : "Ignored"
  }
  const decoded = Duration.fromInput(verdict.retryAfter)
  if (Option.isNone(decoded)) {
    throw new TypeError(
      `isFailure answered { retryAfter: ${validate.show(verdict.retryAfter)} }, which is not a duration`
    )
  }
  const millis = Duration.toMillis(decoded.value)
  return millis > 0 ? { _tag: "Failure", retryAfterMillis: millis } : "Failure"
}

/**
 * The default judge of a failed call: a defect counts, an interruption says nothing, a typed
 * failure counts when `isFailure` says so (told whether the call was a probe); an effectful
 * verdict gives an effect.
 *
 * @internal
 */
export const judgeWith = (isFailure: IsFailure, probe = false) =>
<E>(
  cause: Cause.Cause<E>
): FailedOutcome | Effect.Effect<FailedOutcome> => judgeBy(isFailure, cause, probe)

const judgeBy = <E>(
  isFailure: IsFailure,
  cause: Cause.Cause<E>,
  probe: boolean
): FailedOutcome | Effect.Effect<FailedOutcome> => {
  if (Cause.hasDies(cause)) return "Failure"
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "None") return "Silent"
  const verdict = isFailure(failure.value, probe ? probeContext : callContext)
  return Effect.isEffect(verdict)
    ? Effect.map(verdict as Effect.Effect<CircuitBreaker.FailureVerdict>, verdictOutcome)
    : verdictOutcome(verdict)
}

/** @internal */
export const internals = (breaker: CircuitBreaker.CircuitBreaker): Internals =>
  (breaker as unknown as { readonly [InternalTypeId]: Internals })[InternalTypeId]

/**
 * What fleet mode needs from a breaker: its machine, and a way to step it with the fleet's
 * events (announcing what they change, like any other step).
 *
 * @internal
 */
export const FleetHookId: unique symbol = Symbol.for("effect-resilience/CircuitBreaker/fleet")

/** @internal */
export interface FleetHook {
  readonly name: string
  readonly config: Machine.Config<unknown>
  /** The machine as last stepped. */
  readonly machine: () => Machine.Machine<unknown>
  /** Steps the machine with a fleet event and announces the transitions it made. */
  readonly step: (event: Machine.FleetEvent) => Effect.Effect<Machine.Step<unknown>>
  /** The machine with the deadlines that time has passed applied (and announced). */
  readonly observe: Effect.Effect<Machine.Machine<unknown>>
  /**
   * Called (synchronously, on the caller's fiber) when a call arrives in `half_open` without the
   * fleet's probe lease and asks for it; set by the fleet that the breaker joins.
   */
  onLeaseAsked: (() => void) | undefined
  /**
   * Called (synchronously) when a probe ends saying nothing about the service (interrupted, or
   * judged silent), so that a lease left unused is given back at once; set by the fleet.
   */
  onProbeSilent: (() => void) | undefined
}

/** @internal */
export const fleetHook = (breaker: CircuitBreaker.CircuitBreaker): FleetHook =>
  (breaker as unknown as { readonly [FleetHookId]: FleetHook })[FleetHookId]

/**
 * What a fleet puts in the context so that every breaker made under it joins it: the fleet's
 * service under the key `"effect-resilience/Fleet"` (the public `Fleet` service's key), of which
 * the breaker needs only `join`. Declared here so that the breaker does not import the fleet.
 *
 * @internal
 */
export interface FleetJoin {
  /** Follows the breaker's transitions and applies the fleet's, for the life of the scope. */
  readonly join: (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook) => Effect.Effect<void, never, Scope.Scope>
}

/** @internal */
export const FleetJoin: Context.Service<FleetJoin, FleetJoin> = Context.Service<FleetJoin>("effect-resilience/Fleet")

const joinFleet = (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(
    Effect.serviceOption(FleetJoin),
    Option.match({ onNone: () => Effect.void, onSome: (fleet) => fleet.join(breaker, hook) })
  )

/**
 * Names given to breakers made without one, while they live: a second unnamed breaker is
 * `circuit-breaker-2`, so that two of them never share a metric series.
 */
const unnamedInUse = new Set<string>()

const unnamed = (): string => {
  let name: string = defaults.breaker.name
  for (let n = 2; unnamedInUse.has(name); n++) name = `${defaults.breaker.name}-${n}`
  return name
}

/** How many transitions a subscriber of `changes` may fall behind before the oldest are dropped. */
const changesCapacity = 64

const countsAll = (_: unknown): boolean => true

/**
 * How many openings of a recovery schedule are computed when the breaker is made; from there on
 * the last delay repeats.
 */
const scheduledOpenings = 64

interface Persistence {
  readonly store: KeyValueStore.KeyValueStore
  readonly key: string
  /** Bounds every read and write of the store. */
  readonly timeout: Duration.Duration
}

interface Settings {
  readonly name: string
  /** Whether the name was chosen here (the option was absent). */
  readonly unnamed: boolean
  readonly config: Machine.Config<unknown>
  readonly isFailure: IsFailure
  readonly persistence: Persistence | undefined
}

/**
 * The open durations a recovery schedule gives, stepped ahead of time on the breaker's clock so
 * that the machine stays pure: the delay of step n is the length of the n-th opening.
 */
const openDurations = (
  schedule: Schedule.Schedule<unknown, unknown>,
  start: number
): Effect.Effect<ReadonlyArray<number>, Config.ConfigError> =>
  Effect.gen(function*() {
    const durations: Array<number> = []
    const step = yield* Schedule.toStep(schedule)
    let now = start
    while (durations.length < scheduledOpenings) {
      const next = yield* step(now, undefined).pipe(
        Effect.map(([, delay]) => Duration.toMillis(delay)),
        Pull.catchDone(() => Effect.succeed(undefined))
      )
      if (next === undefined) break
      if (!(next > 0) || !Number.isFinite(next)) {
        return yield* validate.invalid(
          "recoveryTimeout",
          `every delay of the schedule must be positive and finite, but delay ${durations.length + 1} is ${next} ms`
        )
      }
      durations.push(next)
      now += next
    }
    if (durations.length === 0) {
      return yield* validate.invalid("recoveryTimeout", "the schedule ends before its first delay")
    }
    return durations
  })

/**
 * The default strategy for a threshold, one per threshold for all breakers (a strategy keeps no
 * state of its own: the machine holds it).
 */
const defaultStrategies = new Map<number, Machine.TrippingStrategy<number>>()

const consecutiveFailures = (threshold: number): Machine.TrippingStrategy<number> => {
  let strategy = defaultStrategies.get(threshold)
  if (strategy === undefined) {
    strategy = Machine.consecutiveFailures(threshold)
    defaultStrategies.set(threshold, strategy)
  }
  return strategy
}

const isStrategy = (u: unknown): u is Machine.TrippingStrategy<unknown> => {
  if (typeof u !== "object" || u === null) return false
  const strategy = u as Record<string, unknown>
  return typeof strategy.initial === "function" && typeof strategy.onSuccess === "function" &&
    typeof strategy.onFailure === "function" && typeof strategy.shouldTrip === "function"
}

const isKeyValueStore = (u: unknown): u is KeyValueStore.KeyValueStore =>
  typeof u === "object" && u !== null && typeof (u as Record<string, unknown>).get === "function" &&
  typeof (u as Record<string, unknown>).set === "function"

const settings = (
  options: CircuitBreaker.Options,
  now: number
): Effect.Effect<Settings, Config.ConfigError> =>
  Effect.gen(function*() {
    yield* validate.knownNames(options, OptionNames.breaker)
    const name = options.name === undefined ? unnamed() : yield* Effect.flatMap(
      validate.nonEmptyString("name", options.name, ""),
      (given) => validate.wellFormed("name", given)
    )
    const failureThreshold = yield* validate.positiveInteger(
      "failureThreshold",
      options.failureThreshold,
      defaults.breaker.failureThreshold
    )
    const scheduled = Schedule.isSchedule(options.recoveryTimeout)
      ? yield* openDurations(options.recoveryTimeout as Schedule.Schedule<unknown, unknown>, now)
      : undefined
    const recoveryTimeoutMillis = scheduled !== undefined ? scheduled[0]! : Duration.toMillis(
      yield* validate.positiveDuration(
        "recoveryTimeout",
        options.recoveryTimeout,
        defaults.breaker.recoveryTimeout
      )
    )
    const halfOpenMaxProbes = yield* validate.positiveInteger(
      "halfOpenMaxProbes",
      options.halfOpenMaxProbes,
      defaults.breaker.halfOpenMaxProbes
    )
    const probeTimeout = options.probeTimeout === undefined
      ? undefined
      : yield* validate.positiveDuration("probeTimeout", options.probeTimeout, options.probeTimeout)
    const isFailure: IsFailure = yield* validate.optionalFunction("isFailure", options.isFailure, countsAll)
    const strategy: unknown = options.strategy ?? consecutiveFailures(failureThreshold)
    if (!isStrategy(strategy)) {
      return yield* validate.invalid(
        "strategy",
        "must be a TrippingStrategy (initial, onSuccess, onFailure, shouldTrip) such as consecutiveFailures(5)"
      )
    }
    const strategyError = Machine.strategyError(strategy)
    if (strategyError !== undefined) return yield* Effect.fail(strategyError)
    if (options.store !== undefined && !isKeyValueStore(options.store)) {
      return yield* validate.invalid("store", "must be a KeyValueStore from effect/persistence")
    }
    if (options.storeKey !== undefined && options.store === undefined) {
      return yield* validate.invalid("storeKey", "needs a store to be given too")
    }
    if (options.storeTimeout !== undefined && options.store === undefined) {
      return yield* validate.invalid("storeTimeout", "needs a store to be given too")
    }
    const storeKey = yield* validate.nonEmptyString("storeKey", options.storeKey, BreakerStore.defaultKey(name))
    const storeTimeout = yield* validate.positiveDuration(
      "storeTimeout",
      options.storeTimeout,
      defaults.breaker.storeTimeout
    )
    const retryAfterCap = yield* validate.positiveDuration(
      "retryAfterCap",
      options.retryAfterCap,
      defaults.breaker.retryAfterCap
    )
    const retainOpenings = options.retainOpenings ?? defaults.breaker.retainOpenings
    if (typeof retainOpenings !== "boolean") {
      return yield* validate.invalid("retainOpenings", `must be true or false, got ${validate.show(retainOpenings)}`)
    }
    return {
      name,
      unnamed: options.name === undefined,
      isFailure,
      persistence: options.store === undefined
        ? undefined
        : { store: options.store, key: storeKey, timeout: storeTimeout },
      config: {
        strategy,
        recoveryTimeoutMillis,
        openDurationsMillis: scheduled,
        halfOpenMaxProbes,
        probeTimeoutMillis: probeTimeout === undefined ? undefined : Duration.toMillis(probeTimeout),
        // absent at their defaults, so that a default breaker's config is what it was
        ...(options.retryAfterCap === undefined
          ? undefined
          : { retryAfterCapMillis: Duration.toMillis(retryAfterCap) }),
        ...(retainOpenings ? { retainOpenings: true } : undefined)
      }
    }
  })

const logTransition = (name: string, transition: Machine.Transition): Effect.Effect<void> => {
  const line = BreakerText.transitionLog(name, transition.reason)
  switch (line.level) {
    case "Error":
      return Effect.logError(line.message)
    case "Warning":
      return Effect.logWarning(line.message)
    case "Info":
      return Effect.logInfo(line.message)
  }
}

const toStatus = (name: string, machine: Machine.Machine<unknown>): ServiceStatus.ServiceStatus =>
  ServiceStatus.fromMillis({
    service: name,
    state: machine.state,
    failureCount: machine.failureCount,
    lastFailure: machine.lastFailure,
    lastStateChange: machine.lastStateChange
  })

type Judge = (cause: Cause.Cause<any>) => FailedOutcome | Effect.Effect<FailedOutcome>

/** The per-call options a breaker's `withOptions` was given, checked. */
interface CallSettings {
  /** Run a call the breaker would refuse, unrecorded. */
  readonly allow: boolean
}

const byDefault: CallSettings = { allow: false }
const allowing: CallSettings = { allow: true }

const callSettings = (options: CircuitBreaker.CallOptions): CallSettings => {
  const onRejection: unknown = (options as CircuitBreaker.CallOptions | undefined)?.onRejection
  if (onRejection === undefined || onRejection === "fail") return byDefault
  if (onRejection === "allow") return allowing
  throw new TypeError(
    `Invalid circuit breaker call option onRejection: must be "fail" or "allow", got ${validate.show(onRejection)}`
  )
}

/** The rejection last built, kept with what it was built for. */
interface LastRejection {
  readonly key: Machine.Rejected
  readonly exit: Effect.Effect<never, ServiceUnavailable.ServiceUnavailable>
}

/**
 * What a breaker builds when first used, and keeps: the effects it carries, and the count of
 * `awaitRejection` waiters.
 */
class Built {
  waiters = 0
  observation: Effect.Effect<Machine.Step<unknown>> | undefined = undefined
  admission: Effect.Effect<Machine.Step<unknown>> | undefined = undefined
  status: Effect.Effect<ServiceStatus.ServiceStatus> | undefined = undefined
  state: Effect.Effect<CircuitBreaker.State> | undefined = undefined
  changes: Stream.Stream<CircuitBreaker.StateChange> | undefined = undefined
  subscribe: Effect.Effect<PubSub.Subscription<CircuitBreaker.StateChange>, never, Scope.Scope> | undefined = undefined
  isolate: Effect.Effect<void> | undefined = undefined
  reset: Effect.Effect<void> | undefined = undefined
  isolated: Effect.Effect<boolean> | undefined = undefined
  rejection: Effect.Effect<Option.Option<ServiceUnavailable.ServiceUnavailable>> | undefined = undefined
  awaitRejection: Effect.Effect<ServiceUnavailable.ServiceUnavailable> | undefined = undefined
  observe: Effect.Effect<Machine.Machine<unknown>> | undefined = undefined
}

/**
 * One breaker: its settings and state in one object, and the logic in the functions below that
 * take it. Making a breaker allocates this object, its config, its machine and `Ref`, its metric
 * series and the callable; the effects a breaker carries (`status`, `changes`, `isolate`, …) are
 * built when first read and kept, and the `changes` hub when first subscribed, since most
 * breakers of a per-host or per-tenant set are never watched.
 *
 * The shell is also what the HTTP client (`Internals`) and fleet mode (`FleetHook`) see.
 */
class Shell implements Internals, FleetHook {
  /**
   * Mirrors the Ref: every write goes through `Ref.modify` in `stepWith`, whose callback also
   * updates the mirror in the same synchronous step. The hot path reads the mirror instead of
   * spending an effect on `Ref.get`; it never writes it.
   */
  current: Machine.Machine<unknown>
  /** The hub of `changes`, made when first subscribed: until then a transition reaches nobody. */
  hub: PubSub.PubSub<CircuitBreaker.StateChange> | undefined = undefined
  /**
   * A rejection is the same value for the same generation and retry delay: the last one is
   * reused rather than an error built per rejected call.
   */
  lastRejection: LastRejection | undefined = undefined
  /** Hands the latest snapshot to the store's writer; nothing without a store. */
  persist: Effect.Effect<void> = Effect.void
  /** See `Internals.storeIdle`. */
  storeIdle: Effect.Effect<void> = Effect.void
  /** What was built on first use. */
  built: Built | undefined = undefined
  /**
   * The breaker's monotonic clock in milliseconds, read as a thunk as `Machine.peek` takes it:
   * the time of every deadline. The wall clock dates only what is shown and stored.
   */
  readonly now: () => number
  /** Fleet mode: told when a call asks for the probe lease (see `FleetHook`). */
  onLeaseAsked: (() => void) | undefined = undefined
  /** Fleet mode: told when a probe ends silent (see `FleetHook`). */
  onProbeSilent: (() => void) | undefined = undefined
  /** The callable: `breaker(effect)` protects the effect. */
  readonly breaker: CircuitBreaker.CircuitBreaker
  /** The breaker's state gauge, with its `service` attribute. */
  readonly stateGauge: Metric.Gauge<number>

  constructor(
    readonly name: string,
    readonly config: Machine.Config<unknown>,
    readonly isFailure: IsFailure,
    // The breaker keeps one timeline: the Clock of the context it is made in (a TestClock in tests).
    readonly clock: Clock.Clock,
    readonly scope: Scope.Scope,
    readonly ref: Ref.Ref<Machine.Machine<unknown>>,
    initial: Machine.Machine<unknown>,
    // The metric registry of the context the breaker is made in, as a context for `updateUnsafe`.
    readonly metrics: Context.Context<never>,
    // the `service` attribute of its metrics: its name, or its keyed breaker's (see `make`)
    readonly metricService: string = name
  ) {
    this.current = initial
    this.stateGauge = Metric.withAttributes(Metrics.breakerState, { service: metricService })
    // the clock thunk and the callable share one closure context (this shell)
    this.now = () => Time.monotonicMillis(this.clock)
    const breaker = <A, E, R>(self: Effect.Effect<A, E, R>) => protectJudged(this, self, undefined)
    Object.defineProperty(breaker, InternalTypeId, { value: this, enumerable: true })
    Object.defineProperties(breaker, members)
    this.breaker = breaker as unknown as CircuitBreaker.CircuitBreaker
  }

  get rejection(): Effect.Effect<Option.Option<ServiceUnavailable.ServiceUnavailable>> {
    return built(this).rejection ??= rejectionOf(this)
  }
  get awaitRejection(): Effect.Effect<ServiceUnavailable.ServiceUnavailable> {
    return built(this).awaitRejection ??= awaitRejectionOf(this)
  }
  currentState(): CircuitBreaker.State {
    return this.current.state
  }
  rejectionWaiters(): number {
    return this.built === undefined ? 0 : this.built.waiters
  }
  protectJudged<A, E, R>(
    self: Effect.Effect<A, E, R>,
    judge: (cause: Cause.Cause<E>) => FailedOutcome | Effect.Effect<FailedOutcome>,
    allow = false
  ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> {
    return protectJudged(this, self, judge, allow ? allowing : byDefault)
  }
  machine(): Machine.Machine<unknown> {
    return this.current
  }
  step(event: Machine.FleetEvent): Effect.Effect<Machine.Step<unknown>> {
    return fleetStep(this, event)
  }
  get observe(): Effect.Effect<Machine.Machine<unknown>> {
    return built(this).observe ??= Effect.uninterruptible(
      Effect.flatMap(observation(this), (step) => announced(this, step))
    )
  }
}

const built = (shell: Shell): Built => shell.built ??= new Built()

const annotate = (shell: Shell) => Effect.annotateLogs("service", shell.name)

const stepWith = (shell: Shell, event: Machine.Event): Effect.Effect<Machine.Step<unknown>> =>
  Ref.modify(shell.ref, (machine) => {
    const step = Machine.step(machine, event, shell.now(), shell.config, shell.clock.currentTimeMillisUnsafe())
    shell.current = step.machine
    return [step, step.machine] as const
  })
const observation = (shell: Shell) => built(shell).observation ??= stepWith(shell, Machine.observeEvent)
const admission = (shell: Shell) => built(shell).admission ??= stepWith(shell, Machine.admitEvent)

const recordState = (shell: Shell, state: CircuitBreaker.State): void =>
  shell.stateGauge.updateUnsafe(Metrics.stateValue(state), shell.metrics)

/** The hub of `changes`, made on first use in the breaker's scope. */
const theHub = (shell: Shell): Effect.Effect<PubSub.PubSub<CircuitBreaker.StateChange>> =>
  Effect.suspend(() =>
    shell.hub !== undefined ? Effect.succeed(shell.hub) : Effect.flatMap(
      PubSub.sliding<CircuitBreaker.StateChange>(changesCapacity),
      (made) => {
        // another fiber may have made one meanwhile: keep the first
        if (shell.hub !== undefined) return Effect.as(PubSub.shutdown(made), shell.hub)
        shell.hub = made
        return Effect.as(Scope.addFinalizer(shell.scope, PubSub.shutdown(made)), made)
      }
    )
  )

// Store writes never run on a caller's path: a transition leaves the latest snapshot for the
// breaker's own writer fiber (a newer one replaces one not yet written), which writes it
// bounded by the store timeout. A store that hangs or fails delays nothing but its own
// writes. When the scope closes, the writer is given up to the store timeout to finish the
// write it is making and the latest snapshot after it, so that a graceful shutdown loses no
// transition; a store that hangs holds the close up for that long at most.
const startWriter = (
  shell: Shell,
  persistence: Persistence
): Effect.Effect<{ readonly persist: Effect.Effect<void>; readonly idle: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const write = (snapshot: Machine.Snapshot) =>
      BreakerStore.save(persistence.store, persistence.key, shell.name, snapshot, persistence.timeout)
    // the latest snapshot whose write has not started, and whether a write is running
    let pending: Machine.Snapshot | undefined
    let writing = false
    let idleWaiters: Array<() => void> = []
    const settled = () => pending === undefined && !writing
    const idle = Effect.callback<void>((resume) => {
      if (settled()) return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      idleWaiters.push(waiter)
      return Effect.sync(() => {
        idleWaiters = idleWaiters.filter((w) => w !== waiter)
      })
    })
    const wake = yield* Queue.sliding<void>(1)
    const writeNext = Effect.suspend(() => {
      const snapshot = pending
      if (snapshot === undefined) return Effect.void
      pending = undefined
      writing = true
      return Effect.ensuring(
        write(snapshot),
        Effect.sync(() => {
          writing = false
          if (!settled()) return
          const waiters = idleWaiters
          idleWaiters = []
          for (const waiter of waiters) waiter()
        })
      )
    })
    yield* Queue.take(wake).pipe(
      Effect.andThen(writeNext),
      Effect.forever,
      annotate(shell),
      Effect.interruptible,
      Effect.forkIn(shell.scope)
    )
    // added after the writer was forked, so that it runs before the writer is interrupted
    yield* Effect.addFinalizer(() => Effect.ignore(Effect.timeout(Effect.interruptible(idle), persistence.timeout)))
    const persist = Effect.sync(() => {
      pending = Machine.snapshot(shell.current, shell.now(), shell.clock.currentTimeMillisUnsafe())
      Queue.offerUnsafe(wake, undefined)
    })
    return { persist, idle }
  })

const publish = (shell: Shell, transition: Machine.Transition): Effect.Effect<void> =>
  Effect.andThen(
    Effect.sync(() => {
      recordState(shell, transition.to)
      Metric.withAttributes(Metrics.stateChangesTotal, { service: shell.metricService, to: transition.to })
        .updateUnsafe(1, shell.metrics)
    }),
    Effect.andThen(
      shell.hub === undefined ? Effect.void : PubSub.publish(shell.hub, {
        service: shell.name,
        from: transition.from,
        to: transition.to,
        at: new Date(transition.at)
      }),
      logTransition(shell.name, transition)
    )
  )

const announce = (shell: Shell, step: Machine.Step<unknown>): Effect.Effect<void> => {
  const machine = step.machine
  // an opening that is still running needs a timer to publish its end; an isolated one has none
  const timer = machine.state === "open" && Number.isFinite(machine.openUntil)
    ? Effect.asVoid(wakeAt(shell, machine.openUntil))
    : Effect.void
  return Effect.forEach(step.transitions, (transition) => publish(shell, transition), { discard: true }).pipe(
    Effect.andThen(timer),
    Effect.andThen(shell.persist),
    annotate(shell)
  )
}

// Publishes what a deadline changes (the end of an opening, a probe timeout) when it passes,
// even if no call comes. A timer may wake a little before the clock reaches its deadline
// (Node's timers do, by a millisecond): it then sleeps again for what is left, and only
// gives up once the deadline has passed and the step made of it is announced (or made
// moot by another fiber that announced it first). Forked interruptible, in the breaker's
// scope: it may be started from inside the uninterruptible settling of a call.
const wakeAt = (shell: Shell, at: number): Effect.Effect<Fiber.Fiber<void>> => {
  const loop: Effect.Effect<void> = Effect.suspend(() => {
    const left = at - shell.now()
    return left > 0
      ? Effect.andThen(shell.clock.sleep(Duration.millis(left)), loop)
      : Effect.flatMap(
        observation(shell),
        (step) => step.transitions.length === 0 ? Effect.void : announce(shell, step)
      )
  })
  return Effect.forkIn(Effect.interruptible(loop), shell.scope)
}

const after = <A, E, R>(
  shell: Shell,
  step: Machine.Step<unknown>,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => step.transitions.length === 0 ? effect : Effect.andThen(announce(shell, step), effect)

// the machine after a step, once the step's transitions are announced
const announced = (shell: Shell, step: Machine.Step<unknown>): Effect.Effect<Machine.Machine<unknown>> =>
  step.transitions.length === 0 ? Effect.succeed(step.machine) : Effect.as(announce(shell, step), step.machine)

const reject = (
  shell: Shell,
  rejected: Machine.Rejected
): Effect.Effect<never, ServiceUnavailable.ServiceUnavailable> => {
  const last = shell.lastRejection
  if (
    last !== undefined && last.key.generation === rejected.generation &&
    last.key.retryAfterMillis === rejected.retryAfterMillis && last.key.state === rejected.state
  ) {
    return last.exit
  }
  const error = ServiceUnavailable.unsafeMake(shell.name, rejected.state, Math.max(0, rejected.retryAfterMillis))
  const exit = Effect.fail(error)
  shell.lastRejection = { key: rejected, exit }
  return exit
}

// Steps the machine with an outcome and announces what it changed. Runs uninterruptibly
// wherever a transition is possible, so that a state change is never left unannounced.
const settle = (
  shell: Shell,
  ticket: Machine.Ticket,
  outcome: "Success" | FailedOutcome,
  durationMillis: number
): Effect.Effect<void> =>
  Effect.flatMap(
    stepWith(
      shell,
      (typeof outcome === "string"
        ? { _tag: outcome, ticket, durationMillis }
        : { _tag: "Failure", ticket, durationMillis, retryAfterMillis: outcome.retryAfterMillis }) as Machine.Event
    ),
    (step) => {
      if (outcome === "Silent" && ticket.probe) shell.onProbeSilent?.()
      return step.transitions.length === 0 ? Effect.void : announce(shell, step)
    }
  )

/**
 * Settles a failed call. `judge` is the HTTP client's; without one, the breaker's `isFailure`
 * decides (told whether the call was a probe; its verdict may be an effect).
 */
const settleFailure = <E>(
  shell: Shell,
  ticket: Machine.Ticket,
  cause: Cause.Cause<E>,
  durationMillis: number,
  judge: Judge | undefined
): Effect.Effect<never, E> => {
  // a judge that throws, fails or dies is a bug: count the call so that no permit is lost, and
  // surface it. An effectful verdict runs interruptibly (the settling around it is not): a judge
  // interrupted before it answers leaves the call silent, as an interrupted call is, so that a
  // judge that hangs never holds the call, its scope or a probe's permit
  let outcome: FailedOutcome | Effect.Effect<FailedOutcome>
  try {
    outcome = judge === undefined ? judgeBy(shell.isFailure, cause, ticket.probe) : judge(cause)
  } catch (defect) {
    return Effect.andThen(
      settle(shell, ticket, "Failure", durationMillis),
      Effect.failCause(Cause.combine(cause, Cause.die(defect)))
    )
  }
  if (Effect.isEffect(outcome)) {
    return Effect.matchCauseEffect(Effect.interruptible(outcome as Effect.Effect<FailedOutcome>), {
      onFailure: (judgeCause) =>
        Cause.hasInterruptsOnly(judgeCause)
          ? Effect.andThen(
            settle(shell, ticket, "Silent", durationMillis),
            Effect.failCause(Cause.combine(cause, judgeCause))
          )
          : Effect.andThen(
            settle(shell, ticket, "Failure", durationMillis),
            Effect.failCause(Cause.combine(cause, Cause.die(Cause.squash(judgeCause))))
          ),
      onSuccess: (judged) => Effect.andThen(settle(shell, ticket, judged, durationMillis), Effect.failCause(cause))
    })
  }
  return Effect.andThen(settle(shell, ticket, outcome, durationMillis), Effect.failCause(cause))
}

/**
 * A call the breaker refused, run anyway because it was made with `onRejection: "allow"`:
 * unrecorded, after a log line that says so.
 */
const runUnrecorded = <A, E, R>(
  shell: Shell,
  rejected: Machine.Rejected,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.andThen(
    Effect.logInfo(BreakerText.unrecordedLog(shell.name, rejected.state)).pipe(annotate(shell)),
    self
  )

// The closed path holds no permit: an interruption simply skips these handlers, which is
// exactly "counts neither way", so no uninterruptible region is needed for the call itself.
// A failure can trip the breaker, so its settling is uninterruptible.
//
// A success skips the Ref step only when stepping the machine with it would change nothing
// at all (closed, nothing counted, no deadline passed): then there is nothing to write or to
// announce. Anything else (a count to reset, or an opening whose end the step would reveal)
// goes through `settle`, which announces.
const runClosedUntimed = <A, E, R>(
  shell: Shell,
  self: Effect.Effect<A, E, R>,
  ticket: Machine.Ticket,
  judge: Judge | undefined
): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(self, {
    onSuccess: (value) => {
      if (shell.config.strategy.onSuccessMayTrip !== true) {
        const machine = shell.current
        // without the wall clock: a step that dates anything changes the machine, and is then
        // made again by `settle`
        const step = Machine.step(machine, { _tag: "Success", ticket }, shell.now(), shell.config)
        if (step.machine === machine) return Effect.succeed(value)
      }
      return Effect.as(Effect.uninterruptible(settle(shell, ticket, "Success", 0)), value)
    },
    onFailure: (cause) => Effect.uninterruptible(settleFailure(shell, ticket, cause, 0, judge))
  })

// For a strategy that reads durations (slow calls): the clock is read when the call starts
// and when it ends, and only for such a strategy.
const runClosedTimed = <A, E, R>(
  shell: Shell,
  self: Effect.Effect<A, E, R>,
  ticket: Machine.Ticket,
  judge: Judge | undefined
): Effect.Effect<A, E, R> => {
  const start = shell.now()
  return Effect.matchCauseEffect(self, {
    onSuccess: (value) =>
      Effect.as(Effect.uninterruptible(settle(shell, ticket, "Success", shell.now() - start)), value),
    onFailure: (cause) => Effect.uninterruptible(settleFailure(shell, ticket, cause, shell.now() - start, judge))
  })
}

// Probes hold a permit: admission and settling happen with interruption masked, the call
// itself runs interruptibly, and every exit (interruption included) settles. A probe under a
// probe timeout also starts the timer that publishes its timing out, and stops it when it
// ends first.
const runGuarded = <A, E, R>(
  shell: Shell,
  self: Effect.Effect<A, E, R>,
  judge: Judge | undefined,
  call: CallSettings
): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(admission(shell), (step): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
      const decision = step.decision as Machine.Ticket | Machine.Rejected
      if (decision._tag === "Rejected") {
        if (decision.asksLease === true) shell.onLeaseAsked?.()
        if (call.allow) return after(shell, step, runUnrecorded(shell, decision, restore(self)))
        return after(shell, step, reject(shell, decision))
      }
      const run = (timer: Fiber.Fiber<void> | undefined) => {
        const settled = <X, Y>(effect: Effect.Effect<X, Y>) =>
          timer === undefined ? effect : Effect.ensuring(effect, Effect.forkDetach(Fiber.interrupt(timer)))
        return Effect.matchCauseEffect(restore(self), {
          onSuccess: (value) => settled(Effect.as(settle(shell, decision, "Success", 0), value)),
          onFailure: (cause) => settled(settleFailure(shell, decision, cause, 0, judge))
        })
      }
      return after(
        shell,
        step,
        decision.deadline === undefined ? run(undefined) : Effect.flatMap(wakeAt(shell, decision.deadline), run)
      )
    })
  )

const protectJudged = <A, E, R>(
  shell: Shell,
  self: Effect.Effect<A, E, R>,
  judge: Judge | undefined,
  call: CallSettings = byDefault
): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
  Effect.suspend((): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
    const decision = Machine.peek(shell.current, shell.config, shell.now)
    switch (decision._tag) {
      case "Ticket":
        return shell.config.strategy.needsDuration === true
          ? runClosedTimed(shell, self, decision, judge)
          : runClosedUntimed(shell, self, decision, judge)
      case "Rejected":
        return call.allow ? runUnrecorded(shell, decision, self) : reject(shell, decision)
      case "Guarded":
        return runGuarded(shell, self, judge, call)
    }
  })

const manually = (shell: Shell, event: Machine.Event): Effect.Effect<void> =>
  Effect.uninterruptible(
    Effect.flatMap(
      stepWith(shell, event),
      (step) => step.transitions.length === 0 ? Effect.void : announce(shell, step)
    )
  )

const fleetStep = (shell: Shell, event: Machine.FleetEvent): Effect.Effect<Machine.Step<unknown>> =>
  Effect.uninterruptible(Effect.tap(stepWith(shell, event), (step) => {
    if (step.transitions.length > 0) return announce(shell, step)
    // an opening moved by the fleet needs a timer for its new end
    const machine = step.machine
    return event._tag === "AdoptOpen" && machine.state === "open" && Number.isFinite(machine.openUntil)
      ? Effect.asVoid(wakeAt(shell, machine.openUntil))
      : Effect.void
  }))

const rejectionOf = (shell: Shell): Effect.Effect<Option.Option<ServiceUnavailable.ServiceUnavailable>> =>
  Effect.suspend(() => {
    const decision = Machine.peek(shell.current, shell.config, shell.now)
    return decision._tag === "Rejected"
      ? Effect.map(Effect.flip(reject(shell, decision)), Option.some)
      : Effect.succeedNone
  })

const awaitOpen = (subscription: PubSub.Subscription<CircuitBreaker.StateChange>): Effect.Effect<void> =>
  Effect.flatMap(PubSub.take(subscription), (change) => change.to === "open" ? Effect.void : awaitOpen(subscription))

// One subscription for the whole wait, however many openings pass without a rejection (an
// opening can end before the waiter looks, e.g. when a probe closes it at once).
const awaitRejectionOf = (shell: Shell): Effect.Effect<ServiceUnavailable.ServiceUnavailable> => {
  const waiterSubscription = Effect.andThen(
    Effect.acquireRelease(
      Effect.sync(() => built(shell).waiters++),
      () => Effect.sync(() => built(shell).waiters--)
    ),
    Effect.flatMap(theHub(shell), PubSub.subscribe)
  )
  return Effect.scoped(
    Effect.flatMap(waiterSubscription, (subscription) => {
      const loop: Effect.Effect<ServiceUnavailable.ServiceUnavailable> = Effect.flatMap(
        shell.rejection,
        (now) =>
          Option.match(now, {
            onSome: Effect.succeed,
            onNone: () => Effect.andThen(awaitOpen(subscription), loop)
          })
      )
      return loop
    })
  )
}

/** The callable: `breaker(effect)` protects; its shell is a property of it. */
interface Callable {
  readonly [InternalTypeId]: Shell
}

const shellOf = (breaker: unknown): Shell => (breaker as Callable)[InternalTypeId]

const member = <A>(build: (shell: Shell) => A): PropertyDescriptor => ({
  get(this: unknown) {
    return build(shellOf(this))
  },
  enumerable: true
})

/**
 * What a breaker carries, as accessors shared by every breaker: each member is built from the
 * breaker's shell when first read, then the same value on every read. Being the same accessors
 * for every breaker, they cost a breaker no memory until they are read.
 */
const members: PropertyDescriptorMap = {
  [TypeId]: { get: () => TypeId, enumerable: true },
  service: member((shell) => shell.name),
  status: member((shell) =>
    built(shell).status ??= Effect.flatMap(
      observation(shell),
      (step) => after(shell, step, Effect.succeed(toStatus(shell.name, step.machine)))
    )
  ),
  state: member((shell) =>
    built(shell).state ??= Effect.flatMap(
      observation(shell),
      (step) => after(shell, step, Effect.succeed(step.machine.state))
    )
  ),
  changes: member((shell) =>
    built(shell).changes ??= Stream.unwrap(Effect.map(theHub(shell), (made) => Stream.fromPubSub(made)))
  ),
  subscribe: member((shell) => built(shell).subscribe ??= Effect.flatMap(theHub(shell), PubSub.subscribe)),
  isolate: member((shell) => built(shell).isolate ??= manually(shell, Machine.isolateEvent)),
  reset: member((shell) => built(shell).reset ??= manually(shell, Machine.resetEvent)),
  isolated: member((shell) => built(shell).isolated ??= Effect.sync(() => shell.current.isolated)),
  withOptions: member((shell) => (options: CircuitBreaker.CallOptions) => {
    const call = callSettings(options)
    return <A, E, R>(self: Effect.Effect<A, E, R>) => protectJudged(shell, self, undefined, call)
  }),
  [FleetHookId]: { ...member((shell) => shell), enumerable: false }
}

/**
 * Checks breaker options as `make` does, making nothing: a keyed breaker checks its options once
 * and makes each key's breaker with them.
 *
 * @internal
 */
export const checkOptions = (options: CircuitBreaker.Options): Effect.Effect<void, Config.ConfigError> =>
  Effect.asVoid(settings(options, 0))

/** Whether a breaker made here is isolated now, read without an effect. @internal */
export const isolatedNow = (breaker: CircuitBreaker.CircuitBreaker): boolean => shellOf(breaker).current.isolated

/**
 * When the last opening of a breaker made here ends (or ended, in `half_open`), read without an
 * effect: monotonic milliseconds (`Infinity` while isolated), `-Infinity` when it is closed. @internal
 */
export const openUntilNow = (breaker: CircuitBreaker.CircuitBreaker): number => {
  const machine = shellOf(breaker).current
  return machine.state === "closed" ? Number.NEGATIVE_INFINITY : machine.openUntil
}

/**
 * `metricService`: the `service` attribute of the breaker's metrics, when not its name (the
 * breakers of a keyed breaker share their keyed breaker's series, so that keys coming and going
 * add none).
 *
 * @internal
 */
export const make = (
  options: CircuitBreaker.Options = {},
  metricService?: string
): Effect.Effect<CircuitBreaker.CircuitBreaker, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock: Clock.Clock = yield* Effect.clockWith(Effect.succeed)
    const { config, isFailure, name, persistence, unnamed: isUnnamed } = yield* settings(
      options,
      Time.monotonicMillis(clock)
    )
    if (isUnnamed) {
      // claimed in the same synchronous step as the name was chosen, released with the scope
      unnamedInUse.add(name)
      yield* Effect.addFinalizer(() => Effect.sync(() => unnamedInUse.delete(name)))
    }
    const scope = yield* Effect.scope
    const restored = persistence === undefined
      ? Option.none<Machine.Snapshot>()
      : yield* BreakerStore.load(persistence.store, persistence.key, name, persistence.timeout).pipe(
        Effect.annotateLogs("service", name)
      )
    const now = Time.monotonicMillis(clock)
    const wall = clock.currentTimeMillisUnsafe()
    const initial = Option.isSome(restored)
      ? Machine.restore(config, restored.value, now, wall)
      : Machine.initial(config, now, wall)
    const ref = yield* Ref.make(initial)
    const registry = yield* Metric.MetricRegistry
    const metrics = Context.make(Metric.MetricRegistry, registry)
    const shell = new Shell(name, config, isFailure, clock, scope, ref, initial, metrics, metricService ?? name)
    recordState(shell, shell.current.state)
    if (persistence !== undefined) {
      const writer = yield* startWriter(shell, persistence)
      shell.persist = writer.persist
      shell.storeIdle = writer.idle
    }

    if (Option.isSome(restored) && shell.current.state !== "closed") {
      const machine = shell.current
      yield* Effect.logInfo(BreakerText.restoredLog(name, {
        state: machine.state === "open" ? "open" : "half_open",
        isolated: machine.isolated,
        remainingMillis: machine.openUntil - shell.now()
      })).pipe(annotate(shell))
      if (machine.state === "open" && Number.isFinite(machine.openUntil)) yield* wakeAt(shell, machine.openUntil)
    }

    yield* joinFleet(shell.breaker, shell)
    return shell.breaker
  })

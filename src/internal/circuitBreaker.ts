import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import * as Metrics from "../Metrics.js"
import * as ServiceStatus from "../ServiceStatus.js"
import * as ServiceUnavailable from "../ServiceUnavailable.js"
import * as BreakerStore from "./breakerStore.js"
import * as defaults from "./defaults.js"
import * as FleetMembership from "./fleetMembership.js"
import * as Machine from "./machine.js"
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
   * Protects `self` like calling the breaker, but with the outcome of a failed call decided by
   * `judge` instead of `isFailure`: the HTTP client knows the three outcomes of an attempt.
   */
  readonly protectJudged: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    judge: (cause: Cause.Cause<E>) => FailedOutcome
  ) => Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R>
}

/**
 * How a failed call ends for the breaker: counted (`Failure`), the service answered but the
 * failure does not count (`Ignored`), or it says nothing about the service (`Silent`).
 *
 * @internal
 */
export type FailedOutcome = "Failure" | "Ignored" | "Silent"

/**
 * The default judge of a failed call: a defect counts, an interruption says nothing, a typed
 * failure counts when `isFailure` says so.
 *
 * @internal
 */
export const judgeWith = (isFailure: (error: unknown) => boolean) => <E>(cause: Cause.Cause<E>): FailedOutcome => {
  if (Cause.isDie(cause)) return "Failure"
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return "Silent"
  return isFailure(failure.value) ? "Failure" : "Ignored"
}

/** @internal */
export const internals = (breaker: CircuitBreaker.CircuitBreaker): Internals =>
  (breaker as unknown as { readonly [InternalTypeId]: Internals })[InternalTypeId]

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
}

/** @internal */
export const fleetHook = (breaker: CircuitBreaker.CircuitBreaker): FleetHook =>
  (breaker as unknown as { readonly [FleetHookId]: FleetHook })[FleetHookId]

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
  readonly isFailure: (error: unknown) => boolean
  readonly persistence: Persistence | undefined
}

/**
 * The open durations a recovery schedule gives, stepped ahead of time on the breaker's clock so
 * that the machine stays pure: the delay of step n is the length of the n-th opening.
 */
const openDurations = (
  schedule: Schedule.Schedule<unknown, unknown>,
  start: number
): Effect.Effect<ReadonlyArray<number>, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const durations: Array<number> = []
    let state = schedule.initial
    let now = start
    while (durations.length < scheduledOpenings) {
      const [next, _, decision] = yield* schedule.step(now, undefined, state)
      if (ScheduleDecision.isDone(decision)) break
      const delay = ScheduleIntervals.start(decision.intervals) - now
      if (!(delay > 0) || !Number.isFinite(delay)) {
        return yield* validate.invalid(
          "recoveryTimeout",
          `every delay of the schedule must be positive and finite, but delay ${durations.length + 1} is ${delay} ms`
        )
      }
      durations.push(delay)
      state = next
      now += delay
    }
    if (durations.length === 0) {
      return yield* validate.invalid("recoveryTimeout", "the schedule ends before its first delay")
    }
    return durations
  })

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
): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const name = options.name === undefined ? unnamed() : yield* validate.nonEmptyString("name", options.name, "")
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
    const isFailure = yield* validate.optionalFunction("isFailure", options.isFailure, countsAll)
    const strategy: unknown = options.strategy ?? Machine.consecutiveFailures(failureThreshold)
    if (!isStrategy(strategy)) {
      return yield* validate.invalid(
        "strategy",
        "must be a TrippingStrategy (initial, onSuccess, onFailure, shouldTrip) such as consecutiveFailures(5)"
      )
    }
    const strategyError = Machine.strategyError(strategy)
    if (strategyError !== undefined) return yield* Effect.fail(strategyError)
    if (options.store !== undefined && !isKeyValueStore(options.store)) {
      return yield* validate.invalid("store", "must be a KeyValueStore from @effect/platform")
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
        probeTimeoutMillis: probeTimeout === undefined ? undefined : Duration.toMillis(probeTimeout)
      }
    }
  })

const logTransition = (name: string, transition: Machine.Transition): Effect.Effect<void> => {
  switch (transition.reason) {
    case "threshold":
      return Effect.logError(`[${name}] Circuit breaker OPEN (threshold reached)`)
    case "probe_failed":
      return Effect.logError(`[${name}] Circuit breaker OPEN (probe failed)`)
    case "probe_timeout":
      return Effect.logError(`[${name}] Circuit breaker OPEN (probe timed out)`)
    case "isolated":
      return Effect.logWarning(`[${name}] Circuit breaker OPEN (isolated manually)`)
    case "recovery":
      return Effect.logInfo(`[${name}] Circuit breaker HALF_OPEN (testing recovery)`)
    case "recovered":
      return Effect.logInfo(`[${name}] Circuit breaker CLOSED (service recovered)`)
    case "reset":
      return Effect.logInfo(`[${name}] Circuit breaker CLOSED (reset manually)`)
    case "fleet_opened":
      return Effect.logError(`[${name}] Circuit breaker OPEN (opened by the fleet)`)
    case "fleet_closed":
      return Effect.logInfo(`[${name}] Circuit breaker CLOSED (closed by the fleet)`)
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

/** @internal */
export const make = (
  options: CircuitBreaker.Options = {}
): Effect.Effect<CircuitBreaker.CircuitBreaker, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    // The breaker keeps one timeline: the Clock of the context it is made in (a TestClock in tests).
    const clock: Clock.Clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const { config, isFailure, name, persistence, unnamed: isUnnamed } = yield* settings(options, now())
    if (isUnnamed) {
      // claimed in the same synchronous step as the name was chosen, released with the scope
      unnamedInUse.add(name)
      yield* Effect.addFinalizer(() => Effect.sync(() => unnamedInUse.delete(name)))
    }
    const scope = yield* Effect.scope
    // The hub of `changes` is made when first subscribed (most breakers of a per-host or
    // per-tenant fleet are never watched: it is most of a breaker's weight, about 3 KB of its
    // 3.5 KB, measured by the bench's memory section); until then a transition has nobody to
    // reach and is not published.
    let hub: PubSub.PubSub<CircuitBreaker.StateChange> | undefined
    const theHub: Effect.Effect<PubSub.PubSub<CircuitBreaker.StateChange>> = Effect.suspend(() =>
      hub !== undefined ? Effect.succeed(hub) : Effect.flatMap(
        PubSub.sliding<CircuitBreaker.StateChange>(changesCapacity),
        (made) => {
          // another fiber may have made one meanwhile: keep the first
          if (hub !== undefined) return Effect.as(PubSub.shutdown(made), hub)
          hub = made
          return Effect.as(Scope.addFinalizer(scope, PubSub.shutdown(made)), made)
        }
      )
    )
    const annotate = Effect.annotateLogs("service", name)
    const restored = persistence === undefined
      ? Option.none<Machine.Snapshot>()
      : yield* BreakerStore.load(persistence.store, persistence.key, name, persistence.timeout).pipe(annotate)
    // `current` mirrors the Ref: every write goes through `Ref.modify` below, whose callback also
    // updates the mirror in the same synchronous step. The hot path reads the mirror instead of
    // spending an effect on `Ref.get`; it never writes it.
    let current = Option.isSome(restored)
      ? Machine.restore(config, restored.value, now())
      : Machine.initial(config, now())
    const ref = yield* Ref.make(current)

    const stepWith = (event: Machine.Event) =>
      Ref.modify(ref, (machine) => {
        const step = Machine.step(machine, event, now(), config)
        current = step.machine
        return [step, step.machine] as const
      })
    const guardedAdmission = stepWith(Machine.admitEvent)
    const observation = stepWith(Machine.observeEvent)

    const serviceTag = [MetricLabel.make("service", name)]
    const recordState = (state: CircuitBreaker.State) =>
      Metrics.breakerState.unsafeUpdate(Metrics.stateValue(state), serviceTag)
    recordState(current.state)

    // Store writes never run on a caller's path: a transition leaves the latest snapshot for the
    // breaker's own writer fiber (a newer one replaces one not yet written), which writes it
    // bounded by the store timeout. A store that hangs or fails delays nothing but its own
    // writes. When the scope closes, the writer is given up to the store timeout to finish the
    // write it is making and the latest snapshot after it, so that a graceful shutdown loses no
    // transition; a store that hangs holds the close up for that long at most.
    const persist: Effect.Effect<void> = persistence === undefined ? Effect.void : yield* Effect.gen(function*() {
      const write = (snapshot: Machine.Snapshot) =>
        BreakerStore.save(persistence.store, persistence.key, name, snapshot, persistence.timeout)
      // the latest snapshot whose write has not started, and whether a write is running
      let pending: Machine.Snapshot | undefined
      let writing = false
      let idleWaiters: Array<() => void> = []
      const settled = () => pending === undefined && !writing
      const idle = Effect.async<void>((resume) => {
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
        Effect.zipRight(writeNext),
        Effect.forever,
        annotate,
        Effect.interruptible,
        Effect.forkIn(scope)
      )
      // added after the writer was forked, so that it runs before the writer is interrupted
      yield* Effect.addFinalizer(() => Effect.ignore(Effect.timeout(Effect.interruptible(idle), persistence.timeout)))
      return Effect.sync(() => {
        pending = Machine.snapshot(current)
        wake.unsafeOffer(undefined)
      })
    })

    const publish = (transition: Machine.Transition): Effect.Effect<void> =>
      Effect.zipRight(
        Effect.sync(() => {
          recordState(transition.to)
          Metrics.stateChangesTotal.unsafeUpdate(1, [...serviceTag, MetricLabel.make("to", transition.to)])
        }),
        Effect.zipRight(
          hub === undefined ? Effect.void : PubSub.publish(hub, {
            service: name,
            from: transition.from,
            to: transition.to,
            at: new Date(transition.at)
          }),
          logTransition(name, transition)
        )
      )
    const announce = (step: Machine.Step<unknown>): Effect.Effect<void> => {
      const machine = step.machine
      // an opening that is still running needs a timer to publish its end; an isolated one has none
      const timer = machine.state === "open" && Number.isFinite(machine.openUntil)
        ? Effect.asVoid(wakeAt(machine.openUntil))
        : Effect.void
      return Effect.forEach(step.transitions, publish, { discard: true }).pipe(
        Effect.zipRight(timer),
        Effect.zipRight(persist),
        annotate
      )
    }

    // Publishes what a deadline changes (the end of an opening, a probe timeout) when it passes,
    // even if no call comes. A timer may wake a little before the clock reaches its deadline
    // (Node's timers do, by a millisecond): it then sleeps again for what is left, and only
    // gives up once the deadline has passed and the step made of it is announced (or made
    // moot by another fiber that announced it first). Forked interruptible, in the breaker's
    // scope: it may be started from inside the uninterruptible settling of a call.
    const wakeAt = (at: number): Effect.Effect<Fiber.RuntimeFiber<void>> => {
      const loop: Effect.Effect<void> = Effect.suspend(() => {
        const left = at - now()
        return left > 0
          ? Effect.zipRight(clock.sleep(Duration.millis(left)), loop)
          : Effect.flatMap(observation, (step) => step.transitions.length === 0 ? Effect.void : announce(step))
      })
      return Effect.forkIn(Effect.interruptible(loop), scope)
    }

    const after = <A, E, R>(step: Machine.Step<unknown>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      step.transitions.length === 0 ? effect : Effect.zipRight(announce(step), effect)

    // A rejection is the same value for the same generation and retry delay: reuse the last one
    // rather than building an error per rejected call.
    let lastRejection: {
      readonly key: Machine.Rejected
      readonly exit: Effect.Effect<never, ServiceUnavailable.ServiceUnavailable>
    } | undefined
    const reject = (rejected: Machine.Rejected) => {
      const last = lastRejection
      if (
        last !== undefined && last.key.generation === rejected.generation &&
        last.key.retryAfterMillis === rejected.retryAfterMillis && last.key.state === rejected.state
      ) {
        return last.exit
      }
      const error = ServiceUnavailable.unsafeMake(name, rejected.state, Math.max(0, rejected.retryAfterMillis))
      const exit = Effect.failCause(Cause.fail(error))
      lastRejection = { key: rejected, exit }
      return exit
    }

    // Steps the machine with an outcome and announces what it changed. Runs uninterruptibly
    // wherever a transition is possible, so that a state change is never left unannounced.
    const settle = (
      ticket: Machine.Ticket,
      tag: "Success" | FailedOutcome,
      durationMillis: number
    ) =>
      Effect.flatMap(
        stepWith({ _tag: tag, ticket, durationMillis } as Machine.Event),
        (step) => step.transitions.length === 0 ? Effect.void : announce(step)
      )

    type Judge = (cause: Cause.Cause<any>) => FailedOutcome
    const defaultJudge: Judge = judgeWith(isFailure)

    const settleFailure = <E>(
      ticket: Machine.Ticket,
      cause: Cause.Cause<E>,
      durationMillis: number,
      judge: Judge
    ): Effect.Effect<never, E> => {
      let outcome: FailedOutcome
      try {
        outcome = judge(cause)
      } catch (defect) {
        // a throwing isFailure is a bug: count the call so that no permit is lost, and surface it
        return Effect.zipRight(
          settle(ticket, "Failure", durationMillis),
          Effect.failCause(Cause.sequential(cause, Cause.die(defect)))
        )
      }
      return Effect.zipRight(settle(ticket, outcome, durationMillis), Effect.failCause(cause))
    }

    // The closed path holds no permit: an interruption simply skips these handlers, which is
    // exactly "counts neither way", so no uninterruptible region is needed for the call itself.
    // A failure can trip the breaker, so its settling is uninterruptible.
    //
    // A success skips the Ref step only when stepping the machine with it would change nothing
    // at all (closed, nothing counted, no deadline passed): then there is nothing to write or to
    // announce. Anything else (a count to reset, or an opening whose end the step would reveal)
    // goes through `settle`, which announces. Measured by `npm run bench:breaker` (closed path).
    const successCannotTrip = config.strategy.onSuccessMayTrip !== true
    const runClosedUntimed = <A, E, R>(
      self: Effect.Effect<A, E, R>,
      ticket: Machine.Ticket,
      judge: Judge
    ): Effect.Effect<A, E, R> =>
      Effect.matchCauseEffect(self, {
        onSuccess: (value) => {
          if (successCannotTrip) {
            const machine = current
            const step = Machine.step(machine, { _tag: "Success", ticket }, now(), config)
            if (step.machine === machine) return Effect.succeed(value)
          }
          return Effect.as(Effect.uninterruptible(settle(ticket, "Success", 0)), value)
        },
        onFailure: (cause) => Effect.uninterruptible(settleFailure(ticket, cause, 0, judge))
      })
    // For a strategy that reads durations (slow calls): the clock is read when the call starts
    // and when it ends, and only for such a strategy.
    const runClosedTimed = <A, E, R>(
      self: Effect.Effect<A, E, R>,
      ticket: Machine.Ticket,
      judge: Judge
    ): Effect.Effect<A, E, R> => {
      const start = now()
      return Effect.matchCauseEffect(self, {
        onSuccess: (value) => Effect.as(Effect.uninterruptible(settle(ticket, "Success", now() - start)), value),
        onFailure: (cause) => Effect.uninterruptible(settleFailure(ticket, cause, now() - start, judge))
      })
    }
    const runClosed = config.strategy.needsDuration === true ? runClosedTimed : runClosedUntimed

    // Probes hold a permit: admission and settling happen with interruption masked, the call
    // itself runs interruptibly, and every exit (interruption included) settles. A probe under a
    // probe timeout also starts the timer that publishes its timing out, and stops it when it
    // ends first.
    const runGuarded = <A, E, R>(
      self: Effect.Effect<A, E, R>,
      judge: Judge
    ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(guardedAdmission, (step): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
          const decision = step.decision as Machine.Ticket | Machine.Rejected
          if (decision._tag === "Rejected") return after(step, reject(decision))
          const run = (timer: Fiber.RuntimeFiber<void> | undefined) => {
            const settled = <X, Y>(effect: Effect.Effect<X, Y>) =>
              timer === undefined ? effect : Effect.ensuring(effect, Fiber.interruptFork(timer))
            return Effect.matchCauseEffect(restore(self), {
              onSuccess: (value) => settled(Effect.as(settle(decision, "Success", 0), value)),
              onFailure: (cause) => settled(settleFailure(decision, cause, 0, judge))
            })
          }
          return after(
            step,
            decision.deadline === undefined ? run(undefined) : Effect.flatMap(wakeAt(decision.deadline), run)
          )
        })
      )

    const protectJudged = <A, E, R>(
      self: Effect.Effect<A, E, R>,
      judge: Judge
    ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
      Effect.suspend((): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
        const decision = Machine.peek(current, config, now)
        switch (decision._tag) {
          case "Ticket":
            return runClosed(self, decision, judge)
          case "Rejected":
            return reject(decision)
          case "Guarded":
            return runGuarded(self, judge)
        }
      })
    const protect = <A, E, R>(
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => protectJudged(self, defaultJudge)

    const manually = (event: Machine.Event): Effect.Effect<void> =>
      Effect.uninterruptible(
        Effect.flatMap(stepWith(event), (step) => step.transitions.length === 0 ? Effect.void : announce(step))
      )

    if (Option.isSome(restored) && current.state !== "closed") {
      const machine = current
      yield* Effect.logInfo(
        `[${name}] Circuit breaker ${machine.state === "open" ? "OPEN" : "HALF_OPEN"} (restored from the store${
          machine.isolated
            ? ", isolated manually"
            : machine.state === "open"
            ? `, next probe in ${Duration.format(Duration.millis(Math.max(0, machine.openUntil - now())))}`
            : ""
        })`
      ).pipe(annotate)
      if (machine.state === "open" && Number.isFinite(machine.openUntil)) yield* wakeAt(machine.openUntil)
    }

    const rejection = Effect.suspend(() => {
      const decision = Machine.peek(current, config, now)
      return decision._tag === "Rejected"
        ? Effect.map(Effect.flip(reject(decision)), Option.some)
        : Effect.succeedNone
    })
    const awaitOpen = (queue: Queue.Dequeue<CircuitBreaker.StateChange>): Effect.Effect<void> =>
      Effect.flatMap(Queue.take(queue), (change) => change.to === "open" ? Effect.void : awaitOpen(queue))
    // One subscription for the whole wait, however many openings pass without a rejection (an
    // opening can end before the waiter looks, e.g. when a probe closes it at once).
    let rejectionWaiters = 0
    const waiterSubscription = Effect.zipRight(
      Effect.acquireRelease(
        Effect.sync(() => rejectionWaiters++),
        () => Effect.sync(() => rejectionWaiters--)
      ),
      Effect.flatMap(theHub, PubSub.subscribe)
    )
    const awaitRejection: Effect.Effect<ServiceUnavailable.ServiceUnavailable> = Effect.scoped(
      Effect.flatMap(waiterSubscription, (queue) => {
        const loop: Effect.Effect<ServiceUnavailable.ServiceUnavailable> = Effect.flatMap(rejection, (now) =>
          Option.match(now, {
            onSome: Effect.succeed,
            onNone: () =>
              Effect.zipRight(awaitOpen(queue), loop)
          }))
        return loop
      })
    )
    const internalApi: Internals = {
      rejection,
      awaitRejection,
      currentState: () =>
        current.state,
      rejectionWaiters: () => rejectionWaiters,
      protectJudged
    }
    // the machine after a step, once the step's transitions are announced
    const announced = (step: Machine.Step<unknown>): Effect.Effect<Machine.Machine<unknown>> =>
      step.transitions.length === 0 ? Effect.succeed(step.machine) : Effect.as(announce(step), step.machine)
    const fleetApi: FleetHook = {
      name,
      config,
      machine: () => current,
      step: (event) =>
        Effect.uninterruptible(Effect.tap(stepWith(event), (step) => {
          if (step.transitions.length > 0) return announce(step)
          // an opening moved by the fleet needs a timer for its new end
          const machine = step.machine
          return event._tag === "AdoptOpen" && machine.state === "open" && Number.isFinite(machine.openUntil)
            ? wakeAt(machine.openUntil)
            : Effect.void
        })),
      observe: Effect.uninterruptible(Effect.flatMap(observation, announced))
    }

    const breaker = Object.assign(protect, {
      [InternalTypeId]: internalApi,
      [TypeId]: TypeId,
      service: name,
      status: Effect.flatMap(observation, (step) => after(step, Effect.succeed(toStatus(name, step.machine)))),
      state: Effect.flatMap(observation, (step) => after(step, Effect.succeed(step.machine.state))),
      changes: Stream.unwrap(Effect.map(theHub, (made) => Stream.fromPubSub(made))),
      subscribe: Effect.flatMap(theHub, PubSub.subscribe),
      isolate: manually(Machine.isolateEvent),
      reset: manually(Machine.resetEvent),
      isolated: Effect.sync(() => current.isolated)
    }) as CircuitBreaker.CircuitBreaker
    Object.defineProperty(breaker, FleetHookId, { value: fleetApi })
    yield* FleetMembership.join(breaker, fleetApi)
    return breaker
  })

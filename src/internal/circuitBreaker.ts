import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import * as Metrics from "../Metrics.js"
import * as ServiceStatus from "../ServiceStatus.js"
import * as ServiceUnavailable from "../ServiceUnavailable.js"
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
}

/** @internal */
export const internals = (breaker: CircuitBreaker.CircuitBreaker): Internals =>
  (breaker as unknown as { readonly [InternalTypeId]: Internals })[InternalTypeId]

/** @internal */
export const defaults = {
  name: "circuit-breaker",
  failureThreshold: 5,
  recoveryTimeout: "60 seconds",
  halfOpenMaxProbes: 1
} as const

/** How many transitions a subscriber of `changes` may fall behind before the oldest are dropped. */
const changesCapacity = 1024

const countsAll = (_: unknown): boolean => true

interface Settings {
  readonly name: string
  readonly config: Machine.Config<unknown>
  readonly isFailure: (error: unknown) => boolean
}

const settings = (options: CircuitBreaker.Options): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const name = yield* validate.nonEmptyString("name", options.name, defaults.name)
    const failureThreshold = yield* validate.positiveInteger(
      "failureThreshold",
      options.failureThreshold,
      defaults.failureThreshold
    )
    const recoveryTimeout = yield* validate.positiveDuration(
      "recoveryTimeout",
      options.recoveryTimeout,
      defaults.recoveryTimeout
    )
    const halfOpenMaxProbes = yield* validate.positiveInteger(
      "halfOpenMaxProbes",
      options.halfOpenMaxProbes,
      defaults.halfOpenMaxProbes
    )
    const isFailure = yield* validate.optionalFunction("isFailure", options.isFailure, countsAll)
    const strategy = options.strategy ?? Machine.consecutiveFailures(failureThreshold)
    if (typeof strategy !== "object" || strategy === null || typeof strategy.shouldTrip !== "function") {
      return yield* validate.invalid("strategy", "must be a TrippingStrategy such as consecutiveFailures(5)")
    }
    return {
      name,
      isFailure,
      config: {
        strategy: strategy as Machine.TrippingStrategy<unknown>,
        recoveryTimeoutMillis: Duration.toMillis(recoveryTimeout),
        halfOpenMaxProbes
      }
    }
  })

const logTransition = (name: string, transition: Machine.Transition): Effect.Effect<void> => {
  switch (transition.to) {
    case "open":
      return Effect.logError(
        `[${name}] Circuit breaker OPEN (${transition.from === "half_open" ? "probe failed" : "threshold reached"})`
      )
    case "half_open":
      return Effect.logInfo(`[${name}] Circuit breaker HALF_OPEN (testing recovery)`)
    case "closed":
      return Effect.logInfo(`[${name}] Circuit breaker CLOSED (service recovered)`)
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
    const { config, isFailure, name } = yield* settings(options)
    // The breaker keeps one timeline: the Clock of the context it is made in (a TestClock in tests).
    const clock: Clock.Clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const hub = yield* Effect.acquireRelease(
      PubSub.sliding<CircuitBreaker.StateChange>(changesCapacity),
      PubSub.shutdown
    )
    // `current` mirrors the Ref: every write goes through `Ref.modify` below, whose callback also
    // updates the mirror in the same synchronous step. The hot path reads the mirror instead of
    // spending an effect on `Ref.get`; it never writes it.
    let current = Machine.initial(config, clock.unsafeCurrentTimeMillis())
    const ref = yield* Ref.make(current)
    const now = () => clock.unsafeCurrentTimeMillis()

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
    recordState("closed")
    const announce = (transitions: ReadonlyArray<Machine.Transition>): Effect.Effect<void> =>
      Effect.forEach(transitions, (transition) =>
        Effect.zipRight(
          Effect.sync(() => {
            recordState(transition.to)
            Metrics.stateChangesTotal.unsafeUpdate(1, [...serviceTag, MetricLabel.make("to", transition.to)])
          }),
          Effect.zipRight(
            PubSub.publish(hub, {
              service: name,
              from: transition.from,
              to: transition.to,
              at: new Date(transition.at)
            }),
            transition.to === "open"
              ? Effect.zipRight(logTransition(name, transition), recoveryTimer)
              : logTransition(name, transition)
          )
        ), { discard: true }).pipe(Effect.annotateLogs("service", name))

    // Publishes `open → half_open` when the recovery timeout elapses even if no call comes.
    // Forked interruptible: it is started from inside the uninterruptible settling of a call.
    const recoveryTimer: Effect.Effect<void> = Effect.suspend(() =>
      Effect.forkIn(
        Effect.interruptible(
          Effect.zipRight(
            clock.sleep(Duration.millis(config.recoveryTimeoutMillis)),
            Effect.flatMap(observation, (step) => announce(step.transitions))
          )
        ),
        scope
      )
    )

    const after = <A, E, R>(step: Machine.Step<unknown>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      step.transitions.length === 0 ? effect : Effect.zipRight(announce(step.transitions), effect)

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
    const settle = (ticket: Machine.Ticket, tag: "Success" | "Failure" | "Ignored" | "Interrupted") =>
      Effect.flatMap(
        stepWith({ _tag: tag, ticket }),
        (step) => step.transitions.length === 0 ? Effect.void : announce(step.transitions)
      )

    const classify = <E>(cause: Cause.Cause<E>): "Failure" | "Ignored" | "Interrupted" => {
      if (Cause.isDie(cause)) {
        return "Failure"
      }
      const failure = Cause.failureOption(cause)
      if (failure._tag === "None") {
        return "Interrupted"
      }
      return isFailure(failure.value) ? "Failure" : "Ignored"
    }

    const settleFailure = <E>(ticket: Machine.Ticket, cause: Cause.Cause<E>): Effect.Effect<never, E> => {
      let outcome: "Failure" | "Ignored" | "Interrupted"
      try {
        outcome = classify(cause)
      } catch (defect) {
        // a throwing isFailure is a bug: count the call so that no permit is lost, and surface it
        return Effect.zipRight(settle(ticket, "Failure"), Effect.failCause(Cause.sequential(cause, Cause.die(defect))))
      }
      return Effect.zipRight(settle(ticket, outcome), Effect.failCause(cause))
    }

    // The closed path holds no permit: an interruption simply skips these handlers, which is
    // exactly "counts neither way", so no uninterruptible region is needed for the call itself.
    // A success cannot trip the consecutive-failures rule; a failure can, so its settling is
    // uninterruptible.
    const successCannotTrip = config.strategy.onSuccessMayTrip !== true
    const runClosed = <A, E, R>(self: Effect.Effect<A, E, R>, ticket: Machine.Ticket): Effect.Effect<A, E, R> =>
      Effect.matchCauseEffect(self, {
        // one Ref step that also yields the value: the cheapest possible success path
        onSuccess: (value) =>
          successCannotTrip
            ? Ref.modify(ref, (machine) => {
              current = Machine.step(machine, { _tag: "Success", ticket }, now(), config).machine
              return [value, current] as const
            })
            : Effect.as(Effect.uninterruptible(settle(ticket, "Success")), value),
        onFailure: (cause) => Effect.uninterruptible(settleFailure(ticket, cause))
      })

    // Probes hold a permit: admission and settling happen with interruption masked, the call
    // itself runs interruptibly, and every exit (interruption included) settles.
    const runGuarded = <A, E, R>(
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(guardedAdmission, (step): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
          const decision = step.decision as Machine.Ticket | Machine.Rejected
          if (decision._tag === "Rejected") return after(step, reject(decision))
          return after(
            step,
            Effect.matchCauseEffect(restore(self), {
              onSuccess: (value) => Effect.as(settle(decision, "Success"), value),
              onFailure: (cause) => settleFailure(decision, cause)
            })
          )
        })
      )

    const protect = <A, E, R>(
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> =>
      Effect.suspend((): Effect.Effect<A, E | ServiceUnavailable.ServiceUnavailable, R> => {
        const decision = Machine.peek(current, config, now)
        switch (decision._tag) {
          case "Ticket":
            return runClosed(self, decision)
          case "Rejected":
            return reject(decision)
          case "Guarded":
            return runGuarded(self)
        }
      })

    const rejection = Effect.suspend(() => {
      const decision = Machine.peek(current, config, now)
      return decision._tag === "Rejected"
        ? Effect.map(Effect.flip(reject(decision)), Option.some)
        : Effect.succeedNone
    })
    const awaitOpen = (queue: Queue.Dequeue<CircuitBreaker.StateChange>): Effect.Effect<void> =>
      Effect.flatMap(Queue.take(queue), (change) => change.to === "open" ? Effect.void : awaitOpen(queue))
    const awaitRejection: Effect.Effect<ServiceUnavailable.ServiceUnavailable> = Effect.scoped(
      Effect.flatMap(PubSub.subscribe(hub), (queue) =>
        Effect.flatMap(rejection, (now) =>
          Option.match(now, {
            onSome: Effect.succeed,
            onNone: () => Effect.zipRight(awaitOpen(queue), Effect.suspend(() => awaitRejection))
          })))
    )
    const internalApi: Internals = { rejection, awaitRejection, currentState: () => current.state }

    const breaker = Object.assign(protect, {
      [InternalTypeId]: internalApi,
      [TypeId]: TypeId,
      service: name,
      status: Effect.flatMap(observation, (step) => after(step, Effect.succeed(toStatus(name, step.machine)))),
      state: Effect.flatMap(observation, (step) => after(step, Effect.succeed(step.machine.state))),
      changes: Stream.fromPubSub(hub),
      subscribe: PubSub.subscribe(hub)
    }) as CircuitBreaker.CircuitBreaker
    return breaker
  })

/**
 * The circuit breaker as a pure state machine: `step(machine, event, now, config)` returns the
 * next machine, the decision for the event and the transitions it made. The effectful shell
 * (`circuitBreaker.ts`) keeps the machine in a `Ref` and does nothing but step it, publish the
 * transitions and run timers, so every rule lives here and can be checked against a model.
 *
 * @internal
 */
import type { BreakerState } from "../ServiceStatus.js"

/** @internal */
export interface TrippingStrategy<S> {
  readonly name: string
  readonly initial: (now: number) => S
  readonly onSuccess: (state: S, now: number) => S
  readonly onFailure: (state: S, now: number) => S
  readonly shouldTrip: (state: S, now: number) => boolean
  /** Whether a success can trip the breaker (a slow-call rule); false when absent. */
  readonly onSuccessMayTrip?: boolean | undefined
}

/** @internal */
export interface Config<S> {
  readonly strategy: TrippingStrategy<S>
  readonly recoveryTimeoutMillis: number
  readonly halfOpenMaxProbes: number
}

/**
 * A permit to run one call, valid for the generation (the stretch between two transitions)
 * that issued it: an outcome reported with a ticket of an older generation changes nothing.
 *
 * @internal
 */
export interface Ticket {
  readonly _tag: "Ticket"
  readonly generation: number
  readonly probe: boolean
}

/** @internal */
export interface Rejected {
  readonly _tag: "Rejected"
  readonly generation: number
  readonly state: "open" | "half_open"
  readonly retryAfterMillis: number
}

/**
 * The answer to an `Admit` without a permit when the call needs the guarded path: a probe permit
 * is available, or the recovery timeout has passed and the breaker must first become `half_open`.
 *
 * @internal
 */
export interface Guarded {
  readonly _tag: "Guarded"
}

/** @internal */
export interface Transition {
  readonly from: BreakerState
  readonly to: BreakerState
  readonly at: number
}

/** @internal */
export interface Machine<S> {
  readonly state: BreakerState
  /** Incremented on every transition. */
  readonly generation: number
  /** Consecutive counted failures (status `failure_count`). */
  readonly failureCount: number
  readonly lastFailure: number | undefined
  readonly lastStateChange: number
  /** In `open`: when `half_open` begins. */
  readonly openUntil: number
  /** In `half_open`: probes admitted and not finished. */
  readonly probesInFlight: number
  /** In `half_open`: probes that succeeded. */
  readonly probeSuccesses: number
  readonly strategyState: S
  /** The tickets of this generation, built once per transition rather than per call. */
  readonly callTicket: Ticket
  readonly probeTicket: Ticket
}

/**
 * What happened: a call asks to run (`Admit`), time was observed (`Observe`), or an admitted
 * call ended. `Failure` counts against the breaker; `Ignored` is a failure that does not count
 * (`isFailure` said no); `Interrupted` counts neither way.
 *
 * @internal
 */
export type Event =
  | { readonly _tag: "Admit" }
  | { readonly _tag: "Observe" }
  | { readonly _tag: "Success"; readonly ticket: Ticket }
  | { readonly _tag: "Failure"; readonly ticket: Ticket }
  | { readonly _tag: "Ignored"; readonly ticket: Ticket }
  | { readonly _tag: "Interrupted"; readonly ticket: Ticket }

/** @internal */
export type Decision = Ticket | Rejected | Guarded | undefined

/** @internal */
export interface Step<S> {
  readonly machine: Machine<S>
  readonly decision: Decision
  readonly transitions: ReadonlyArray<Transition>
}

const noTransitions: ReadonlyArray<Transition> = []

/**
 * A call asks to run and will give its permit back on every exit: it may become a probe.
 *
 * @internal
 */
export const admitEvent: Event = { _tag: "Admit" }
const guarded: Guarded = { _tag: "Guarded" }
/** @internal */
export const observeEvent: Event = { _tag: "Observe" }

const tickets = (generation: number): Pick<Machine<unknown>, "callTicket" | "probeTicket"> => ({
  callTicket: { _tag: "Ticket", generation, probe: false },
  probeTicket: { _tag: "Ticket", generation, probe: true }
})

/** @internal */
export const initial = <S>(config: Config<S>, now: number): Machine<S> => ({
  state: "closed",
  generation: 0,
  failureCount: 0,
  lastFailure: undefined,
  lastStateChange: now,
  openUntil: 0,
  probesInFlight: 0,
  probeSuccesses: 0,
  strategyState: config.strategy.initial(now),
  ...tickets(0)
})

const enter = <S>(
  machine: Machine<S>,
  to: BreakerState,
  at: number,
  fields: Partial<Machine<S>>
): Machine<S> => {
  const generation = machine.generation + 1
  return {
    ...machine,
    probesInFlight: 0,
    probeSuccesses: 0,
    ...fields,
    state: to,
    generation,
    lastStateChange: at,
    ...tickets(generation)
  }
}

const open = <S>(machine: Machine<S>, config: Config<S>, now: number, failureCount: number): Machine<S> =>
  enter(machine, "open", now, {
    failureCount,
    lastFailure: now,
    openUntil: now + config.recoveryTimeoutMillis
  })

const close = <S>(machine: Machine<S>, config: Config<S>, now: number): Machine<S> =>
  enter(machine, "closed", now, { failureCount: 0, strategyState: config.strategy.initial(now) })

/**
 * Moves an `open` machine whose recovery timeout has passed to `half_open`. The transition is
 * dated when the timeout elapsed, not when it was noticed, so it does not matter whether the
 * timer or a call sees it first.
 *
 * @internal
 */
export const advance = <S>(machine: Machine<S>, now: number): Machine<S> =>
  machine.state === "open" && now >= machine.openUntil
    ? enter(machine, "half_open", machine.openUntil, {})
    : machine

const result = <S>(
  before: Machine<S>,
  advanced: Machine<S>,
  after: Machine<S>,
  decision: Decision
): Step<S> => {
  if (after === before) return { machine: after, decision, transitions: noTransitions }
  const transitions: Array<Transition> = []
  if (advanced !== before) transitions.push({ from: "open", to: "half_open", at: before.openUntil })
  if (after.generation !== advanced.generation) {
    transitions.push({ from: advanced.state, to: after.state, at: after.lastStateChange })
  }
  return { machine: after, decision, transitions: transitions.length === 0 ? noTransitions : transitions }
}

const admit = <S>(machine: Machine<S>, config: Config<S>, now: number): Machine<S> | Rejected | Ticket => {
  switch (machine.state) {
    case "closed":
      return machine.callTicket
    case "open":
      return {
        _tag: "Rejected",
        generation: machine.generation,
        state: "open",
        retryAfterMillis: machine.openUntil - now
      }
    case "half_open":
      return machine.probesInFlight + machine.probeSuccesses < config.halfOpenMaxProbes
        ? { ...machine, probesInFlight: machine.probesInFlight + 1 }
        : { _tag: "Rejected", generation: machine.generation, state: "half_open", retryAfterMillis: 0 }
  }
}

const probeSucceeded = <S>(machine: Machine<S>, config: Config<S>, now: number): Machine<S> => {
  const probeSuccesses = machine.probeSuccesses + 1
  return probeSuccesses >= config.halfOpenMaxProbes
    ? close(machine, config, now)
    : { ...machine, probesInFlight: machine.probesInFlight - 1, probeSuccesses }
}

const settle = <S>(machine: Machine<S>, event: Event, config: Config<S>, now: number): Machine<S> => {
  if (event._tag === "Admit" || event._tag === "Observe" || event.ticket.generation !== machine.generation) {
    return machine
  }
  if (machine.state === "closed") {
    switch (event._tag) {
      case "Success": {
        const strategyState = config.strategy.onSuccess(machine.strategyState, now)
        return machine.failureCount === 0 && strategyState === machine.strategyState
          ? machine
          : { ...machine, failureCount: 0, strategyState }
      }
      case "Failure": {
        const strategyState = config.strategy.onFailure(machine.strategyState, now)
        const failureCount = machine.failureCount + 1
        return config.strategy.shouldTrip(strategyState, now)
          ? open({ ...machine, strategyState }, config, now, failureCount)
          : { ...machine, failureCount, lastFailure: now, strategyState }
      }
      default:
        return machine
    }
  }
  // half_open: only probes hold tickets of this generation
  switch (event._tag) {
    case "Success":
    case "Ignored":
      // a failure that does not count still means the service answered
      return probeSucceeded(machine, config, now)
    case "Failure":
      return open(machine, config, now, machine.failureCount + 1)
    case "Interrupted":
      return { ...machine, probesInFlight: machine.probesInFlight - 1 }
  }
}

/**
 * One step of the breaker. `now` is the clock's current time in milliseconds; an `open`
 * machine whose recovery timeout has passed first becomes `half_open`, whatever the event.
 *
 * @internal
 */
export const step = <S>(machine: Machine<S>, event: Event, now: number, config: Config<S>): Step<S> => {
  const advanced = advance(machine, now)
  if (event._tag === "Admit") {
    const admitted = admit(advanced, config, now)
    return "_tag" in admitted
      ? result(machine, advanced, advanced, admitted)
      : result(machine, advanced, admitted, admitted.probeTicket)
  }
  return result(machine, advanced, settle(advanced, event, config, now), undefined)
}

/**
 * Admission for a call that cannot promise to give a permit back (it runs without an
 * uninterruptible region). A read: it changes nothing. Admitted only in `closed`, where no
 * permit is taken; rejected in `open` before the recovery timeout and in a saturated
 * `half_open`; otherwise `Guarded`: ask again with an `Admit` event from the guarded path.
 * `now` is a thunk because the closed path, the hot one, never needs the time.
 *
 * @internal
 */
export const peek = <S>(machine: Machine<S>, config: Config<S>, now: () => number): Ticket | Rejected | Guarded => {
  switch (machine.state) {
    case "closed":
      return machine.callTicket
    case "open": {
      const time = now()
      return time < machine.openUntil ? admit(machine, config, time) as Rejected : guarded
    }
    case "half_open": {
      const decision = admit(machine, config, 0)
      return "_tag" in decision ? decision : guarded
    }
  }
}

/** @internal */
export const consecutiveFailures = (threshold: number): TrippingStrategy<number> => ({
  name: `consecutiveFailures(${threshold})`,
  initial: () => 0,
  onSuccess: () => 0,
  onFailure: (count) => count + 1,
  shouldTrip: (count) => count >= threshold
})

/**
 * The circuit breaker as a pure state machine: `step(machine, event, now, config, wall)` returns
 * the next machine, the decision for the event and the transitions it made. The effectful shell
 * (each edition's `circuitBreaker.ts`) keeps the machine in a `Ref` and does nothing but step it,
 * publish the transitions, persist snapshots and run timers, so every rule lives here and can be
 * checked against a model. Pure TypeScript: no Effect, no Node.
 *
 * Two times come in. `now` is monotonic milliseconds (`Clock.currentTimeNanos`): every deadline
 * (`openUntil`, probe deadlines) and every time a strategy sees is on it, so a step of the wall
 * clock (NTP, a VM resumed) neither ends an opening early nor keeps it for an hour. `wall` is the
 * wall clock's milliseconds at the same instant: only the timestamps that people read
 * (`lastFailure`, `lastStateChange`, a transition's `at`) and snapshots are on it. An instant
 * on the monotonic clock is dated on the wall clock as `wall - (now - instant)`. Both default to
 * one clock (`wall = now`), as the model tests use.
 *
 * @internal
 */
import type { BreakerState, Issue, TrippingStrategy } from "./types.js"

export type { BreakerState, TrippingStrategy } from "./types.js"

/**
 * Where a strategy constructor leaves the issue with parameters it cannot accept: a constructor
 * is a plain function, so the edition's `make` reports it (as its own config error) when the
 * strategy is used.
 *
 * @internal
 */
export const StrategyIssueId: unique symbol = Symbol.for("effect-resilience/TrippingStrategy/issue")

/**
 * The issue a strategy constructor left on the strategy it returned, if any.
 *
 * @internal
 */
export const strategyIssue = <S>(strategy: TrippingStrategy<S>): Issue | undefined =>
  (strategy as { readonly [StrategyIssueId]?: Issue })[StrategyIssueId]

/** @internal */
export interface Config<S> {
  readonly strategy: TrippingStrategy<S>
  /** How long the breaker stays `open`, when `openDurationsMillis` is absent. */
  readonly recoveryTimeoutMillis: number
  /**
   * The duration of the 1st, 2nd, … opening since the breaker last closed (a recovery schedule
   * stepped ahead of time); the last one repeats.
   */
  readonly openDurationsMillis?: ReadonlyArray<number> | undefined
  readonly halfOpenMaxProbes: number
  /** A probe still running after this long counts as a failed probe. No limit when absent. */
  readonly probeTimeoutMillis?: number | undefined
  /**
   * The longest a `Retry-After` carried by the failure that opens the breaker may make that
   * opening (an opening lasts the longer of its own duration and the capped `Retry-After`).
   * Absent: `defaultRetryAfterCapMillis` (one hour).
   */
  readonly retryAfterCapMillis?: number | undefined
  /**
   * When set, a close keeps the count of consecutive openings (which picks the next open duration
   * from the schedule) until the breaker has stayed closed as long as its last opening lasted;
   * absent or false, a close starts the count over at once.
   */
  readonly retainOpenings?: boolean | undefined
}

/**
 * The cap of a `Retry-After` on an opening when the configuration gives none: one hour.
 *
 * @internal
 */
export const defaultRetryAfterCapMillis = 3_600_000

/**
 * A permit to run one call, valid for the generation (the stretch between two transitions)
 * that issued it: an outcome reported with a ticket of an older generation changes nothing.
 * A probe admitted under a probe timeout carries its deadline.
 *
 * @internal
 */
export interface Ticket {
  readonly _tag: "Ticket"
  readonly generation: number
  readonly probe: boolean
  readonly deadline?: number | undefined
}

/** @internal */
export interface Rejected {
  readonly _tag: "Rejected"
  readonly generation: number
  readonly state: "open" | "half_open"
  /** `Infinity` while the breaker is isolated. */
  readonly retryAfterMillis: number
  /**
   * Fleet mode: this rejected call is the first of its `half_open` period to arrive without the
   * fleet's probe lease; the fleet is to ask for the lease now (the next call may then probe).
   */
  readonly asksLease?: true | undefined
}

/**
 * The answer to an `Admit` without a permit when the call needs the guarded path: a probe permit
 * is available, or time has passed a deadline (recovery, probe timeout) that must be stepped first.
 *
 * @internal
 */
export interface Guarded {
  readonly _tag: "Guarded"
}

/**
 * Why a transition happened, for its log line.
 *
 * @internal
 */
export type Reason =
  | "threshold"
  | "probe_failed"
  | "probe_timeout"
  | "recovery"
  | "recovered"
  | "isolated"
  | "reset"
  | "fleet_opened"
  | "fleet_closed"

/** @internal */
export interface Transition {
  readonly from: BreakerState
  readonly to: BreakerState
  /** Wall-clock milliseconds: when it happened (for a deadline, when the deadline passed). */
  readonly at: number
  readonly reason: Reason
}

/** @internal */
export interface Machine<S> {
  readonly state: BreakerState
  /** Incremented on every transition. */
  readonly generation: number
  /** Consecutive counted failures (status `failure_count`). */
  readonly failureCount: number
  /** Wall-clock milliseconds. */
  readonly lastFailure: number | undefined
  /** Wall-clock milliseconds. */
  readonly lastStateChange: number
  /** In `open`: when `half_open` begins, monotonic milliseconds (`Infinity` while isolated). */
  readonly openUntil: number
  /** Forced open by hand until a reset: no probe, no recovery. */
  readonly isolated: boolean
  /**
   * Consecutive openings: picks the open duration from the schedule. Since the breaker last
   * closed, or (under `retainOpenings`) since it last stayed closed as long as its last opening.
   */
  readonly opens: number
  /**
   * Under `retainOpenings`: how long the last opening lasted (its duration when it began,
   * `Retry-After` included), in milliseconds.
   */
  readonly lastOpenMillis?: number | undefined
  /**
   * Under `retainOpenings`, in `closed`: the monotonic time from which `opens` no longer counts
   * (the close plus the last opening's length). Absent: `opens` counts.
   */
  readonly opensExpireAt?: number | undefined
  /** In `half_open`: probes admitted and not finished. */
  readonly probesInFlight: number
  /** In `half_open`: probes that succeeded. */
  readonly probeSuccesses: number
  /**
   * In `half_open` under a probe timeout: the deadlines of the probes in flight (monotonic
   * milliseconds), earliest first.
   */
  readonly probeDeadlines: ReadonlyArray<number>
  readonly strategyState: S
  /** The tickets of this generation, built once per transition rather than per call. */
  readonly callTicket: Ticket
  readonly probeTicket: Ticket
  /**
   * Fleet mode: a `half_open` probe also needs the fleet's probe lease. Absent (the default) or
   * `false` while the fleet is unreachable: probes are decided locally.
   */
  readonly fleetGated?: boolean | undefined
  /** Fleet mode: the generation whose `half_open` period holds the fleet's probe lease. */
  readonly leaseGeneration?: number | undefined
  /**
   * Fleet mode: the generation whose `half_open` period has asked the fleet for the probe lease
   * (a call arrived without it). Cleared by `LeaseLost`, so that the next call asks again.
   */
  readonly leaseAsked?: number | undefined
}

/**
 * What happened: a call asks to run (`Admit`), time was observed (`Observe`), an admitted call
 * ended, or an operator acted (`Isolate`, `Reset`). An ended call is one of three outcomes:
 * the service answered (`Success`, or `Ignored`: a failure that does not count, such as a 404),
 * the service failed (`Failure`, counted), or the call says nothing about the service (`Silent`:
 * interrupted, never sent, cut short by the caller before it had a fair time to answer). `Silent`
 * neither counts nor resets, and a probe that ends so gives its permit back without closing.
 * `durationMillis` is the call's duration when the strategy asked for it, else 0.
 *
 * @internal
 */
export type Event =
  | { readonly _tag: "Admit" }
  | { readonly _tag: "Observe" }
  | { readonly _tag: "Isolate" }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Success"; readonly ticket: Ticket; readonly durationMillis?: number | undefined }
  | {
    readonly _tag: "Failure"
    readonly ticket: Ticket
    readonly durationMillis?: number | undefined
    /**
     * A `Retry-After` the failure carried (milliseconds): should this failure open the breaker,
     * the opening lasts at least this long, up to `retryAfterCapMillis`.
     */
    readonly retryAfterMillis?: number | undefined
  }
  | { readonly _tag: "Ignored"; readonly ticket: Ticket }
  | { readonly _tag: "Silent"; readonly ticket: Ticket }
  | FleetEvent

/**
 * What the fleet tells a breaker: the fleet opened for `remainingMillis` more (`AdoptOpen`,
 * never longer than this breaker's longest opening) or closed (`AdoptClose`); the probe lease of
 * the `half_open` period of `generation` was granted, or lost (denied, expired, given back: the
 * next call asks again); the fleet became reachable or unreachable (`FleetReachable`: while it
 * is reachable, a probe needs the lease).
 *
 * @internal
 */
export type FleetEvent =
  | { readonly _tag: "AdoptOpen"; readonly remainingMillis: number }
  | { readonly _tag: "AdoptClose" }
  | { readonly _tag: "LeaseGranted"; readonly generation: number }
  | { readonly _tag: "LeaseLost"; readonly generation: number }
  | { readonly _tag: "FleetReachable"; readonly reachable: boolean }

/** @internal */
export type Decision = Ticket | Rejected | Guarded | undefined

/** @internal */
export interface Step<S> {
  readonly machine: Machine<S>
  readonly decision: Decision
  readonly transitions: ReadonlyArray<Transition>
}

const noTransitions: ReadonlyArray<Transition> = []
const noDeadlines: ReadonlyArray<number> = []

/**
 * A call asks to run and will give its permit back on every exit: it may become a probe.
 *
 * @internal
 */
export const admitEvent: Event = { _tag: "Admit" }
/** @internal */
export const observeEvent: Event = { _tag: "Observe" }
/** @internal */
export const isolateEvent: Event = { _tag: "Isolate" }
/** @internal */
export const resetEvent: Event = { _tag: "Reset" }
const guarded: Guarded = { _tag: "Guarded" }

const tickets = (generation: number): Pick<Machine<unknown>, "callTicket" | "probeTicket"> => ({
  callTicket: { _tag: "Ticket", generation, probe: false },
  probeTicket: { _tag: "Ticket", generation, probe: true }
})

/**
 * A closed machine made at `now` (monotonic) and `wall` (wall-clock) milliseconds.
 *
 * @internal
 */
export const initial = <S>(config: Config<S>, now: number, wall: number = now): Machine<S> => ({
  state: "closed",
  generation: 0,
  failureCount: 0,
  lastFailure: undefined,
  lastStateChange: wall,
  openUntil: 0,
  isolated: false,
  opens: 0,
  probesInFlight: 0,
  probeSuccesses: 0,
  probeDeadlines: noDeadlines,
  strategyState: config.strategy.initial(now),
  ...tickets(0)
})

/**
 * The duration of the `opens`-th opening (1-based) since the breaker last closed.
 *
 * @internal
 */
export const openDuration = (
  config: Pick<Config<unknown>, "recoveryTimeoutMillis" | "openDurationsMillis">,
  opens: number
): number => {
  const durations = config.openDurationsMillis
  if (durations === undefined || durations.length === 0) return config.recoveryTimeoutMillis
  return durations[Math.min(Math.max(opens, 1), durations.length) - 1]!
}

/** @internal */
export const longestOpenDuration = (
  config: Pick<Config<unknown>, "recoveryTimeoutMillis" | "openDurationsMillis">
): number => {
  const durations = config.openDurationsMillis
  return durations === undefined || durations.length === 0 ? config.recoveryTimeoutMillis : Math.max(...durations)
}

// The transitions of the step in progress. `step` is synchronous and never re-entered, so one
// buffer serves every step; collecting lazily keeps the steps that change nothing allocation-free.
let recorded: Array<Transition> | undefined

// How far the wall clock is ahead of the monotonic one during the step in progress (set by
// `step`, like `recorded`): it dates the instants of the step, all monotonic, on the wall clock.
let wallOffset = 0

/** The wall-clock date of a monotonic instant of the step in progress. */
const wallOf = (monotonic: number): number => monotonic + wallOffset

/** A transition at `at` (monotonic), dated on the wall clock. */
const enter = <S>(
  machine: Machine<S>,
  to: BreakerState,
  at: number,
  reason: Reason,
  fields: Partial<Machine<S>>
): Machine<S> => {
  const wallAt = wallOf(at)
  const transition: Transition = { from: machine.state, to, at: wallAt, reason }
  if (recorded === undefined) recorded = [transition]
  else recorded.push(transition)
  const generation = machine.generation + 1
  return {
    ...machine,
    probesInFlight: 0,
    probeSuccesses: 0,
    probeDeadlines: noDeadlines,
    ...fields,
    state: to,
    generation,
    lastStateChange: wallAt,
    ...tickets(generation)
  }
}

/**
 * The length of an opening whose own duration is `duration` when the failure that opens it
 * carried `retryAfterMillis`: the longer of the two, the `Retry-After` capped by
 * `retryAfterCapMillis`. A `Retry-After` that is absent, negative or not a number changes nothing.
 *
 * @internal
 */
export const lengthened = (
  config: Pick<Config<unknown>, "retryAfterCapMillis">,
  duration: number,
  retryAfterMillis: number | undefined
): number => {
  if (retryAfterMillis === undefined || !(retryAfterMillis > duration)) return duration
  return Math.max(duration, Math.min(retryAfterMillis, config.retryAfterCapMillis ?? defaultRetryAfterCapMillis))
}

/**
 * The openings that count before a new one at `at`: under `retainOpenings`, a closed breaker's
 * count lapses once it has stayed closed past `opensExpireAt`.
 */
const priorOpens = (machine: Machine<unknown>, at: number): number =>
  machine.state === "closed" && machine.opensExpireAt !== undefined && at >= machine.opensExpireAt
    ? 0
    : machine.opens

/**
 * Opens at `at` (monotonic) for the next open duration (lengthened by the failure's
 * `Retry-After`, if any); `lastFailure` is a wall-clock date.
 */
const open = <S>(
  machine: Machine<S>,
  config: Config<S>,
  at: number,
  reason: Reason,
  failureCount: number,
  lastFailure: number | undefined,
  retryAfterMillis?: number | undefined
): Machine<S> => {
  const opens = priorOpens(machine, at) + 1
  const length = lengthened(config, openDuration(config, opens), retryAfterMillis)
  return enter(machine, "open", at, reason, {
    failureCount,
    lastFailure,
    opens,
    openUntil: at + length,
    ...(config.retainOpenings === true ? { lastOpenMillis: length, opensExpireAt: undefined } : undefined)
  })
}

/**
 * Closes at `now`. The count of openings starts over, unless the configuration retains it and the
 * close is not a manual reset: it then lapses once the breaker has stayed closed as long as its
 * last opening lasted.
 */
const close = <S>(machine: Machine<S>, config: Config<S>, now: number, reason: Reason): Machine<S> =>
  enter(machine, "closed", now, reason, {
    failureCount: 0,
    strategyState: config.strategy.initial(now),
    openUntil: 0,
    isolated: false,
    ...(config.retainOpenings !== true
      ? { opens: 0 }
      : reason !== "reset" && machine.opens > 0
      ? { opens: machine.opens, opensExpireAt: now + (machine.lastOpenMillis ?? openDuration(config, machine.opens)) }
      : { opens: 0, lastOpenMillis: undefined, opensExpireAt: undefined })
  })

/**
 * Applies the deadlines that time has passed: an `open` machine past its recovery timeout
 * becomes `half_open`, a `half_open` machine with a probe past its deadline opens again (a
 * failed probe). Each transition is dated when its deadline passed, not when it was noticed, so
 * it does not matter whether a timer, a call or a status read sees it first.
 */
const advance = <S>(machine: Machine<S>, now: number, config: Config<S>): Machine<S> => {
  let current = machine
  for (;;) {
    if (current.state === "open") {
      if (now < current.openUntil) return current
      current = enter(current, "half_open", current.openUntil, "recovery", {})
    } else if (current.state === "half_open" && current.probeDeadlines.length > 0) {
      const deadline = current.probeDeadlines[0]!
      if (now < deadline) return current
      current = open(current, config, deadline, "probe_timeout", current.failureCount + 1, wallOf(deadline))
    } else {
      return current
    }
  }
}

const hasProbePermit = (machine: Machine<unknown>, config: Pick<Config<unknown>, "halfOpenMaxProbes">): boolean =>
  machine.probesInFlight + machine.probeSuccesses < config.halfOpenMaxProbes && !awaitsLease(machine)

/** Fleet mode: `half_open` without the fleet's probe lease for this period. */
const awaitsLease = (machine: Machine<unknown>): boolean =>
  machine.fleetGated === true && machine.leaseGeneration !== machine.generation

/**
 * Fleet mode: a call arriving now would be the first to want the lease for this period (a probe
 * permit is free but the lease is missing, and nobody asked yet): it asks, and is rejected.
 */
const asksLease = (machine: Machine<unknown>, config: Pick<Config<unknown>, "halfOpenMaxProbes">): boolean =>
  awaitsLease(machine) && machine.leaseAsked !== machine.generation &&
  machine.probesInFlight + machine.probeSuccesses < config.halfOpenMaxProbes

const settleFleet = <S>(machine: Machine<S>, event: FleetEvent, config: Config<S>, now: number): Machine<S> => {
  switch (event._tag) {
    case "AdoptOpen": {
      if (machine.isolated) return machine
      // an opening that has ended changes nothing for a breaker that is testing recovery already
      if (machine.state === "half_open" && event.remainingMillis <= 0) return machine
      // a remaining time from elsewhere (another replica's configuration, anyone able to publish)
      // never keeps this breaker open longer than its own longest opening
      const openUntil = now + Math.min(Math.max(0, event.remainingMillis), longestOpenDuration(config))
      const retains = config.retainOpenings === true
      if (machine.state === "open") {
        if (openUntil === machine.openUntil) return machine
        // under retainOpenings the opening now lasts from its start to its new end (its start
        // unknown, as after a resumed snapshot: from now)
        return retains
          ? {
            ...machine,
            openUntil,
            lastOpenMillis: machine.lastOpenMillis === undefined
              ? openUntil - now
              : machine.lastOpenMillis + openUntil - machine.openUntil
          }
          : { ...machine, openUntil }
      }
      return enter(machine, "open", now, "fleet_opened", {
        opens: priorOpens(machine, now) + 1,
        openUntil,
        ...(retains ? { lastOpenMillis: openUntil - now, opensExpireAt: undefined } : undefined)
      })
    }
    case "AdoptClose":
      return machine.state === "closed" || machine.isolated ? machine : close(machine, config, now, "fleet_closed")
    case "LeaseGranted":
      return machine.state === "half_open" && event.generation === machine.generation
        ? { ...machine, leaseGeneration: event.generation }
        : machine
    case "LeaseLost":
      return machine.leaseGeneration === event.generation || machine.leaseAsked === event.generation
        ? {
          ...machine,
          leaseGeneration: machine.leaseGeneration === event.generation ? undefined : machine.leaseGeneration,
          leaseAsked: machine.leaseAsked === event.generation ? undefined : machine.leaseAsked
        }
        : machine
    case "FleetReachable":
      // a request made before the change is gone with it: the next call asks again
      return (machine.fleetGated === true) === event.reachable
        ? machine
        : { ...machine, fleetGated: event.reachable, leaseAsked: undefined }
  }
}

const rejectOpen = (machine: Machine<unknown>, now: number): Rejected => ({
  _tag: "Rejected",
  generation: machine.generation,
  state: "open",
  retryAfterMillis: machine.openUntil - now
})

const rejectHalfOpen = (machine: Machine<unknown>): Rejected => ({
  _tag: "Rejected",
  generation: machine.generation,
  state: "half_open",
  retryAfterMillis: 0
})

const withoutDeadline = (deadlines: ReadonlyArray<number>, deadline: number | undefined): ReadonlyArray<number> => {
  if (deadline === undefined) return deadlines
  const index = deadlines.indexOf(deadline)
  if (index === -1) return deadlines
  return deadlines.length === 1 ? noDeadlines : [...deadlines.slice(0, index), ...deadlines.slice(index + 1)]
}

const probeEnded = <S>(machine: Machine<S>, ticket: Ticket, probeSuccesses: number): Machine<S> => ({
  ...machine,
  probesInFlight: machine.probesInFlight - 1,
  probeSuccesses,
  probeDeadlines: withoutDeadline(machine.probeDeadlines, ticket.deadline)
})

const settleClosed = <S>(
  machine: Machine<S>,
  event: Event & { readonly ticket: Ticket },
  config: Config<S>,
  now: number
): Machine<S> => {
  const strategy = config.strategy
  switch (event._tag) {
    case "Success": {
      const strategyState = strategy.onSuccess(machine.strategyState, now, event.durationMillis ?? 0)
      if (strategy.onSuccessMayTrip === true && strategy.shouldTrip(strategyState, now)) {
        // a success resets the consecutive count even when the rate it completes trips the breaker
        return open({ ...machine, strategyState }, config, now, "threshold", 0, machine.lastFailure)
      }
      return machine.failureCount === 0 && strategyState === machine.strategyState
        ? machine
        : { ...machine, failureCount: 0, strategyState }
    }
    case "Failure": {
      const strategyState = strategy.onFailure(machine.strategyState, now, event.durationMillis ?? 0)
      const failureCount = machine.failureCount + 1
      return strategy.shouldTrip(strategyState, now)
        ? open(
          { ...machine, strategyState },
          config,
          now,
          "threshold",
          failureCount,
          wallOf(now),
          event.retryAfterMillis
        )
        : { ...machine, failureCount, lastFailure: wallOf(now), strategyState }
    }
    default:
      return machine
  }
}

const settle = <S>(machine: Machine<S>, event: Event, config: Config<S>, now: number): Machine<S> => {
  switch (event._tag) {
    case "Admit":
    case "Observe":
      return machine
    case "Isolate":
      return machine.isolated
        ? machine
        : enter(machine, "open", now, "isolated", { isolated: true, openUntil: Infinity })
    case "Reset":
      return close(machine, config, now, "reset")
    case "AdoptOpen":
    case "AdoptClose":
    case "LeaseGranted":
    case "LeaseLost":
    case "FleetReachable":
      return settleFleet(machine, event, config, now)
  }
  if (event.ticket.generation !== machine.generation) return machine
  if (machine.state === "closed") return settleClosed(machine, event, config, now)
  // half_open: only probes hold tickets of this generation
  // fleet mode: a probe whose lease was lost says nothing, whatever its result
  if (awaitsLease(machine)) return probeEnded(machine, event.ticket, machine.probeSuccesses)
  switch (event._tag) {
    case "Success":
    case "Ignored": {
      // a failure that does not count still means the service answered
      const probeSuccesses = machine.probeSuccesses + 1
      return probeSuccesses >= config.halfOpenMaxProbes
        ? close(machine, config, now, "recovered")
        : probeEnded(machine, event.ticket, probeSuccesses)
    }
    case "Failure":
      return open(machine, config, now, "probe_failed", machine.failureCount + 1, wallOf(now), event.retryAfterMillis)
    case "Silent":
      return probeEnded(machine, event.ticket, machine.probeSuccesses)
  }
}

const admit = <S>(machine: Machine<S>, config: Config<S>, now: number): Step<S> => {
  switch (machine.state) {
    case "closed":
      return { machine, decision: machine.callTicket, transitions: noTransitions }
    case "open":
      return { machine, decision: rejectOpen(machine, now), transitions: noTransitions }
    case "half_open": {
      if (!hasProbePermit(machine, config)) {
        if (asksLease(machine, config)) {
          return {
            machine: { ...machine, leaseAsked: machine.generation },
            decision: { ...rejectHalfOpen(machine), asksLease: true },
            transitions: noTransitions
          }
        }
        return { machine, decision: rejectHalfOpen(machine), transitions: noTransitions }
      }
      const probesInFlight = machine.probesInFlight + 1
      if (config.probeTimeoutMillis === undefined) {
        return { machine: { ...machine, probesInFlight }, decision: machine.probeTicket, transitions: noTransitions }
      }
      const deadline = now + config.probeTimeoutMillis
      return {
        machine: { ...machine, probesInFlight, probeDeadlines: [...machine.probeDeadlines, deadline] },
        decision: { _tag: "Ticket", generation: machine.generation, probe: true, deadline },
        transitions: noTransitions
      }
    }
  }
}

/**
 * One step of the breaker. `now` is the monotonic time in milliseconds, `wall` the wall clock's
 * at the same instant (for timestamps only); deadlines that time has passed (recovery, probe
 * timeouts) are applied first, whatever the event.
 *
 * @internal
 */
export const step = <S>(
  machine: Machine<S>,
  event: Event,
  now: number,
  config: Config<S>,
  wall: number = now
): Step<S> => {
  // reset at the start rather than in a `finally`: a strategy that throws leaves nothing behind
  // that the next step would see
  recorded = undefined
  wallOffset = wall - now
  const advanced = machine.state === "closed" ? machine : advance(machine, now, config)
  if (event._tag === "Admit") {
    const admitted = admit(advanced, config, now)
    if (recorded === undefined) return admitted
    const transitions = recorded
    recorded = undefined
    return { ...admitted, transitions }
  }
  const after = settle(advanced, event, config, now)
  if (recorded === undefined) return { machine: after, decision: undefined, transitions: noTransitions }
  const transitions = recorded
  recorded = undefined
  return { machine: after, decision: undefined, transitions }
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
      return time < machine.openUntil ? rejectOpen(machine, time) : guarded
    }
    case "half_open": {
      if (machine.probeDeadlines.length > 0 && now() >= machine.probeDeadlines[0]!) return guarded
      return hasProbePermit(machine, config) || asksLease(machine, config) ? guarded : rejectHalfOpen(machine)
    }
  }
}

// -----------------------------------------------------------------------------
// Snapshots (persisted state)
// -----------------------------------------------------------------------------

/**
 * What outlives the process: enough to resume an `open` breaker with the time it has left. Its
 * times are all wall-clock milliseconds: the monotonic clock starts anew with each process, so
 * the wall clock is the only one a restart keeps (the time the process was down counts against
 * the opening).
 *
 * @internal
 */
export interface Snapshot {
  readonly state: BreakerState
  readonly failureCount: number
  readonly lastFailure: number | undefined
  readonly lastStateChange: number
  /** When `open` ends; `Infinity` while isolated, meaningless in other states. */
  readonly openUntil: number
  readonly isolated: boolean
  readonly opens: number
}

/**
 * The snapshot of `machine` taken at `now` (monotonic) and `wall` (wall-clock) milliseconds:
 * `openUntil` is dated on the wall clock.
 *
 * @internal
 */
export const snapshot = (machine: Machine<unknown>, now: number, wall: number = now): Snapshot => ({
  state: machine.state,
  failureCount: machine.failureCount,
  lastFailure: machine.lastFailure,
  lastStateChange: machine.lastStateChange,
  openUntil: Number.isFinite(machine.openUntil) ? machine.openUntil + (wall - now) : machine.openUntil,
  isolated: machine.isolated,
  opens: machine.opens
})

/**
 * A machine resuming a snapshot at `now` (monotonic) and `wall` (wall-clock) milliseconds: an
 * `open` breaker keeps the time its opening had left by the wall clock (never more than the
 * longest opening this configuration can produce, whatever the wall clock did meanwhile), an
 * isolated one stays isolated, a `half_open` one starts with every probe permit free, and a
 * `closed` one starts with fresh counts (the strategy's state is not persisted).
 *
 * @internal
 */
export const restore = <S>(config: Config<S>, saved: Snapshot, now: number, wall: number = now): Machine<S> => {
  const fresh = initial(config, now, wall)
  const history = { lastFailure: saved.lastFailure, lastStateChange: saved.lastStateChange }
  if (saved.isolated) {
    return {
      ...fresh,
      ...history,
      state: "open",
      failureCount: saved.failureCount,
      isolated: true,
      openUntil: Infinity
    }
  }
  switch (saved.state) {
    case "closed":
      return { ...fresh, ...history }
    case "open":
      return {
        ...fresh,
        ...history,
        state: "open",
        failureCount: saved.failureCount,
        opens: Math.max(1, saved.opens),
        openUntil: now + Math.min(saved.openUntil - wall, longestOpenDuration(config))
      }
    case "half_open":
      return { ...fresh, ...history, state: "half_open", failureCount: saved.failureCount, opens: saved.opens }
  }
}

// -----------------------------------------------------------------------------
// Strategies
// -----------------------------------------------------------------------------

/** @internal */
export const consecutiveFailures = (threshold: number): TrippingStrategy<number> => ({
  name: `consecutiveFailures(${threshold})`,
  initial: () => 0,
  onSuccess: () => 0,
  onFailure: (count) => count + 1,
  shouldTrip: (count) => count >= threshold
})

/**
 * The fleet protocol's local side for one breaker, as a pure function: `step(state, event)`
 * returns the next state and the commands to run (Redis scripts, events for the local breaker,
 * timers). The effectful shell (each edition's `fleet.ts`) does nothing but feed it events in
 * order and run its commands, so every rule of the protocol lives here and is checked by a
 * model-based test. Pure TypeScript: no Effect, no Node.
 *
 * The rules:
 * - States in Redis are ordered by `(epoch, generation)`: the epoch is the life of the stored
 *   state (a new one after `FLUSHALL`, an eviction, an expiry), the generation counts the
 *   fleet-wide transitions within it.
 * - A local opening that the fleet does not know yet is proposed, with the state the replica
 *   last saw (Redis drops it if that closed period has ended). Its duration is what remains of
 *   the local opening when the command is built (the shell reads the live breaker).
 * - A newer fleet view is adopted: `open` (with its remaining time), `half_open` (as an opening
 *   that has ended) or `closed`. Right after a reconnection, a local opening is pushed first
 *   (it may be a fact the fleet missed while this replica was cut off), then the fleet's view
 *   is adopted; a breaker that made no transition while cut off, in a fleet period that a newer
 *   closing has ended, has nothing of its own to push and adopts the closing.
 * - A view older than the one known means Redis lost its data (a restart, `FLUSHALL`): a replica
 *   that is still open publishes its opening again; so does one whose settling Redis rejected
 *   for that reason.
 * - In `half_open`, the replica asks for the probe lease only when a call arrives without it
 *   (`LeaseAsked`: that call is rejected, the next may probe once the lease is granted), with a
 *   fresh token per request: a lease is never renewed. The holder settles the period with its
 *   probe's result, or gives the lease back if no probe started (`LeaseIdle`), or at once when its
 *   probe was abandoned and no other runs (`ProbeAbandoned`); a denied replica
 *   lets its next call ask again once the holder's lease would have expired. A settling that
 *   Redis rejects (the lease expired or was given up) leaves the breaker with the fleet's state.
 * - A command that Redis ran past its deadline (after a stall) answers `late` and changed nothing;
 *   a proposal or settling is sent again after the next heartbeat, whose answer measures Redis's
 *   clock anew (at once, it would run late again while Redis's clock is ahead of the last measure).
 * - An opening the fleet did not take (a quorum not reached) stays local: in `half_open` the
 *   replica probes on its own, until the fleet opens after all.
 * - Channel messages can arrive late: one of a state the replica knows is ignored.
 * - While Redis is unreachable the breaker decides alone; the probe gate is lifted. A lease held
 *   (or being settled) then is kept, and settled with the breaker's state once Redis is back:
 *   Redis refuses it if the lease expired meanwhile.
 * - A denied replica asks again as soon as a view shows the lease given back.
 *
 * @internal
 */
import type { FleetEvent } from "./machine.js"
import type { BreakerState } from "./types.js"

/** @internal */
export type FleetState = "closed" | "open" | "half_open"

/** Where a fleet state stands among all the states Redis held for one service. @internal */
export interface Known {
  /** The life of the stored state: Redis's time (ms) when it was first written; 0 when not stored. */
  readonly epoch: number
  readonly generation: number
}

/** The fleet's state of one service. @internal */
export interface View extends Known {
  readonly state: FleetState
  /** In `open`: how long until `half_open`. */
  readonly remainingMillis: number
  /** In `half_open`: how long the current probe lease still runs (0 when nobody holds one). */
  readonly leaseRemainingMillis: number
}

/** `a` comes after `b`. @internal */
export const isNewer = (a: Known, b: Known): boolean =>
  a.epoch > b.epoch || (a.epoch === b.epoch && a.generation > b.generation)

const sameState = (a: Known, b: Known): boolean => a.epoch === b.epoch && a.generation === b.generation

const knownOf = (view: Known): Known => ({ epoch: view.epoch, generation: view.generation })

/** The local breaker as the protocol needs it. @internal */
export interface Local {
  readonly state: BreakerState
  /** The local machine's generation (a lease is granted for one `half_open` period of it). */
  readonly generation: number
  readonly isolated: boolean
}

/** @internal */
export interface Lease {
  /** The fleet state of the `half_open` period. */
  readonly period: Known
  readonly token: string
  /** The local generation the lease was granted for. */
  readonly localGeneration: number
}

/** @internal */
export interface State {
  readonly reachable: boolean
  /** The fleet's view last adopted; absent until Redis answered once. */
  readonly known: View | undefined
  readonly local: Local
  readonly lease: Lease | undefined
  /** The lease whose settling is in flight (or, answered `late`, waits to be sent again), and its outcome. */
  readonly settling?: (Lease & { readonly outcome: "close" | "open" }) | undefined
  /** A lease request is in flight. */
  readonly acquiring: boolean
  /** The local generation whose `half_open` period a call asked the lease for, not yet requested. */
  readonly asked?: number | undefined
  /**
   * The local generation whose request was denied: its calls wait until the holder's lease
   * would end (`RetryLease`), or until the fleet's state changes.
   */
  readonly denied?: number | undefined
  /** Right after a reconnection: push a local opening before adopting the fleet's view. */
  readonly pushFirst: boolean
  /**
   * The local generation when Redis became unreachable: a breaker still in it when Redis is back
   * made no transition of its own meanwhile (see `seeView`).
   */
  readonly cutGeneration?: number | undefined
  /** Lease requests made so far (each one's token is fresh). */
  readonly tokens: number
  /**
   * The local generation whose `half_open` period probes on its own: the fleet never opened for
   * it (a quorum not reached, a proposal that failed), so there is no fleet probe to wait for.
   */
  readonly localProbe?: number | undefined
  /**
   * A proposal or settling that Redis answered `late`, to be sent again after the next heartbeat
   * (which measures Redis's clock anew: if it stepped forward, a deadline taken from the old
   * measure would be late again at once). Nothing else is sent meanwhile.
   */
  readonly lateRetry?: "propose" | "settle" | undefined
}

/** @internal */
export interface Config {
  readonly replica: string
  /** How long a lease lasts in Redis (ms). */
  readonly leaseTtlMillis: number
  /** How long after its grant a lease whose probe has not started is given back (ms). */
  readonly leaseIdleMillis: number
}

/** @internal */
export type Event =
  | { readonly _tag: "Local"; readonly local: Local }
  /** A call arrived in the `half_open` period of `localGeneration` without the lease. */
  | { readonly _tag: "LeaseAsked"; readonly localGeneration: number }
  /**
   * A view read by a script (`reply`: ordered with this replica's own commands) or received on
   * the channel (`message`: may arrive after a newer reply, so an older one is ignored).
   */
  | { readonly _tag: "View"; readonly view: View; readonly source?: "reply" | "message" | undefined }
  | {
    readonly _tag: "Proposed"
    readonly outcome: "applied" | "stale" | "pending" | "late"
    readonly view: View
  }
  | {
    readonly _tag: "LeaseAnswer"
    readonly outcome: "granted" | "denied" | "stale" | "late"
    readonly token: string
    readonly localGeneration: number
    readonly view: View
  }
  | {
    readonly _tag: "Settled"
    readonly outcome: "applied" | "rejected" | "late"
    readonly token: string
    readonly view: View
  }
  /** The lease's time is up (the shell's timer). */
  | { readonly _tag: "LeaseExpired"; readonly token: string }
  /** A while after the grant (the shell's timer): whether a probe started under the lease. */
  | { readonly _tag: "LeaseIdle"; readonly token: string; readonly probing: boolean }
  /**
   * A probe of the local `half_open` period of `localGeneration` ended saying nothing about the
   * service (interrupted, or judged silent); `probing`: whether a probe is still running or a
   * success was counted in that period.
   */
  | { readonly _tag: "ProbeAbandoned"; readonly localGeneration: number; readonly probing: boolean }
  /** A denied replica's wait is over: its next call may ask again. */
  | { readonly _tag: "RetryLease"; readonly localGeneration: number }
  | { readonly _tag: "Reachable" }
  | { readonly _tag: "Unreachable" }
  /** A heartbeat was answered (Redis's clock measured anew): a command that ran late is retried. */
  | { readonly _tag: "Heartbeat" }

/** @internal */
export type Command =
  /** Proposes the local opening: its duration is what remains of it when the command is built. */
  | { readonly _tag: "Propose"; readonly known: Known }
  | {
    readonly _tag: "Acquire"
    readonly known: Known
    readonly token: string
    readonly localGeneration: number
  }
  /** Gives an unused lease back. */
  | { readonly _tag: "Release"; readonly token: string }
  /** Settles the lease; `open`: for what remains of the local opening when the command is built. */
  | {
    readonly _tag: "Settle"
    readonly known: Known
    readonly token: string
    readonly outcome: "close" | "open"
  }
  | { readonly _tag: "Read" }
  | { readonly _tag: "Breaker"; readonly event: FleetEvent }
  /** Feed `LeaseExpired` a little before the lease's TTL, and `LeaseIdle` halfway: the shell's timers. */
  | { readonly _tag: "WatchLease"; readonly token: string }
  /** Feed `RetryLease` (for the local generation) after `delayMillis`. */
  | { readonly _tag: "RetryLeaseAfter"; readonly delayMillis: number; readonly localGeneration: number }

/** @internal */
export interface Step {
  readonly state: State
  readonly commands: ReadonlyArray<Command>
}

/** @internal */
export const initial = (local: Local): State => ({
  reachable: false,
  known: undefined,
  local,
  lease: undefined,
  acquiring: false,
  pushFirst: false,
  tokens: 0
})

const none: ReadonlyArray<Command> = []

const breaker = (event: FleetEvent): Command => ({ _tag: "Breaker", event })

/**
 * What the local breaker's state asks of the fleet, given what the replica knows: propose an
 * opening, ask for the lease a call asked for, or settle the lease it holds.
 */
const follow = (state: State, config: Config): Step => {
  const { known, lease, local } = state
  if (!state.reachable || known === undefined || state.lateRetry !== undefined) return { state, commands: none }
  if (lease !== undefined) {
    // the period of the lease ended locally: the probe's result (or an adoption) ended it
    if (local.generation === lease.localGeneration && local.state === "half_open") return { state, commands: none }
    // isolated by hand while holding the lease: the operator's decision is this replica's own
    // (its opening has no end to share); the lease is given back
    if (local.isolated) {
      return { state: { ...state, lease: undefined }, commands: [{ _tag: "Release", token: lease.token }] }
    }
    if (local.state === "closed" || local.state === "open") {
      const outcome = local.state === "closed" ? "close" : "open"
      return {
        state: { ...state, lease: undefined, settling: { ...lease, outcome } },
        commands: [{ _tag: "Settle", known: lease.period, token: lease.token, outcome }]
      }
    }
    // a new local half_open period: the probe failed and the opening that followed has ended
    // already (its changes were seen together, or while Redis was unreachable): settled as an
    // opening with nothing left, so that the period's probe is not taken again in the same period
    return {
      state: { ...state, lease: undefined, settling: { ...lease, outcome: "open" } },
      commands: [{ _tag: "Settle", known: lease.period, token: lease.token, outcome: "open" }]
    }
  }
  switch (local.state) {
    case "open":
      return known.state === "closed" && !local.isolated
        ? { state, commands: [{ _tag: "Propose", known: knownOf(known) }] }
        : { state, commands: none }
    case "half_open": {
      if (known.state === "closed") {
        // the fleet is not open (a newer closing would have been adopted): probe locally; but
        // not right after a reconnection, before this replica has read the fleet's state
        if (state.pushFirst) return { state, commands: none }
        return state.localProbe === local.generation
          ? { state, commands: none }
          : {
            state: { ...state, localProbe: local.generation },
            commands: [breaker({ _tag: "LeaseGranted", generation: local.generation })]
          }
      }
      // the lease is asked for only when a call wants it, with a fresh token each time; if the
      // fleet's opening has not ended yet, Redis says so (stale) and the breaker adopts it
      if (state.acquiring || state.asked !== local.generation) return { state, commands: none }
      const tokens = state.tokens + 1
      return {
        state: { ...state, acquiring: true, asked: undefined, tokens },
        commands: [{
          _tag: "Acquire",
          known: knownOf(known),
          token: `${config.replica}:${tokens}`,
          localGeneration: local.generation
        }]
      }
    }
    case "closed":
      return { state, commands: none }
  }
}

/** The breaker event that makes the local breaker agree with a fleet view, if any. */
const adoption = (local: Local, view: View): FleetEvent | undefined => {
  if (local.isolated) return undefined
  switch (view.state) {
    case "open":
      return { _tag: "AdoptOpen", remainingMillis: view.remainingMillis }
    case "half_open":
      // the fleet's opening has ended: end ours too (a closed breaker opens for no time, so
      // that it waits for the fleet's probe instead of calling a service that is recovering)
      return local.state === "half_open" ? undefined : { _tag: "AdoptOpen", remainingMillis: 0 }
    case "closed":
      return local.state === "closed" ? undefined : { _tag: "AdoptClose" }
  }
}

const seeView = (state: State, seen: View, config: Config, message = false): Step => {
  const known = state.known
  const local = state.local
  // an opening that has ended stays ended: a period seen `half_open` is never `open` again within
  // the same state (a view computed without this replica's horizon would say so)
  const view: View = known !== undefined && sameState(seen, known) && known.state === "half_open" &&
      seen.state === "open"
    ? { ...seen, state: "half_open", remainingMillis: 0 }
    : seen
  // a message announces the transition that made its state: one this replica knows already
  // (from a reply, which is fresher) adds nothing, and an older one is just late; a reply with
  // an older state means Redis lost its data
  if (message && known !== undefined && !isNewer(view, known)) return { state, commands: none }
  const lost = known !== undefined && isNewer(known, view)
  const changed = known === undefined || !sameState(view, known) || view.state !== known.state
  const commands: Array<Command> = []
  let next: State = { ...state, known: view, pushFirst: false }
  const leaseFree = view.state === "half_open" && view.leaseRemainingMillis === 0
  if ((changed || leaseFree) && next.denied !== undefined) {
    // the lease that denied a request was of another state, or was given back: the next call
    // asks again now
    commands.push(breaker({ _tag: "LeaseLost", generation: next.denied }))
    next = { ...next, denied: undefined }
  }
  const dropLease = () => {
    const lease = next.lease
    if (lease === undefined) return
    commands.push(breaker({ _tag: "LeaseLost", generation: lease.localGeneration }))
    // a lease whose period Redis still holds would block every replica until it expires: give it back
    if (sameState(lease.period, view)) commands.push({ _tag: "Release", token: lease.token })
    next = { ...next, lease: undefined }
  }
  // the period of our lease is over (ended by someone else, or forgotten by Redis)
  if (next.lease !== undefined && !sameState(next.lease.period, view)) dropLease()
  if (next.localProbe !== undefined && view.state !== "closed") {
    // the fleet opened after all: its probe, not this replica's own, decides
    commands.push(breaker({ _tag: "LeaseLost", generation: next.localProbe }))
    next = { ...next, localProbe: undefined }
  }
  // right after a reconnection, a breaker that only followed a fleet period (its state is what it
  // was at the cut, when it agreed with the fleet's open or half_open period) has no opening of
  // its own to push: a newer closing of the same epoch ended that period (another replica's probe
  // succeeded meanwhile), and is adopted
  const followedOnly = state.pushFirst && !lost && known !== undefined && known.state !== "closed" &&
    view.epoch === known.epoch && isNewer(view, known) && local.generation === state.cutGeneration
  if (
    view.state === "closed" && local.state !== "closed" && !local.isolated && (lost || state.pushFirst) &&
    !followedOnly
  ) {
    // Redis lost the opening, or this replica saw it while cut off: publish it (again). A
    // replica in half_open publishes an opening that has ended: the fleet then probes once.
    commands.push({ _tag: "Propose", known: knownOf(view) })
    return { state: next, commands }
  }
  // right after a reconnection, a lease kept through the outage (its period is still Redis's) is
  // settled with the breaker's state first, not lost to an adoption
  const settleFirst = state.pushFirst && next.lease !== undefined
  if ((changed || state.pushFirst) && !settleFirst) {
    const adopt = adoption(local, view)
    if (adopt !== undefined) {
      dropLease()
      commands.push(breaker(adopt))
      return { state: next, commands }
    }
  }
  const followed = follow(next, config)
  return { state: followed.state, commands: [...commands, ...followed.commands] }
}

/** A lease request that got no lease: the breaker's next call may ask again. */
const requestEnded = (state: State, localGeneration: number): Command | undefined =>
  state.local.state === "half_open" && state.local.generation === localGeneration && state.lease === undefined
    ? breaker({ _tag: "LeaseLost", generation: localGeneration })
    : undefined

/** The lease held is for the local `half_open` period of `localGeneration`, still running. */
const leasePeriod = (state: State, localGeneration: number): boolean =>
  state.lease !== undefined && state.lease.localGeneration === localGeneration &&
  state.local.state === "half_open" && state.local.generation === localGeneration

const prepend = (command: Command | undefined, step: Step): Step =>
  command === undefined ? step : { state: step.state, commands: [command, ...step.commands] }

/** @internal */
export const step = (state: State, event: Event, config: Config): Step => {
  switch (event._tag) {
    case "Local":
      return follow({ ...state, local: event.local }, config)
    case "LeaseAsked":
      // while Redis is unreachable the breaker does not ask (its gate is lifted)
      return state.reachable && state.lease === undefined && event.localGeneration === state.local.generation
        ? follow({ ...state, asked: event.localGeneration }, config)
        : { state, commands: none }
    case "View":
      return seeView(state, event.view, config, event.source === "message")
    case "Proposed": {
      if (event.outcome === "pending") return { state, commands: none }
      const { local } = state
      if (
        event.outcome === "late" && state.reachable && event.view.state === "closed" && local.state !== "closed" &&
        !local.isolated
      ) {
        // Redis ran it after its deadline and changed nothing: the opening (or the one that ended
        // while cut off) is still a fact, proposed again after the next heartbeat (with a new
        // deadline) for what remains of it then
        return { state: { ...state, known: event.view, lateRetry: "propose" }, commands: none }
      }
      return seeView(state, event.view, config)
    }
    case "LeaseAnswer": {
      // the answer serves the calls of its period that asked meanwhile
      const answered = {
        ...state,
        acquiring: false,
        asked: state.asked === event.localGeneration ? undefined : state.asked
      }
      if (event.outcome === "granted") {
        if (state.local.state !== "half_open" || state.local.generation !== event.localGeneration) {
          // the local period ended while we asked: the lease goes back at once
          const seen = seeView(answered, event.view, config)
          return { state: seen.state, commands: [{ _tag: "Release", token: event.token }, ...seen.commands] }
        }
        return {
          state: {
            ...answered,
            known: event.view,
            lease: { period: knownOf(event.view), token: event.token, localGeneration: event.localGeneration }
          },
          commands: [
            breaker({ _tag: "LeaseGranted", generation: event.localGeneration }),
            { _tag: "WatchLease", token: event.token }
          ]
        }
      }
      if (event.outcome === "denied") {
        // another replica holds the lease: this replica's calls wait (rejected) until the holder
        // would give it back unused, or else until it expires; then the next call asks again
        const remaining = event.view.leaseRemainingMillis
        const untilIdle = remaining - (config.leaseTtlMillis - config.leaseIdleMillis)
        const seen = seeView(answered, event.view, config)
        return {
          state: { ...seen.state, denied: event.localGeneration },
          commands: [...seen.commands, {
            _tag: "RetryLeaseAfter",
            delayMillis: untilIdle > 0 ? untilIdle : remaining,
            localGeneration: event.localGeneration
          }]
        }
      }
      // stale (the fleet's opening has not ended, or the period is over) or late: the fleet's
      // state is adopted even if it looks unchanged, and the next call asks again
      const seen = seeView(
        event.outcome === "stale" ? { ...answered, known: undefined } : answered,
        event.view,
        config
      )
      return prepend(requestEnded(seen.state, event.localGeneration), seen)
    }
    case "Settled": {
      const settling = state.settling
      if (event.outcome === "late" && settling !== undefined && settling.token === event.token) {
        // Redis ran it after its deadline and changed nothing: the lease is still this replica's
        // (until it expires), and the probe's result is settled again after the next heartbeat
        return { state: { ...state, lateRetry: "settle" }, commands: none }
      }
      state = { ...state, settling: undefined }
      if (event.outcome === "applied") return seeView({ ...state, lease: undefined }, event.view, config)
      // Redis lost its data since the lease was granted: the local state is the fact to publish again
      if (state.known !== undefined && isNewer(state.known, event.view)) {
        return seeView({ ...state, lease: undefined }, event.view, config)
      }
      // this replica's probe did not count (its lease had expired): the fleet's state stands, and
      // the local breaker adopts it even if the view looks unchanged
      return seeView({ ...state, lease: undefined, known: undefined }, event.view, config)
    }
    case "LeaseExpired": {
      if (state.settling?.token === event.token) return { state: { ...state, settling: undefined }, commands: none }
      const lease = state.lease
      if (lease === undefined || lease.token !== event.token) return { state, commands: none }
      return {
        state: { ...state, lease: undefined },
        commands: state.reachable
          ? [breaker({ _tag: "LeaseLost", generation: lease.localGeneration }), { _tag: "Read" }]
          : [breaker({ _tag: "LeaseLost", generation: lease.localGeneration })]
      }
    }
    case "LeaseIdle":
    case "ProbeAbandoned": {
      const lease = state.lease
      // (while Redis is unreachable the lease cannot be given back: it is settled once Redis is back)
      if (lease === undefined || event.probing || !state.reachable) return { state, commands: none }
      if (event._tag === "LeaseIdle" ? lease.token !== event.token : !leasePeriod(state, event.localGeneration)) {
        return { state, commands: none }
      }
      // no probe started under the lease, or the one that did was abandoned and none runs now:
      // give it back at once, so that a replica with calls may probe
      return {
        state: { ...state, lease: undefined },
        commands: [
          breaker({ _tag: "LeaseLost", generation: lease.localGeneration }),
          { _tag: "Release", token: lease.token }
        ]
      }
    }
    case "RetryLease":
      return state.denied === event.localGeneration
        ? {
          state: { ...state, denied: undefined },
          commands: [breaker({ _tag: "LeaseLost", generation: event.localGeneration })]
        }
        : { state, commands: none }
    case "Heartbeat": {
      const retry = state.lateRetry
      if (retry === undefined || !state.reachable) return { state, commands: none }
      const next: State = { ...state, lateRetry: undefined }
      const { known, local, settling } = next
      if (retry === "settle" && settling !== undefined) {
        // the probe's result as it was decided (an opening that has ended meanwhile is settled
        // for what remains of it: none, and the fleet's next period probes again)
        return {
          state: next,
          commands: [{ _tag: "Settle", known: settling.period, token: settling.token, outcome: settling.outcome }]
        }
      }
      if (
        retry === "propose" && known?.state === "closed" && local.state !== "closed" && !local.isolated &&
        next.lease === undefined
      ) {
        return { state: next, commands: [{ _tag: "Propose", known: knownOf(known) }] }
      }
      return follow(next, config)
    }
    case "Unreachable": {
      if (!state.reachable) return { state, commands: none }
      // a lease (or one being settled: the settling may not have reached Redis) is kept through
      // the outage, and settled with what the breaker decided meanwhile once Redis is back; the
      // settle script's token and expiry checks make that safe
      return {
        state: {
          ...state,
          reachable: false,
          acquiring: false,
          asked: undefined,
          denied: undefined,
          lease: state.lease ?? state.settling,
          settling: undefined,
          lateRetry: undefined,
          cutGeneration: state.local.generation
        },
        commands: [breaker({ _tag: "FleetReachable", reachable: false })]
      }
    }
    case "Reachable":
      if (state.reachable) return { state, commands: none }
      return {
        state: { ...state, reachable: true, pushFirst: true, acquiring: false, asked: undefined, denied: undefined },
        commands: [breaker({ _tag: "FleetReachable", reachable: true }), { _tag: "Read" }]
      }
  }
}

/**
 * The fleet protocol's local side for one breaker, as a pure function: `step(state, event)`
 * returns the next state and the commands to run (Redis scripts, events for the local breaker,
 * timers). The effectful shell (`fleet.ts`) does nothing but feed it events in order and run its
 * commands, so every rule of the protocol lives here and is checked by a model-based test.
 *
 * The rules:
 * - A local opening that the fleet does not know yet is proposed, with the generation the
 *   replica last saw (Redis drops it if that closed period has ended).
 * - A newer fleet view is adopted: `open` (with its remaining time), `half_open` (as an opening
 *   that has ended) or `closed`. Right after a reconnection, a local opening is pushed first
 *   (it may be a fact the fleet missed while this replica was cut off), then the fleet's view
 *   is adopted.
 * - A generation that went back means Redis lost its data (a restart, `FLUSHALL`): a replica
 *   that is still open publishes its opening again.
 * - In `half_open`, the replica asks for the probe lease; the holder settles the period with its
 *   probe's result; a denied replica asks again when the holder's lease would expire (or at
 *   once when the fleet's view changes). A settling that Redis rejects (the lease expired or was
 *   forgotten) leaves the breaker with the fleet's state.
 * - An opening the fleet did not take (a quorum not reached) stays local: in `half_open` the
 *   replica probes on its own, until the fleet opens after all.
 * - Channel messages can arrive late: one of a generation the replica knows is ignored.
 * - While Redis is unreachable the breaker decides alone; the probe gate is lifted.
 *
 * @internal
 */
import type { BreakerState } from "../ServiceStatus.js"
import type { FleetEvent } from "./machine.js"

/** @internal */
export type FleetState = "closed" | "open" | "half_open"

/** The fleet's state of one service. @internal */
export interface View {
  readonly generation: number
  readonly state: FleetState
  /** In `open`: how long until `half_open`. */
  readonly remainingMillis: number
  /** In `half_open`: how long the current probe lease still runs (0 when nobody holds one). */
  readonly leaseRemainingMillis: number
}

/** The local breaker as the protocol needs it. @internal */
export interface Local {
  readonly state: BreakerState
  /** The local machine's generation (a lease is granted for one `half_open` period of it). */
  readonly generation: number
  /** In `open`: the time left until `half_open`. */
  readonly remainingMillis: number
  readonly isolated: boolean
}

/** @internal */
export interface Lease {
  /** The fleet generation of the `half_open` period. */
  readonly generation: number
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
  /** A lease request is in flight. */
  readonly acquiring: boolean
  /** Right after a reconnection: push a local opening before adopting the fleet's view. */
  readonly pushFirst: boolean
  /** Lease requests made so far. */
  readonly tokens: number
  /**
   * The local generation whose `half_open` period probes on its own: the fleet never opened for
   * it (a quorum not reached, a proposal that failed), so there is no fleet probe to wait for.
   */
  readonly localProbe?: number | undefined
}

/** @internal */
export interface Config {
  readonly replica: string
}

/** @internal */
export type Event =
  | { readonly _tag: "Local"; readonly local: Local }
  /**
   * A view read by a script (`reply`: ordered with this replica's own commands) or received on
   * the channel (`message`: may arrive after a newer reply, so an older one is ignored).
   */
  | { readonly _tag: "View"; readonly view: View; readonly source?: "reply" | "message" | undefined }
  | {
    readonly _tag: "Proposed"
    readonly outcome: "applied" | "stale" | "pending"
    readonly view: View
  }
  | {
    readonly _tag: "LeaseAnswer"
    readonly outcome: "granted" | "denied" | "stale"
    readonly token: string
    readonly localGeneration: number
    readonly view: View
  }
  | { readonly _tag: "Settled"; readonly outcome: "applied" | "rejected"; readonly view: View }
  /** The lease's time is up (the shell's timer), or a denied request may be retried. */
  | { readonly _tag: "LeaseExpired"; readonly token: string }
  | { readonly _tag: "RetryLease"; readonly generation: number }
  | { readonly _tag: "Reachable" }
  | { readonly _tag: "Unreachable" }

/** @internal */
export type Command =
  | { readonly _tag: "Propose"; readonly knownGeneration: number; readonly durationMillis: number }
  | {
    readonly _tag: "Acquire"
    readonly knownGeneration: number
    readonly token: string
    readonly localGeneration: number
  }
  | {
    readonly _tag: "Settle"
    readonly knownGeneration: number
    readonly token: string
    readonly outcome: "close" | "open"
    readonly durationMillis: number
  }
  | { readonly _tag: "Read" }
  | { readonly _tag: "Breaker"; readonly event: FleetEvent }
  /** Feed `LeaseExpired` after `ttl`: the shell's timer on the local clock. */
  | { readonly _tag: "WatchLease"; readonly token: string }
  /** Feed `RetryLease` (for the fleet `generation`) after `delayMillis`. */
  | { readonly _tag: "RetryLeaseAfter"; readonly delayMillis: number; readonly generation: number }

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
 * opening, ask for the lease, or settle the lease it holds.
 */
const follow = (state: State, config: Config): Step => {
  const { known, lease, local } = state
  if (!state.reachable || known === undefined) return { state, commands: none }
  if (lease !== undefined) {
    // the period of the lease ended locally: the probe's result (or an adoption) ended it
    if (local.generation === lease.localGeneration && local.state === "half_open") return { state, commands: none }
    // isolated by hand while holding the lease: the operator's decision is this replica's own
    // (its opening has no end to share); the lease is dropped and expires
    if (local.isolated) return { state: { ...state, lease: undefined }, commands: none }
    if (local.state === "closed" || local.state === "open") {
      const outcome = local.state === "closed" ? "close" : "open"
      return {
        state: { ...state, lease: undefined },
        commands: [{
          _tag: "Settle",
          knownGeneration: lease.generation,
          token: lease.token,
          outcome,
          durationMillis: outcome === "open" ? local.remainingMillis : 0
        }]
      }
    }
    return { state: { ...state, lease: undefined }, commands: none }
  }
  switch (local.state) {
    case "open":
      return known.state === "closed" && !local.isolated
        ? {
          state,
          commands: [{ _tag: "Propose", knownGeneration: known.generation, durationMillis: local.remainingMillis }]
        }
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
      if (state.acquiring) return { state, commands: none }
      if (known.state === "open") {
        // this replica's opening ended before the fleet's: ask again when the fleet's ends
        return {
          state: { ...state, acquiring: true },
          commands: [{ _tag: "RetryLeaseAfter", delayMillis: known.remainingMillis, generation: known.generation }]
        }
      }
      // one token per replica and fleet period: a replica asking again in the same period
      // (its own local period changed meanwhile) gets its own lease back instead of waiting for it
      return {
        state: { ...state, acquiring: true, tokens: state.tokens + 1 },
        commands: [{
          _tag: "Acquire",
          knownGeneration: known.generation,
          token: `${config.replica}:${known.generation}`,
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

const seeView = (state: State, view: View, config: Config, message = false): Step => {
  const known = state.known
  const local = state.local
  // a message announces the transition that made its generation: one this replica knows
  // already (from a reply, which is fresher) adds nothing, and an older one is just late; a
  // reply with an older generation means Redis lost its data
  if (message && known !== undefined && view.generation <= known.generation) return { state, commands: none }
  const lost = known !== undefined && view.generation < known.generation
  const changed = known === undefined || view.generation !== known.generation || view.state !== known.state
  const commands: Array<Command> = []
  // a lease request waiting for a retry was for an older period
  let next: State = {
    ...state,
    known: view,
    pushFirst: false,
    // waiting to ask again for the lease: a changed view (the fleet's opening ended, a new
    // period) is a reason to ask now
    acquiring: state.acquiring && !changed
  }
  const dropLease = () => {
    if (next.lease === undefined) return
    commands.push(breaker({ _tag: "LeaseLost", generation: next.lease.localGeneration }))
    next = { ...next, lease: undefined }
  }
  // the period of our lease is over (ended by someone else, or forgotten by Redis)
  if (next.lease !== undefined && next.lease.generation !== view.generation) dropLease()
  if (next.localProbe !== undefined && view.state !== "closed") {
    // the fleet opened after all: its probe, not this replica's own, decides
    commands.push(breaker({ _tag: "LeaseLost", generation: next.localProbe }))
    next = { ...next, localProbe: undefined }
  }
  if (view.state === "closed" && local.state !== "closed" && !local.isolated && (lost || state.pushFirst)) {
    // Redis lost the opening, or this replica saw it while cut off: publish it (again). A
    // replica in half_open publishes an opening that has ended: the fleet then probes once.
    commands.push({ _tag: "Propose", knownGeneration: view.generation, durationMillis: local.remainingMillis })
    return { state: next, commands }
  }
  if (changed || state.pushFirst) {
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

/** @internal */
export const step = (state: State, event: Event, config: Config): Step => {
  switch (event._tag) {
    case "Local": {
      const next = { ...state, local: event.local }
      if (
        next.lease !== undefined && event.local.state === "half_open" &&
        event.local.generation !== next.lease.localGeneration
      ) {
        // a new half_open period locally: the old lease means nothing
        return follow({ ...next, lease: undefined }, config)
      }
      return follow(next, config)
    }
    case "View":
      return seeView(state, event.view, config, event.source === "message")
    case "Proposed":
      return event.outcome === "pending"
        ? { state, commands: none }
        : seeView(state, event.view, config)
    case "LeaseAnswer": {
      const answered = { ...state, acquiring: false }
      if (event.outcome === "granted") {
        if (state.local.state !== "half_open" || state.local.generation !== event.localGeneration) {
          // the local period ended while we asked: the lease will expire unused
          return seeView(answered, event.view, config)
        }
        return {
          state: {
            ...answered,
            known: event.view,
            lease: { generation: event.view.generation, token: event.token, localGeneration: event.localGeneration }
          },
          commands: [
            breaker({ _tag: "LeaseGranted", generation: event.localGeneration }),
            { _tag: "WatchLease", token: event.token }
          ]
        }
      }
      if (event.outcome === "denied") {
        // still waiting: the next request goes out when the holder's lease would expire (the
        // view is the fleet's half_open period, which this replica knows now)
        const seen = seeView({ ...state, known: event.view, acquiring: true }, event.view, config)
        return {
          state: seen.state,
          commands: [...seen.commands, {
            _tag: "RetryLeaseAfter",
            delayMillis: event.view.leaseRemainingMillis,
            generation: event.view.generation
          }]
        }
      }
      return seeView(answered, event.view, config)
    }
    case "Settled":
      return event.outcome === "applied"
        ? seeView({ ...state, lease: undefined }, event.view, config)
        // this replica's probe did not count (its lease had expired, or Redis forgot it): the
        // fleet's state stands, and the local breaker adopts it even if the view looks unchanged
        : seeView({ ...state, lease: undefined, known: undefined }, event.view, config)
    case "LeaseExpired": {
      const lease = state.lease
      if (lease === undefined || lease.token !== event.token) return { state, commands: none }
      return {
        state: { ...state, lease: undefined },
        commands: [breaker({ _tag: "LeaseLost", generation: lease.localGeneration }), { _tag: "Read" }]
      }
    }
    case "RetryLease":
      // read the fleet's view again (its opening may have ended, the holder's lease expired);
      // the view decides whether to ask for the lease
      return state.local.state === "half_open" && state.lease === undefined &&
          state.known?.generation === event.generation
        ? { state: { ...state, acquiring: false }, commands: [{ _tag: "Read" }] }
        : { state, commands: none }
    case "Unreachable": {
      if (!state.reachable) return { state, commands: none }
      const lease = state.lease
      return {
        state: { ...state, reachable: false, acquiring: false, lease: undefined },
        commands: lease === undefined
          ? [breaker({ _tag: "FleetReachable", reachable: false })]
          : [
            breaker({ _tag: "LeaseLost", generation: lease.localGeneration }),
            breaker({ _tag: "FleetReachable", reachable: false })
          ]
      }
    }
    case "Reachable":
      if (state.reachable) return { state, commands: none }
      return {
        state: { ...state, reachable: true, pushFirst: true, acquiring: false },
        commands: [breaker({ _tag: "FleetReachable", reachable: true }), { _tag: "Read" }]
      }
  }
}

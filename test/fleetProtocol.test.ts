/**
 * The fleet protocol's local side, checked as the shell runs it but without effects: several
 * replicas, each a real breaker machine with its protocol state, against a small model of the
 * Redis scripts (the same rules, in TypeScript) and a network that delivers, delays or cuts.
 * fast-check picks calls and their outcomes, time, message deliveries, heartbeats, cuts and
 * `FLUSHALL`s; after every step no two replicas probe under leases of the same fleet half-open
 * period, and once the network heals and everything is delivered, every replica agrees with the
 * fleet. (A lease outlives a `FLUSHALL` in its holder until that replica next reads Redis: the one
 * extra probe per such replica that docs/fleet.md admits.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Protocol from "../src/internal/fleetProtocol.js"
import * as Machine from "../src/internal/machine.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const config: Machine.Config<number> = {
  strategy: Machine.consecutiveFailures(2),
  recoveryTimeoutMillis: 100,
  halfOpenMaxProbes: 1
}
// long enough that no lease expires in a run: two probes in one period would then be a bug
const leaseTtl = 1_000_000

/** The Lua scripts' rules (fleetScripts.ts), on the simulation's clock. */
class RedisModel {
  generation = 0
  state: "closed" | "open" = "closed"
  until = 0
  leaseToken = ""
  leaseUntil = 0
  /** Incremented by FLUSHALL, so that periods of different lives of Redis never mix. */
  epoch = 0
  /** Replicas proposing an opening in the current generation (the window never ends here). */
  proposers = new Set<number>()
  constructor(
    readonly now: () => number,
    readonly publish: (view: Protocol.View, by: number) => void,
    readonly quorum: number
  ) {}

  effective(): Protocol.FleetState {
    return this.state === "open" && this.now() >= this.until ? "half_open" : this.state
  }
  view(): Protocol.View {
    const state = this.effective()
    return {
      generation: this.generation,
      state,
      remainingMillis: state === "open" ? this.until - this.now() : 0,
      leaseRemainingMillis: state === "half_open" && this.leaseToken !== "" && this.leaseUntil > this.now()
        ? this.leaseUntil - this.now()
        : 0
    }
  }
  transition(to: "closed" | "open", duration: number, by: number) {
    this.proposers = new Set()
    this.generation++
    this.state = to
    this.until = to === "open" ? this.now() + duration : 0
    this.leaseToken = ""
    this.leaseUntil = 0
    this.publish({ generation: this.generation, state: to, remainingMillis: duration, leaseRemainingMillis: 0 }, by)
  }
  propose(known: number, duration: number, by: number): "applied" | "stale" | "pending" {
    if (known !== this.generation || this.effective() !== "closed") return "stale"
    this.proposers.add(by)
    if (this.proposers.size < this.quorum) return "pending"
    this.transition("open", duration, by)
    return "applied"
  }
  acquire(known: number, token: string): "granted" | "denied" | "stale" {
    if (known !== this.generation || this.effective() !== "half_open") return "stale"
    if (this.leaseToken !== "" && this.leaseUntil > this.now() && this.leaseToken !== token) return "denied"
    this.leaseToken = token
    this.leaseUntil = this.now() + leaseTtl
    return "granted"
  }
  settle(known: number, token: string, outcome: "close" | "open", duration: number, by: number) {
    if (
      known !== this.generation || this.effective() !== "half_open" || this.leaseToken !== token ||
      this.leaseUntil <= this.now()
    ) return "rejected" as const
    this.transition(outcome === "close" ? "closed" : "open", duration, by)
    return "applied" as const
  }
  flush() {
    this.proposers = new Set()
    this.generation = 0
    this.state = "closed"
    this.until = 0
    this.leaseToken = ""
    this.leaseUntil = 0
    this.epoch++
  }
}

interface Replica {
  readonly id: number
  machine: Machine.Machine<number>
  protocol: Protocol.State
  connected: boolean
  inbox: Array<Protocol.View>
  /** The Redis life and fleet period of the last lease Redis granted to this replica. */
  leasePeriod: string | undefined
  /** The local generation that lease was granted for (other grants are local probes). */
  leaseLocalGeneration: number | undefined
  timers: Array<{ readonly at: number; readonly event: Protocol.Event }>
}

type Command =
  | { readonly _tag: "Call"; readonly replica: number; readonly ok: boolean }
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "Deliver"; readonly replica: number }
  | { readonly _tag: "Heartbeat"; readonly replica: number }
  | { readonly _tag: "Cut"; readonly replica: number }
  | { readonly _tag: "Heal"; readonly replica: number }
  | { readonly _tag: "Flush" }

const replicaCount = 3

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      _tag: fc.constant("Call" as const),
      replica: fc.nat({ max: replicaCount - 1 }),
      ok: fc.boolean()
    }),
    weight: 10
  },
  { arbitrary: fc.record({ _tag: fc.constant("Advance" as const), millis: fc.nat({ max: 150 }) }), weight: 6 },
  {
    arbitrary: fc.record({ _tag: fc.constant("Deliver" as const), replica: fc.nat({ max: replicaCount - 1 }) }),
    weight: 5
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("Heartbeat" as const), replica: fc.nat({ max: replicaCount - 1 }) }),
    weight: 3
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("Cut" as const), replica: fc.nat({ max: replicaCount - 1 }) }),
    weight: 1
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("Heal" as const), replica: fc.nat({ max: replicaCount - 1 }) }),
    weight: 2
  },
  { arbitrary: fc.constant({ _tag: "Flush" } as const), weight: 1 }
)

const simulate = (script: ReadonlyArray<Command>, quorum = 1) => {
  let now = 0
  const replicas: Array<Replica> = []
  const redis = new RedisModel(() => now, (view, by) => {
    for (const replica of replicas) if (replica.id !== by) replica.inbox.push(view)
  }, quorum)
  // which replicas probed, gated by the fleet, in each fleet half-open period
  const probers = new Map<string, Set<number>>()

  const toLocal = (machine: Machine.Machine<number>): Protocol.Local => ({
    state: machine.state,
    generation: machine.generation,
    remainingMillis: machine.state === "open" ? Math.max(0, machine.openUntil - now) : 0,
    isolated: machine.isolated
  })

  const stepMachine = (replica: Replica, event: Machine.Event) => {
    const step = Machine.step(replica.machine, event, now, config)
    replica.machine = step.machine
    return step
  }

  const run = (replica: Replica, command: Protocol.Command) => {
    const redisCommand = command._tag === "Propose" || command._tag === "Acquire" || command._tag === "Settle" ||
      command._tag === "Read"
    if (redisCommand && !replica.connected) return handle(replica, { _tag: "Unreachable" })
    switch (command._tag) {
      case "Propose": {
        const outcome = redis.propose(command.knownGeneration, command.durationMillis, replica.id)
        return handle(replica, { _tag: "Proposed", outcome, view: redis.view() })
      }
      case "Acquire": {
        const outcome = redis.acquire(command.knownGeneration, command.token)
        if (outcome === "granted") {
          replica.leasePeriod = `${redis.epoch}:${redis.generation}`
          replica.leaseLocalGeneration = command.localGeneration
        }
        return handle(replica, {
          _tag: "LeaseAnswer",
          outcome,
          token: command.token,
          localGeneration: command.localGeneration,
          view: redis.view()
        })
      }
      case "Settle": {
        const outcome = redis.settle(
          command.knownGeneration,
          command.token,
          command.outcome,
          command.durationMillis,
          replica.id
        )
        return handle(replica, { _tag: "Settled", outcome, view: redis.view() })
      }
      case "Read":
        return handle(replica, { _tag: "View", view: redis.view() })
      case "Breaker": {
        stepMachine(replica, command.event)
        return handle(replica, { _tag: "Local", local: toLocal(replica.machine) })
      }
      case "WatchLease":
        replica.timers.push({ at: now + leaseTtl, event: { _tag: "LeaseExpired", token: command.token } })
        return
      case "RetryLeaseAfter":
        replica.timers.push({
          at: now + command.delayMillis + 1,
          event: { _tag: "RetryLease", generation: command.generation }
        })
        return
    }
  }

  const handle = (replica: Replica, event: Protocol.Event): void => {
    const step = Protocol.step(replica.protocol, event, { replica: `r${replica.id}` })
    replica.protocol = step.state
    for (const command of step.commands) run(replica, command)
  }

  // the shell's order: the breaker's state is refreshed before every event
  const feed = (replica: Replica, event: Protocol.Event) => {
    stepMachine(replica, Machine.observeEvent)
    const local = toLocal(replica.machine)
    if (local.state !== replica.protocol.local.state || local.generation !== replica.protocol.local.generation) {
      handle(replica, { _tag: "Local", local })
    }
    handle(replica, event)
  }

  for (let id = 0; id < replicaCount; id++) {
    const machine = { ...Machine.initial(config, 0), fleetGated: false }
    replicas.push({
      id,
      machine,
      protocol: Protocol.initial(toLocal(machine)),
      connected: true,
      inbox: [],
      leasePeriod: undefined,
      leaseLocalGeneration: undefined,
      timers: []
    })
  }
  for (const replica of replicas) feed(replica, { _tag: "Reachable" })

  const deliver = (replica: Replica) => {
    const messages = replica.inbox.splice(0)
    if (!replica.connected) return
    for (const view of messages) feed(replica, { _tag: "View", view, source: "message" })
  }

  // time passes: the breakers' timers publish their transitions, the shell's timers fire
  const advance = (millis: number) => {
    now += millis
    for (const replica of replicas) {
      const due = replica.timers.filter((t) => t.at <= now)
      replica.timers = replica.timers.filter((t) => t.at > now)
      const before = replica.machine.generation
      stepMachine(replica, Machine.observeEvent)
      if (replica.machine.generation !== before) {
        feed(replica, { _tag: "Local", local: toLocal(replica.machine) })
      }
      for (const timer of due) feed(replica, timer.event)
    }
  }

  const heartbeat = (replica: Replica) => {
    if (!replica.connected) return feed(replica, { _tag: "Unreachable" })
    if (!replica.protocol.reachable) feed(replica, { _tag: "Reachable" })
    if (replica.protocol.reachable) feed(replica, { _tag: "View", view: redis.view() })
  }

  for (const command of script) {
    switch (command._tag) {
      case "Call": {
        const replica = replicas[command.replica]!
        const before = replica.machine
        const admitted = stepMachine(replica, Machine.admitEvent)
        const decision = admitted.decision
        if (decision?._tag === "Ticket") {
          // a probe under a lease from Redis; a replica whose opening the fleet never took (a
          // quorum not reached) grants itself local probes, which the fleet does not coordinate
          if (
            decision.probe && replica.machine.fleetGated === true &&
            replica.leaseLocalGeneration === replica.machine.generation
          ) {
            // a lease outlives a FLUSHALL in the replica that holds it (until it next reads
            // Redis): periods are told apart by the life of Redis that granted the lease
            const period = replica.leasePeriod!
            const set = probers.get(period) ?? new Set<number>()
            set.add(replica.id)
            probers.set(period, set)
            expect(set.size, `two replicas probed in fleet period ${period}`).toBe(1)
          }
          stepMachine(replica, { _tag: command.ok ? "Success" : "Failure", ticket: decision })
        }
        if (replica.machine.generation !== before.generation) {
          feed(replica, { _tag: "Local", local: toLocal(replica.machine) })
        }
        break
      }
      case "Advance":
        advance(command.millis)
        break
      case "Deliver":
        deliver(replicas[command.replica]!)
        break
      case "Heartbeat":
        heartbeat(replicas[command.replica]!)
        break
      case "Cut": {
        const replica = replicas[command.replica]!
        replica.connected = false
        replica.inbox = []
        break
      }
      case "Heal":
        replicas[command.replica]!.connected = true
        break
      case "Flush":
        redis.flush()
        break
    }
  }

  // heal, then let heartbeats, messages and timers run their course (no more calls)
  for (const replica of replicas) replica.connected = true
  for (let round = 0; round < 6; round++) {
    advance(60)
    for (const replica of replicas) heartbeat(replica)
    for (const replica of replicas) deliver(replica)
  }
  const fleet = redis.effective()
  const leaseHeld = redis.leaseToken !== "" && redis.leaseUntil > now
  for (const replica of replicas) {
    // nobody waits for a probe that will never come: a replica in half_open can probe, or the
    // fleet's lease is held by someone
    if (replica.machine.state === "half_open" && !leaseHeld) {
      expect(
        Machine.peek(replica.machine, config, () => now)._tag,
        `replica ${replica.id} stuck in half_open`
      ).not.toBe("Rejected")
    }
    const local = replica.machine.state
    // (with a quorum, a replica's own opening may not have become the fleet's)
    if (fleet !== "closed") expect(local, `replica ${replica.id} in a fleet that is ${fleet}`).not.toBe("closed")
    else if (quorum === 1) expect(local, `replica ${replica.id} in a closed fleet`).toBe("closed")
    expect(replica.protocol.known?.generation).toBe(redis.generation)
  }
}

describe("fleet protocol (model-based)", () => {
  it("one prober per fleet half-open period, and agreement once the network heals", () => {
    fc.assert(
      fc.property(
        fc.array(commandArbitrary, { minLength: 10, maxLength: 150, size: "max" }),
        fc.constantFrom(1, 1, 2),
        simulate
      ),
      { numRuns: propertyRuns }
    )
  })

  it("a replica that opened while cut off pushes its opening when it is back, before adopting the fleet's view", () => {
    const local: Protocol.Local = { state: "open", generation: 1, remainingMillis: 500, isolated: false }
    let state = Protocol.initial(local)
    state = Protocol.step(state, { _tag: "Reachable" }, { replica: "r" }).state
    const view: Protocol.View = { generation: 4, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    const step = Protocol.step(state, { _tag: "View", view }, { replica: "r" })
    expect(step.commands).toEqual([{ _tag: "Propose", knownGeneration: 4, durationMillis: 500 }])
  })

  it("an opening proposed from a closed period that has ended is dropped, and the fleet's closing adopted", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "closed", generation: 0, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    state = Protocol.step(state, {
      _tag: "View",
      view: { generation: 2, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    }, config).state
    const opened = Protocol.step(state, {
      _tag: "Local",
      local: { state: "open", generation: 1, remainingMillis: 100, isolated: false }
    }, config)
    expect(opened.commands).toEqual([{ _tag: "Propose", knownGeneration: 2, durationMillis: 100 }])
    const dropped = Protocol.step(opened.state, {
      _tag: "Proposed",
      outcome: "stale",
      view: { generation: 5, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    }, config)
    expect(dropped.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptClose" } }])
  })

  it("Redis forgot the fleet (FLUSHALL, restart): an open replica publishes its opening again", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "open", generation: 3, remainingMillis: 800, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    state = Protocol.step(state, {
      _tag: "View",
      view: { generation: 7, state: "open", remainingMillis: 800, leaseRemainingMillis: 0 }
    }, config).state
    const forgotten = Protocol.step(state, {
      _tag: "View",
      view: { generation: 0, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    }, config)
    expect(forgotten.commands).toEqual([{ _tag: "Propose", knownGeneration: 0, durationMillis: 800 }])
  })

  it("while Redis is unreachable the protocol sends nothing and lifts the probe gate", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "closed", generation: 0, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const lost = Protocol.step(state, { _tag: "Unreachable" }, config)
    expect(lost.commands).toEqual([{ _tag: "Breaker", event: { _tag: "FleetReachable", reachable: false } }])
    const opened = Protocol.step(lost.state, {
      _tag: "Local",
      local: { state: "open", generation: 1, remainingMillis: 100, isolated: false }
    }, config)
    expect(opened.commands).toEqual([])
    expect(Protocol.step(opened.state, { _tag: "Unreachable" }, config).commands).toEqual([])
  })

  it("a late message is ignored; a reply with an older generation means Redis lost its data", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "closed", generation: 0, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const current: Protocol.View = { generation: 2, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    state = Protocol.step(state, { _tag: "View", view: current }, config).state
    const older: Protocol.View = { generation: 1, state: "open", remainingMillis: 500, leaseRemainingMillis: 0 }
    const late = Protocol.step(state, { _tag: "View", view: older, source: "message" }, config)
    expect(late.commands).toEqual([])
    expect(late.state.known).toEqual(current)
    const reply = Protocol.step(state, { _tag: "View", view: older, source: "reply" }, config)
    expect(reply.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 500 } }])
  })

  it("a replica in half_open when Redis comes back empty publishes an opening that has ended", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "half_open", generation: 2, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const view: Protocol.View = { generation: 0, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    expect(Protocol.step(state, { _tag: "View", view }, config).commands).toEqual([
      { _tag: "Propose", knownGeneration: 0, durationMillis: 0 }
    ])
  })

  it("a replica whose opening the fleet did not take (quorum pending) probes on its own in half_open, once", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "closed", generation: 0, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const closed: Protocol.View = { generation: 0, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    state = Protocol.step(state, { _tag: "View", view: closed }, config).state
    state = Protocol.step(state, {
      _tag: "Local",
      local: { state: "open", generation: 1, remainingMillis: 100, isolated: false }
    }, config).state
    state = Protocol.step(state, { _tag: "Proposed", outcome: "pending", view: closed }, config).state
    const halfOpen = Protocol.step(state, {
      _tag: "Local",
      local: { state: "half_open", generation: 2, remainingMillis: 0, isolated: false }
    }, config)
    expect(halfOpen.commands).toEqual([{ _tag: "Breaker", event: { _tag: "LeaseGranted", generation: 2 } }])
    const again = Protocol.step(halfOpen.state, { _tag: "View", view: closed }, config)
    expect(again.commands).toEqual([])
  })

  it("a probe that did not count (settling rejected) leaves the local breaker with the fleet's state", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "half_open", generation: 2, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const halfOpen: Protocol.View = { generation: 1, state: "half_open", remainingMillis: 0, leaseRemainingMillis: 0 }
    const asked = Protocol.step(state, { _tag: "View", view: halfOpen }, config)
    expect(asked.commands).toMatchObject([{ _tag: "Acquire", knownGeneration: 1 }])
    const token = (asked.commands[0] as { readonly token: string }).token
    state = Protocol.step(
      asked.state,
      { _tag: "LeaseAnswer", outcome: "granted", token, localGeneration: 2, view: halfOpen },
      config
    )
      .state
    const closed = Protocol.step(state, {
      _tag: "Local",
      local: { state: "closed", generation: 3, remainingMillis: 0, isolated: false }
    }, config)
    expect(closed.commands).toEqual([{
      _tag: "Settle",
      knownGeneration: 1,
      token,
      outcome: "close",
      durationMillis: 0
    }])
    const rejected = Protocol.step(closed.state, { _tag: "Settled", outcome: "rejected", view: halfOpen }, config)
    expect(rejected.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 0 } }])
  })

  it("a replica probing on its own gives that probe up when the fleet opens after all", () => {
    const config = { replica: "r" }
    let state = Protocol.initial({ state: "half_open", generation: 2, remainingMillis: 0, isolated: false })
    state = Protocol.step(state, { _tag: "Reachable" }, config).state
    const closed: Protocol.View = { generation: 0, state: "closed", remainingMillis: 0, leaseRemainingMillis: 0 }
    // right after the reconnection the half_open replica publishes its ended opening; say the
    // quorum keeps it pending
    state = Protocol.step(state, { _tag: "View", view: closed }, config).state
    state = Protocol.step(state, { _tag: "Proposed", outcome: "pending", view: closed }, config).state
    // the next heartbeat's view: the fleet is still closed, so the replica probes on its own
    const local = Protocol.step(state, { _tag: "View", view: closed }, config)
    expect(local.commands).toEqual([{ _tag: "Breaker", event: { _tag: "LeaseGranted", generation: 2 } }])
    const opened: Protocol.View = { generation: 1, state: "half_open", remainingMillis: 0, leaseRemainingMillis: 500 }
    const fleet = Protocol.step(local.state, { _tag: "View", view: opened, source: "message" }, config)
    expect(fleet.commands[0]).toEqual({ _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } })
  })
})

/**
 * The fleet protocol's local side, checked as the shell runs it but without effects: several
 * replicas, each a real breaker machine with its protocol state, against a small model of the
 * Redis scripts (the same rules, in TypeScript) and a network that delivers, delays or cuts.
 * fast-check picks calls and their outcomes, time, message deliveries, heartbeats, cuts,
 * `FLUSHALL`s (each starting a new epoch) and stalls (the replica's next change runs after its
 * deadline and answers `late`); leases are asked for by calls arriving in half_open, and given
 * back when no probe started. After every step no two replicas probe under leases of the same
 * fleet half-open period, and once the network heals and everything is delivered, every replica
 * agrees with the fleet, epoch included, and none waits in half_open for a probe that cannot come. (A lease outlives a `FLUSHALL` in its holder until that replica next reads Redis: the one
 * extra probe per such replica that docs/fleet.md admits.)
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Protocol from "../src/fleetProtocol.js"
import * as Machine from "../src/machine.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const config: Machine.Config<number> = {
  strategy: Machine.consecutiveFailures(2),
  recoveryTimeoutMillis: 100,
  halfOpenMaxProbes: 1
}
// long enough that no lease expires in a run: two probes in one period would then be a bug
const leaseTtl = 1_000_000
// a lease whose probe has not started by then is given back
const leaseIdle = 50

/** The Lua scripts' rules (fleetScripts.ts), on the simulation's clock. */
class RedisModel {
  /** The life of the stored state: 0 while nothing is stored, a new and greater one after each FLUSHALL. */
  epoch = 0
  lastEpoch = 0
  generation = 0
  state: "closed" | "open" = "closed"
  until = 0
  leaseToken = ""
  leaseUntil = 0
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
      epoch: this.epoch,
      generation: this.generation,
      state,
      remainingMillis: state === "open" ? this.until - this.now() : 0,
      leaseRemainingMillis: state === "half_open" && this.leaseToken !== "" && this.leaseUntil > this.now()
        ? this.leaseUntil - this.now()
        : 0
    }
  }
  known(known: Protocol.Known): boolean {
    return known.epoch === this.epoch && known.generation === this.generation
  }
  transition(to: "closed" | "open", duration: number, by: number) {
    if (this.epoch === 0) this.epoch = ++this.lastEpoch
    this.proposers = new Set()
    this.generation++
    this.state = to
    this.until = to === "open" ? this.now() + duration : 0
    this.leaseToken = ""
    this.leaseUntil = 0
    this.publish({
      epoch: this.epoch,
      generation: this.generation,
      state: to,
      remainingMillis: duration,
      leaseRemainingMillis: 0
    }, by)
  }
  propose(known: Protocol.Known, duration: number, by: number): "applied" | "stale" | "pending" {
    if (!this.known(known) || this.effective() !== "closed") return "stale"
    this.proposers.add(by)
    if (this.proposers.size < this.quorum) return "pending"
    this.transition("open", duration, by)
    return "applied"
  }
  acquire(known: Protocol.Known, token: string): "granted" | "denied" | "stale" {
    if (!this.known(known) || this.effective() !== "half_open") return "stale"
    // never renewed: a live lease denies every request, its holder's included
    if (this.leaseToken !== "" && this.leaseUntil > this.now()) return "denied"
    this.leaseToken = token
    this.leaseUntil = this.now() + leaseTtl
    return "granted"
  }
  release(token: string) {
    if (this.leaseToken !== "" && this.leaseToken === token) {
      this.leaseToken = ""
      this.leaseUntil = 0
    }
  }
  settle(known: Protocol.Known, token: string, outcome: "close" | "open", duration: number, by: number) {
    if (
      !this.known(known) || this.effective() !== "half_open" || this.leaseToken !== token ||
      this.leaseUntil <= this.now()
    ) return "rejected" as const
    this.transition(outcome === "close" ? "closed" : "open", duration, by)
    return "applied" as const
  }
  flush() {
    this.proposers = new Set()
    this.epoch = 0
    this.generation = 0
    this.state = "closed"
    this.until = 0
    this.leaseToken = ""
    this.leaseUntil = 0
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
  timers: Array<{ readonly at: number; readonly event: () => Protocol.Event }>
  /** The next Redis command runs past its deadline (written before a stall): it answers `late`. */
  late: boolean
}

type Command =
  /** `silent`: the call ends saying nothing about the service (interrupted), whatever `ok` says. */
  | { readonly _tag: "Call"; readonly replica: number; readonly ok: boolean; readonly silent?: boolean }
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "Deliver"; readonly replica: number }
  | { readonly _tag: "Heartbeat"; readonly replica: number }
  | { readonly _tag: "Cut"; readonly replica: number }
  | { readonly _tag: "Heal"; readonly replica: number }
  | { readonly _tag: "Flush" }
  | { readonly _tag: "Stall"; readonly replica: number }

const replicaCount = 3

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      _tag: fc.constant("Call" as const),
      replica: fc.nat({ max: replicaCount - 1 }),
      ok: fc.boolean(),
      silent: fc.nat({ max: 3 }).map((n) => n === 0)
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
  { arbitrary: fc.constant({ _tag: "Flush" } as const), weight: 1 },
  {
    arbitrary: fc.record({ _tag: fc.constant("Stall" as const), replica: fc.nat({ max: replicaCount - 1 }) }),
    weight: 1
  }
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
    isolated: machine.isolated
  })
  // what remains of the live machine's opening, when a command is built (as the shell does)
  const remaining = (machine: Machine.Machine<number>) =>
    machine.state === "open" ? Math.max(0, machine.openUntil - now) : 0

  const stepMachine = (replica: Replica, event: Machine.Event) => {
    const step = Machine.step(replica.machine, event, now, config)
    replica.machine = step.machine
    return step
  }

  const run = (replica: Replica, command: Protocol.Command) => {
    const redisCommand = command._tag === "Propose" || command._tag === "Acquire" || command._tag === "Settle" ||
      command._tag === "Read" || command._tag === "Release"
    if (redisCommand && !replica.connected) return handle(replica, { _tag: "Unreachable" })
    // a command written before a stall runs after its deadline: it changes nothing
    const late = replica.late && (command._tag === "Propose" || command._tag === "Acquire" || command._tag === "Settle")
    if (late) replica.late = false
    switch (command._tag) {
      case "Propose": {
        if (late) return handle(replica, { _tag: "Proposed", outcome: "late", view: redis.view() })
        stepMachine(replica, Machine.observeEvent)
        const outcome = redis.propose(command.known, remaining(replica.machine), replica.id)
        return handle(replica, { _tag: "Proposed", outcome, view: redis.view() })
      }
      case "Acquire": {
        const outcome = late ? "late" : redis.acquire(command.known, command.token)
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
      case "Release":
        // what this replica probes from now on is not under that lease
        replica.leaseLocalGeneration = undefined
        redis.release(command.token)
        return handle(replica, { _tag: "View", view: redis.view() })
      case "Settle": {
        if (late) return handle(replica, { _tag: "Settled", outcome: "late", token: command.token, view: redis.view() })
        stepMachine(replica, Machine.observeEvent)
        const outcome = redis.settle(
          command.known,
          command.token,
          command.outcome,
          command.outcome === "open" ? remaining(replica.machine) : 0,
          replica.id
        )
        return handle(replica, { _tag: "Settled", outcome, token: command.token, view: redis.view() })
      }
      case "Read":
        return handle(replica, { _tag: "View", view: redis.view() })
      case "Breaker": {
        stepMachine(replica, command.event)
        return handle(replica, { _tag: "Local", local: toLocal(replica.machine) })
      }
      case "WatchLease": {
        const token = command.token
        replica.timers.push({ at: now + leaseTtl, event: () => ({ _tag: "LeaseExpired", token }) })
        replica.timers.push({
          at: now + leaseIdle,
          event: () => ({
            _tag: "LeaseIdle",
            token,
            probing: replica.machine.state === "half_open" &&
              replica.machine.probesInFlight + replica.machine.probeSuccesses > 0
          })
        })
        return
      }
      case "RetryLeaseAfter": {
        const localGeneration = command.localGeneration
        replica.timers.push({
          at: now + command.delayMillis + 1,
          event: () => ({ _tag: "RetryLease", localGeneration })
        })
        return
      }
    }
  }

  const handle = (replica: Replica, event: Protocol.Event): void => {
    const step = Protocol.step(replica.protocol, event, {
      replica: `r${replica.id}`,
      leaseTtlMillis: leaseTtl,
      leaseIdleMillis: leaseIdle
    })
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
      timers: [],
      late: false
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
      for (const timer of due) feed(replica, timer.event())
    }
  }

  const heartbeat = (replica: Replica) => {
    if (!replica.connected) return feed(replica, { _tag: "Unreachable" })
    if (!replica.protocol.reachable) feed(replica, { _tag: "Reachable" })
    if (replica.protocol.reachable) feed(replica, { _tag: "Heartbeat" })
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
          if (command.silent === true) {
            stepMachine(replica, { _tag: "Silent", ticket: decision })
            if (decision.probe) {
              const machine = replica.machine
              const probing = machine.state === "half_open" && machine.probesInFlight + machine.probeSuccesses > 0
              // an abandoned probe said nothing: it does not count as the period's probe
              if (!probing && replica.leasePeriod !== undefined) probers.get(replica.leasePeriod)?.delete(replica.id)
              // the breaker tells the shell, which feeds the protocol
              feed(replica, { _tag: "ProbeAbandoned", localGeneration: machine.generation, probing })
            }
          } else {
            stepMachine(replica, { _tag: command.ok ? "Success" : "Failure", ticket: decision })
          }
        } else if (decision?._tag === "Rejected" && decision.asksLease === true) {
          // the call arrived in half_open without the lease: the breaker asks the fleet for it
          feed(replica, { _tag: "LeaseAsked", localGeneration: replica.machine.generation })
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
      case "Stall":
        replicas[command.replica]!.late = true
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
    expect(replica.protocol.known?.epoch).toBe(redis.epoch)
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

  const config: Protocol.Config = { replica: "r", leaseTtlMillis: 1_000, leaseIdleMillis: 500 }
  const local = (state: Protocol.Local["state"], generation: number): Protocol.Local => ({
    state,
    generation,
    isolated: false
  })
  const view = (
    epoch: number,
    generation: number,
    state: Protocol.FleetState,
    remainingMillis = 0,
    leaseRemainingMillis = 0
  ): Protocol.View => ({ epoch, generation, state, remainingMillis, leaseRemainingMillis })
  const reachable = (l: Protocol.Local) => Protocol.step(Protocol.initial(l), { _tag: "Reachable" }, config).state
  const steps = (state: Protocol.State, ...events: ReadonlyArray<Protocol.Event>) =>
    events.reduce((s, event) => Protocol.step(s, event, config).state, state)
  /** A replica in its local half_open period 2 holding the lease `r:1`, granted in `halfOpen`. */
  const holding = (halfOpen: Protocol.View) =>
    steps(
      reachable(local("half_open", 2)),
      { _tag: "View", view: halfOpen },
      { _tag: "LeaseAsked", localGeneration: 2 },
      { _tag: "LeaseAnswer", outcome: "granted", token: "r:1", localGeneration: 2, view: halfOpen }
    )

  it("a replica that opened while cut off pushes its opening when it is back, before adopting the fleet's view", () => {
    const state = reachable(local("open", 1))
    const step = Protocol.step(state, { _tag: "View", view: view(1, 4, "closed") }, config)
    expect(step.commands).toEqual([{ _tag: "Propose", known: { epoch: 1, generation: 4 } }])
  })

  it("a replica that only followed the fleet's half_open period through an outage adopts the closing that ended it", () => {
    // half_open period of generation 1 (the fleet's), followed locally; Redis lost and back with
    // no local transition meanwhile, while another replica's probe closed the fleet (generation 2)
    const following = steps(reachable(local("half_open", 2)), { _tag: "View", view: view(1, 1, "half_open") })
    const back = steps(following, { _tag: "Unreachable" }, { _tag: "Reachable" })
    const closed = Protocol.step(back, { _tag: "View", view: view(1, 2, "closed") }, config)
    expect(closed.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptClose" } }])
    // one whose breaker moved meanwhile (its own probe failed: a new opening) still pushes it
    const moved = steps(following, { _tag: "Unreachable" }, { _tag: "Local", local: local("open", 3) }, {
      _tag: "Reachable"
    })
    expect(Protocol.step(moved, { _tag: "View", view: view(1, 2, "closed") }, config).commands).toEqual([
      { _tag: "Propose", known: { epoch: 1, generation: 2 } }
    ])
  })

  it("an opening proposed from a closed period that has ended is dropped, and the fleet's closing adopted", () => {
    const state = steps(reachable(local("closed", 0)), { _tag: "View", view: view(1, 2, "closed") })
    const opened = Protocol.step(state, { _tag: "Local", local: local("open", 1) }, config)
    expect(opened.commands).toEqual([{ _tag: "Propose", known: { epoch: 1, generation: 2 } }])
    const dropped = Protocol.step(
      opened.state,
      { _tag: "Proposed", outcome: "stale", view: view(1, 5, "closed") },
      config
    )
    expect(dropped.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptClose" } }])
  })

  it("Redis forgot the fleet (FLUSHALL, restart): an open replica publishes its opening again", () => {
    const state = steps(reachable(local("open", 3)), { _tag: "View", view: view(5, 7, "open", 800) })
    const forgotten = Protocol.step(state, { _tag: "View", view: view(0, 0, "closed") }, config)
    expect(forgotten.commands).toEqual([{ _tag: "Propose", known: { epoch: 0, generation: 0 } }])
  })

  it("a message of a new epoch is adopted at once, whatever its generation", () => {
    const state = steps(reachable(local("open", 3)), { _tag: "View", view: view(5, 7, "open", 800) })
    // another replica republished after a FLUSHALL and closed: generation 2 of epoch 6
    const closed = Protocol.step(state, { _tag: "View", view: view(6, 2, "closed"), source: "message" }, config)
    expect(closed.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptClose" } }])
    // a message of an older epoch, with a greater generation, is late
    const late = Protocol.step(closed.state, { _tag: "View", view: view(5, 9, "open", 100), source: "message" }, config)
    expect(late.commands).toEqual([])
  })

  it("while Redis is unreachable the protocol sends nothing and lifts the probe gate", () => {
    const state = reachable(local("closed", 0))
    const lost = Protocol.step(state, { _tag: "Unreachable" }, config)
    expect(lost.commands).toEqual([{ _tag: "Breaker", event: { _tag: "FleetReachable", reachable: false } }])
    const opened = Protocol.step(lost.state, { _tag: "Local", local: local("open", 1) }, config)
    expect(opened.commands).toEqual([])
    expect(Protocol.step(opened.state, { _tag: "LeaseAsked", localGeneration: 1 }, config).commands).toEqual([])
    expect(Protocol.step(opened.state, { _tag: "Unreachable" }, config).commands).toEqual([])
  })

  it("a late message is ignored; a reply with an older generation means Redis lost its data", () => {
    const current = view(1, 2, "closed")
    const state = steps(reachable(local("closed", 0)), { _tag: "View", view: current })
    const older = view(1, 1, "open", 500)
    const late = Protocol.step(state, { _tag: "View", view: older, source: "message" }, config)
    expect(late.commands).toEqual([])
    expect(late.state.known).toEqual(current)
    const reply = Protocol.step(state, { _tag: "View", view: older, source: "reply" }, config)
    expect(reply.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 500 } }])
  })

  it("a replica in half_open when Redis comes back empty publishes an opening that has ended", () => {
    const state = reachable(local("half_open", 2))
    expect(Protocol.step(state, { _tag: "View", view: view(0, 0, "closed") }, config).commands).toEqual([
      { _tag: "Propose", known: { epoch: 0, generation: 0 } }
    ])
  })

  it("a replica whose opening the fleet did not take (quorum pending) probes on its own in half_open, once", () => {
    const closed = view(0, 0, "closed")
    const state = steps(
      reachable(local("closed", 0)),
      { _tag: "View", view: closed },
      { _tag: "Local", local: local("open", 1) },
      { _tag: "Proposed", outcome: "pending", view: closed }
    )
    const halfOpen = Protocol.step(state, { _tag: "Local", local: local("half_open", 2) }, config)
    expect(halfOpen.commands).toEqual([{ _tag: "Breaker", event: { _tag: "LeaseGranted", generation: 2 } }])
    const again = Protocol.step(halfOpen.state, { _tag: "View", view: closed }, config)
    expect(again.commands).toEqual([])
  })

  it("the lease is asked for only when a call asks, with a fresh token per request, never renewed", () => {
    const halfOpen = view(1, 1, "half_open", 0, 0)
    // in the fleet's half_open period, a replica without calls asks for nothing
    const idle = Protocol.step(reachable(local("half_open", 2)), { _tag: "View", view: halfOpen }, config)
    expect(idle.commands).toEqual([])
    const asked = Protocol.step(idle.state, { _tag: "LeaseAsked", localGeneration: 2 }, config)
    expect(asked.commands).toEqual([{
      _tag: "Acquire",
      known: { epoch: 1, generation: 1 },
      token: "r:1",
      localGeneration: 2
    }])
    // denied: the next call may ask again once the holder's lease would have expired
    const denied = Protocol.step(asked.state, {
      _tag: "LeaseAnswer",
      outcome: "denied",
      token: "r:1",
      localGeneration: 2,
      view: view(1, 1, "half_open", 0, 700)
    }, config)
    // (the holder gives it back in 200 ms if its probe has not started by then)
    expect(denied.commands).toEqual([{ _tag: "RetryLeaseAfter", delayMillis: 200, localGeneration: 2 }])
    const retry = Protocol.step(denied.state, { _tag: "RetryLease", localGeneration: 2 }, config)
    expect(retry.commands).toEqual([{ _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } }])
    const again = Protocol.step(retry.state, { _tag: "LeaseAsked", localGeneration: 2 }, config)
    expect(again.commands).toMatchObject([{ _tag: "Acquire", token: "r:2" }])
  })

  it("a call in half_open while the fleet's opening runs on: Redis says so and the breaker adopts it", () => {
    const open = view(1, 1, "open", 300)
    const state = steps(reachable(local("half_open", 2)), { _tag: "View", view: open })
    const asked = Protocol.step(state, { _tag: "LeaseAsked", localGeneration: 2 }, config)
    expect(asked.commands).toMatchObject([{ _tag: "Acquire" }])
    const stale = Protocol.step(asked.state, {
      _tag: "LeaseAnswer",
      outcome: "stale",
      token: "r:1",
      localGeneration: 2,
      view: view(1, 1, "open", 120)
    }, config)
    expect(stale.commands).toEqual([
      { _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } },
      { _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 120 } }
    ])
  })

  it("a holder whose probe has not started gives the lease back; one whose probe runs keeps it", () => {
    const halfOpen = view(1, 1, "half_open")
    const granted = holding(halfOpen)
    expect(granted.lease?.token).toBe("r:1")
    expect(Protocol.step(granted, { _tag: "LeaseIdle", token: "r:1", probing: true }, config).commands).toEqual([])
    const idle = Protocol.step(granted, { _tag: "LeaseIdle", token: "r:1", probing: false }, config)
    expect(idle.commands).toEqual([
      { _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } },
      { _tag: "Release", token: "r:1" }
    ])
    expect(idle.state.lease).toBeUndefined()
  })

  it("a holder whose probe was abandoned gives the lease back at once, unless a probe still runs", () => {
    const granted = holding(view(1, 1, "half_open"))
    expect(Protocol.step(granted, { _tag: "ProbeAbandoned", localGeneration: 2, probing: true }, config).commands)
      .toEqual([])
    // an older period's probe says nothing of this lease
    expect(Protocol.step(granted, { _tag: "ProbeAbandoned", localGeneration: 1, probing: false }, config).commands)
      .toEqual([])
    // while Redis is unreachable the lease is kept (and settled once it is back)
    const cut = Protocol.step(granted, { _tag: "Unreachable" }, config).state
    expect(Protocol.step(cut, { _tag: "ProbeAbandoned", localGeneration: 2, probing: false }, config).commands)
      .toEqual([])
    const abandoned = Protocol.step(granted, { _tag: "ProbeAbandoned", localGeneration: 2, probing: false }, config)
    expect(abandoned.commands).toEqual([
      { _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } },
      { _tag: "Release", token: "r:1" }
    ])
    expect(abandoned.state.lease).toBeUndefined()
    // nothing is held any more: a second report changes nothing
    expect(Protocol.step(abandoned.state, { _tag: "ProbeAbandoned", localGeneration: 2, probing: false }, config))
      .toEqual({ state: abandoned.state, commands: [] })
  })

  it("a period seen half_open is never open again in the same state: the holder keeps its lease", () => {
    // the fleet opened for an hour elsewhere; this replica's shorter recovery ended it here, and
    // Redis granted the lease (the request carried the replica's horizon)
    const halfOpen = view(1, 1, "half_open", 0, 1_000)
    const granted = steps(
      reachable(local("half_open", 2)),
      { _tag: "View", view: view(1, 1, "open", 3_600_000) },
      { _tag: "LeaseAsked", localGeneration: 2 },
      { _tag: "LeaseAnswer", outcome: "granted", token: "r:1", localGeneration: 2, view: halfOpen }
    )
    expect(granted.lease?.token).toBe("r:1")
    // a view of the same state that says open (computed without the horizon) changes nothing
    const read = Protocol.step(granted, { _tag: "View", view: view(1, 1, "open", 3_599_000) }, config)
    expect(read.commands).toEqual([])
    expect(read.state.lease?.token).toBe("r:1")
    expect(read.state.known?.state).toBe("half_open")
    // a newer opening does end the period
    const reopened = Protocol.step(granted, { _tag: "View", view: view(1, 2, "open", 500) }, config)
    expect(reopened.commands).toContainEqual({ _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 500 } })
  })

  it("an adoption that drops a lease whose period Redis still holds gives the lease back", () => {
    const halfOpen = view(1, 1, "half_open", 0, 1_000)
    const granted = holding(halfOpen)
    // (the replica forgot the fleet's view, as after an answer it must adopt whatever it says)
    const adopted = Protocol.step({ ...granted, known: undefined }, {
      _tag: "View",
      view: view(1, 1, "open", 200)
    }, config)
    expect(adopted.commands).toEqual([
      { _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } },
      { _tag: "Release", token: "r:1" },
      { _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 200 } }
    ])
    expect(adopted.state.lease).toBeUndefined()
  })

  it("a lease held when Redis becomes unreachable is kept, and settled with the breaker's state once it is back", () => {
    const halfOpen = view(1, 1, "half_open", 0, 900)
    const granted = holding(halfOpen)
    const lost = Protocol.step(granted, { _tag: "Unreachable" }, config)
    expect(lost.commands).toEqual([{ _tag: "Breaker", event: { _tag: "FleetReachable", reachable: false } }])
    expect(lost.state.lease?.token).toBe("r:1")
    // the probe succeeds meanwhile: nothing is sent while Redis is unreachable, nor given back
    const closed = Protocol.step(lost.state, { _tag: "Local", local: local("closed", 3) }, config)
    expect(closed.commands).toEqual([])
    expect(Protocol.step(closed.state, { _tag: "LeaseIdle", token: "r:1", probing: false }, config).commands)
      .toEqual([])
    const back = steps(closed.state, { _tag: "Reachable" })
    // Redis still holds the period and the lease: the probe's result settles it (before: the
    // lease was forgotten, the fleet's half_open adopted and the success lost)
    const read = Protocol.step(back, { _tag: "View", view: view(1, 1, "half_open", 0, 400) }, config)
    expect(read.commands).toEqual([{
      _tag: "Settle",
      known: { epoch: 1, generation: 1 },
      token: "r:1",
      outcome: "close"
    }])
    // a settling cut off by the outage is kept as the lease too, and sent again
    const settling = Protocol.step(granted, { _tag: "Local", local: local("closed", 3) }, config)
    expect(settling.commands).toMatchObject([{ _tag: "Settle", token: "r:1" }])
    const cut = steps(settling.state, { _tag: "Unreachable" }, { _tag: "Reachable" })
    expect(Protocol.step(cut, { _tag: "View", view: view(1, 1, "half_open", 0, 400) }, config).commands)
      .toEqual([{ _tag: "Settle", known: { epoch: 1, generation: 1 }, token: "r:1", outcome: "close" }])
  })

  it("a holder whose breaker is in a new half_open period already settles its failed probe as an ended opening", () => {
    const halfOpen = view(1, 1, "half_open", 0, 900)
    const granted = holding(halfOpen)
    // the probe failed and the opening ended while Redis was unreachable: giving the lease back
    // (before) let another replica probe again in the same fleet period
    const back = steps(granted, { _tag: "Unreachable" }, { _tag: "Local", local: local("half_open", 4) }, {
      _tag: "Reachable"
    })
    expect(Protocol.step(back, { _tag: "View", view: halfOpen }, config).commands).toEqual([{
      _tag: "Settle",
      known: { epoch: 1, generation: 1 },
      token: "r:1",
      outcome: "open"
    }])
  })

  it("a denied replica asks again as soon as a read shows the lease given back", () => {
    const denied = steps(
      reachable(local("half_open", 2)),
      { _tag: "View", view: view(1, 1, "half_open") },
      { _tag: "LeaseAsked", localGeneration: 2 },
      {
        _tag: "LeaseAnswer",
        outcome: "denied",
        token: "r:1",
        localGeneration: 2,
        view: view(1, 1, "half_open", 0, 900)
      }
    )
    expect(Protocol.step(denied, { _tag: "View", view: view(1, 1, "half_open", 0, 800) }, config).commands).toEqual([])
    expect(Protocol.step(denied, { _tag: "View", view: view(1, 1, "half_open", 0, 0) }, config).commands)
      .toEqual([{ _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } }])
  })

  it("a lease granted after the local period ended goes back at once", () => {
    const halfOpen = view(1, 1, "half_open")
    const state = steps(
      reachable(local("half_open", 2)),
      { _tag: "View", view: halfOpen },
      { _tag: "LeaseAsked", localGeneration: 2 },
      { _tag: "Local", local: local("closed", 3) }
    )
    const granted = Protocol.step(state, {
      _tag: "LeaseAnswer",
      outcome: "granted",
      token: "r:1",
      localGeneration: 2,
      view: halfOpen
    }, config)
    expect(granted.commands[0]).toEqual({ _tag: "Release", token: "r:1" })
  })

  it("a probe that did not count (settling rejected) leaves the local breaker with the fleet's state", () => {
    const halfOpen = view(1, 1, "half_open")
    const state = holding(halfOpen)
    const closed = Protocol.step(state, { _tag: "Local", local: local("closed", 3) }, config)
    expect(closed.commands).toEqual([{
      _tag: "Settle",
      known: { epoch: 1, generation: 1 },
      token: "r:1",
      outcome: "close"
    }])
    const rejected = Protocol.step(
      closed.state,
      { _tag: "Settled", outcome: "rejected", token: "r:1", view: halfOpen },
      config
    )
    expect(rejected.commands).toEqual([{ _tag: "Breaker", event: { _tag: "AdoptOpen", remainingMillis: 0 } }])
    // one that ran late changed nothing: the lease is still this replica's, and it settles again
    // after the next heartbeat (before: at once, and late again while Redis's clock was ahead)
    const late = Protocol.step(closed.state, { _tag: "Settled", outcome: "late", token: "r:1", view: halfOpen }, config)
    expect(late.commands).toEqual([])
    expect(late.state.settling?.token).toBe("r:1")
    expect(Protocol.step(late.state, { _tag: "View", view: halfOpen }, config).commands).toEqual([])
    expect(Protocol.step(late.state, { _tag: "Heartbeat" }, config).commands).toEqual(closed.commands)
  })

  it("a settling rejected because Redis lost its data publishes the local state again instead of adopting it", () => {
    const halfOpen = view(4, 1, "half_open")
    const state = holding(halfOpen)
    // the probe failed: the breaker opened again, and Redis was flushed meanwhile
    const failed = Protocol.step(state, { _tag: "Local", local: local("open", 3) }, config)
    expect(failed.commands).toMatchObject([{ _tag: "Settle", outcome: "open" }])
    const flushed = Protocol.step(failed.state, {
      _tag: "Settled",
      outcome: "rejected",
      token: "r:1",
      view: view(0, 0, "closed")
    }, config)
    expect(flushed.commands).toEqual([{ _tag: "Propose", known: { epoch: 0, generation: 0 } }])
  })

  it("a proposal that ran late changed nothing: an opening still running is proposed again", () => {
    const closed = view(1, 2, "closed")
    const state = steps(reachable(local("closed", 0)), { _tag: "View", view: closed })
    const opened = Protocol.step(state, { _tag: "Local", local: local("open", 1) }, config)
    // after the next heartbeat, with a new deadline (before: at once, and late again while
    // Redis's clock was ahead of the recorded offset)
    const late = Protocol.step(opened.state, { _tag: "Proposed", outcome: "late", view: closed }, config)
    expect(late.commands).toEqual([])
    expect(Protocol.step(late.state, { _tag: "View", view: closed }, config).commands).toEqual([])
    expect(Protocol.step(late.state, { _tag: "Heartbeat" }, config).commands)
      .toEqual([{ _tag: "Propose", known: { epoch: 1, generation: 2 } }])
    // and one that ended meanwhile (the breaker closed again) is not
    const ended = steps(opened.state, { _tag: "Proposed", outcome: "late", view: closed }, {
      _tag: "Local",
      local: local("closed", 3)
    })
    expect(Protocol.step(ended, { _tag: "Heartbeat" }, config).commands).toEqual([])
  })

  it("a replica probing on its own gives that probe up when the fleet opens after all", () => {
    const closed = view(0, 0, "closed")
    // right after the reconnection the half_open replica publishes its ended opening; say the
    // quorum keeps it pending
    const state = steps(
      reachable(local("half_open", 2)),
      { _tag: "View", view: closed },
      { _tag: "Proposed", outcome: "pending", view: closed }
    )
    // the next heartbeat's view: the fleet is still closed, so the replica probes on its own
    const alone = Protocol.step(state, { _tag: "View", view: closed }, config)
    expect(alone.commands).toEqual([{ _tag: "Breaker", event: { _tag: "LeaseGranted", generation: 2 } }])
    const fleet = Protocol.step(
      alone.state,
      { _tag: "View", view: view(1, 1, "half_open", 0, 500), source: "message" },
      config
    )
    expect(fleet.commands[0]).toEqual({ _tag: "Breaker", event: { _tag: "LeaseLost", generation: 2 } })
  })
})

import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Machine from "../src/machine.js"
import { propertyRuns } from "./utils/propertyRuns.js"

// A reference model of the breaker written from DESIGN.md's "Circuit breaker" section alone
// (and the policies of docs/circuit-breaker.md: probe timeout, open durations from a schedule,
// isolate/reset), deliberately in another shape than the machine: mutable, with staleness
// decided by how many times the breaker opened (or was isolated or reset) since a call was
// admitted ("results of calls that were admitted before the breaker opened, and finish after,
// change nothing") instead of a generation number.

type State = "closed" | "open" | "half_open"
type Outcome = "Success" | "Failure" | "Ignored" | "Silent"

interface Settings {
  readonly failureThreshold: number
  readonly recoveryTimeout: number
  readonly halfOpenMaxProbes: number
  /** A probe running this long counts as failed; none when undefined. */
  readonly probeTimeout: number | undefined
  /** The lengths of the 1st, 2nd, … opening since the last close (the last repeats). */
  readonly openDurations: ReadonlyArray<number> | undefined
}

interface ModelTicket {
  readonly opensAtAdmission: number
  readonly probe: boolean
  readonly id: number
}

type ModelDecision =
  | { readonly _tag: "Run"; readonly ticket: ModelTicket }
  | { readonly _tag: "Reject"; readonly state: "open" | "half_open"; readonly retryAfterMillis: number }

/** What an admission would do, without doing it (the model's counterpart of `peek`). */
type ModelPeek = "Run" | "Guarded" | { readonly state: "open" | "half_open"; readonly retryAfterMillis: number }

interface ModelTransition {
  readonly from: State
  readonly to: State
  readonly at: number
  readonly reason: string
}

class Reference {
  state: State = "closed"
  failureCount = 0
  lastFailure: number | undefined = undefined
  lastStateChange: number
  openedAt = 0
  openLength = 0
  isolated = false
  /** Openings since the breaker last closed. */
  openings = 0
  /** Openings, isolations and resets: a call admitted in an earlier epoch is stale. */
  opens = 0
  /** The probes running, by ticket id, with their deadlines. */
  probes: Array<{ readonly id: number; readonly deadline: number }> = []
  probesSucceeded = 0
  transitions: Array<ModelTransition> = []
  private nextId = 0

  constructor(readonly settings: Settings, now: number) {
    this.lastStateChange = now
  }

  private moveTo(to: State, at: number, reason: string) {
    this.transitions.push({ from: this.state, to, at, reason })
    this.state = to
    this.lastStateChange = at
    this.probes = []
    this.probesSucceeded = 0
  }

  private trip(now: number, reason: string) {
    this.moveTo("open", now, reason)
    this.openedAt = now
    this.openings += 1
    const durations = this.settings.openDurations
    this.openLength = durations === undefined
      ? this.settings.recoveryTimeout
      : durations[Math.min(this.openings, durations.length) - 1]!
    this.opens += 1
  }

  get recoversAt() {
    return this.isolated ? Infinity : this.openedAt + this.openLength
  }

  private get earliestDeadline() {
    return Math.min(...this.probes.map((p) => p.deadline))
  }

  /** Applies every deadline time has passed, each dated when it passed. */
  private catchUp(now: number) {
    for (;;) {
      if (this.state === "open" && now >= this.recoversAt) {
        this.moveTo("half_open", this.recoversAt, "recovery")
      } else if (this.state === "half_open" && this.probes.length > 0 && now >= this.earliestDeadline) {
        const at = this.earliestDeadline
        this.failureCount += 1
        this.lastFailure = at
        this.trip(at, "probe_timeout")
      } else {
        return
      }
    }
  }

  private hasProbePermit() {
    return this.probes.length + this.probesSucceeded < this.settings.halfOpenMaxProbes
  }

  /** Starts a step: returns (and forgets) the transitions of the previous one. */
  begin() {
    this.transitions = []
  }

  observe(now: number) {
    this.catchUp(now)
  }

  isolate(now: number) {
    this.catchUp(now)
    if (this.isolated) return
    this.moveTo("open", now, "isolated")
    this.isolated = true
    this.opens += 1
  }

  reset(now: number) {
    this.catchUp(now)
    this.moveTo("closed", now, "reset")
    this.isolated = false
    this.failureCount = 0
    this.openings = 0
    this.opens += 1
  }

  admit(now: number): ModelDecision {
    this.catchUp(now)
    switch (this.state) {
      case "closed":
        return { _tag: "Run", ticket: { opensAtAdmission: this.opens, probe: false, id: this.nextId++ } }
      case "open":
        return { _tag: "Reject", state: "open", retryAfterMillis: this.recoversAt - now }
      case "half_open": {
        if (!this.hasProbePermit()) return { _tag: "Reject", state: "half_open", retryAfterMillis: 0 }
        const id = this.nextId++
        this.probes.push({ id, deadline: now + (this.settings.probeTimeout ?? Infinity) })
        return { _tag: "Run", ticket: { opensAtAdmission: this.opens, probe: true, id } }
      }
    }
  }

  peek(now: number): ModelPeek {
    switch (this.state) {
      case "closed":
        return "Run"
      case "open":
        return now >= this.recoversAt ? "Guarded" : { state: "open", retryAfterMillis: this.recoversAt - now }
      case "half_open":
        if (this.probes.length > 0 && now >= this.earliestDeadline) return "Guarded"
        return this.hasProbePermit() ? "Guarded" : { state: "half_open", retryAfterMillis: 0 }
    }
  }

  finish(ticket: ModelTicket, outcome: Outcome, now: number) {
    this.catchUp(now)
    if (ticket.opensAtAdmission !== this.opens) return // admitted before the breaker opened
    if (!ticket.probe) {
      // a call of the current closed period
      switch (outcome) {
        case "Success":
          this.failureCount = 0
          return
        case "Failure":
          this.failureCount += 1
          this.lastFailure = now
          if (this.failureCount >= this.settings.failureThreshold) this.trip(now, "threshold")
          return
        case "Ignored":
        case "Silent":
          return // counts neither way
      }
    }
    const ended = () => {
      this.probes = this.probes.filter((p) => p.id !== ticket.id)
    }
    switch (outcome) {
      case "Success":
      case "Ignored": // the service answered
        ended()
        this.probesSucceeded += 1
        if (this.probesSucceeded >= this.settings.halfOpenMaxProbes) {
          this.moveTo("closed", now, "recovered")
          this.failureCount = 0
          this.openings = 0
        }
        return
      case "Failure":
        this.failureCount += 1
        this.lastFailure = now
        this.trip(now, "probe_failed")
        return
      case "Silent":
        ended() // the permit is given back
        return
    }
  }
}

// Commands

type Command =
  | { readonly _tag: "Admit" }
  | { readonly _tag: "Finish"; readonly pick: number; readonly outcome: Outcome }
  | { readonly _tag: "Advance"; readonly millis: number }
  /** Moves time to the end of the current recovery window (plus `offset`), or by one recoveryTimeout. */
  | { readonly _tag: "AdvanceToRecovery"; readonly offset: -1 | 0 | 1 }
  | { readonly _tag: "AdvanceByRecoveryTimeout" }
  /** Moves time to the earliest deadline of a running probe (plus `offset`). */
  | { readonly _tag: "AdvanceToProbeDeadline"; readonly offset: -1 | 0 | 1 }
  | { readonly _tag: "Observe" }
  | { readonly _tag: "Isolate" }
  | { readonly _tag: "Reset" }

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ _tag: "Admit" } as const), weight: 10 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Finish" as const),
      // counted from the most recent call, mostly one of the last few
      pick: fc.oneof({ arbitrary: fc.nat({ max: 2 }), weight: 4 }, { arbitrary: fc.nat({ max: 1_000 }), weight: 1 }),
      outcome: fc.constantFrom<Outcome>("Success", "Success", "Failure", "Failure", "Ignored", "Silent")
    }),
    weight: 12
  },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Advance" as const),
      // small steps too, so that probes are admitted at different times within a probe timeout
      millis: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 120 }))
    }),
    weight: 4
  },
  {
    arbitrary: fc.record({
      _tag: fc.constant("AdvanceToRecovery" as const),
      offset: fc.constantFrom<-1 | 0 | 1>(-1, 0, 1)
    }),
    weight: 4
  },
  { arbitrary: fc.constant({ _tag: "AdvanceByRecoveryTimeout" } as const), weight: 2 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("AdvanceToProbeDeadline" as const),
      offset: fc.constantFrom<-1 | 0 | 1>(-1, 0, 1)
    }),
    weight: 4
  },
  { arbitrary: fc.constant({ _tag: "Observe" } as const), weight: 2 },
  // rare, so that most runs spend most of their time in the automatic states
  {
    arbitrary: fc.constantFrom<Command>({ _tag: "Isolate" }, { _tag: "Reset" }, { _tag: "Reset" }),
    weight: 1
  }
)

const settingsArbitrary: fc.Arbitrary<Settings & { readonly start: number }> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  recoveryTimeout: fc.integer({ min: 1, max: 60 }),
  halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
  probeTimeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined, freq: 2 }),
  openDurations: fc.option(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }), {
    nil: undefined,
    freq: 2
  }),
  start: fc.nat({ max: 10_000 })
})

const configOf = (settings: Settings): Machine.Config<number> => ({
  strategy: Machine.consecutiveFailures(settings.failureThreshold),
  recoveryTimeoutMillis: settings.openDurations?.[0] ?? settings.recoveryTimeout,
  openDurationsMillis: settings.openDurations,
  halfOpenMaxProbes: settings.halfOpenMaxProbes,
  probeTimeoutMillis: settings.probeTimeout
})

/** What the runs exercised, so that a generator that never reaches a case is noticed. */
const coverage = {
  transitions: new Set<string>(),
  staleResults: 0,
  halfOpenRejections: 0,
  openRejections: 0,
  interruptedProbes: 0,
  ignoredProbes: 0,
  admittedAtRecoveryInstant: 0,
  peekGuarded: 0,
  peekGuardedTimedOut: 0,
  probeOvertakes: 0,
  reasons: new Set<string>(),
  rejectedWhileIsolated: 0,
  longerOpenings: 0
}

const expectSameStatus = (machine: Machine.Machine<number>, model: Reference, label: string) => {
  expect({
    state: machine.state,
    failureCount: machine.failureCount,
    lastFailure: machine.lastFailure,
    lastStateChange: machine.lastStateChange,
    isolated: machine.isolated
  }, label).toEqual({
    state: model.state,
    failureCount: model.failureCount,
    lastFailure: model.lastFailure,
    lastStateChange: model.lastStateChange,
    isolated: model.isolated
  })
  if (model.state === "open") expect(machine.openUntil, label).toBe(model.recoversAt)
}

/** `peek` agrees with `step(admit)` and with the model, and changes nothing. */
const checkPeek = (
  machine: Machine.Machine<number>,
  model: Reference,
  config: Machine.Config<number>,
  now: number,
  label: string
) => {
  const before = JSON.stringify(machine)
  let clockReads = 0
  const peeked = Machine.peek(machine, config, () => {
    clockReads += 1
    return now
  })
  expect(JSON.stringify(machine), `${label}: peek changed the machine`).toBe(before)
  const admitted = Machine.step(machine, Machine.admitEvent, now, config)
  const expected = model.peek(now)
  switch (peeked._tag) {
    case "Ticket":
      expect(expected, label).toBe("Run")
      expect(clockReads, `${label}: the closed path reads no time`).toBe(0)
      expect(admitted.decision, label).toEqual(peeked)
      expect(admitted.machine, label).toBe(machine)
      break
    case "Rejected":
      expect(expected, label).toEqual({ state: peeked.state, retryAfterMillis: peeked.retryAfterMillis })
      expect(admitted.decision, label).toEqual(peeked)
      expect(admitted.machine, label).toBe(machine)
      break
    case "Guarded":
      coverage.peekGuarded += 1
      expect(expected, label).toBe("Guarded")
      // the guarded path admits a probe: a permit is taken (and maybe open → half_open first),
      // unless a probe's deadline has passed: that probe failed and the breaker opened again
      expect(admitted.machine, label).not.toBe(machine)
      if (admitted.decision?._tag === "Rejected") {
        coverage.peekGuardedTimedOut += 1
        expect(admitted.transitions.map((t) => t.reason), label).toContain("probe_timeout")
      } else {
        expect(admitted.decision, label).toMatchObject({ _tag: "Ticket", probe: true })
      }
      break
  }
}

const runCommands = (settings: Settings & { readonly start: number }, commands: ReadonlyArray<Command>) => {
  const config = configOf(settings)
  let now = settings.start
  let machine = Machine.initial(config, now)
  const model = new Reference(settings, now)
  const running: Array<{ readonly ticket: Machine.Ticket; readonly modelTicket: ModelTicket }> = []
  expectSameStatus(machine, model, "initial")

  commands.forEach((command, index) => {
    const label = `command #${index} ${JSON.stringify(command)} at ${now}`
    checkPeek(machine, model, config, now, label)
    model.begin()
    let step: Machine.Step<number> | undefined
    switch (command._tag) {
      case "Advance":
        now += command.millis
        return
      case "AdvanceByRecoveryTimeout":
        now += settings.recoveryTimeout
        return
      case "AdvanceToRecovery":
        now = model.state === "open" && Number.isFinite(model.recoversAt)
          ? Math.max(now, model.recoversAt + command.offset)
          : now + settings.recoveryTimeout + command.offset
        return
      case "AdvanceToProbeDeadline": {
        const deadlines = model.probes.map((p) => p.deadline).filter(Number.isFinite)
        if (model.state === "half_open" && deadlines.length > 0) {
          now = Math.max(now, Math.min(...deadlines) + command.offset)
        }
        return
      }
      case "Isolate":
      case "Reset": {
        step = Machine.step(
          machine,
          command._tag === "Isolate" ? Machine.isolateEvent : Machine.resetEvent,
          now,
          config
        )
        if (command._tag === "Isolate") model.isolate(now)
        else model.reset(now)
        expect(step.decision, label).toBeUndefined()
        break
      }
      case "Observe": {
        step = Machine.step(machine, Machine.observeEvent, now, config)
        model.observe(now)
        expect(step.decision, label).toBeUndefined()
        break
      }
      case "Admit": {
        const recoveryInstant = model.state === "open" && now === model.openedAt + settings.recoveryTimeout
        step = Machine.step(machine, Machine.admitEvent, now, config)
        const expected = model.admit(now)
        const decision = step.decision
        if (expected._tag === "Run") {
          expect(decision, label).toMatchObject({ _tag: "Ticket", probe: expected.ticket.probe })
          running.push({ ticket: decision as Machine.Ticket, modelTicket: expected.ticket })
          if (recoveryInstant) coverage.admittedAtRecoveryInstant += 1
        } else {
          expect(decision, label).toMatchObject({
            _tag: "Rejected",
            state: expected.state,
            retryAfterMillis: expected.retryAfterMillis
          })
          if (expected.state === "open") coverage.openRejections += 1
          else coverage.halfOpenRejections += 1
          if (model.isolated) coverage.rejectedWhileIsolated += 1
        }
        break
      }
      case "Finish": {
        if (running.length === 0) return
        const [call] = running.splice(running.length - 1 - (command.pick % running.length), 1)
        const { modelTicket, ticket } = call!
        if (modelTicket.opensAtAdmission !== model.opens) coverage.staleResults += 1
        else if (modelTicket.probe && command.outcome === "Silent") coverage.interruptedProbes += 1
        else if (modelTicket.probe && command.outcome === "Ignored") coverage.ignoredProbes += 1
        const ownDeadline = model.probes.find((p) => p.id === modelTicket.id)?.deadline
        const overtakes = modelTicket.opensAtAdmission === model.opens && ownDeadline !== undefined &&
          Number.isFinite(ownDeadline) && model.probes.some((p) => p.deadline < ownDeadline)
        step = Machine.step(machine, { _tag: command.outcome, ticket }, now, config)
        model.finish(modelTicket, command.outcome, now)
        // a later probe ended first; the earlier one is still running with the earlier deadline
        if (overtakes && model.state === "half_open") coverage.probeOvertakes += 1
        expect(step.decision, label).toBeUndefined()
        break
      }
    }
    machine = step.machine
    expectSameStatus(machine, model, label)
    expect(step.transitions, label).toEqual(model.transitions)
    for (const transition of model.transitions) {
      coverage.transitions.add(`${transition.from}→${transition.to}`)
      coverage.reasons.add(transition.reason)
      const durations = settings.openDurations
      if (
        transition.to === "open" && durations !== undefined && model.openings > 1 && model.openLength !== durations[0]
      ) {
        coverage.longerOpenings += 1
      }
    }
  })
}

// never fewer than 300 (the coverage checks below need them, and the pure machine is fast);
// `npm run test:long` raises it to 10,000
const machineRuns = Math.max(300, propertyRuns)

describe("Machine (model-based)", () => {
  it("step agrees with a reference model of DESIGN.md on random command sequences", () => {
    fc.assert(
      fc.property(
        settingsArbitrary,
        fc.array(commandArbitrary, { minLength: 1, maxLength: 100, size: "max" }),
        runCommands
      ),
      { numRuns: machineRuns }
    )
    // the property is only as good as what it reached
    expect([...coverage.transitions].sort()).toEqual([
      "closed→closed",
      "closed→open",
      "half_open→closed",
      "half_open→open",
      "open→closed",
      "open→half_open",
      "open→open"
    ])
    expect([...coverage.reasons].sort()).toEqual([
      "isolated",
      "probe_failed",
      "probe_timeout",
      "recovered",
      "recovery",
      "reset",
      "threshold"
    ])
    expect(coverage.rejectedWhileIsolated).toBeGreaterThan(0)
    expect(coverage.peekGuardedTimedOut).toBeGreaterThan(0)
    expect(coverage.longerOpenings).toBeGreaterThan(0)
    expect(coverage.staleResults).toBeGreaterThan(0)
    expect(coverage.openRejections).toBeGreaterThan(0)
    expect(coverage.halfOpenRejections).toBeGreaterThan(0)
    expect(coverage.interruptedProbes).toBeGreaterThan(0)
    expect(coverage.ignoredProbes).toBeGreaterThan(0)
    expect(coverage.admittedAtRecoveryInstant).toBeGreaterThan(0)
    expect(coverage.peekGuarded).toBeGreaterThan(0)
  }, Math.max(20_000, machineRuns * 10))

  describe("scenarios the property must cover, spelled out", () => {
    const settings = {
      failureThreshold: 2,
      recoveryTimeout: 100,
      halfOpenMaxProbes: 2,
      probeTimeout: undefined,
      openDurations: undefined,
      start: 1_000
    }
    const config = configOf(settings)

    it("opens on the threshold, rejects until exactly recoveryTimeout, then admits probes", () => {
      let machine = Machine.initial(config, 1_000)
      const a = Machine.step(machine, Machine.admitEvent, 1_000, config).decision as Machine.Ticket
      const b = Machine.step(machine, Machine.admitEvent, 1_000, config).decision as Machine.Ticket
      machine = Machine.step(machine, { _tag: "Failure", ticket: a }, 1_010, config).machine
      expect(machine.state).toBe("closed")
      const opened = Machine.step(machine, { _tag: "Failure", ticket: b }, 1_020, config)
      machine = opened.machine
      expect(opened.transitions).toEqual([{ from: "closed", to: "open", at: 1_020, reason: "threshold" }])
      expect(machine).toMatchObject({ state: "open", failureCount: 2, lastFailure: 1_020, lastStateChange: 1_020 })

      expect(Machine.peek(machine, config, () => 1_119)).toMatchObject({ _tag: "Rejected", retryAfterMillis: 1 })
      expect(Machine.peek(machine, config, () => 1_120)).toEqual({ _tag: "Guarded" })

      const first = Machine.step(machine, Machine.admitEvent, 1_150, config)
      expect(first.transitions).toEqual([{ from: "open", to: "half_open", at: 1_120, reason: "recovery" }])
      expect(first.decision).toMatchObject({ _tag: "Ticket", probe: true })
      const second = Machine.step(first.machine, Machine.admitEvent, 1_150, config)
      expect(second.decision).toMatchObject({ _tag: "Ticket", probe: true })
      const third = Machine.step(second.machine, Machine.admitEvent, 1_150, config)
      expect(third.decision).toMatchObject({ _tag: "Rejected", state: "half_open", retryAfterMillis: 0 })
    })

    it("an interrupted probe gives its permit back; a stale result changes nothing", () => {
      let machine = Machine.initial(config, 0)
      const early = Machine.step(machine, Machine.admitEvent, 0, config).decision as Machine.Ticket
      const trip = Machine.step(machine, Machine.admitEvent, 0, config).decision as Machine.Ticket
      machine = Machine.step(machine, { _tag: "Failure", ticket: trip }, 0, config).machine
      machine = Machine.step(
        machine,
        { _tag: "Failure", ticket: Machine.step(machine, Machine.admitEvent, 0, config).decision as Machine.Ticket },
        0,
        config
      ).machine
      expect(machine.state).toBe("open")
      // the early call, admitted while closed, fails after the breaker opened: ignored
      const stale = Machine.step(machine, { _tag: "Failure", ticket: early }, 50, config)
      expect(stale.machine).toBe(machine)

      const probeStep = Machine.step(machine, Machine.admitEvent, 100, config)
      machine = probeStep.machine
      const probe = probeStep.decision as Machine.Ticket
      const other = Machine.step(machine, Machine.admitEvent, 100, config)
      machine = other.machine
      expect(Machine.step(machine, Machine.admitEvent, 100, config).decision).toMatchObject({ _tag: "Rejected" })
      machine = Machine.step(machine, { _tag: "Silent", ticket: probe }, 101, config).machine
      expect(machine.state).toBe("half_open")
      expect(Machine.step(machine, Machine.admitEvent, 101, config).decision).toMatchObject({
        _tag: "Ticket",
        probe: true
      })
      // a late result of the closed period still changes nothing in half_open
      expect(Machine.step(machine, { _tag: "Success", ticket: early }, 102, config).machine).toBe(machine)
    })

    it("a probe timeout follows each probe's own deadline, whichever probe ends first", () => {
      const timed: Machine.Config<number> = { ...config, halfOpenMaxProbes: 3, probeTimeoutMillis: 50 }
      let machine = Machine.initial(timed, 0)
      for (let i = 0; i < 2; i++) {
        const ticket = Machine.step(machine, Machine.admitEvent, 0, timed).decision as Machine.Ticket
        machine = Machine.step(machine, { _tag: "Failure", ticket }, 0, timed).machine
      }
      expect(machine.state).toBe("open")
      const first = Machine.step(machine, Machine.admitEvent, 100, timed) // half_open, deadline 150
      const second = Machine.step(first.machine, Machine.admitEvent, 120, timed) // deadline 170
      const secondTicket = second.decision as Machine.Ticket
      expect(secondTicket).toMatchObject({ probe: true, deadline: 170 })
      // the later probe succeeds first: the earlier one still times out at 150
      machine = Machine.step(second.machine, { _tag: "Success", ticket: secondTicket }, 130, timed).machine
      expect(machine).toMatchObject({ state: "half_open", probeSuccesses: 1, probeDeadlines: [150] })
      expect(Machine.step(machine, Machine.observeEvent, 149, timed).transitions).toEqual([])
      const timedOut = Machine.step(machine, Machine.observeEvent, 150, timed)
      expect(timedOut.transitions).toEqual([{ from: "half_open", to: "open", at: 150, reason: "probe_timeout" }])
      expect(timedOut.machine).toMatchObject({ failureCount: 3, lastFailure: 150, openUntil: 250 })
      // the timed-out probe's late success is stale
      const late = Machine.step(
        timedOut.machine,
        { _tag: "Success", ticket: first.decision as Machine.Ticket },
        160,
        timed
      )
      expect(late.machine).toBe(timedOut.machine)
    })

    it("open durations follow the schedule across re-openings and start over after a close", () => {
      const scheduled: Machine.Config<number> = { ...config, halfOpenMaxProbes: 1, openDurationsMillis: [10, 20, 40] }
      const failProbe = (machine: Machine.Machine<number>, now: number) => {
        const admitted = Machine.step(machine, Machine.admitEvent, now, scheduled)
        return Machine.step(
          admitted.machine,
          { _tag: "Failure", ticket: admitted.decision as Machine.Ticket },
          now,
          scheduled
        )
          .machine
      }
      let machine = Machine.initial(scheduled, 0)
      for (let i = 0; i < 2; i++) {
        const ticket = Machine.step(machine, Machine.admitEvent, 0, scheduled).decision as Machine.Ticket
        machine = Machine.step(machine, { _tag: "Failure", ticket }, 0, scheduled).machine
      }
      const openings: Array<number> = [machine.openUntil - machine.lastStateChange]
      let now = 0
      for (let i = 0; i < 4; i++) {
        now = machine.openUntil
        machine = failProbe(machine, now)
        openings.push(machine.openUntil - now)
      }
      expect(openings).toEqual([10, 20, 40, 40, 40])
      now = machine.openUntil
      const probe = Machine.step(machine, Machine.admitEvent, now, scheduled)
      machine =
        Machine.step(probe.machine, { _tag: "Success", ticket: probe.decision as Machine.Ticket }, now, scheduled)
          .machine
      expect(machine.state).toBe("closed")
      for (let i = 0; i < 2; i++) {
        const ticket = Machine.step(machine, Machine.admitEvent, now, scheduled).decision as Machine.Ticket
        machine = Machine.step(machine, { _tag: "Failure", ticket }, now, scheduled).machine
      }
      expect(machine.openUntil - now).toBe(10)
    })
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Machine from "../src/internal/machine.js"

// A reference model of the breaker written from DESIGN.md's "Circuit breaker" section alone,
// deliberately in another shape than the machine: mutable, with staleness decided by how many
// times the breaker opened since a call was admitted ("results of calls that were admitted
// before the breaker opened, and finish after, change nothing") instead of a generation number.

type State = "closed" | "open" | "half_open"
type Outcome = "Success" | "Failure" | "Ignored" | "Interrupted"

interface Settings {
  readonly failureThreshold: number
  readonly recoveryTimeout: number
  readonly halfOpenMaxProbes: number
}

interface ModelTicket {
  readonly opensAtAdmission: number
  readonly probe: boolean
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
}

class Reference {
  state: State = "closed"
  failureCount = 0
  lastFailure: number | undefined = undefined
  lastStateChange: number
  openedAt = 0
  opens = 0
  probesRunning = 0
  probesSucceeded = 0
  transitions: Array<ModelTransition> = []

  constructor(readonly settings: Settings, now: number) {
    this.lastStateChange = now
  }

  private moveTo(to: State, at: number) {
    this.transitions.push({ from: this.state, to, at })
    this.state = to
    this.lastStateChange = at
    this.probesRunning = 0
    this.probesSucceeded = 0
  }

  private trip(now: number) {
    this.moveTo("open", now)
    this.openedAt = now
    this.opens += 1
  }

  private get recoversAt() {
    return this.openedAt + this.settings.recoveryTimeout
  }

  /** `open → half_open` once recoveryTimeout has passed, dated when it passed. */
  private catchUp(now: number) {
    if (this.state === "open" && now >= this.recoversAt) this.moveTo("half_open", this.recoversAt)
  }

  private hasProbePermit() {
    return this.probesRunning + this.probesSucceeded < this.settings.halfOpenMaxProbes
  }

  /** Starts a step: returns (and forgets) the transitions of the previous one. */
  begin() {
    this.transitions = []
  }

  observe(now: number) {
    this.catchUp(now)
  }

  admit(now: number): ModelDecision {
    this.catchUp(now)
    switch (this.state) {
      case "closed":
        return { _tag: "Run", ticket: { opensAtAdmission: this.opens, probe: false } }
      case "open":
        return { _tag: "Reject", state: "open", retryAfterMillis: this.recoversAt - now }
      case "half_open":
        if (!this.hasProbePermit()) return { _tag: "Reject", state: "half_open", retryAfterMillis: 0 }
        this.probesRunning += 1
        return { _tag: "Run", ticket: { opensAtAdmission: this.opens, probe: true } }
    }
  }

  peek(now: number): ModelPeek {
    switch (this.state) {
      case "closed":
        return "Run"
      case "open":
        return now >= this.recoversAt ? "Guarded" : { state: "open", retryAfterMillis: this.recoversAt - now }
      case "half_open":
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
          if (this.failureCount >= this.settings.failureThreshold) this.trip(now)
          return
        case "Ignored":
        case "Interrupted":
          return // counts neither way
      }
    }
    switch (outcome) {
      case "Success":
      case "Ignored": // the service answered
        this.probesRunning -= 1
        this.probesSucceeded += 1
        if (this.probesSucceeded >= this.settings.halfOpenMaxProbes) {
          this.moveTo("closed", now)
          this.failureCount = 0
        }
        return
      case "Failure":
        this.failureCount += 1
        this.lastFailure = now
        this.trip(now)
        return
      case "Interrupted":
        this.probesRunning -= 1 // the permit is given back
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
  | { readonly _tag: "Observe" }

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ _tag: "Admit" } as const), weight: 5 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Finish" as const),
      // counted from the most recent call, mostly one of the last few
      pick: fc.oneof({ arbitrary: fc.nat({ max: 2 }), weight: 4 }, { arbitrary: fc.nat({ max: 1_000 }), weight: 1 }),
      outcome: fc.constantFrom<Outcome>("Success", "Success", "Failure", "Failure", "Ignored", "Interrupted")
    }),
    weight: 6
  },
  { arbitrary: fc.record({ _tag: fc.constant("Advance" as const), millis: fc.nat({ max: 120 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("AdvanceToRecovery" as const),
      offset: fc.constantFrom<-1 | 0 | 1>(-1, 0, 1)
    }),
    weight: 2
  },
  { arbitrary: fc.constant({ _tag: "AdvanceByRecoveryTimeout" } as const), weight: 1 },
  { arbitrary: fc.constant({ _tag: "Observe" } as const), weight: 1 }
)

const settingsArbitrary: fc.Arbitrary<Settings & { readonly start: number }> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  recoveryTimeout: fc.integer({ min: 1, max: 60 }),
  halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
  start: fc.nat({ max: 10_000 })
})

const configOf = (settings: Settings): Machine.Config<number> => ({
  strategy: Machine.consecutiveFailures(settings.failureThreshold),
  recoveryTimeoutMillis: settings.recoveryTimeout,
  halfOpenMaxProbes: settings.halfOpenMaxProbes
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
  peekGuarded: 0
}

const expectSameStatus = (machine: Machine.Machine<number>, model: Reference, label: string) => {
  expect({
    state: machine.state,
    failureCount: machine.failureCount,
    lastFailure: machine.lastFailure,
    lastStateChange: machine.lastStateChange
  }, label).toEqual({
    state: model.state,
    failureCount: model.failureCount,
    lastFailure: model.lastFailure,
    lastStateChange: model.lastStateChange
  })
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
      // the guarded path admits a probe: a permit is taken (and maybe open → half_open first)
      expect(admitted.decision, label).toMatchObject({ _tag: "Ticket", probe: true })
      expect(admitted.machine, label).not.toBe(machine)
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
        now = model.state === "open"
          ? Math.max(now, model.openedAt + settings.recoveryTimeout + command.offset)
          : now + settings.recoveryTimeout + command.offset
        return
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
        }
        break
      }
      case "Finish": {
        if (running.length === 0) return
        const [call] = running.splice(running.length - 1 - (command.pick % running.length), 1)
        const { modelTicket, ticket } = call!
        if (modelTicket.opensAtAdmission !== model.opens) coverage.staleResults += 1
        else if (modelTicket.probe && command.outcome === "Interrupted") coverage.interruptedProbes += 1
        else if (modelTicket.probe && command.outcome === "Ignored") coverage.ignoredProbes += 1
        step = Machine.step(machine, { _tag: command.outcome, ticket }, now, config)
        model.finish(modelTicket, command.outcome, now)
        expect(step.decision, label).toBeUndefined()
        break
      }
    }
    machine = step.machine
    expectSameStatus(machine, model, label)
    expect(step.transitions, label).toEqual(model.transitions)
    for (const transition of model.transitions) coverage.transitions.add(`${transition.from}→${transition.to}`)
  })
}

describe("Machine (model-based)", () => {
  it("step agrees with a reference model of DESIGN.md on random command sequences", () => {
    fc.assert(
      fc.property(
        settingsArbitrary,
        fc.array(commandArbitrary, { minLength: 1, maxLength: 100, size: "max" }),
        runCommands
      ),
      { numRuns: 300 }
    )
    // the property is only as good as what it reached
    expect([...coverage.transitions].sort()).toEqual([
      "closed→open",
      "half_open→closed",
      "half_open→open",
      "open→half_open"
    ])
    expect(coverage.staleResults).toBeGreaterThan(0)
    expect(coverage.openRejections).toBeGreaterThan(0)
    expect(coverage.halfOpenRejections).toBeGreaterThan(0)
    expect(coverage.interruptedProbes).toBeGreaterThan(0)
    expect(coverage.ignoredProbes).toBeGreaterThan(0)
    expect(coverage.admittedAtRecoveryInstant).toBeGreaterThan(0)
    expect(coverage.peekGuarded).toBeGreaterThan(0)
  })

  describe("scenarios the property must cover, spelled out", () => {
    const settings = { failureThreshold: 2, recoveryTimeout: 100, halfOpenMaxProbes: 2, start: 1_000 }
    const config = configOf(settings)

    it("opens on the threshold, rejects until exactly recoveryTimeout, then admits probes", () => {
      let machine = Machine.initial(config, 1_000)
      const a = Machine.step(machine, Machine.admitEvent, 1_000, config).decision as Machine.Ticket
      const b = Machine.step(machine, Machine.admitEvent, 1_000, config).decision as Machine.Ticket
      machine = Machine.step(machine, { _tag: "Failure", ticket: a }, 1_010, config).machine
      expect(machine.state).toBe("closed")
      const opened = Machine.step(machine, { _tag: "Failure", ticket: b }, 1_020, config)
      machine = opened.machine
      expect(opened.transitions).toEqual([{ from: "closed", to: "open", at: 1_020 }])
      expect(machine).toMatchObject({ state: "open", failureCount: 2, lastFailure: 1_020, lastStateChange: 1_020 })

      expect(Machine.peek(machine, config, () => 1_119)).toMatchObject({ _tag: "Rejected", retryAfterMillis: 1 })
      expect(Machine.peek(machine, config, () => 1_120)).toEqual({ _tag: "Guarded" })

      const first = Machine.step(machine, Machine.admitEvent, 1_150, config)
      expect(first.transitions).toEqual([{ from: "open", to: "half_open", at: 1_120 }])
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
      machine = Machine.step(machine, { _tag: "Interrupted", ticket: probe }, 101, config).machine
      expect(machine.state).toBe("half_open")
      expect(Machine.step(machine, Machine.admitEvent, 101, config).decision).toMatchObject({
        _tag: "Ticket",
        probe: true
      })
      // a late result of the closed period still changes nothing in half_open
      expect(Machine.step(machine, { _tag: "Success", ticket: early }, 102, config).machine).toBe(machine)
    })
  })
})

/**
 * The machine's fleet events: adopting a fleet-wide opening or closing, the half-open probe
 * lease, and the fleet becoming unreachable. Without them (the default) the machine is the local
 * breaker, which test/machine.test.ts and test/BreakerModel.test.ts check.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Machine from "../src/machine.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const config: Machine.Config<number> = {
  strategy: Machine.consecutiveFailures(2),
  recoveryTimeoutMillis: 1_000,
  halfOpenMaxProbes: 1
}

const run = (machine: Machine.Machine<number>, event: Machine.Event, now: number) =>
  Machine.step(machine, event, now, config)

const fail = (machine: Machine.Machine<number>, now: number) => {
  const admitted = run(machine, Machine.admitEvent, now)
  return run(admitted.machine, { _tag: "Failure", ticket: admitted.decision as Machine.Ticket }, now)
}

const opened = (now: number) => fail(fail(Machine.initial(config, 0), now).machine, now).machine

const gated = (machine: Machine.Machine<number>, now: number) =>
  run(machine, { _tag: "FleetReachable", reachable: true }, now).machine

describe("machine: fleet events", () => {
  it("AdoptOpen opens a closed breaker for the remaining time the fleet gives", () => {
    const step = run(Machine.initial(config, 0), { _tag: "AdoptOpen", remainingMillis: 700 }, 100)
    expect(step.machine).toMatchObject({ state: "open", openUntil: 800, opens: 1, generation: 1 })
    expect(step.transitions).toEqual([{ from: "closed", to: "open", at: 100, reason: "fleet_opened" }])
    // and half_open comes when that time has passed
    expect(run(step.machine, Machine.observeEvent, 800).machine.state).toBe("half_open")
  })

  it("AdoptOpen moves the end of an opening without a transition, and leaves an isolated breaker alone", () => {
    const open = opened(0)
    const moved = run(open, { _tag: "AdoptOpen", remainingMillis: 300 }, 500)
    expect(moved.transitions).toEqual([])
    expect(moved.machine.openUntil).toBe(800)
    expect(moved.machine.generation).toBe(open.generation)
    const isolated = run(Machine.initial(config, 0), Machine.isolateEvent, 0).machine
    expect(run(isolated, { _tag: "AdoptOpen", remainingMillis: 10 }, 1).machine).toBe(isolated)
    expect(run(isolated, { _tag: "AdoptClose" }, 1).machine).toBe(isolated)
  })

  it("AdoptOpen in half_open opens again and makes the probes in flight stale", () => {
    const halfOpen = run(opened(0), Machine.observeEvent, 1_000).machine
    const probe = run(halfOpen, Machine.admitEvent, 1_000)
    const reopened = run(probe.machine, { _tag: "AdoptOpen", remainingMillis: 1_000 }, 1_010)
    expect(reopened.transitions).toEqual([{ from: "half_open", to: "open", at: 1_010, reason: "fleet_opened" }])
    const late = run(reopened.machine, { _tag: "Success", ticket: probe.decision as Machine.Ticket }, 1_020)
    expect(late.machine).toBe(reopened.machine)
  })

  it("AdoptClose closes an open or half_open breaker with fresh counts", () => {
    const closed = run(opened(0), { _tag: "AdoptClose" }, 10)
    expect(closed.machine).toMatchObject({ state: "closed", failureCount: 0, opens: 0 })
    expect(closed.transitions).toEqual([{ from: "open", to: "closed", at: 10, reason: "fleet_closed" }])
    const closedAlready = Machine.initial(config, 0)
    expect(run(closedAlready, { _tag: "AdoptClose" }, 10).machine).toBe(closedAlready)
  })

  it("while the fleet is reachable, half_open admits a probe only with the lease of its own period", () => {
    const halfOpen = run(gated(opened(0), 0), Machine.observeEvent, 1_000).machine
    expect(halfOpen.state).toBe("half_open")
    // the first call without the lease asks for it (and is rejected); the next ones are rejected
    expect(Machine.peek(halfOpen, config, () => 1_000)).toEqual({ _tag: "Guarded" })
    const withoutLease = run(halfOpen, Machine.admitEvent, 1_000)
    expect(withoutLease.decision).toMatchObject({ _tag: "Rejected", state: "half_open", asksLease: true })
    expect(Machine.peek(withoutLease.machine, config, () => 1_000)).toMatchObject({ _tag: "Rejected" })
    const again = run(withoutLease.machine, Machine.admitEvent, 1_000)
    expect(again.decision).toMatchObject({ _tag: "Rejected" })
    expect(again.decision).not.toHaveProperty("asksLease")
    // a request that got no lease (denied, expired) lets the next call ask again
    const retry = run(withoutLease.machine, { _tag: "LeaseLost", generation: halfOpen.generation }, 1_000).machine
    expect(run(retry, Machine.admitEvent, 1_000).decision).toMatchObject({ _tag: "Rejected", asksLease: true })
    // a lease of another generation changes nothing
    const wrong = run(halfOpen, { _tag: "LeaseGranted", generation: halfOpen.generation - 1 }, 1_000).machine
    expect(run(wrong, Machine.admitEvent, 1_000).decision).toMatchObject({ _tag: "Rejected" })
    const leased = run(halfOpen, { _tag: "LeaseGranted", generation: halfOpen.generation }, 1_000).machine
    expect(Machine.peek(leased, config, () => 1_000)).toEqual({ _tag: "Guarded" })
    const probe = run(leased, Machine.admitEvent, 1_000)
    expect(probe.decision).toMatchObject({ _tag: "Ticket", probe: true })
    const closed = run(probe.machine, { _tag: "Success", ticket: probe.decision as Machine.Ticket }, 1_001)
    expect(closed.transitions).toEqual([{ from: "half_open", to: "closed", at: 1_001, reason: "recovered" }])
    // the lease does not carry over to the next half_open period
    const next = run(fail(fail(closed.machine, 2_000).machine, 2_000).machine, Machine.observeEvent, 3_000).machine
    expect(next.state).toBe("half_open")
    expect(run(next, Machine.admitEvent, 3_000).decision).toMatchObject({ _tag: "Rejected" })
  })

  it("a remaining time from the fleet is clamped to the breaker's longest opening", () => {
    // another replica's 1 h recovery, or a forged message, cannot hold this breaker open longer
    const adopted = run(Machine.initial(config, 0), { _tag: "AdoptOpen", remainingMillis: 3_600_000 }, 10).machine
    expect(adopted).toMatchObject({ state: "open", openUntil: 10 + config.recoveryTimeoutMillis })
    const schedule = { ...config, openDurationsMillis: [500, 2_000] }
    const moved = Machine.step(adopted, { _tag: "AdoptOpen", remainingMillis: Number.MAX_VALUE }, 20, schedule).machine
    expect(moved.openUntil).toBe(20 + 2_000)
  })

  it("a probe whose lease was lost changes nothing and gives its permit back", () => {
    const halfOpen = run(gated(opened(0), 0), Machine.observeEvent, 1_000).machine
    const leased = run(halfOpen, { _tag: "LeaseGranted", generation: halfOpen.generation }, 1_000).machine
    const probe = run(leased, Machine.admitEvent, 1_000)
    const lost = run(probe.machine, { _tag: "LeaseLost", generation: halfOpen.generation }, 1_500).machine
    for (const tag of ["Success", "Failure", "Ignored"] as const) {
      const after = run(lost, { _tag: tag, ticket: probe.decision as Machine.Ticket }, 1_600)
      expect(after.transitions).toEqual([])
      expect(after.machine).toMatchObject({ state: "half_open", probesInFlight: 0 })
    }
  })

  it("when the fleet is unreachable, probes are local again", () => {
    const halfOpen = run(gated(opened(0), 0), Machine.observeEvent, 1_000).machine
    const local = run(halfOpen, { _tag: "FleetReachable", reachable: false }, 1_000).machine
    expect(run(local, Machine.admitEvent, 1_000).decision).toMatchObject({ _tag: "Ticket", probe: true })
    expect(run(local, { _tag: "FleetReachable", reachable: false }, 1_000).machine).toBe(local)
  })

  // Any sequence of local and fleet events: while the breaker is gated, no probe runs without
  // the lease of its period; generations only grow; an isolated breaker stays open.
  type Command =
    | { readonly _tag: "Admit" }
    | { readonly _tag: "Finish"; readonly pick: number; readonly outcome: "Success" | "Failure" | "Ignored" }
    | { readonly _tag: "Advance"; readonly millis: number }
    | { readonly _tag: "Fleet"; readonly event: "open" | "close" | "grant" | "grantOld" | "lose" | "on" | "off" }
    | { readonly _tag: "Isolate" }

  const commands: fc.Arbitrary<Command> = fc.oneof(
    { arbitrary: fc.constant({ _tag: "Admit" } as const), weight: 6 },
    {
      arbitrary: fc.record({
        _tag: fc.constant("Finish" as const),
        pick: fc.nat({ max: 3 }),
        outcome: fc.constantFrom("Success" as const, "Failure" as const, "Ignored" as const)
      }),
      weight: 5
    },
    { arbitrary: fc.record({ _tag: fc.constant("Advance" as const), millis: fc.nat({ max: 1_200 }) }), weight: 3 },
    {
      arbitrary: fc.record({
        _tag: fc.constant("Fleet" as const),
        event: fc.constantFrom(
          "open" as const,
          "close" as const,
          "grant" as const,
          "grantOld" as const,
          "lose" as const,
          "on" as const,
          "off" as const
        )
      }),
      weight: 5
    },
    { arbitrary: fc.constant({ _tag: "Isolate" } as const), weight: 1 }
  )

  it("no probe runs without the lease while gated, whatever the order of events", () => {
    fc.assert(
      fc.property(fc.array(commands, { maxLength: 80 }), (script) => {
        let machine = Machine.initial(config, 0)
        let now = 0
        const tickets: Array<Machine.Ticket> = []
        for (const command of script) {
          const before = machine
          let event: Machine.Event
          switch (command._tag) {
            case "Admit":
              event = Machine.admitEvent
              break
            case "Finish": {
              const ticket = tickets.splice(command.pick % Math.max(1, tickets.length), 1)[0]
              if (ticket === undefined) continue
              event = { _tag: command.outcome, ticket }
              break
            }
            case "Advance":
              now += command.millis
              event = Machine.observeEvent
              break
            case "Isolate":
              event = Machine.isolateEvent
              break
            case "Fleet":
              event = command.event === "open"
                ? { _tag: "AdoptOpen", remainingMillis: 500 }
                : command.event === "close"
                ? { _tag: "AdoptClose" }
                : command.event === "grant"
                ? { _tag: "LeaseGranted", generation: machine.generation }
                : command.event === "grantOld"
                ? { _tag: "LeaseGranted", generation: machine.generation - 1 }
                : command.event === "lose"
                ? { _tag: "LeaseLost", generation: machine.generation }
                : { _tag: "FleetReachable", reachable: command.event === "on" }
          }
          const step = Machine.step(machine, event, now, config)
          if (step.decision?._tag === "Ticket") {
            tickets.push(step.decision)
            if (step.decision.probe && step.machine.fleetGated === true) {
              // a probe admitted while gated holds the lease of the period it runs in
              expect(step.machine.leaseGeneration).toBe(step.machine.generation)
            }
          }
          expect(step.machine.generation).toBeGreaterThanOrEqual(before.generation)
          if (before.isolated && event._tag !== "Reset") expect(step.machine.state).toBe("open")
          machine = step.machine
        }
      }),
      { numRuns: propertyRuns }
    )
  })
})

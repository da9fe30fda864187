import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Machine from "../src/machine.js"
import { propertyRuns } from "./utils/propertyRuns.js"

// How long openings last: a `Retry-After` carried by the failure that opens the breaker, and the
// count of consecutive openings kept across a close (`retainOpenings`).

const base = (extra: Partial<Machine.Config<number>> = {}): Machine.Config<number> => ({
  strategy: Machine.consecutiveFailures(1),
  recoveryTimeoutMillis: 10,
  openDurationsMillis: [10, 20, 40],
  halfOpenMaxProbes: 1,
  ...extra
})

/** One call admitted at `now` that fails (with `retryAfterMillis` when given). */
const fail = <S>(
  machine: Machine.Machine<S>,
  config: Machine.Config<S>,
  now: number,
  retryAfterMillis?: number
): Machine.Machine<S> => {
  const admitted = Machine.step(machine, Machine.admitEvent, now, config)
  const ticket = admitted.decision as Machine.Ticket
  return Machine.step(admitted.machine, { _tag: "Failure", ticket, retryAfterMillis }, now, config).machine
}

/** One probe admitted at `now` that succeeds: the breaker closes. */
const recover = <S>(machine: Machine.Machine<S>, config: Machine.Config<S>, now: number): Machine.Machine<S> => {
  const admitted = Machine.step(machine, Machine.admitEvent, now, config)
  const ticket = admitted.decision as Machine.Ticket
  expect(ticket).toMatchObject({ _tag: "Ticket", probe: true })
  return Machine.step(admitted.machine, { _tag: "Success", ticket }, now, config).machine
}

describe("Machine: Retry-After lengthens an opening", () => {
  it("the opening lasts the longer of its own duration and the Retry-After, capped", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
        fc.option(fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.constant(Number.NaN)), { nil: undefined }),
        fc.nat({ max: 10_000 }),
        (recoveryTimeoutMillis, retryAfterCapMillis, retryAfterMillis, start) => {
          const config = base({ recoveryTimeoutMillis, openDurationsMillis: undefined, retryAfterCapMillis })
          const machine = fail(Machine.initial(config, start), config, start, retryAfterMillis)
          const cap = retryAfterCapMillis ?? 3_600_000
          const expected = retryAfterMillis !== undefined && retryAfterMillis > recoveryTimeoutMillis
            ? Math.max(recoveryTimeoutMillis, Math.min(retryAfterMillis, cap))
            : recoveryTimeoutMillis
          expect(machine.state).toBe("open")
          expect(machine.openUntil - start).toBe(expected)
        }
      ),
      { numRuns: propertyRuns }
    )
  })

  it("the default cap is one hour", () => {
    const config = base({ openDurationsMillis: undefined })
    expect(fail(Machine.initial(config, 0), config, 0, 10 * 3_600_000).openUntil).toBe(3_600_000)
    expect(Machine.defaultRetryAfterCapMillis).toBe(3_600_000)
  })

  it("a failed probe's Retry-After lengthens the opening it causes; a failure that does not trip changes nothing", () => {
    const config = base({ strategy: Machine.consecutiveFailures(2) })
    let machine = fail(Machine.initial(config, 0), config, 0, 500)
    expect(machine.state).toBe("closed")
    machine = fail(machine, config, 1)
    expect(machine).toMatchObject({ state: "open", openUntil: 11 })
    const probe = Machine.step(machine, Machine.admitEvent, 11, config)
    machine = Machine.step(
      probe.machine,
      { _tag: "Failure", ticket: probe.decision as Machine.Ticket, retryAfterMillis: 300 },
      12,
      config
    ).machine
    // the second opening: max(20, 300)
    expect(machine).toMatchObject({ state: "open", opens: 2, openUntil: 312 })
    // the schedule goes on from where it was: the third opening is 40 long
    const next = Machine.step(machine, Machine.admitEvent, 312, config)
    machine = Machine.step(next.machine, { _tag: "Failure", ticket: next.decision as Machine.Ticket }, 312, config)
      .machine
    expect(machine).toMatchObject({ opens: 3, openUntil: 352 })
  })
})

describe("Machine: retainOpenings", () => {
  it("off (the default): a close starts the count of openings over", () => {
    const config = base()
    let machine = fail(Machine.initial(config, 0), config, 0)
    machine = recover(machine, config, 10)
    expect(machine.opens).toBe(0)
    machine = fail(machine, config, 11)
    expect(machine.openUntil - 11).toBe(10)
  })

  it("on: the count survives a close until the breaker stayed closed as long as it was last open", () => {
    const config = base({ retainOpenings: true })
    let machine = fail(Machine.initial(config, 0), config, 0) // 1st opening: 10
    machine = recover(machine, config, 10)
    machine = fail(machine, config, 11) // within 10 of the close: 2nd opening, 20
    expect(machine).toMatchObject({ opens: 2, openUntil: 31 })
    machine = recover(machine, config, 31)
    machine = fail(machine, config, 50) // closed 19 < 20: 3rd opening, 40
    expect(machine).toMatchObject({ opens: 3, openUntil: 90 })
    machine = recover(machine, config, 90)
    machine = fail(machine, config, 130) // closed exactly 40: the count starts over
    expect(machine).toMatchObject({ opens: 1, openUntil: 140 })
  })

  it("on: the last opening's length includes its Retry-After", () => {
    const config = base({ retainOpenings: true })
    let machine = fail(Machine.initial(config, 0), config, 0, 100)
    expect(machine.openUntil).toBe(100)
    machine = recover(machine, config, 100)
    machine = fail(machine, config, 199)
    expect(machine.opens).toBe(2)
    machine = recover(machine, config, machine.openUntil)
    const closedAt = machine.lastStateChange
    machine = fail(machine, config, closedAt + 20)
    expect(machine.opens).toBe(1)
  })

  it("on: an opening adopted from the fleet counts from where the count stands", () => {
    const config = base({ retainOpenings: true })
    let machine = fail(Machine.initial(config, 0), config, 0)
    machine = recover(machine, config, 10)
    machine = Machine.step(machine, { _tag: "AdoptOpen", remainingMillis: 5 }, 15, config).machine
    expect(machine.opens).toBe(2)
    machine = recover(machine, config, 20)
    // closed past the last opening's length: the adopted opening is the first again
    machine = Machine.step(machine, { _tag: "AdoptOpen", remainingMillis: 5 }, 1_000, config).machine
    expect(machine.opens).toBe(1)
  })

  it("on: an opening adopted from the fleet is the last opening's length", () => {
    const config = base({ retainOpenings: true })
    // closed -> open by the fleet for 30 (its own first opening would last 10)
    let machine = Machine.step(Machine.initial(config, 0), { _tag: "AdoptOpen", remainingMillis: 30 }, 0, config)
      .machine
    machine = recover(machine, config, 30)
    expect(machine.opensExpireAt).toBe(60)
    machine = fail(machine, config, 59)
    expect(machine.opens).toBe(2)
  })

  it("on: an opening the fleet moves lasts from its start to its new end", () => {
    const config = base({ retainOpenings: true })
    let machine = fail(Machine.initial(config, 0), config, 0) // opens until 10
    machine = Machine.step(machine, { _tag: "AdoptOpen", remainingMillis: 35 }, 5, config).machine
    expect(machine.openUntil).toBe(40)
    machine = recover(machine, config, 40)
    // open 40 in all: the count lapses 40 after the close
    expect(machine.opensExpireAt).toBe(80)
    machine = fail(machine, config, 79)
    expect(machine.opens).toBe(2)
  })

  it("on: a manual reset starts the count over", () => {
    const config = base({ retainOpenings: true })
    let machine = fail(Machine.initial(config, 0), config, 0)
    machine = Machine.step(machine, Machine.resetEvent, 1, config).machine
    machine = fail(machine, config, 2)
    expect(machine).toMatchObject({ opens: 1, openUntil: 12 })
  })
})

describe("Machine: retainOpenings (property)", () => {
  it("each opening's length follows the schedule, the count lapsing only after a close as long as the last opening", () => {
    const durations = [10, 20, 40, 80]
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(
          fc.record({ closedFor: fc.nat({ max: 120 }), failedProbes: fc.nat({ max: 3 }) }),
          { minLength: 1, maxLength: 12 }
        ),
        (retainOpenings, cycles) => {
          const config = base({ openDurationsMillis: durations, retainOpenings })
          let machine = Machine.initial(config, 0)
          let now = 0
          // the model: openings counted, the last one's length, when the count lapses
          let opens = 0
          let lastLength = 0
          let lapsesAt = Infinity
          const expectOpening = () => {
            if (now >= lapsesAt) opens = 0
            opens++
            lastLength = durations[Math.min(opens, durations.length) - 1]!
            lapsesAt = Infinity
            expect(machine.state).toBe("open")
            expect(machine.openUntil - now).toBe(lastLength)
          }
          for (const { closedFor, failedProbes } of cycles) {
            now += closedFor
            machine = fail(machine, config, now)
            expectOpening()
            for (let i = 0; i < failedProbes; i++) {
              now = machine.openUntil
              machine = fail(machine, config, now)
              expectOpening()
            }
            now = machine.openUntil
            machine = recover(machine, config, now)
            expect(machine.state).toBe("closed")
            if (retainOpenings) lapsesAt = now + lastLength
            else opens = 0
          }
        }
      ),
      { numRuns: propertyRuns }
    )
  })
})

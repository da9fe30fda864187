/**
 * The circuit breaker's behaviour, written once as data and run by each edition's tests
 * (`test/BreakerScenarios.test.ts` for the Effect 3 edition, `effect4/test/BreakerScenarios.test.ts`
 * for the Effect 4 one). A scenario is the breaker's options in plain values (milliseconds, counts)
 * and a list of steps; after each step it says what must hold: the call's result, the state, the
 * status snapshot and the transitions published during that step.
 *
 * Time is the test clock's, from 0: the breaker is made at 0, `advance` moves the clock, and every
 * date (`lastFailure`, `lastStateChange`, a transition's `at`) is in milliseconds on that clock.
 * Nothing here imports anything: a runner turns the options into its edition's own (`Duration`s,
 * strategies) and the steps into calls under its edition's `TestClock`.
 */

/** A breaker's state, as the wire JSON spells it. */
export type State = "closed" | "open" | "half_open"

/** How a call ends: its success, a counted error, an error `isFailure` may not count, a defect. */
export type Outcome = "success" | "failure" | "ignored" | "defect"

/** The calls a rate strategy looks at: the last `size` calls, or those of the last `durationMillis`. */
export type Window =
  | { readonly kind: "count"; readonly size: number }
  | { readonly kind: "time"; readonly durationMillis: number; readonly buckets?: number }

/** A tripping strategy other than the default `consecutiveFailures(failureThreshold)`. */
export type Strategy =
  | {
    readonly kind: "failureRate"
    readonly threshold: number
    readonly minimumCalls: number
    readonly window: Window
  }
  | {
    readonly kind: "slowCallRate"
    readonly slowerThanMillis: number
    readonly threshold: number
    readonly minimumCalls: number
    readonly window: Window
  }

/** The breaker's options; every one absent takes the edition's default. */
export interface Options {
  readonly name?: string
  readonly failureThreshold?: number
  readonly recoveryTimeoutMillis?: number
  /**
   * A recovery schedule instead of a fixed `recoveryTimeoutMillis`: `Schedule.exponential` of this
   * base, so the 1st, 2nd, 3rd, … opening lasts base, 2 × base, 4 × base, …
   */
  readonly recoveryExponentialMillis?: number
  readonly retryAfterCapMillis?: number
  readonly retainOpenings?: boolean
  readonly halfOpenMaxProbes?: number
  readonly probeTimeoutMillis?: number
  readonly strategy?: Strategy
  /**
   * `"allButIgnored"`: the breaker is given an `isFailure` that does not count the error of an
   * `"ignored"` call. `"allButIgnoredOutsideProbes"`: the same, except that a probe's `"ignored"`
   * error counts (the judge is told whether the call is a probe). `"retryAfter"`: every typed error
   * counts, and the error of a call step with `retryAfterMillis` is judged `{ retryAfter }`.
   * Absent: no `isFailure` (every typed error counts).
   */
  readonly isFailure?: "allButIgnored" | "allButIgnoredOutsideProbes" | "retryAfter"
}

/** What a call returns: its own outcome, or a rejection (its effect never ran). */
export type Result =
  | { readonly _tag: "Ran"; readonly outcome: Outcome }
  | {
    readonly _tag: "Rejected"
    readonly state: "open" | "half_open"
    /** The wait the rejection announces; `null` for an isolated breaker's infinite one. */
    readonly retryAfterMillis: number | null
  }

/** A transition published during a step: from, to, and its date. */
export type Transition = readonly [from: State, to: State, at: number]

/** What must hold after a step. Only what is given is checked, except `transitions`. */
export interface Expected {
  /**
   * The result of the step's call (`call`, `probe`, `start` when rejected, `finish`). Default for
   * `call`, `probe` and `finish`: the call ran and ended with its own outcome.
   */
  readonly result?: Result
  readonly state?: State
  readonly isolated?: boolean
  readonly status?: {
    readonly service?: string
    readonly failureCount?: number
    /** When the last counted failure happened, or `null` before the first. */
    readonly lastFailure?: number | null
    readonly lastStateChange?: number
  }
  /** Exactly the transitions published during the step, in order. Default: none. */
  readonly transitions?: ReadonlyArray<Transition>
}

/** One step of a scenario. */
export type Step =
  /** Moves the clock; the breaker's timers fire on the way. */
  | { readonly kind: "advance"; readonly millis: number; readonly expect?: Expected }
  /**
   * Calls the breaker with an effect that ends with `outcome`, after `durationMillis` on the
   * clock when given (a slow call: the clock moves by that much while it runs).
   */
  | {
    readonly kind: "call"
    readonly outcome: Outcome
    readonly durationMillis?: number
    /** The failure carries this `Retry-After` (with the option `isFailure: "retryAfter"`). */
    readonly retryAfterMillis?: number
    /** Made with the per-call option `onRejection: "allow"`: runs unrecorded when refused. */
    readonly onRejection?: "allow"
    readonly expect?: Expected
  }
  /** A call made in `half_open` that must run as a probe (the state is checked before it). */
  | {
    readonly kind: "probe"
    readonly outcome: Outcome
    readonly retryAfterMillis?: number
    readonly expect?: Expected
  }
  /**
   * Starts a call that runs (hangs) until its `finish`; it must be admitted unless `expect.result`
   * says it is rejected.
   */
  | { readonly kind: "start"; readonly id: string; readonly expect?: Expected }
  /** Ends the call started as `id` with `outcome` and waits for its result. */
  | { readonly kind: "finish"; readonly id: string; readonly outcome: Outcome; readonly expect?: Expected }
  /** Interrupts the call started as `id` and waits for it to end. */
  | { readonly kind: "interrupt"; readonly id: string; readonly expect?: Expected }
  | { readonly kind: "isolate"; readonly expect?: Expected }
  | { readonly kind: "reset"; readonly expect?: Expected }
  /** Only checks what is expected. */
  | { readonly kind: "check"; readonly expect: Expected }

/** A scenario: a breaker made with `options` at time 0, then `steps` in order. */
export interface Scenario {
  readonly name: string
  readonly options: Options
  readonly steps: ReadonlyArray<Step>
}

/** Every step kind a runner must know. */
export const stepKinds: ReadonlyArray<Step["kind"]> = [
  "advance",
  "call",
  "probe",
  "start",
  "finish",
  "interrupt",
  "isolate",
  "reset",
  "check"
]

const fail = { kind: "call", outcome: "failure" } as const
const succeed = { kind: "call", outcome: "success" } as const
/** A counted failure that opens the breaker at `at`. */
const failAndOpen = (at: number): Step => ({
  ...fail,
  expect: { state: "open", transitions: [["closed", "open", at]] }
})
const rejectedOpen = (retryAfterMillis: number | null): Result => ({
  _tag: "Rejected",
  state: "open",
  retryAfterMillis
})
const rejectedHalfOpen: Result = { _tag: "Rejected", state: "half_open", retryAfterMillis: 0 }

/** The scenarios, each run by both editions. */
export const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "Retry-After: the failure that trips carries one longer than recoveryTimeout, and the opening lasts it",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, isFailure: "retryAfter" },
    steps: [
      { ...fail, retryAfterMillis: 5_000, expect: { state: "open", transitions: [["closed", "open", 0]] } },
      { ...succeed, expect: { result: rejectedOpen(5_000) } },
      { kind: "advance", millis: 4_999, expect: { state: "open" } },
      { kind: "advance", millis: 1, expect: { state: "half_open", transitions: [["open", "half_open", 5_000]] } }
    ]
  },
  {
    name: "Retry-After: a shorter one changes nothing; a failed probe's one is capped by retryAfterCap",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, retryAfterCapMillis: 3_000, isFailure: "retryAfter" },
    steps: [
      { ...fail, retryAfterMillis: 500, expect: { state: "open", transitions: [["closed", "open", 0]] } },
      { ...succeed, expect: { result: rejectedOpen(1_000) } },
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      {
        kind: "probe",
        outcome: "failure",
        retryAfterMillis: 60_000,
        expect: { state: "open", transitions: [["half_open", "open", 1_000]] }
      },
      { ...succeed, expect: { result: rejectedOpen(3_000) } },
      { kind: "advance", millis: 3_000, expect: { transitions: [["open", "half_open", 4_000]] } }
    ]
  },
  {
    name: "a recovery schedule starts over when the breaker closes (retainOpenings off, the default)",
    options: { failureThreshold: 1, recoveryExponentialMillis: 1_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "probe", outcome: "failure", expect: { transitions: [["half_open", "open", 1_000]] } },
      { ...succeed, expect: { result: rejectedOpen(2_000) } },
      { kind: "advance", millis: 2_000, expect: { transitions: [["open", "half_open", 3_000]] } },
      { kind: "probe", outcome: "success", expect: { state: "closed", transitions: [["half_open", "closed", 3_000]] } },
      failAndOpen(3_000),
      { ...succeed, expect: { result: rejectedOpen(1_000) } }
    ]
  },
  {
    name:
      "retainOpenings: the count of openings survives a close until the breaker stayed closed as long as it was last open",
    options: { failureThreshold: 1, recoveryExponentialMillis: 1_000, retainOpenings: true },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "probe", outcome: "failure", expect: { transitions: [["half_open", "open", 1_000]] } },
      { kind: "advance", millis: 2_000, expect: { transitions: [["open", "half_open", 3_000]] } },
      { kind: "probe", outcome: "success", expect: { state: "closed", transitions: [["half_open", "closed", 3_000]] } },
      // closed for less than the last opening (2 s): the 3rd opening, 4 s
      { kind: "advance", millis: 1_999 },
      failAndOpen(4_999),
      { ...succeed, expect: { result: rejectedOpen(4_000) } },
      { kind: "advance", millis: 4_000, expect: { transitions: [["open", "half_open", 8_999]] } },
      { kind: "probe", outcome: "success", expect: { state: "closed", transitions: [["half_open", "closed", 8_999]] } },
      // closed as long as the last opening (4 s): the count starts over
      { kind: "advance", millis: 4_000 },
      failAndOpen(12_999),
      { ...succeed, expect: { result: rejectedOpen(1_000) } }
    ]
  },
  {
    name: "onRejection allow: a refused call runs unrecorded, in open and in a busy half_open; an admitted one counts",
    options: { failureThreshold: 2, recoveryTimeoutMillis: 1_000 },
    steps: [
      fail,
      failAndOpen(0),
      { ...succeed, onRejection: "allow", expect: { state: "open", status: { failureCount: 2 } } },
      { ...fail, onRejection: "allow", expect: { state: "open", status: { failureCount: 2, lastFailure: 0 } } },
      { ...succeed, expect: { result: rejectedOpen(1_000) } },
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "start", id: "probe" },
      { ...fail, onRejection: "allow", expect: { state: "half_open", status: { failureCount: 2 } } },
      { ...succeed, expect: { result: rejectedHalfOpen } },
      { kind: "finish", id: "probe", outcome: "success", expect: { transitions: [["half_open", "closed", 1_000]] } },
      { kind: "advance", millis: 5 },
      { ...fail, onRejection: "allow", expect: { state: "closed", status: { failureCount: 1, lastFailure: 1_005 } } }
    ]
  },
  {
    name: "onRejection allow: a call admitted in half_open is a probe like any other",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { ...fail, onRejection: "allow", expect: { state: "open", transitions: [["half_open", "open", 1_000]] } },
      { ...succeed, onRejection: "allow", expect: { state: "open", transitions: [] } }
    ]
  },
  {
    name: "a probe-aware judge: an error ignored in closed counts when a probe fails with it",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, isFailure: "allButIgnoredOutsideProbes" },
    steps: [
      { kind: "call", outcome: "ignored", expect: { state: "closed", status: { failureCount: 0 } } },
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      {
        kind: "probe",
        outcome: "ignored",
        expect: { state: "open", status: { failureCount: 2 }, transitions: [["half_open", "open", 1_000]] }
      }
    ]
  },
  {
    name:
      "consecutive failures: the 5th opens it, the call that trips reports its own failure, then calls are rejected",
    options: {},
    steps: [
      { ...fail, expect: { state: "closed", status: { failureCount: 1, lastFailure: 0 } } },
      fail,
      fail,
      { ...fail, expect: { state: "closed", status: { failureCount: 4 } } },
      { kind: "advance", millis: 2_000 },
      {
        ...fail,
        expect: {
          result: { _tag: "Ran", outcome: "failure" },
          state: "open",
          status: { failureCount: 5, lastFailure: 2_000, lastStateChange: 2_000 },
          transitions: [["closed", "open", 2_000]]
        }
      },
      { ...succeed, expect: { result: rejectedOpen(60_000), state: "open" } }
    ]
  },
  {
    name: "consecutive failures: a success in between resets the count",
    options: { failureThreshold: 3 },
    steps: [
      fail,
      { ...fail, expect: { status: { failureCount: 2 } } },
      { kind: "advance", millis: 500 },
      { ...succeed, expect: { status: { failureCount: 0, lastFailure: 0 } } },
      fail,
      { ...fail, expect: { state: "closed", status: { failureCount: 2, lastFailure: 500 } } },
      { ...fail, expect: { state: "open", transitions: [["closed", "open", 500]] } }
    ]
  },
  {
    name: "open becomes half_open after exactly recoveryTimeout, with no call, and publishes it",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 10_000 },
    steps: [
      { kind: "advance", millis: 1_000 },
      { ...fail, expect: { transitions: [["closed", "open", 1_000]] } },
      { kind: "advance", millis: 9_999, expect: { state: "open" } },
      {
        kind: "advance",
        millis: 1,
        expect: {
          state: "half_open",
          status: { lastStateChange: 11_000 },
          transitions: [["open", "half_open", 11_000]]
        }
      }
    ]
  },
  {
    name: "a rejection's retryAfter is the time left until the next probe",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 60_000 },
    steps: [
      { ...fail, expect: { transitions: [["closed", "open", 0]] } },
      { kind: "advance", millis: 15_000 },
      { ...succeed, expect: { result: rejectedOpen(45_000) } },
      { kind: "advance", millis: 44_999 },
      { ...succeed, expect: { result: rejectedOpen(1) } }
    ]
  },
  {
    name: "a successful probe closes it with the count reset",
    options: { failureThreshold: 2, recoveryTimeoutMillis: 30_000 },
    steps: [
      fail,
      { ...fail, expect: { transitions: [["closed", "open", 0]] } },
      { kind: "advance", millis: 30_000, expect: { transitions: [["open", "half_open", 30_000]] } },
      {
        kind: "probe",
        outcome: "success",
        expect: {
          state: "closed",
          status: { failureCount: 0, lastFailure: 0, lastStateChange: 30_000 },
          transitions: [["half_open", "closed", 30_000]]
        }
      },
      { ...succeed, expect: { state: "closed" } }
    ]
  },
  {
    name: "a failed probe reopens it for a whole new recovery timeout and adds to the count",
    options: { failureThreshold: 2, recoveryTimeoutMillis: 60_000 },
    steps: [
      fail,
      failAndOpen(0),
      { kind: "advance", millis: 70_000, expect: { transitions: [["open", "half_open", 60_000]] } },
      {
        kind: "probe",
        outcome: "failure",
        expect: {
          state: "open",
          status: { failureCount: 3, lastFailure: 70_000, lastStateChange: 70_000 },
          transitions: [["half_open", "open", 70_000]]
        }
      },
      { ...succeed, expect: { result: rejectedOpen(60_000) } },
      { kind: "advance", millis: 59_999, expect: { state: "open" } },
      { kind: "advance", millis: 1, expect: { state: "half_open", transitions: [["open", "half_open", 130_000]] } }
    ]
  },
  {
    name: "a single probe: a second call while the probe runs is rejected with retryAfter 0",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "start", id: "probe", expect: { state: "half_open" } },
      { ...succeed, expect: { result: rejectedHalfOpen } },
      { kind: "finish", id: "probe", outcome: "success", expect: { transitions: [["half_open", "closed", 1_000]] } },
      { ...succeed, expect: { state: "closed" } }
    ]
  },
  {
    name: "halfOpenMaxProbes = 3: it closes only after the third successful probe",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, halfOpenMaxProbes: 3 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "probe", outcome: "success", expect: { state: "half_open" } },
      { kind: "probe", outcome: "success", expect: { state: "half_open" } },
      { kind: "probe", outcome: "success", expect: { state: "closed", transitions: [["half_open", "closed", 1_000]] } }
    ]
  },
  {
    name: "halfOpenMaxProbes = 3: three probes run at once, a fourth call is rejected until they have closed it",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, halfOpenMaxProbes: 3 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "start", id: "a" },
      { kind: "start", id: "b" },
      { kind: "start", id: "c" },
      { ...succeed, expect: { result: rejectedHalfOpen } },
      { kind: "finish", id: "a", outcome: "success", expect: { state: "half_open" } },
      { ...succeed, expect: { result: rejectedHalfOpen } },
      { kind: "finish", id: "b", outcome: "success" },
      { kind: "finish", id: "c", outcome: "success", expect: { transitions: [["half_open", "closed", 1_000]] } }
    ]
  },
  {
    name: "an interrupted probe gives its permit back and counts neither way",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "start", id: "probe" },
      { ...succeed, expect: { result: rejectedHalfOpen } },
      { kind: "interrupt", id: "probe", expect: { state: "half_open", status: { failureCount: 1 } } },
      { kind: "probe", outcome: "success", expect: { transitions: [["half_open", "closed", 1_000]] } }
    ]
  },
  {
    name: "an interrupted call in closed neither adds to nor resets the count",
    options: { failureThreshold: 2 },
    steps: [
      { ...fail, expect: { status: { failureCount: 1 } } },
      { kind: "start", id: "call" },
      { kind: "interrupt", id: "call", expect: { state: "closed", status: { failureCount: 1 } } },
      failAndOpen(0)
    ]
  },
  {
    name: "probe timeout: a probe still running after probeTimeout reopens it, and its late result changes nothing",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 10_000, probeTimeoutMillis: 5_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 10_000, expect: { transitions: [["open", "half_open", 10_000]] } },
      { kind: "start", id: "probe" },
      { kind: "advance", millis: 4_999, expect: { state: "half_open" } },
      {
        kind: "advance",
        millis: 1,
        expect: {
          state: "open",
          status: { failureCount: 2, lastFailure: 15_000, lastStateChange: 15_000 },
          transitions: [["half_open", "open", 15_000]]
        }
      },
      { ...succeed, expect: { result: rejectedOpen(10_000) } },
      { kind: "finish", id: "probe", outcome: "success", expect: { state: "open", status: { failureCount: 2 } } },
      { kind: "advance", millis: 10_000, expect: { transitions: [["open", "half_open", 25_000]] } }
    ]
  },
  {
    name: "isFailure: errors it does not count neither add to nor reset the count",
    options: { failureThreshold: 3, isFailure: "allButIgnored" },
    steps: [
      fail,
      fail,
      { kind: "call", outcome: "ignored" },
      { kind: "call", outcome: "ignored" },
      { kind: "call", outcome: "ignored", expect: { state: "closed", status: { failureCount: 2 } } },
      { ...fail, expect: { state: "open", transitions: [["closed", "open", 0]] } }
    ]
  },
  {
    name: "without isFailure every typed error counts",
    options: { failureThreshold: 2 },
    steps: [
      { kind: "call", outcome: "ignored", expect: { status: { failureCount: 1 } } },
      { kind: "call", outcome: "ignored", expect: { state: "open", transitions: [["closed", "open", 0]] } }
    ]
  },
  {
    name: "a probe that fails with an error isFailure does not count closes it (the service answered)",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000, isFailure: "allButIgnored" },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      {
        kind: "probe",
        outcome: "ignored",
        expect: { state: "closed", status: { failureCount: 0 }, transitions: [["half_open", "closed", 1_000]] }
      }
    ]
  },
  {
    name: "defects always count, whatever isFailure says",
    options: { failureThreshold: 2, isFailure: "allButIgnored" },
    steps: [
      { kind: "call", outcome: "defect", expect: { status: { failureCount: 1 } } },
      { kind: "call", outcome: "defect", expect: { state: "open", transitions: [["closed", "open", 0]] } }
    ]
  },
  {
    name: "isolate: every call is rejected with an infinite wait and no probe runs until reset",
    options: { recoveryTimeoutMillis: 1_000 },
    steps: [
      { kind: "isolate", expect: { state: "open", isolated: true, transitions: [["closed", "open", 0]] } },
      { ...succeed, expect: { result: rejectedOpen(null) } },
      { kind: "advance", millis: 5_000, expect: { state: "open", isolated: true } },
      { ...succeed, expect: { result: rejectedOpen(null) } },
      {
        kind: "reset",
        expect: { state: "closed", isolated: false, transitions: [["open", "closed", 5_000]] }
      },
      { ...succeed, expect: { state: "closed" } }
    ]
  },
  {
    name: "isolating an open breaker publishes open → open; isolating it again does nothing",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 10_000 },
    steps: [
      { ...fail, expect: { transitions: [["closed", "open", 0]] } },
      { kind: "advance", millis: 2_000 },
      {
        kind: "isolate",
        expect: { isolated: true, status: { lastStateChange: 2_000 }, transitions: [["open", "open", 2_000]] }
      },
      { kind: "isolate", expect: { isolated: true } },
      { kind: "advance", millis: 20_000, expect: { state: "open" } },
      { kind: "reset", expect: { state: "closed", transitions: [["open", "closed", 22_000]] } }
    ]
  },
  {
    name: "reset clears the count and publishes closed → closed when already closed",
    options: { failureThreshold: 3 },
    steps: [
      fail,
      fail,
      {
        kind: "reset",
        expect: { state: "closed", status: { failureCount: 0 }, transitions: [["closed", "closed", 0]] }
      },
      fail,
      { ...fail, expect: { state: "closed", status: { failureCount: 2 } } },
      { ...fail, expect: { state: "open", transitions: [["closed", "open", 0]] } },
      { kind: "reset", expect: { state: "closed", transitions: [["open", "closed", 0]] } }
    ]
  },
  {
    name: "reset from half_open closes it",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 1_000 },
    steps: [
      failAndOpen(0),
      { kind: "advance", millis: 1_000, expect: { transitions: [["open", "half_open", 1_000]] } },
      { kind: "reset", expect: { state: "closed", transitions: [["half_open", "closed", 1_000]] } },
      { ...succeed, expect: { state: "closed" } }
    ]
  },
  {
    name: "failureRate over a count window: half of the last 4 calls failed, judged after a success too",
    options: {
      strategy: { kind: "failureRate", threshold: 0.5, minimumCalls: 4, window: { kind: "count", size: 4 } }
    },
    steps: [
      fail,
      succeed,
      { ...fail, expect: { state: "closed" } },
      {
        ...succeed,
        expect: {
          result: { _tag: "Ran", outcome: "success" },
          state: "open",
          // the success that completes the rate resets the consecutive count
          status: { failureCount: 0, lastFailure: 0 },
          transitions: [["closed", "open", 0]]
        }
      },
      { ...succeed, expect: { result: rejectedOpen(60_000) } }
    ]
  },
  {
    name: "failureRate over a count window: the oldest call leaves the window as a new one comes",
    options: {
      strategy: { kind: "failureRate", threshold: 0.75, minimumCalls: 4, window: { kind: "count", size: 4 } }
    },
    steps: [
      fail,
      fail,
      succeed,
      { ...succeed, expect: { state: "closed" } }, // 2 of 4
      succeed, // 1 of 4
      fail, // 1 of 4
      { ...fail, expect: { state: "closed", status: { failureCount: 2 } } }, // 2 of 4
      { ...fail, expect: { state: "open", status: { failureCount: 3 }, transitions: [["closed", "open", 0]] } } // 3 of 4
    ]
  },
  {
    name: "failureRate over a time window: a failure ages out with its bucket",
    options: {
      strategy: {
        kind: "failureRate",
        threshold: 0.5,
        minimumCalls: 2,
        window: { kind: "time", durationMillis: 10_000, buckets: 10 }
      }
    },
    steps: [
      fail,
      { kind: "advance", millis: 10_000 },
      // the failure of 0 has left the window: 1 call, not judged yet
      { ...succeed, expect: { state: "closed" } },
      { ...fail, expect: { state: "open", status: { failureCount: 1 }, transitions: [["closed", "open", 10_000]] } }
    ]
  },
  {
    name: "failureRate over a time window: a failure just inside the window still counts",
    options: {
      strategy: {
        kind: "failureRate",
        threshold: 0.5,
        minimumCalls: 2,
        window: { kind: "time", durationMillis: 10_000, buckets: 10 }
      }
    },
    steps: [
      fail,
      { kind: "advance", millis: 9_999 },
      { ...succeed, expect: { state: "open", status: { failureCount: 0 }, transitions: [["closed", "open", 9_999]] } }
    ]
  },
  {
    name: "slowCallRate over a count window: a success slower than slowerThan counts against the rate",
    options: {
      strategy: {
        kind: "slowCallRate",
        slowerThanMillis: 1_000,
        threshold: 0.5,
        minimumCalls: 2,
        window: { kind: "count", size: 2 }
      }
    },
    steps: [
      // exactly slowerThan is not slow
      { kind: "call", outcome: "success", durationMillis: 1_000, expect: { state: "closed" } },
      {
        kind: "call",
        outcome: "success",
        durationMillis: 1_001,
        expect: {
          state: "open",
          status: { failureCount: 0, lastFailure: null, lastStateChange: 2_001 },
          transitions: [["closed", "open", 2_001]]
        }
      }
    ]
  },
  {
    name: "slowCallRate over a time window: slow calls age out too",
    options: {
      strategy: {
        kind: "slowCallRate",
        slowerThanMillis: 500,
        threshold: 1,
        minimumCalls: 2,
        window: { kind: "time", durationMillis: 5_000, buckets: 5 }
      }
    },
    steps: [
      { kind: "call", outcome: "success", durationMillis: 600 },
      { kind: "advance", millis: 5_000 },
      // the slow call that ended at 600 has left the window by 6 200
      { kind: "call", outcome: "success", durationMillis: 600, expect: { state: "closed" } },
      {
        kind: "call",
        outcome: "success",
        durationMillis: 600,
        expect: { state: "open", transitions: [["closed", "open", 6_800]] }
      }
    ]
  },
  {
    name: "results of calls admitted before the breaker opened change nothing when they end after",
    options: { failureThreshold: 2 },
    steps: [
      { kind: "start", id: "slow success" },
      { kind: "start", id: "slow failure" },
      fail,
      { ...fail, expect: { state: "open", transitions: [["closed", "open", 0]] } },
      {
        kind: "finish",
        id: "slow success",
        outcome: "success",
        expect: { state: "open", status: { failureCount: 2 } }
      },
      { kind: "finish", id: "slow failure", outcome: "failure", expect: { state: "open", status: { failureCount: 2 } } }
    ]
  },
  {
    name: "the status snapshot: name, counts and dates from creation through an opening to recovery",
    options: { name: "Chroma Server", failureThreshold: 2, recoveryTimeoutMillis: 30_000 },
    steps: [
      {
        kind: "check",
        expect: {
          state: "closed",
          isolated: false,
          status: { service: "Chroma Server", failureCount: 0, lastFailure: null, lastStateChange: 0 }
        }
      },
      { kind: "advance", millis: 5_000 },
      { ...fail, expect: { status: { failureCount: 1, lastFailure: 5_000, lastStateChange: 0 } } },
      { kind: "advance", millis: 1_000 },
      {
        ...fail,
        expect: {
          state: "open",
          status: { failureCount: 2, lastFailure: 6_000, lastStateChange: 6_000 },
          transitions: [["closed", "open", 6_000]]
        }
      },
      {
        kind: "advance",
        millis: 30_000,
        expect: {
          state: "half_open",
          status: { failureCount: 2, lastFailure: 6_000, lastStateChange: 36_000 },
          transitions: [["open", "half_open", 36_000]]
        }
      },
      {
        kind: "probe",
        outcome: "success",
        expect: {
          state: "closed",
          status: { service: "Chroma Server", failureCount: 0, lastFailure: 6_000, lastStateChange: 36_000 },
          transitions: [["half_open", "closed", 36_000]]
        }
      }
    ]
  },
  {
    name: "a jump far past the recovery timeout dates half_open when the timeout elapsed",
    options: { failureThreshold: 1, recoveryTimeoutMillis: 10_000 },
    steps: [
      failAndOpen(0),
      {
        kind: "advance",
        millis: 25_000,
        expect: {
          state: "half_open",
          status: { lastStateChange: 10_000 },
          transitions: [["open", "half_open", 10_000]]
        }
      }
    ]
  }
]

/** What a runner saw during and after one step, in the scenario's terms. */
export interface Observed {
  /** The state read just before the step (a `probe` must be made in `half_open`). */
  readonly stateBefore: State
  /** The step's call result: for `call`, `probe`, `finish`, and a `start` that was rejected. */
  readonly result: Result | undefined
  /** Whether the step's call ran its effect (for steps that make a call). */
  readonly ran: boolean | undefined
  readonly state: State
  readonly isolated: boolean
  readonly status: {
    readonly service: string
    readonly failureCount: number
    readonly lastFailure: number | null
    readonly lastStateChange: number
  }
  /** The transitions published during the step, in order. */
  readonly transitions: ReadonlyArray<Transition>
}

/** Plain data as text with its keys sorted, so that two values compare by content. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, inner: unknown) =>
    typeof inner === "object" && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
      : inner)

/**
 * What does not hold after `step`, one line each: empty when the edition behaved as the scenario
 * says. The checks both runners make, written once: the call's result (by default its own
 * outcome), that a call ran its effect exactly when it was not rejected, the expected state,
 * isolation and status fields, and exactly the transitions published.
 */
export const mismatches = (step: Step, observed: Observed): ReadonlyArray<string> => {
  const found: Array<string> = []
  const differ = (what: string, expected: unknown, actual: unknown) => {
    if (canonical(expected) !== canonical(actual)) {
      found.push(`${what}: expected ${canonical(expected)}, got ${canonical(actual)}`)
    }
  }
  const expected: Expected = step.expect ?? {}
  if (step.kind === "probe") differ("the state a probe is made in", "half_open", observed.stateBefore)
  if (step.kind === "start") {
    if (expected.result === undefined) differ("the call is admitted and runs", true, observed.ran)
    else differ("result", expected.result, observed.result)
  } else if (step.kind === "call" || step.kind === "probe" || step.kind === "finish") {
    differ("result", expected.result ?? { _tag: "Ran", outcome: step.outcome }, observed.result)
  }
  if (observed.result !== undefined) {
    differ("the effect ran (it runs unless the call is rejected)", observed.result._tag === "Ran", observed.ran)
  }
  if (expected.state !== undefined) differ("state", expected.state, observed.state)
  if (expected.isolated !== undefined) differ("isolated", expected.isolated, observed.isolated)
  if (expected.status !== undefined) {
    const actual: Record<string, unknown> = observed.status
    differ(
      "status",
      expected.status,
      Object.fromEntries(Object.keys(expected.status).map((key) => [key, actual[key]]))
    )
  }
  differ("transitions published", expected.transitions ?? [], observed.transitions)
  return found
}

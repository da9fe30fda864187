/**
 * The retry behaviour both editions must show, written once as plain data: a policy (durations in
 * milliseconds), the random doubles its jitter draws, an optional retry budget, the outcome of
 * each attempt (with `Retry-After` headers), and what must follow: when each attempt starts on
 * the clock, how many attempts are made in all, how the call ends, the tokens left.
 *
 * Each edition runs every scenario through its own public API and `TestClock`
 * (test/RetryScenarios.test.ts for Effect 3, effect4/test/RetryScenarios.test.ts for Effect 4):
 * `Effect.retry` with `RetryPolicy.schedule`, `RetryPolicy.isTransient` as the `while`, the
 * budget from `RetryPolicy.makeBudget` and the `Retry-After` read by `RetryPolicy.parseRetryAfter`,
 * following {@link retryAfterRule}, the rule `ResilientServiceClient` applies; and again through
 * `ResilientServiceClient` on a fake transport, for every scenario the client can play (its
 * backoff factor is 2, and a timeout there takes the client's `timeout`).
 *
 * Nothing here imports anything: the file is data and the types of that data.
 */

/** What an attempt ends with. */
export type Outcome =
  | { readonly _tag: "Success" }
  /** An HTTP answer with this status (a failure), with a `Retry-After` header when given. */
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter?: string }
  /** The request never got an answer (connection refused or reset). */
  | { readonly _tag: "Transport" }
  /** The attempt took too long (`Effect.timeout`). */
  | { readonly _tag: "Timeout" }

/** A retry policy's options, durations in milliseconds (each edition passes them as its `Duration`). */
export interface Policy {
  readonly maxAttempts?: number
  readonly baseDelayMillis?: number
  readonly factor?: number
  readonly maxDelayMillis?: number
  readonly jitter?: "none" | "full" | "decorrelated"
}

/** How a call ends: its last outcome, or `Success`. */
export type Result = "Success" | "Transport" | "Timeout" | { readonly status: number }

/** One scenario: a policy, what each attempt ends with, and what must follow. @internal */
export interface RetryScenario {
  readonly name: string
  readonly policy: Policy
  /** The doubles the jitter draws, in order, cycled (`Random` fixed by the runner). */
  readonly random?: ReadonlyArray<number>
  /** A retry budget shared by the calls; none when absent. */
  readonly budget?: { readonly maxTokens: number; readonly tokenRatio: number }
  /** Calls started at once at time 0, each with the same outcomes. Default 1. */
  readonly calls?: number
  /** The outcome of attempt 1, 2, …; past the end, the last one again. */
  readonly outcomes: ReadonlyArray<Outcome>
  readonly expected: {
    /** Clock milliseconds at which each attempt of the (first) call starts. */
    readonly attemptsAt?: ReadonlyArray<number>
    /** Attempts made by all the calls together. */
    readonly attempts: number
    /** How every call ends. */
    readonly result: Result
    /** The budget's tokens once every call has ended. */
    readonly tokensLeft?: number
  }
}

/**
 * `Retry-After` as `ResilientServiceClient` reads it: only on these statuses; the delay is the
 * longer of the backoff and the header's; a header longer than `maxRetryAfterMillis` ends the
 * call with that answer (its default, 30 s). The clock starts at the Unix epoch, so an HTTP-date
 * of `Thu, 01 Jan 1970 00:00:05 GMT` is 5 s after the start.
 */
export const retryAfterRule = {
  statuses: [429, 503],
  maxRetryAfterMillis: 30_000
} as const

const success: Outcome = { _tag: "Success" }
const transport: Outcome = { _tag: "Transport" }
const timeout: Outcome = { _tag: "Timeout" }
const status = (code: number, retryAfter?: string): Outcome =>
  retryAfter === undefined ? { _tag: "Status", status: code } : { _tag: "Status", status: code, retryAfter }

/** Every retry scenario, run in this order by each edition's runner. @internal */
export const scenarios: ReadonlyArray<RetryScenario> = [
  // --- the schedule: 1 s, 2 s, … capped by attempts ----------------------------------------------
  {
    name: "defaults: a call that keeps failing runs at +0, +1 s, +3 s and fails with the 3rd answer",
    policy: {},
    outcomes: [status(503)],
    expected: { attemptsAt: [0, 1_000, 3_000], attempts: 3, result: { status: 503 } }
  },
  {
    name: "defaults: a success on the 2nd attempt ends the call",
    policy: {},
    outcomes: [status(502), success],
    expected: { attemptsAt: [0, 1_000], attempts: 2, result: "Success" }
  },
  {
    name: "maxDelay caps the waits: 1, 2, 3, 3, 3 s",
    policy: { maxAttempts: 6, maxDelayMillis: 3_000 },
    outcomes: [transport],
    expected: { attemptsAt: [0, 1_000, 3_000, 6_000, 9_000, 12_000], attempts: 6, result: "Transport" }
  },
  {
    name: "factor 3 from 500 ms: 0.5, 1.5, 4.5 s",
    policy: { maxAttempts: 4, baseDelayMillis: 500, factor: 3 },
    outcomes: [timeout],
    expected: { attemptsAt: [0, 500, 2_000, 6_500], attempts: 4, result: "Timeout" }
  },
  {
    name: "factor 1: a constant delay",
    policy: { maxAttempts: 4, baseDelayMillis: 250, factor: 1 },
    outcomes: [status(500), status(504), status(408), success],
    expected: { attemptsAt: [0, 250, 500, 750], attempts: 4, result: "Success" }
  },
  {
    name: "maxAttempts 1: one attempt, no wait",
    policy: { maxAttempts: 1 },
    outcomes: [status(503)],
    expected: { attemptsAt: [0], attempts: 1, result: { status: 503 } }
  },
  {
    name: "timeouts are transient: retried until the success",
    policy: {},
    outcomes: [timeout, timeout, success],
    expected: { attemptsAt: [0, 1_000, 3_000], attempts: 3, result: "Success" }
  },
  // --- what is not retried -----------------------------------------------------------------------
  {
    name: "a 404 is not retried",
    policy: { maxAttempts: 5 },
    outcomes: [status(404)],
    expected: { attemptsAt: [0], attempts: 1, result: { status: 404 } }
  },
  {
    name: "a 501 after a 503 ends the call with the 501",
    policy: { maxAttempts: 5 },
    outcomes: [status(503), status(501)],
    expected: { attemptsAt: [0, 1_000], attempts: 2, result: { status: 501 } }
  },
  // --- jitter ------------------------------------------------------------------------------------
  {
    name: "full jitter: each delay is the exponential delay times the draw",
    policy: { maxAttempts: 4, jitter: "full" },
    random: [0.5, 0.25, 0.75],
    outcomes: [status(503)],
    // 1000 × 0.5, 2000 × 0.25, 4000 × 0.75
    expected: { attemptsAt: [0, 500, 1_000, 4_000], attempts: 4, result: { status: 503 } }
  },
  {
    name: "full jitter under maxDelay: the cap first, then the draw",
    policy: { maxAttempts: 4, maxDelayMillis: 1_500, jitter: "full" },
    random: [0.5],
    outcomes: [transport],
    // min(1000, 1500) × 0.5, min(2000, 1500) × 0.5, min(4000, 1500) × 0.5
    expected: { attemptsAt: [0, 500, 1_250, 2_000], attempts: 4, result: "Transport" }
  },
  {
    name: "decorrelated jitter: base + (3 × previous − base) × draw",
    policy: { maxAttempts: 4, jitter: "decorrelated" },
    random: [0.5, 0.25],
    outcomes: [status(503)],
    // 1000 + 2000 × 0.5 = 2000; 1000 + 5000 × 0.25 = 2250; 1000 + 5750 × 0.5 = 3875
    expected: { attemptsAt: [0, 2_000, 4_250, 8_125], attempts: 4, result: { status: 503 } }
  },
  {
    name: "decorrelated jitter under maxDelay: capped, and the next grows from the capped delay",
    policy: { maxAttempts: 4, maxDelayMillis: 2_000, jitter: "decorrelated" },
    random: [0.75, 0.5],
    outcomes: [status(503)],
    // min(1000 + 2000 × 0.75, 2000) = 2000; 1000 + 5000 × 0.5 = 3500 → 2000; 1000 + 5000 × 0.75 → 2000
    expected: { attemptsAt: [0, 2_000, 4_000, 6_000], attempts: 4, result: { status: 503 } }
  },
  // --- Retry-After -------------------------------------------------------------------------------
  {
    name: "Retry-After in seconds on a 503, longer than the backoff, sets the delay; the next one backs off again",
    policy: {},
    outcomes: [status(503, "5"), status(503)],
    expected: { attemptsAt: [0, 5_000, 7_000], attempts: 3, result: { status: 503 } }
  },
  {
    name: "a Retry-After shorter than the backoff leaves the backoff",
    policy: {},
    outcomes: [status(503, "0"), success],
    expected: { attemptsAt: [0, 1_000], attempts: 2, result: "Success" }
  },
  {
    name: "an HTTP-date on a 429 is read against the clock",
    policy: {},
    outcomes: [status(429, "Thu, 01 Jan 1970 00:00:04 GMT"), status(429, "Thu, 01 Jan 1970 00:00:10 GMT"), success],
    // 4 s from 0; then the date is 6 s after 4 s, longer than the 2 s backoff
    expected: { attemptsAt: [0, 4_000, 10_000], attempts: 3, result: "Success" }
  },
  {
    name: "Retry-After is ignored on other statuses and when it is not valid",
    policy: {},
    outcomes: [status(500, "10"), status(503, "soon"), success],
    expected: { attemptsAt: [0, 1_000, 3_000], attempts: 3, result: "Success" }
  },
  {
    name: "a Retry-After over maxRetryAfter (30 s) ends the call at once with that answer",
    policy: { maxAttempts: 5 },
    outcomes: [status(503, "120"), success],
    expected: { attemptsAt: [0], attempts: 1, result: { status: 503 } }
  },
  {
    name: "a Retry-After of exactly maxRetryAfter is waited for",
    policy: {},
    outcomes: [status(503, "30"), success],
    expected: { attemptsAt: [0, 30_000], attempts: 2, result: "Success" }
  },
  // --- the retry budget --------------------------------------------------------------------------
  {
    name: "budget: a failure is retried only while more than half the tokens are left after it",
    policy: { maxAttempts: 5 },
    budget: { maxTokens: 4, tokenRatio: 0.5 },
    outcomes: [status(503)],
    // 4 → 3 (retried), 3 → 2 (not: 2 is not more than half of 4)
    expected: { attemptsAt: [0, 1_000], attempts: 2, result: { status: 503 }, tokensLeft: 2 }
  },
  {
    name: "budget: successes refund tokenRatio each",
    policy: { maxAttempts: 5 },
    budget: { maxTokens: 4, tokenRatio: 0.5 },
    outcomes: [status(503), success],
    // 4 → 3, then + 0.5 up to the maximum
    expected: { attemptsAt: [0, 1_000], attempts: 2, result: "Success", tokensLeft: 3.5 }
  },
  {
    name: "budget: answers that are not retried cost nothing",
    policy: {},
    budget: { maxTokens: 4, tokenRatio: 0.5 },
    calls: 10,
    outcomes: [status(404)],
    expected: { attemptsAt: [0], attempts: 10, result: { status: 404 }, tokensLeft: 4 }
  },
  {
    name: "budget: the default bucket cuts a storm of 100 calls × 3 attempts to 149 attempts",
    policy: {},
    budget: { maxTokens: 100, tokenRatio: 0.5 },
    calls: 100,
    outcomes: [status(503)],
    // the first 49 failures leave more than 50 tokens: those calls retry once, and no call twice
    expected: { attemptsAt: [0, 1_000], attempts: 149, result: { status: 503 }, tokensLeft: 0 }
  },
  {
    name: "budget: gRPC's example bucket (10 tokens, 0.1) cuts the same storm to 104 attempts",
    policy: {},
    budget: { maxTokens: 10, tokenRatio: 0.1 },
    calls: 100,
    outcomes: [status(503)],
    expected: { attemptsAt: [0, 1_000], attempts: 104, result: { status: 503 }, tokensLeft: 0 }
  }
]

import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import { RetryPolicy, ServiceUnavailable } from "../src/index.js"
import { issuesOf } from "./utils/configErrors.js"
import {
  decodeError,
  delaysOf,
  emptyBodyError,
  encodeError,
  invalidUrlError,
  statusError,
  transportError,
  withDoubles
} from "./utils/retry.js"

/** The first issue of a `ConfigError`: its path and message. */
const issueOf = (error: unknown) => issuesOf(error)![0]!

/** `delaysOf` with a fixed sequence of random doubles (cycled). */
const delaysWithRandom = (schedule: Schedule.Schedule<Duration.Duration>, doubles: ReadonlyArray<number>) =>
  withDoubles(doubles)(delaysOf(schedule))

/**
 * Forks an always-failing effect retried with `schedule`; the effect records the `Clock` time of
 * each attempt.
 */
const retryForever = (schedule: Schedule.Schedule<Duration.Duration>) =>
  Effect.gen(function*() {
    const instants = yield* Ref.make<ReadonlyArray<number>>([])
    const attempt = Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Ref.update(instants, (all) => [...all, now])),
      Effect.andThen(Effect.fail("connection refused" as const))
    )
    const fiber = yield* Effect.forkChild(Effect.retry(attempt, schedule))
    return { fiber, instants: Ref.get(instants) }
  })

const running = (fiber: Fiber.Fiber<unknown, unknown>) => fiber.pollUnsafe() === undefined

describe("RetryPolicy", () => {
  describe("schedule timing", () => {
    it.effect("with the defaults, attempts run at +0, +1 s and +3 s and the retry fails after the 3rd", () =>
      Effect.gen(function*() {
        // start away from zero so that the offsets are measured, not the absolute times
        yield* TestClock.adjust("7 seconds")
        const start = 7_000
        const { fiber, instants } = yield* retryForever(RetryPolicy.schedule())

        yield* TestClock.adjust(Duration.millis(999))
        expect(yield* instants).toEqual([start])
        expect(running(fiber)).toBe(true)

        yield* TestClock.adjust(Duration.millis(1))
        expect(yield* instants).toEqual([start, start + 1_000])

        yield* TestClock.adjust(Duration.millis(1_999))
        expect(yield* instants).toEqual([start, start + 1_000])
        expect(running(fiber)).toBe(true)

        yield* TestClock.adjust(Duration.millis(1))
        expect(yield* instants).toEqual([start, start + 1_000, start + 3_000])
        const exit = yield* Fiber.await(fiber)
        expect(exit).toEqual(Exit.fail("connection refused"))
        // and it never tries a 4th time
        yield* TestClock.adjust("1 hour")
        expect(yield* instants).toHaveLength(3)
      }))

    it.effect("maxDelay caps the real waits: attempts at 0, 1, 3, 6, 9, 12 s", () =>
      Effect.gen(function*() {
        const { fiber, instants } = yield* retryForever(RetryPolicy.schedule({ maxAttempts: 6, maxDelay: "3 seconds" }))
        yield* TestClock.adjust("1 hour")
        expect(yield* instants).toEqual([0, 1_000, 3_000, 6_000, 9_000, 12_000])
        expect(Exit.isFailure(yield* Fiber.await(fiber))).toBe(true)
      }))

    it.effect("maxAttempts 1 runs once and does not wait", () =>
      Effect.gen(function*() {
        const { fiber, instants } = yield* retryForever(RetryPolicy.schedule({ maxAttempts: 1 }))
        const exit = yield* Fiber.await(fiber)
        expect(exit).toEqual(Exit.fail("connection refused"))
        expect(yield* instants).toEqual([0])
      }))

    it.effect("with RetryPolicy.isTransient as the `while`, a permanent failure is not retried", () =>
      Effect.gen(function*() {
        const attempts = yield* Ref.make(0)
        const call = (error: unknown) => Effect.andThen(Ref.update(attempts, (n) => n + 1), Effect.fail(error))
        const retried = (error: unknown) =>
          Effect.retry(call(error), { schedule: RetryPolicy.schedule(), while: RetryPolicy.isTransient })

        const notFound = yield* Effect.forkChild(retried(statusError(404)))
        yield* TestClock.adjust("1 minute")
        expect(Exit.isFailure(yield* Fiber.await(notFound))).toBe(true)
        expect(yield* Ref.getAndSet(attempts, 0)).toBe(1)

        const unavailable = yield* Effect.forkChild(retried(statusError(503)))
        yield* TestClock.adjust("1 minute")
        expect(Exit.isFailure(yield* Fiber.await(unavailable))).toBe(true)
        expect(yield* Ref.get(attempts)).toBe(3)
      }))
  })

  describe("schedule output (the delay it chose)", () => {
    it.effect("defaults: 1 s, 2 s", () =>
      Effect.gen(function*() {
        expect(yield* delaysOf(RetryPolicy.schedule())).toEqual([1_000, 2_000])
      }))

    it.effect("maxAttempts 6, maxDelay 3 s: 1, 2, 3, 3, 3 s", () =>
      Effect.gen(function*() {
        const delays = yield* delaysOf(RetryPolicy.schedule({ maxAttempts: 6, maxDelay: "3 seconds" }))
        expect(delays).toEqual([1_000, 2_000, 3_000, 3_000, 3_000])
      }))

    it.effect("factor 3: 1, 3, 9, 27 s", () =>
      Effect.gen(function*() {
        expect(yield* delaysOf(RetryPolicy.schedule({ maxAttempts: 5, factor: 3 }))).toEqual([
          1_000,
          3_000,
          9_000,
          27_000
        ])
      }))

    it.effect("baseDelay and factor 1: a constant delay", () =>
      Effect.gen(function*() {
        const delays = yield* delaysOf(RetryPolicy.schedule({ maxAttempts: 4, baseDelay: "250 millis", factor: 1 }))
        expect(delays).toEqual([250, 250, 250])
      }))

    it.effect("maxAttempts 1: no retry at all", () =>
      Effect.gen(function*() {
        expect(yield* delaysOf(RetryPolicy.schedule({ maxAttempts: 1 }))).toEqual([])
      }))

    it("without jitter: maxAttempts − 1 delays of min(baseDelay × factor^n, maxDelay)", () =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 5_000 }),
          fc.integer({ min: 1, max: 4 }),
          fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
          (maxAttempts, base, factor, maxDelay) => {
            const schedule = RetryPolicy.schedule({
              maxAttempts,
              baseDelay: Duration.millis(base),
              factor,
              maxDelay: maxDelay === undefined ? undefined : Duration.millis(maxDelay)
            })
            const expected = Array.from({ length: maxAttempts - 1 }, (_, n) =>
              Math.min(base * factor ** n, maxDelay ?? Infinity))
            expect(Effect.runSync(delaysOf(schedule))).toEqual(expected)
          }
        ),
        { numRuns: 200 }
      ))

    it.effect("make(options).schedule behaves as schedule(options)", () =>
      Effect.gen(function*() {
        const options = { maxAttempts: 5, baseDelay: "500 millis", factor: 3, maxDelay: "4 seconds" } as const
        const policy = yield* RetryPolicy.make(options)
        expect(policy.maxAttempts).toBe(5)
        expect(policy.factor).toBe(3)
        expect(policy.jitter).toBe("none")
        expect(Duration.toMillis(policy.baseDelay)).toBe(500)
        expect(Option.map(policy.maxDelay, Duration.toMillis)).toEqual(Option.some(4_000))
        expect(yield* delaysOf(policy.schedule)).toEqual([500, 1_500, 4_000, 4_000])
        expect(yield* delaysOf(RetryPolicy.schedule(options))).toEqual([500, 1_500, 4_000, 4_000])
      }))

    it.effect("make fills in the defaults", () =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make()
        expect(policy.maxAttempts).toBe(3)
        expect(policy.factor).toBe(2)
        expect(policy.jitter).toBe("none")
        expect(Duration.toMillis(policy.baseDelay)).toBe(1_000)
        expect(Option.isNone(policy.maxDelay)).toBe(true)
        expect(yield* delaysOf(policy.schedule)).toEqual([1_000, 2_000])
      }))
  })

  describe("jitter \"full\"", () => {
    it.effect("each delay is the (capped) exponential delay × the random double", () =>
      Effect.gen(function*() {
        const schedule = RetryPolicy.schedule({ maxAttempts: 5, maxDelay: "3 seconds", jitter: "full" })
        // exponential, capped: 1000, 2000, 3000, 3000
        expect(yield* delaysWithRandom(schedule, [0.5, 0.25, 0.75, 0.125])).toEqual([500, 500, 2_250, 375])
        expect(yield* delaysWithRandom(schedule, [0])).toEqual([0, 0, 0, 0])
      }))

    it.effect("with the defaults it still makes exactly 2 retries", () =>
      Effect.gen(function*() {
        const schedule = RetryPolicy.schedule({ jitter: "full" })
        expect(yield* delaysWithRandom(schedule, [0.5])).toEqual([500, 1_000])
      }))

    it("every delay is in [0, capped delay] and equals capped delay × r", () =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 5_000 }),
          fc.integer({ min: 1, max: 4 }),
          fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
          fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 10 }),
          (maxAttempts, base, factor, maxDelay, doubles) => {
            const schedule = RetryPolicy.schedule({
              maxAttempts,
              baseDelay: Duration.millis(base),
              factor,
              maxDelay: maxDelay === undefined ? undefined : Duration.millis(maxDelay),
              jitter: "full"
            })
            const delays = Effect.runSync(delaysWithRandom(schedule, doubles))
            expect(delays).toHaveLength(maxAttempts - 1)
            delays.forEach((delay, n) => {
              const capped = Math.min(base * factor ** n, maxDelay ?? Infinity)
              const r = doubles[n % doubles.length]!
              expect(delay).toBeGreaterThanOrEqual(0)
              expect(delay).toBeLessThanOrEqual(capped)
              expect(Math.abs(delay - capped * r)).toBeLessThanOrEqual(1e-6 * Math.max(1, capped))
            })
          }
        ),
        { numRuns: 200 }
      ))
  })

  describe("jitter \"decorrelated\"", () => {
    it.effect("each delay is base + (max(base, 3 × previous) − base) × r", () =>
      Effect.gen(function*() {
        const schedule = RetryPolicy.schedule({ maxAttempts: 5, jitter: "decorrelated" })
        // previous starts at base (1000):
        // 1000 + (3000 − 1000) × 0.5 = 2000; 1000 + (6000 − 1000) × 0.25 = 2250;
        // 1000 + (6750 − 1000) × 0.75 = 5312.5; 1000 + (15937.5 − 1000) × 0.125 = 2867.1875
        expect(yield* delaysWithRandom(schedule, [0.5, 0.25, 0.75, 0.125])).toEqual([2_000, 2_250, 5_312.5, 2_867.1875])
        // r = 0 always gives the base delay
        expect(yield* delaysWithRandom(schedule, [0])).toEqual([1_000, 1_000, 1_000, 1_000])
      }))

    it.effect("maxDelay caps each delay, and the next one grows from the capped delay", () =>
      Effect.gen(function*() {
        const schedule = RetryPolicy.schedule({ maxAttempts: 5, maxDelay: "3 seconds", jitter: "decorrelated" })
        // 2000; 2250; min(5312.5, 3000) = 3000; 1000 + (9000 − 1000) × 0.125 = 2000
        expect(yield* delaysWithRandom(schedule, [0.5, 0.25, 0.75, 0.125])).toEqual([2_000, 2_250, 3_000, 2_000])
      }))

    it("every delay follows the formula and stays in [min(base, cap), min(max(base, 3 × previous), cap)]", () =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 5_000 }),
          fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
          fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 10 }),
          (maxAttempts, base, maxDelay, doubles) => {
            const schedule = RetryPolicy.schedule({
              maxAttempts,
              baseDelay: Duration.millis(base),
              maxDelay: maxDelay === undefined ? undefined : Duration.millis(maxDelay),
              jitter: "decorrelated"
            })
            const cap = maxDelay ?? Infinity
            const delays = Effect.runSync(delaysWithRandom(schedule, doubles))
            expect(delays).toHaveLength(maxAttempts - 1)
            let previous = base
            delays.forEach((delay, n) => {
              const high = Math.max(base, 3 * previous)
              const expected = Math.min(base + (high - base) * doubles[n % doubles.length]!, cap)
              const tolerance = 1e-6 * Math.max(1, expected)
              expect(Math.abs(delay - expected)).toBeLessThanOrEqual(tolerance)
              expect(delay).toBeGreaterThanOrEqual(Math.min(base, cap) - tolerance)
              expect(delay).toBeLessThanOrEqual(Math.min(high, cap) + tolerance)
              previous = expected
            })
          }
        ),
        { numRuns: 200 }
      ))
  })

  describe("as the docs use it (docs/retry.md)", () => {
    it.effect("a Random that always draws 0.5 makes \"full\" jitter wait 500 ms, then 1 s", () =>
      Effect.gen(function*() {
        const { fiber, instants } = yield* retryForever(RetryPolicy.schedule({ jitter: "full" }))
        yield* TestClock.adjust("1 minute")
        yield* Fiber.await(fiber)
        expect(yield* instants).toEqual([0, 500, 1_500])
      }).pipe(Effect.provideService(Random.Random, { nextDoubleUnsafe: () => 0.5, nextIntUnsafe: () => 0 })))

    it.effect("a seeded Random gives the same delays on every run", () =>
      Effect.gen(function*() {
        const schedule = RetryPolicy.schedule({ maxAttempts: 6, jitter: "decorrelated" })
        const first = yield* Random.withSeed(delaysOf(schedule), "retry test")
        const second = yield* Random.withSeed(delaysOf(schedule), "retry test")
        expect(first).toEqual(second)
        expect(first).toHaveLength(5)
      }))

    it.effect("Schedule.tap sees the delay of each retry, and nothing when the schedule gives up", () =>
      Effect.gen(function*() {
        const seen: Array<number> = []
        const logged = RetryPolicy.schedule().pipe(
          Schedule.tap(({ output }) => Effect.sync(() => seen.push(Duration.toMillis(output))))
        )
        const { fiber } = yield* retryForever(logged)
        yield* TestClock.adjust("1 minute")
        yield* Fiber.await(fiber)
        expect(seen).toEqual([1_000, 2_000])
      }))
  })

  describe("isTransient", () => {
    const table: ReadonlyArray<{ readonly name: string; readonly error: unknown; readonly transient: boolean }> = [
      { name: "TransportError", error: transportError(), transient: true },
      { name: "InvalidUrlError", error: invalidUrlError(), transient: false },
      { name: "EncodeError", error: encodeError(), transient: false },
      ...[408, 429, 500, 502, 503, 504].map((status) => ({
        name: `StatusCodeError ${status}`,
        error: statusError(status),
        transient: true
      })),
      ...[400, 401, 403, 404, 409, 422, 501].map((status) => ({
        name: `StatusCodeError ${status}`,
        error: statusError(status),
        transient: false
      })),
      { name: "DecodeError (200)", error: decodeError(200), transient: false },
      // the reason decides, not the status: a body that failed to decode is not worth retrying
      { name: "DecodeError (503)", error: decodeError(503), transient: false },
      { name: "EmptyBodyError (503)", error: emptyBodyError(503), transient: false },
      { name: "TimeoutError", error: new Cause.TimeoutError("attempt timed out"), transient: true },
      {
        name: "ServiceUnavailable",
        error: ServiceUnavailable.unsafeMake("Chroma Server", "open", 30_000),
        transient: false
      },
      { name: "an Error", error: new Error("ECONNREFUSED"), transient: false },
      { name: "a string", error: "Transport", transient: false },
      { name: "a number", error: 503, transient: false },
      { name: "null", error: null, transient: false },
      { name: "undefined", error: undefined, transient: false },
      { name: "a look-alike RequestError", error: { _tag: "RequestError", reason: "Transport" }, transient: false },
      {
        name: "a look-alike ResponseError",
        error: { _tag: "ResponseError", reason: "StatusCode", response: { status: 503 } },
        transient: false
      },
      { name: "a look-alike TimeoutError", error: { _tag: "TimeoutError" }, transient: false },
      {
        name: "a look-alike HttpClientError",
        error: { _tag: "HttpClientError", reason: { _tag: "TransportError" } },
        transient: false
      },
      { name: "NoSuchElementError", error: new Cause.NoSuchElementError(), transient: false }
    ]

    it.each(table)("$name → $transient", ({ error, transient }) => {
      expect(RetryPolicy.isTransient(error)).toBe(transient)
    })

    it("isTransientStatus is true exactly for 408, 429, 500, 502, 503, 504", () => {
      const transient = Array.from({ length: 500 }, (_, i) => 100 + i).filter(RetryPolicy.isTransientStatus)
      expect(transient).toEqual([408, 429, 500, 502, 503, 504])
    })
  })

  describe("invalid options", () => {
    const invalid: ReadonlyArray<{ readonly field: string; readonly options: RetryPolicy.Options }> = [
      { field: "maxAttempts", options: { maxAttempts: 0 } },
      { field: "maxAttempts", options: { maxAttempts: 1.5 } },
      { field: "maxAttempts", options: { maxAttempts: -1 } },
      { field: "factor", options: { factor: 0.5 } },
      { field: "factor", options: { factor: NaN } },
      { field: "baseDelay", options: { baseDelay: 0 } },
      { field: "baseDelay", options: { baseDelay: "soon" as Duration.Input } },
      { field: "maxDelay", options: { maxDelay: -1 } },
      { field: "jitter", options: { jitter: "wild" as RetryPolicy.Jitter } }
    ]

    it.effect.each(invalid)(
      "make($options) fails with a ConfigError at $field",
      ({ field, options }) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(RetryPolicy.make(options))
          expect(error).toBeInstanceOf(Config.ConfigError)
          const issue = issueOf(error)
          expect(issue.path).toEqual([field])
          expect(issue.message.length).toBeGreaterThan(0)
          expect(error.message).toContain(`at ["${field}"]`)
        })
    )

    it.each(invalid)("schedule($options) throws an IllegalArgumentError naming $field", ({ field, options }) => {
      let thrown: unknown = undefined
      try {
        RetryPolicy.schedule(options)
      } catch (error) {
        thrown = error
      }
      expect(Cause.isIllegalArgumentError(thrown)).toBe(true)
      expect((thrown as Cause.IllegalArgumentError).message).toContain(`RetryPolicy.schedule: ${field} `)
    })

    it.effect("the messages name what was given", () =>
      Effect.gen(function*() {
        const messageOf = (options: unknown) =>
          Effect.map(
            Effect.flip(RetryPolicy.make(options as RetryPolicy.Options)),
            (error) => issueOf(error).message
          )
        expect(yield* messageOf({ maxAttempts: "3" })).toBe(
          "must be a positive integer (the first attempt included), got \"3\""
        )
        expect(yield* messageOf({ maxAttempts: 0 })).toBe(
          "must be a positive integer (the first attempt included), got 0"
        )
        expect(yield* messageOf({ factor: true })).toBe("must be a finite number ≥ 1, got boolean")
        expect(yield* messageOf({ jitter: "wild" })).toBe(
          "must be one of \"none\", \"full\", \"decorrelated\", got \"wild\""
        )
      }))

    it.effect("the boundaries are valid: maxAttempts 1, factor 1, a 1 ms delay", () =>
      Effect.gen(function*() {
        const policy = yield* RetryPolicy.make({ maxAttempts: 1, factor: 1, baseDelay: 1, maxDelay: 1 })
        expect(policy.maxAttempts).toBe(1)
        expect(() => RetryPolicy.schedule({ maxAttempts: 1, factor: 1, baseDelay: 1, maxDelay: 1 })).not.toThrow()
      }))
  })
})

describe("RetryPolicy.parseRetryAfter", () => {
  const now = Date.UTC(2025, 10, 15, 10, 30, 0) // Sat, 15 Nov 2025 10:30:00 GMT
  const millis = (value: string) => Option.map(RetryPolicy.parseRetryAfter(value, now), Duration.toMillis)

  it("reads delta-seconds and the three HTTP-date formats", () => {
    expect(millis("0")).toEqual(Option.some(0))
    expect(millis("120")).toEqual(Option.some(120_000))
    expect(millis(" 7\t")).toEqual(Option.some(7000)) // optional whitespace around a field value
    expect(millis("99999999999999999999")).toEqual(Option.some(2147483648 * 1000)) // RFC 9111: 2^31 s
    expect(millis("Sat, 15 Nov 2025 10:30:07 GMT")).toEqual(Option.some(7000))
    expect(millis("Saturday, 15-Nov-25 10:31:00 GMT")).toEqual(Option.some(60_000))
    expect(millis("Sat Nov 15 10:30:09 2025")).toEqual(Option.some(9000))
    expect(millis("Sun Nov  6 08:49:37 1994")).toEqual(Option.some(0)) // in the past: no wait
    expect(millis("Mon, 29 Feb 2028 00:00:00 GMT")).toEqual(Option.some(Date.UTC(2028, 1, 29) - now))
  })

  it("ignores everything else", () => {
    for (
      const garbage of [
        "",
        " ",
        "soon",
        "5s",
        "+5",
        "-5",
        "1.5",
        "1e3",
        "0x10",
        "5 5",
        "sat, 15 Nov 2025 10:30:07 GMT", // names are case-sensitive
        "Sat, 15 nov 2025 10:30:07 GMT",
        "Sat, 15 Nov 2025 10:30:07 UTC",
        "Sat, 15 Nov 2025 10:30 GMT",
        "Sat, 5 Nov 2025 10:30:07 GMT",
        "Sat, 30 Feb 2025 10:30:07 GMT",
        "Sat, 29 Feb 2025 10:30:07 GMT", // 2025 is not a leap year
        "Sat, 15 Nov 2025 24:00:00 GMT",
        "Sat, 15 Nov 2025 10:60:00 GMT",
        "Sat, 15 Nov 2025 10:30:61 GMT",
        "2025-11-15T10:30:07Z",
        "Sat, 15 Nov 2025 10:30:07 GMT extra"
      ]
    ) {
      expect(millis(garbage), JSON.stringify(garbage)).toEqual(Option.none())
    }
    expect(RetryPolicy.parseRetryAfter(undefined, now)).toEqual(Option.none())
    expect(RetryPolicy.parseRetryAfter(null, now)).toEqual(Option.none())
  })

  it("edges: leap years and seconds, two-digit and early years, whitespace, long delta-seconds, a clock that is NaN", () => {
    expect(millis("Tue, 29 Feb 2000 00:00:00 GMT")).toEqual(Option.some(0)) // 2000 is a leap year (÷ 400)
    expect(millis("Thu, 29 Feb 1900 00:00:00 GMT")).toEqual(Option.none()) // 1900 is not (÷ 100)
    expect(millis("Sun, 31 Mar 2024 00:00:00 GMT")).toEqual(Option.some(0)) // only February is short
    expect(millis("Sat, 00 Nov 2025 10:30:07 GMT")).toEqual(Option.none())
    expect(millis("Sat, 15 Nov 2025 10:30:60 GMT")).toEqual(Option.some(60_000)) // a leap second
    // RFC 850's two-digit year: up to 50 years ahead, else the most recent past year with those digits
    expect(millis("Monday, 15-Nov-75 10:30:00 GMT")).toEqual(Option.some(Date.UTC(2075, 10, 15, 10, 30) - now))
    expect(millis("Monday, 15-Nov-76 10:30:00 GMT")).toEqual(Option.some(0)) // 1976
    // a 4-digit year below 100 is that year, not 19xx
    const yearStart = (year: number) => new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(year)
    expect(
      Option.map(RetryPolicy.parseRetryAfter("Fri, 01 Jan 0050 00:00:00 GMT", yearStart(49)), Duration.toMillis)
    ).toEqual(Option.some(yearStart(50) - yearStart(49)))
    expect(millis("  7 \t ")).toEqual(Option.some(7_000)) // any run of spaces and tabs around the value
    expect(millis("1000000000")).toEqual(Option.some(1e12)) // 10 digits: taken as they are
    expect(millis("10000000000")).toEqual(Option.some(2147483648 * 1000)) // 11 digits: 2^31 s
    // a date needs a valid clock reading to be turned into a wait
    expect(RetryPolicy.parseRetryAfter("Sat, 15 Nov 2025 10:30:07 GMT", NaN)).toEqual(Option.none())
    expect(RetryPolicy.parseRetryAfter("7", NaN)).toEqual(Option.some(Duration.seconds(7)))
  })

  it("never throws, and any result is a finite, non-negative duration", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^[0-9 ]{0,25}$/),
          fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())
        ),
        fc.double(),
        (value, nowMillis) => {
          const parsed = RetryPolicy.parseRetryAfter(value, nowMillis)
          if (Option.isSome(parsed)) {
            const ms = Duration.toMillis(parsed.value)
            expect(Number.isFinite(ms) && ms >= 0).toBe(true)
          }
        }
      )
    ))

  it("a date written by Date#toUTCString is read back exactly", () =>
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }),
        (date) => {
          const at = Math.floor(date.getTime() / 1000) * 1000
          expect(RetryPolicy.parseRetryAfter(new Date(at).toUTCString(), 0)).toEqual(Option.some(Duration.millis(at)))
        }
      )
    ))
})

describe("RetryPolicy.makeBudget", () => {
  it.effect("RetryPolicy.makeBudget: the bucket on its own", () =>
    Effect.gen(function*() {
      const budget = yield* RetryPolicy.makeBudget({ maxTokens: 4, tokenRatio: 0.5 })
      expect(yield* budget.recordFailure).toBe(true) // 3 > 2
      expect(yield* budget.recordFailure).toBe(false) // 2
      expect(budget.unsafeRecordFailure()).toBe(false) // 1
      yield* budget.recordFailure
      yield* budget.recordFailure // never below zero
      expect(yield* budget.state).toEqual({ tokens: 0, maxTokens: 4, retriesAllowed: false })
      for (let i = 0; i < 20; i++) budget.unsafeRecordSuccess()
      expect(budget.unsafeState()).toEqual({ tokens: 4, maxTokens: 4, retriesAllowed: true }) // never above max
      const error = yield* Effect.flip(RetryPolicy.makeBudget({ tokenRatio: 0 }))
      expect(issueOf(error).path).toEqual(["tokenRatio"])
      budget.unsafeRecordFailure()
      yield* budget.recordSuccess // the effect refunds as the unsafe method does
      expect((yield* budget.state).tokens).toBe(3.5)
    }))

  it.effect("RetryPolicy.makeBudget: the bounds of its options, and what it says of bad ones", () =>
    Effect.gen(function*() {
      const made = (options: RetryPolicy.RetryBudgetOptions) =>
        Effect.map(
          Effect.flatMap(RetryPolicy.makeBudget(options), (budget) => budget.state),
          (state) => state.maxTokens
        )
      expect(yield* made({ maxTokens: 1 })).toBe(1)
      expect(yield* made({ maxTokens: 1_000_000 })).toBe(1_000_000)
      expect(yield* made({ maxTokens: 2, tokenRatio: 2 })).toBe(2) // a ratio up to maxTokens
      expect(yield* made({ tokenRatio: 0.001 })).toBe(100)
      const invalid = (options: unknown) =>
        Effect.map(
          Effect.flip(RetryPolicy.makeBudget(options as RetryPolicy.RetryBudgetOptions)),
          (error) => [issueOf(error).path, issueOf(error).message]
        )
      expect(yield* invalid({ maxTokens: 1_000_001 })).toEqual([
        ["maxTokens"],
        "must be an integer from 1 to 1000000, got 1000001"
      ])
      expect(yield* invalid({ maxTokens: 2, tokenRatio: 2.5 })).toEqual([
        ["tokenRatio"],
        "must be a number from 0.001 to maxTokens (2), got 2.5"
      ])
      expect(yield* invalid({ tokenRatio: NaN })).toEqual([
        ["tokenRatio"],
        "must be a number from 0.001 to maxTokens (100), got NaN"
      ])
      expect(yield* invalid("generous")).toEqual([[], "must be an object { maxTokens, tokenRatio }, got \"generous\""])
      expect(yield* invalid(null)).toEqual([[], "must be an object { maxTokens, tokenRatio }, got object"])
    }))
})

describe("RetryPolicy on bad input (test/BadInput.test.ts)", () => {
  it("parseRetryAfter never throws on any string and never gives a negative wait", () => {
    const retryAfterLike = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.nat().map(String),
      fc.double().map(String),
      fc.date({ noInvalidDate: false }).map((d) => Number.isNaN(d.getTime()) ? "Invalid Date" : d.toUTCString()),
      fc.tuple(fc.constantFrom("Mon", "Thu", "Xyz"), fc.integer({ min: -1, max: 40 }), fc.string()).map(
        ([day, n, rest]) => `${day}, ${n} Jan 2026 ${rest} GMT`
      ),
      fc.constantFrom("", " ", "-1", "1.5", "1e3", "0x10", "99999999999999999999999", "Infinity", "NaN")
    )
    fc.assert(
      fc.property(
        retryAfterLike,
        fc.oneof(fc.integer(), fc.double(), fc.constantFrom(NaN, Infinity, -Infinity)),
        (value, now) => {
          const result = RetryPolicy.parseRetryAfter(value, now)
          expect(Option.isOption(result)).toBe(true)
          if (Option.isSome(result)) expect(Duration.toMillis(result.value)).toBeGreaterThanOrEqual(0)
        }
      ),
      { numRuns: 2_000 }
    )
    for (const value of [null, undefined]) {
      expect(Option.isNone(RetryPolicy.parseRetryAfter(value, 0))).toBe(true)
    }
  })

  it.effect("an unknown option name of make and schedule is a ConfigError suggesting the nearest", () =>
    Effect.gen(function*() {
      const options = { baseDelay: "1 second" as const, maxRetries: 5 }
      const error = yield* Effect.flip(RetryPolicy.make(options))
      expect(issueOf(error)).toEqual({
        path: ["maxRetries"],
        message: "is not a retry policy option; did you mean maxAttempts?"
      })
      expect(() => RetryPolicy.schedule(options)).toThrow(
        "RetryPolicy.schedule: maxRetries is not a retry policy option; did you mean maxAttempts?"
      )
    }))

  it.effect("an unknown option name of makeBudget is a ConfigError suggesting the nearest", () =>
    Effect.gen(function*() {
      const options = { tokenRatio: 0.1, maxToken: 10 }
      const error = yield* Effect.flip(RetryPolicy.makeBudget(options))
      expect(issueOf(error)).toEqual({
        path: ["maxToken"],
        message: "is not a retry budget option; did you mean maxTokens?"
      })
    }))
})

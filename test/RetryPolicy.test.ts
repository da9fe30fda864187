import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"
import { RetryPolicy, ServiceUnavailable } from "../src/index.js"

/**
 * Steps a schedule the way `Effect.retry` does (one step per failed attempt, the clock moved to
 * the start of the chosen interval), without sleeping, and collects its outputs in milliseconds
 * until it is done. Each output is also checked against the interval the schedule chose, so an
 * output that differs from the wait actually taken fails here.
 */
const delaysOf = (schedule: Schedule.Schedule<Duration.Duration>, limit = 64): Effect.Effect<Array<number>> =>
  Effect.gen(function*() {
    const delays: Array<number> = []
    let state: unknown = schedule.initial
    let now = 0
    for (let step = 0; step < limit; step++) {
      const [next, delay, decision] = yield* schedule.step(now, undefined, state)
      if (ScheduleDecision.isDone(decision)) return delays
      const start = ScheduleIntervals.start(decision.intervals)
      expect(Duration.toMillis(delay)).toBeCloseTo(start - now, 6)
      delays.push(Duration.toMillis(delay))
      state = next
      now = start
    }
    throw new Error(`the schedule did not stop within ${limit} steps`)
  })

/** `delaysOf` with a fixed sequence of random doubles (cycled), as `TestRandom.feedDoubles` would feed them. */
const delaysWithRandom = (schedule: Schedule.Schedule<Duration.Duration>, doubles: ReadonlyArray<number>) =>
  Effect.withRandom(delaysOf(schedule), Random.fixed(doubles as [number, ...Array<number>]))

/**
 * Forks an always-failing effect retried with `schedule`; the effect records the `Clock` time of
 * each attempt.
 */
const retryForever = (schedule: Schedule.Schedule<Duration.Duration>) =>
  Effect.gen(function*() {
    const instants = yield* Ref.make<ReadonlyArray<number>>([])
    const attempt = Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Ref.update(instants, (all) => [...all, now])),
      Effect.zipRight(Effect.fail("connection refused" as const))
    )
    const fiber = yield* Effect.fork(Effect.retry(attempt, schedule))
    return { fiber, instants: Ref.get(instants) }
  })

const request = HttpClientRequest.get("http://chroma.test:6003/api/query")
const response = (status: number) => HttpClientResponse.fromWeb(request, new Response(null, { status }))
const requestError = (reason: HttpClientError.RequestError["reason"]) =>
  new HttpClientError.RequestError({ request, reason, cause: new Error("ECONNREFUSED") })
const responseError = (status: number, reason: HttpClientError.ResponseError["reason"] = "StatusCode") =>
  new HttpClientError.ResponseError({ request, response: response(status), reason })

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
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)

        yield* TestClock.adjust(Duration.millis(1))
        expect(yield* instants).toEqual([start, start + 1_000])

        yield* TestClock.adjust(Duration.millis(1_999))
        expect(yield* instants).toEqual([start, start + 1_000])
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)

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
        const call = (error: unknown) => Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail(error))
        const retried = (error: unknown) =>
          Effect.retry(call(error), { schedule: RetryPolicy.schedule(), while: RetryPolicy.isTransient })

        const notFound = yield* Effect.fork(retried(responseError(404)))
        yield* TestClock.adjust("1 minute")
        expect(Exit.isFailure(yield* Fiber.await(notFound))).toBe(true)
        expect(yield* Ref.getAndSet(attempts, 0)).toBe(1)

        const unavailable = yield* Effect.fork(retried(responseError(503)))
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

  describe("isTransient", () => {
    const table: ReadonlyArray<{ readonly name: string; readonly error: unknown; readonly transient: boolean }> = [
      { name: "RequestError Transport", error: requestError("Transport"), transient: true },
      { name: "RequestError InvalidUrl", error: requestError("InvalidUrl"), transient: false },
      { name: "RequestError Encode", error: requestError("Encode"), transient: false },
      ...[408, 429, 500, 502, 503, 504].map((status) => ({
        name: `ResponseError StatusCode ${status}`,
        error: responseError(status),
        transient: true
      })),
      ...[400, 401, 403, 404, 409, 422, 501].map((status) => ({
        name: `ResponseError StatusCode ${status}`,
        error: responseError(status),
        transient: false
      })),
      { name: "ResponseError Decode (200)", error: responseError(200, "Decode"), transient: false },
      // the reason decides, not the status: a body that failed to decode is not worth retrying
      { name: "ResponseError Decode (503)", error: responseError(503, "Decode"), transient: false },
      { name: "ResponseError EmptyBody (503)", error: responseError(503, "EmptyBody"), transient: false },
      { name: "TimeoutException", error: new Cause.TimeoutException("attempt timed out"), transient: true },
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
      { name: "a look-alike TimeoutException", error: { _tag: "TimeoutException" }, transient: false },
      { name: "NoSuchElementException", error: new Cause.NoSuchElementException(), transient: false }
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
      { field: "baseDelay", options: { baseDelay: "soon" as Duration.DurationInput } },
      { field: "maxDelay", options: { maxDelay: -1 } },
      { field: "jitter", options: { jitter: "wild" as RetryPolicy.Jitter } }
    ]

    it.effect.each(invalid)(
      "make($options) fails with a ConfigError at $field",
      ({ field, options }) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(RetryPolicy.make(options))
          expect(ConfigError.isConfigError(error)).toBe(true)
          expect(ConfigError.isInvalidData(error)).toBe(true)
          if (!ConfigError.isInvalidData(error)) return
          expect(error.path).toEqual([field])
          expect(error.message.length).toBeGreaterThan(0)
          expect(String(error)).toContain(`Invalid data at ${field}`)
        })
    )

    it.each(invalid)("schedule($options) throws an IllegalArgumentException naming $field", ({ field, options }) => {
      let thrown: unknown = undefined
      try {
        RetryPolicy.schedule(options)
      } catch (error) {
        thrown = error
      }
      expect(Cause.isIllegalArgumentException(thrown)).toBe(true)
      expect((thrown as Cause.IllegalArgumentException).message).toContain(field)
    })

    it.effect("the messages name what was given", () =>
      Effect.gen(function*() {
        const messageOf = (options: unknown) =>
          Effect.map(
            Effect.flip(RetryPolicy.make(options as RetryPolicy.Options)),
            (error) => error._op === "InvalidData" ? error.message : error._op
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

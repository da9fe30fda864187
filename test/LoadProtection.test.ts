/**
 * Issue 6, "Retry and load protection": jitter, Retry-After, deadlines, the retry budget, unsafe
 * methods and the bulkhead, on the fake transport with the TestClock (no real sleeps).
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"
import { BulkheadFull, Metrics, ResilientServiceClient, RetryPolicy, ServiceRegistry } from "../src/index.js"
import type { Answer } from "./utils/fakeClient.js"
import { after, dnsFailure, hang, makeFake, refused, reset, status } from "./utils/fakeClient.js"
import { makeLogCapture } from "./utils/logs.js"

const baseUrl = "http://chroma:6003"

const clientOn = (fake: ReturnType<typeof makeFake>, options: Partial<ResilientServiceClient.Options> = {}) =>
  ResilientServiceClient.make({ baseUrl, serviceName: "Chroma Server", ...options }).pipe(Effect.provide(fake.layer))

/**
 * Lets fibers that wait on real I/O (the fake's bodies are web streams, read through promises)
 * run to their next Clock wait.
 */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) {
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    yield* Effect.yieldNow()
  }
})

/** Moves the TestClock, letting every fiber settle before and after. */
const advance = (duration: Duration.DurationInput) =>
  Effect.gen(function*() {
    yield* settle
    yield* TestClock.adjust(duration)
    yield* settle
  })

const times = (fake: ReturnType<typeof makeFake>) => fake.calls.map((c) => c.at)

const responseStatus = (error: ResilientServiceClient.ClientError): number | undefined =>
  error._tag === "ResponseError" ? error.response.status : undefined

const budgetGauge = (service: string) =>
  Effect.map(Metric.value(Metrics.retryBudgetTokens.pipe(Metric.tagged("service", service))), (s) => s.value)

/** Forks `n` calls at once; returns their fibers. */
const storm = <A>(n: number, call: Effect.Effect<A, ResilientServiceClient.ClientError>) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.fork(call))

describe("jitter through the client", () => {
  it.scoped("\"full\": each delay is the draw times the exponential delay", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, { maxAttempts: 4, jitter: "full", failureThreshold: 100 })
      const fiber = yield* client.get("/q").pipe(Effect.withRandom(Random.fixed([0.5, 0.25, 0.75])), Effect.fork)
      yield* advance("499 millis")
      expect(times(fake)).toEqual([0])
      yield* advance("1 millis") // 0.5 × 1 s
      expect(times(fake)).toEqual([0, 500])
      yield* advance("500 millis") // 0.25 × 2 s
      expect(times(fake)).toEqual([0, 500, 1000])
      yield* advance("2999 millis")
      expect(fake.calls.length).toBe(3)
      yield* advance("1 millis") // 0.75 × 4 s
      expect(times(fake)).toEqual([0, 500, 1000, 4000])
      expect(responseStatus(yield* Effect.flip(Fiber.join(fiber)))).toBe(503)
    }))

  it.scoped("\"full\" stays within [0, min(exponential, maxDelay)]: the lowest and highest draws", () =>
    Effect.gen(function*() {
      const lowest = makeFake(status(503))
      const low = yield* clientOn(lowest, { maxAttempts: 3, jitter: "full" })
      yield* Effect.flip(low.get("/q").pipe(Effect.withRandom(Random.fixed([0]))))
      expect(times(lowest)).toEqual([0, 0, 0]) // a draw of 0 retries at once

      const highest = makeFake(status(503))
      const high = yield* clientOn(highest, { maxAttempts: 4, jitter: "full", maxDelay: "1500 millis" })
      const fiber = yield* high.get("/q").pipe(Effect.withRandom(Random.fixed([0.99])), Effect.fork)
      yield* advance("10 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      // 0.99 × 1 s, then 0.99 × min(2 s, 1.5 s) twice: never above the cap
      expect(times(highest)).toEqual([0, 990, 990 + 1485, 990 + 2 * 1485])
    }))

  it.scoped("\"decorrelated\": uniform in [backoff, 3 × previous], capped by maxDelay", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, {
        maxAttempts: 4,
        jitter: "decorrelated",
        maxDelay: "3 seconds",
        failureThreshold: 100
      })
      const fiber = yield* client.get("/q").pipe(Effect.withRandom(Random.fixed([0.5])), Effect.fork)
      yield* advance("10 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      // 1 + 0.5 × (3 − 1) = 2 s; 1 + 0.5 × (6 − 1) = 3.5 s → 3 s; then 3 s again
      expect(times(fake)).toEqual([0, 2000, 5000, 8000])
    }))
})

describe("Retry-After", () => {
  it.scoped("delta-seconds on a 503 sets the delay when longer than the backoff, and the log says so", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503, undefined, { "retry-after": "5" }), status(200))
      const response = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake)
        const fiber = yield* Effect.fork(client.get("/q"))
        yield* advance("4999 millis")
        expect(times(fake)).toEqual([0])
        yield* advance("1 millis")
        return yield* Fiber.join(fiber)
      }))
      expect(response.status).toBe(200)
      expect(times(fake)).toEqual([0, 5000])
      expect(logs.messages()).toContain("[Chroma Server] HTTP 503 on attempt 1/3, retrying in 5s (Retry-After)...")
    }))

  it.scoped("an HTTP-date on a 429 is read against the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 10, 15, 10, 30, 0))
      const fake = makeFake(status(429, undefined, { "retry-after": "Sat, 15 Nov 2025 10:30:07 GMT" }), status(200))
      const client = yield* clientOn(fake)
      const fiber = yield* Effect.fork(client.get("/q"))
      yield* advance("6999 millis")
      expect(fake.calls.length).toBe(1)
      yield* advance("1 millis")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      expect(fake.calls[1]!.at - fake.calls[0]!.at).toBe(7000)
    }))

  it.scoped("a Retry-After shorter than the backoff, garbage, or on another status leaves the backoff", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<Answer> = [
        status(503, undefined, { "retry-after": "0" }),
        status(503, undefined, { "retry-after": "Thu, 01 Jan 1970 00:00:00 GMT" }), // in the past
        status(503, undefined, { "retry-after": "soon" }),
        status(503, undefined, { "retry-after": "5s" }),
        status(503, undefined, { "retry-after": "-5" }),
        status(503, undefined, { "retry-after": "2.5" }),
        status(503, undefined, { "retry-after": "Thu, 01 Jan 1970 00:00:60 GMT+1" }),
        status(500, undefined, { "retry-after": "5" }) // only 429 and 503 carry a meaningful one
      ]
      for (const answer of cases) {
        const logs = makeLogCapture()
        const fake = makeFake(answer, status(200))
        yield* logs.provide(Effect.gen(function*() {
          const client = yield* clientOn(fake)
          const fiber = yield* Effect.fork(client.get("/q"))
          yield* advance("1 second")
          yield* Fiber.join(fiber)
        }))
        expect(times(fake).map((t) => t - fake.calls[0]!.at)).toEqual([0, 1000])
        expect(logs.messages().some((m) => m.includes("(Retry-After)"))).toBe(false)
      }
    }))

  it.scoped("a Retry-After over maxRetryAfter (default 30 s) fails the call at once with the answer", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503, { busy: true }, { "retry-after": "31" }))
      const error = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake)
        return yield* Effect.flip(client.get("/q"))
      }))
      expect(fake.calls.length).toBe(1)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(responseStatus(error)).toBe(503)
      if (error._tag === "ResponseError") expect(yield* error.response.json).toEqual({ busy: true })
      expect(logs.messages()).toContain(
        "[Chroma Server] HTTP 503 on attempt 1/3, not retried: Retry-After 31s exceeds maxRetryAfter (30s)"
      )

      // exactly at the cap is still waited for; a lower cap turns it down
      const atCap = makeFake(status(503, undefined, { "retry-after": "30" }), status(200))
      const patient = yield* clientOn(atCap)
      const fiber = yield* Effect.fork(patient.get("/q"))
      yield* advance("30 seconds")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      const strict = yield* clientOn(makeFake(status(429, undefined, { "retry-after": "30" })), {
        maxRetryAfter: "10 seconds"
      })
      expect(responseStatus(yield* Effect.flip(strict.get("/q")))).toBe(429)
    }))
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

describe("deadline", () => {
  it.scoped("no retry starts whose wait would end past the deadline; the call ends then with the last error", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503))
      const fiber = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake, { deadline: "2500 millis" })
        return yield* Effect.fork(client.get("/q"))
      }))
      yield* advance("1 second") // attempt 2 at +1 s fails; the next wait (2 s) would end at +3 s
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(responseStatus(yield* Effect.flip(exit))).toBe(503)
      yield* advance("10 seconds")
      expect(times(fake)).toEqual([0, 1000]) // no attempt after it
      expect(logs.messages()).toContain(
        "[Chroma Server] HTTP 503 on attempt 2/3, not retried: a retry in 2s would start past the deadline of 2s 500ms"
      )
    }))

  it.scoped("the last attempt is shortened to the time left and fails with a TimeoutException naming the deadline", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { timeout: "2 seconds", deadline: "3500 millis" })
      const fiber = yield* Effect.fork(client.get("/slow"))
      yield* advance("2 seconds") // attempt 1 times out after its full 2 s
      yield* advance("1 second") // backoff; attempt 2 at +3 s has 0.5 s left
      expect(times(fake)).toEqual([0, 3000])
      yield* advance("499 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* advance("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect((error as Cause.TimeoutException).message).toBe("Deadline of 3s 500ms exceeded during an attempt")
      expect(yield* TestClock.currentTimeMillis).toBe(3500)
      // the first timeout counted; the attempt cut short after 0.5 s (less than half of the 2 s
      // timeout) had no fair time to answer and says nothing
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.scoped("an attempt cut by the deadline after a fair time counts as a timeout", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { timeout: "2 seconds", deadline: "4 seconds" })
      const fiber = yield* Effect.fork(client.get("/slow"))
      yield* advance("3 seconds") // attempt 1 times out after 2 s, backoff 1 s; attempt 2 has 1 s left
      yield* advance("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect((error as Cause.TimeoutException).message).toBe("Deadline of 4s exceeded during an attempt")
      // 1 s is half of the 2 s timeout: a fair time, so it counts like a timeout
      expect((yield* client.status).failureCount).toBe(2)
    }))

  it.scoped("a call sets its own deadline, overriding the client's", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, { deadline: "1 minute" })
      const fiber = yield* Effect.fork(client.get("/q", { deadline: "1500 millis" }))
      yield* advance("1 second")
      expect(responseStatus(yield* Effect.flip(Fiber.join(fiber)))).toBe(503)
      expect(times(fake)).toEqual([0, 1000])

      const hanging = makeFake(hang)
      const quick = yield* clientOn(hanging)
      const slow = yield* Effect.fork(quick.get("/q", { deadline: "300 millis" }))
      yield* advance("300 millis")
      const error = yield* Effect.flip(Fiber.join(slow))
      expect((error as Cause.TimeoutException).message).toBe("Deadline of 300ms exceeded during an attempt")
      expect(hanging.calls.length).toBe(1)
    }))

  it.scoped("a wait in the bulkhead queue counts towards the deadline", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 1, timeout: "1 minute" })
      const holder = yield* Effect.fork(client.get("/hold"))
      yield* settle
      const queued = yield* Effect.fork(client.get("/queued", { deadline: "3 seconds" }))
      yield* advance("2999 millis")
      expect(Option.isNone(yield* Fiber.poll(queued))).toBe(true)
      yield* advance("1 millis")
      const error = yield* Effect.flip(Fiber.join(queued))
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect((error as Cause.TimeoutException).message).toBe(
        "Deadline of 3s exceeded waiting for a place in the bulkhead"
      )
      expect(fake.calls.map((c) => c.url)).toEqual(["http://chroma:6003/hold"])
      yield* Fiber.interrupt(holder)
    }))
})

describe("retry budget", () => {
  it.scoped("a storm of 100 calls × 3 attempts against a failing upstream becomes 100 + 4 attempts", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, {
        serviceName: "storm-10",
        failureThreshold: 100_000,
        retryBudget: { maxTokens: 10, tokenRatio: 0.1 }
      })
      const fibers = yield* logs.provide(storm(100, client.get("/q")))
      yield* advance("10 seconds")
      const errors = yield* Effect.forEach(fibers, (f) => Effect.flip(Fiber.join(f)))
      expect(errors.every((e) => responseStatus(e) === 503)).toBe(true)
      // failures 1–4 leave 9, 8, 7, 6 tokens (> 5): retried; from the fifth on, not
      expect(fake.calls.length).toBe(104)
      expect(yield* client.retryBudget).toEqual({ tokens: 0, maxTokens: 10, retriesAllowed: false })
      expect(yield* budgetGauge("storm-10")).toBe(0)
      expect(logs.messages()).toContain(
        "[storm-10] HTTP 503 on attempt 1/3, not retried: retry budget spent (5 of 10 tokens left)"
      )

      // successes refill it: 0.1 a success, retries again once more than 5 would be left after a failure
      fake.script(status(200))
      for (let i = 0; i < 50; i++) yield* client.get("/ok")
      expect(yield* client.retryBudget).toEqual({ tokens: 5, maxTokens: 10, retriesAllowed: false })
      for (let i = 0; i < 11; i++) yield* client.get("/ok")
      expect(yield* client.retryBudget).toEqual({ tokens: 6.1, maxTokens: 10, retriesAllowed: true })
      expect(yield* budgetGauge("storm-10")).toBe(6.1)
      const seen = fake.calls.length
      fake.script(status(503))
      const fiber = yield* Effect.fork(client.get("/again"))
      yield* settle
      fake.script(status(200))
      yield* advance("1 second")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      expect(fake.calls.length - seen).toBe(2) // the failure was retried
    }))

  it.scoped("the default budget (100 tokens) cuts the same storm from 300 attempts to 149", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, { serviceName: "storm-default", failureThreshold: 100_000 })
      expect(yield* client.retryBudget).toEqual({ tokens: 100, maxTokens: 100, retriesAllowed: true })
      expect(yield* budgetGauge("storm-default")).toBe(100)
      const fibers = yield* storm(100, client.get("/q"))
      yield* advance("10 seconds")
      yield* Effect.forEach(fibers, Fiber.await)
      expect(fake.calls.length).toBe(149)

      const unlimited = makeFake(status(503))
      const off = yield* clientOn(unlimited, { failureThreshold: 100_000, retryBudget: false })
      const more = yield* storm(100, off.get("/q"))
      yield* advance("10 seconds")
      yield* Effect.forEach(more, Fiber.await)
      expect(unlimited.calls.length).toBe(300)
      expect(yield* off.retryBudget).toEqual({ tokens: Infinity, maxTokens: Infinity, retriesAllowed: true })
    }))

  it.scoped("answers that are not retried (404) cost nothing; the budget is per client", () =>
    Effect.gen(function*() {
      const client = yield* clientOn(makeFake(status(404)), { retryBudget: { maxTokens: 4 } })
      for (let i = 0; i < 10; i++) yield* Effect.flip(client.get("/missing"))
      expect((yield* client.retryBudget).tokens).toBe(4)
      const failing = makeFake(status(503))
      const other = yield* clientOn(failing, { retryBudget: { maxTokens: 4 }, failureThreshold: 100 })
      const fiber = yield* Effect.fork(other.get("/q"))
      yield* advance("3 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      expect(failing.calls.length).toBe(2) // 3 tokens left after the first failure (> 2), 2 after the second
      expect((yield* other.retryBudget).tokens).toBe(2)
      expect((yield* client.retryBudget).tokens).toBe(4)
    }))

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
      expect(error._op === "InvalidData" && error.path).toEqual(["tokenRatio"])
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
          (error) => error._op === "InvalidData" ? [error.path, error.message] : error._op
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

describe("unsafe methods (retryUnsafeMethods: false)", () => {
  const attemptsOf = (
    answer: Answer,
    method: "get" | "post" | "put" | "patch" | "delete",
    options: ResilientServiceClient.RequestOptions = {},
    clientOptions: Partial<ResilientServiceClient.Options> = { retryUnsafeMethods: false }
  ) =>
    Effect.gen(function*() {
      const fake = makeFake(answer)
      const client = yield* clientOn(fake, { maxAttempts: 2, timeout: "1 second", ...clientOptions })
      const fiber = yield* Effect.fork(client[method]("/charge", { json: { cents: 100 }, ...options }))
      yield* advance("1 second")
      yield* advance("1 second")
      yield* advance("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      return { attempts: fake.calls.length, error: yield* Effect.flip(exit) }
    })

  it.scoped("a POST that never reached the server (refused, DNS failure) is retried", () =>
    Effect.gen(function*() {
      const refusedPost = yield* attemptsOf(refused, "post")
      expect(refusedPost.attempts).toBe(2)
      expect((refusedPost.error as HttpClientError.RequestError).reason).toBe("Transport")
      expect((yield* attemptsOf(dnsFailure, "post")).attempts).toBe(2)
      expect((yield* attemptsOf(refused, "patch")).attempts).toBe(2)
    }))

  it.scoped("a POST or PATCH that may have reached it (timeout, reset, 503) is not", () =>
    Effect.gen(function*() {
      const timedOut = yield* attemptsOf(hang, "post")
      expect(timedOut.attempts).toBe(1)
      expect(Cause.isTimeoutException(timedOut.error)).toBe(true)
      const wasReset = yield* attemptsOf(reset, "post")
      expect(wasReset.attempts).toBe(1)
      expect(wasReset.error._tag).toBe("RequestError")
      const unavailable = yield* attemptsOf(status(503), "post")
      expect(unavailable.attempts).toBe(1)
      expect(responseStatus(unavailable.error)).toBe(503)
      expect((yield* attemptsOf(status(503), "patch")).attempts).toBe(1)
    }))

  it.scoped("an Idempotency-Key makes it retryable; other methods and the default are unaffected", () =>
    Effect.gen(function*() {
      const keyed = { headers: { "Idempotency-Key": "charge-42" } }
      expect((yield* attemptsOf(status(503), "post", keyed)).attempts).toBe(2)
      expect((yield* attemptsOf(reset, "patch", keyed)).attempts).toBe(2)
      for (const method of ["get", "put", "delete"] as const) {
        expect((yield* attemptsOf(status(503), method)).attempts).toBe(2)
      }
      // the default (true) is the Python client's: every method retried alike
      expect((yield* attemptsOf(status(503), "post", {}, {})).attempts).toBe(2)
      expect((yield* attemptsOf(reset, "post", {}, {})).attempts).toBe(2)
    }))

  it.scoped("the refusal is logged with the reason", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      yield* logs.provide(attemptsOf(status(503), "post"))
      expect(logs.messages()).toContain(
        "[Chroma Server] HTTP 503 on attempt 1/2, not retried: a POST without an Idempotency-Key header may have reached the server"
      )
    }))
})

describe("bulkhead", () => {
  it.scoped("20 calls at once, maxConcurrent 5, maxQueued 5: 10 rejected with BulkheadFull, none counted", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 5, maxQueued: 5, failureThreshold: 1 })
      const fibers = yield* storm(20, client.get("/q"))
      yield* settle
      const rejected = yield* Effect.forEach(fibers.slice(10), (f) => Effect.flip(Fiber.join(f)))
      expect(yield* TestClock.currentTimeMillis).toBe(0) // at once
      for (const error of rejected) {
        expect(error._tag).toBe("BulkheadFull")
        expect(error).toBeInstanceOf(BulkheadFull.BulkheadFull)
        if (error._tag === "BulkheadFull") {
          expect({ service: error.service, maxConcurrent: error.maxConcurrent, maxQueued: error.maxQueued })
            .toEqual({ service: "Chroma Server", maxConcurrent: 5, maxQueued: 5 })
          expect(error.message).toBe("[Chroma Server] Bulkhead full: 5 calls running and 5 queued, call rejected")
        }
      }
      expect(fake.inFlight()).toBe(5)
      yield* advance("1 second")
      yield* advance("1 second")
      const served = yield* Effect.forEach(fibers.slice(0, 10), Fiber.join)
      expect(served.every((r) => r.status === 200)).toBe(true)
      expect(fake.peakInFlight()).toBe(5)
      expect(times(fake)).toEqual([...Array(5).fill(0), ...Array(5).fill(1000)])
      const status_ = yield* client.status
      expect(status_.state).toBe("closed") // a threshold of 1 would have opened on any counted rejection
      expect(status_.failureCount).toBe(0)
    }))

  it.scoped("a call holds its place for all its attempts and waits; queued calls go in order", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503), status(503), status(200))
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 2 })
      const first = yield* Effect.fork(client.get("/first"))
      yield* settle
      const second = yield* Effect.fork(client.get("/second"))
      yield* settle
      const third = yield* Effect.fork(client.get("/third"))
      yield* advance("1 second")
      yield* advance("2 seconds")
      expect((yield* Fiber.join(first)).status).toBe(200)
      yield* Effect.forEach([second, third], Fiber.join)
      expect(fake.calls.map((c) => [c.at, c.url.slice(baseUrl.length)])).toEqual([
        [0, "/first"],
        [1000, "/first"],
        [3000, "/first"],
        [3000, "/second"],
        [3000, "/third"]
      ])
    }))

  it.scoped("an interrupted queued call leaves the queue and frees its place", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 1 })
      const running = yield* Effect.fork(client.get("/running"))
      yield* settle
      const queued = yield* Effect.fork(client.get("/queued"))
      yield* settle
      expect((yield* Effect.flip(client.get("/rejected")))._tag).toBe("BulkheadFull")
      yield* Fiber.interrupt(queued)
      const next = yield* Effect.fork(client.get("/next")) // takes the freed queue place
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(next))).toBe(true)
      yield* advance("1 second")
      yield* advance("1 second")
      expect((yield* Fiber.join(running)).status).toBe(200)
      expect((yield* Fiber.join(next)).status).toBe(200)
      expect(fake.calls.map((c) => [c.at, c.url.slice(baseUrl.length)])).toEqual([[0, "/running"], [1000, "/next"]])

      // interrupting a running call gives its place to the next in line
      const holder = yield* Effect.fork(client.get("/holder"))
      yield* settle
      const waiting = yield* Effect.fork(client.get("/waiting"))
      yield* settle
      yield* Fiber.interrupt(holder)
      yield* advance("1 second")
      expect((yield* Fiber.join(waiting)).status).toBe(200)
      expect(fake.calls.map((c) => c.url.slice(baseUrl.length)).slice(2)).toEqual(["/holder", "/waiting"])
    }))

  it.scoped("no place is lost or doubled when running and queued calls are interrupted at any moment", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 3, maxQueued: 100, deadline: "2500 millis" })
      for (let round = 0; round < 6; round++) {
        const fibers = yield* storm(12, client.get("/q"))
        yield* settle
        const interrupted = new Set<number>()
        for (let i = round % 3; i < fibers.length; i += 3 + (round % 2)) {
          interrupted.add(i)
          yield* Fiber.interrupt(fibers[i]!)
          yield* advance(`${150 * (round + 1)} millis`)
        }
        yield* advance("10 seconds")
        for (let i = 0; i < fibers.length; i++) {
          const exit = yield* Fiber.await(fibers[i]!)
          // a call ends served, interrupted, or (queued past its deadline) with a TimeoutException
          if (!interrupted.has(i) && Exit.isFailure(exit)) {
            expect(Cause.isTimeoutException(Cause.squash(exit.cause))).toBe(true)
          }
        }
        expect(fake.inFlight()).toBe(0)
      }
      expect(fake.peakInFlight()).toBe(3)
      // every place is free again: three calls start at once, a fourth waits
      const seen = fake.calls.length
      const last = yield* storm(4, client.get("/q"))
      yield* settle
      expect(fake.calls.length - seen).toBe(3)
      yield* advance("1 second")
      expect(fake.calls.length - seen).toBe(4)
      yield* advance("1 second")
      expect((yield* Effect.forEach(last, Fiber.await)).every(Exit.isSuccess)).toBe(true)
    }))

  it.scoped("maxQueued: 0 rejects any call beyond maxConcurrent; without a bulkhead nothing is rejected", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 2, maxQueued: 0 })
      const fibers = yield* storm(3, client.get("/q"))
      yield* advance("1 second")
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      expect(exits.filter(Exit.isSuccess).length).toBe(2)

      const free = makeFake(after("1 second", status(200)))
      const unlimited = yield* clientOn(free)
      const all = yield* storm(50, unlimited.get("/q"))
      yield* advance("1 second")
      expect((yield* Effect.forEach(all, Fiber.await)).every(Exit.isSuccess)).toBe(true)
      expect(free.peakInFlight()).toBe(50)
    }))
})

describe("invalid load-protection options fail with a ConfigError naming the field", () => {
  const cases: ReadonlyArray<[ReadonlyArray<string>, Record<string, unknown>]> = [
    [["maxRetryAfter"], { maxRetryAfter: 0 }],
    [["maxRetryAfter"], { maxRetryAfter: "a while" }],
    [["deadline"], { deadline: -1 }],
    [["deadline"], { deadline: "whenever" }],
    [["deadline"], { deadline: Infinity }],
    [["retryBudget"], { retryBudget: "lots" }],
    [["retryBudget", "maxTokens"], { retryBudget: { maxTokens: 0 } }],
    [["retryBudget", "maxTokens"], { retryBudget: { maxTokens: 2.5 } }],
    [["retryBudget", "tokenRatio"], { retryBudget: { tokenRatio: 0 } }],
    [["retryBudget", "tokenRatio"], { retryBudget: { maxTokens: 2, tokenRatio: 3 } }],
    [["retryUnsafeMethods"], { retryUnsafeMethods: "no" }],
    [["maxConcurrent"], { maxConcurrent: 0 }],
    [["maxConcurrent"], { maxConcurrent: 1.5 }],
    [["maxQueued"], { maxConcurrent: 2, maxQueued: -1 }],
    [["maxQueued"], { maxConcurrent: 2, maxQueued: Infinity }],
    [["maxQueued"], { maxQueued: 5 }]
  ]
  for (const [path, options] of cases) {
    it.scoped(`${path.join(".")}: ${JSON.stringify(options)}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          ResilientServiceClient.make({ baseUrl, id: "checked", ...options } as ResilientServiceClient.Options).pipe(
            Effect.provide(makeFake(status(200)).layer)
          )
        )
        expect(ConfigError.isConfigError(error)).toBe(true)
        if (error._op !== "InvalidData") return expect.fail(`expected InvalidData, got ${error._op}`)
        expect(error.path).toEqual(path)
        expect(error.message.length).toBeGreaterThan(0)
      }))
  }

  it.scoped("nothing is built on bad input: the id stays free in the registry", () =>
    Effect.gen(function*() {
      yield* Effect.flip(
        Effect.tap(
          ResilientServiceClient.make({ baseUrl, id: "billing", maxConcurrent: -1 }),
          ResilientServiceClient.register
        )
      )
      const client = yield* ResilientServiceClient.make({ baseUrl, id: "billing", maxConcurrent: 1 })
      yield* ResilientServiceClient.register(client)
      expect(client.id).toBe("billing")
      const registry = yield* ServiceRegistry.ServiceRegistry
      expect(Object.keys(yield* registry.statuses)).toEqual(["billing"])
    }).pipe(Effect.provide(ServiceRegistry.layer), Effect.provide(makeFake(status(200)).layer)))
})

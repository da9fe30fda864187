/**
 * Issue 6, "Retry and load protection", on the Effect 4 edition: jitter, Retry-After, deadlines,
 * the retry budget, unsafe methods and the bulkhead through the client, on the fake transport
 * with the TestClock (no real sleeps). `RetryPolicy.parseRetryAfter` and `RetryPolicy.makeBudget`
 * on their own are in RetryPolicy.test.ts; the bulkhead on its own in Bulkhead.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import { setImmediate as nextTurn } from "node:timers/promises"
import { BulkheadFull, Metrics, ResilientServiceClient, ServiceRegistry } from "../src/index.js"
import { pathOf } from "./utils/configErrors.js"
import type { Answer } from "./utils/fakeClient.js"
import { after, dnsFailure, hang, makeFake, refused, reset, status } from "./utils/fakeClient.js"
import { makeLogCapture } from "./utils/logs.js"
import { fixedRandom } from "./utils/retry.js"

const baseUrl = "http://chroma:6003"

const clientOn = (fake: ReturnType<typeof makeFake>, options: Partial<ResilientServiceClient.Options> = {}) =>
  ResilientServiceClient.make({ baseUrl, serviceName: "Chroma Server", ...options }).pipe(Effect.provide(fake.layer))

/**
 * Lets fibers that wait on real I/O (the fake's bodies are web streams, read through promises)
 * run to their next Clock wait.
 */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) {
    yield* Effect.promise(() => nextTurn())
    yield* Effect.yieldNow
  }
})

/** Moves the TestClock, letting every fiber settle before and after. */
const advance = (duration: Duration.Input) =>
  Effect.gen(function*() {
    yield* settle
    yield* TestClock.adjust(duration)
    yield* settle
  })

const times = (fake: ReturnType<typeof makeFake>) => fake.calls.map((c) => c.at)

/** The status of the answer a call failed with (a `StatusCodeError` reason), if it failed with one. */
const responseStatus = (error: ResilientServiceClient.ClientError): number | undefined =>
  error._tag === "HttpClientError" && error.reason._tag === "StatusCodeError" ? error.reason.response.status : undefined

const budgetGauge = (service: string) =>
  Effect.map(Metric.value(Metric.withAttributes(Metrics.retryBudgetTokens, { service })), (s) => s.value)

/** Forks `n` calls at once; returns their fibers. */
const storm = <A>(n: number, call: Effect.Effect<A, ResilientServiceClient.ClientError>) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.forkChild(call))

/** Whether a fiber is still running. */
const isRunning = (fiber: Fiber.Fiber<unknown, unknown>) => fiber.pollUnsafe() === undefined

/** Runs `effect` with a `Random` whose doubles are `doubles`, cycled. */
const withDoubles = (doubles: ReadonlyArray<number>) => Effect.provideService(Random.Random, fixedRandom(doubles))

describe("jitter through the client", () => {
  it.effect("\"full\": each delay is the draw times the exponential delay", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, { maxAttempts: 4, jitter: "full", failureThreshold: 100 })
      const fiber = yield* client.get("/q").pipe(withDoubles([0.5, 0.25, 0.75]), Effect.forkChild)
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

  it.effect("\"full\" stays within [0, min(exponential, maxDelay)]: the lowest and highest draws", () =>
    Effect.gen(function*() {
      const lowest = makeFake(status(503))
      const low = yield* clientOn(lowest, { maxAttempts: 3, jitter: "full" })
      yield* Effect.flip(low.get("/q").pipe(withDoubles([0])))
      expect(times(lowest)).toEqual([0, 0, 0]) // a draw of 0 retries at once

      const highest = makeFake(status(503))
      const high = yield* clientOn(highest, { maxAttempts: 4, jitter: "full", maxDelay: "1500 millis" })
      const fiber = yield* high.get("/q").pipe(withDoubles([0.99]), Effect.forkChild)
      yield* advance("10 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      // 0.99 × 1 s, then 0.99 × min(2 s, 1.5 s) twice: never above the cap
      expect(times(highest)).toEqual([0, 990, 990 + 1485, 990 + 2 * 1485])
    }))

  it.effect("\"decorrelated\": uniform in [backoff, 3 × previous], capped by maxDelay", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, {
        maxAttempts: 4,
        jitter: "decorrelated",
        maxDelay: "3 seconds",
        failureThreshold: 100
      })
      const fiber = yield* client.get("/q").pipe(withDoubles([0.5]), Effect.forkChild)
      yield* advance("10 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      // 1 + 0.5 × (3 − 1) = 2 s; 1 + 0.5 × (6 − 1) = 3.5 s → 3 s; then 3 s again
      expect(times(fake)).toEqual([0, 2000, 5000, 8000])
    }))
})

describe("Retry-After", () => {
  it.effect("delta-seconds on a 503 sets the delay when longer than the backoff, and the log says so", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503, undefined, { "retry-after": "5" }), status(200))
      const response = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake)
        const fiber = yield* Effect.forkChild(client.get("/q"))
        yield* advance("4999 millis")
        expect(times(fake)).toEqual([0])
        yield* advance("1 millis")
        return yield* Fiber.join(fiber)
      }))
      expect(response.status).toBe(200)
      expect(times(fake)).toEqual([0, 5000])
      expect(logs.messages()).toContain("[Chroma Server] HTTP 503 on attempt 1/3, retrying in 5s (Retry-After)...")
    }))

  it.effect("an HTTP-date on a 429 is read against the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 10, 15, 10, 30, 0))
      const fake = makeFake(status(429, undefined, { "retry-after": "Sat, 15 Nov 2025 10:30:07 GMT" }), status(200))
      const client = yield* clientOn(fake)
      const fiber = yield* Effect.forkChild(client.get("/q"))
      yield* advance("6999 millis")
      expect(fake.calls.length).toBe(1)
      yield* advance("1 millis")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      expect(fake.calls[1]!.at - fake.calls[0]!.at).toBe(7000)
    }))

  it.effect("a Retry-After shorter than the backoff, garbage, or on another status leaves the backoff", () =>
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
          const fiber = yield* Effect.forkChild(client.get("/q"))
          yield* advance("1 second")
          yield* Fiber.join(fiber)
        }))
        expect(times(fake).map((t) => t - fake.calls[0]!.at)).toEqual([0, 1000])
        expect(logs.messages().some((m) => m.includes("(Retry-After)"))).toBe(false)
      }
    }))

  it.effect("a Retry-After over maxRetryAfter (default 30 s) fails the call at once with the answer", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503, { busy: true }, { "retry-after": "31" }))
      const error = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake)
        return yield* Effect.flip(client.get("/q"))
      }))
      expect(fake.calls.length).toBe(1)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      expect(responseStatus(error)).toBe(503)
      if (error._tag === "HttpClientError" && error.reason._tag === "StatusCodeError") {
        expect(yield* HttpIncomingMessage.schemaBodyJson(Schema.Unknown)(error.reason.response)).toEqual({ busy: true })
      }
      expect(logs.messages()).toContain(
        "[Chroma Server] HTTP 503 on attempt 1/3, not retried: Retry-After 31s exceeds maxRetryAfter (30s)"
      )

      // exactly at the cap is still waited for; a lower cap turns it down
      const atCap = makeFake(status(503, undefined, { "retry-after": "30" }), status(200))
      const patient = yield* clientOn(atCap)
      const fiber = yield* Effect.forkChild(patient.get("/q"))
      yield* advance("30 seconds")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      const strict = yield* clientOn(makeFake(status(429, undefined, { "retry-after": "30" })), {
        maxRetryAfter: "10 seconds"
      })
      expect(responseStatus(yield* Effect.flip(strict.get("/q")))).toBe(429)
    }))
})

describe("deadline", () => {
  it.effect("no retry starts whose wait would end past the deadline; the call ends then with the last error", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(503))
      const fiber = yield* logs.provide(Effect.gen(function*() {
        const client = yield* clientOn(fake, { deadline: "2500 millis" })
        return yield* Effect.forkChild(client.get("/q"))
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

  it.effect("the last attempt is shortened to the time left and fails with a TimeoutException naming the deadline", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { timeout: "2 seconds", deadline: "3500 millis" })
      const fiber = yield* Effect.forkChild(client.get("/slow"))
      yield* advance("2 seconds") // attempt 1 times out after its full 2 s
      yield* advance("1 second") // backoff; attempt 2 at +3 s has 0.5 s left
      expect(times(fake)).toEqual([0, 3000])
      yield* advance("499 millis")
      expect(isRunning(fiber)).toBe(true)
      yield* advance("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(Cause.isTimeoutError(error)).toBe(true)
      expect((error as Cause.TimeoutError).message).toBe("Deadline of 3s 500ms exceeded during an attempt")
      expect(yield* Clock.currentTimeMillis).toBe(3500)
      // the first timeout counted; the attempt cut short after 0.5 s (less than half of the 2 s
      // timeout) had no fair time to answer and says nothing
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.effect("an attempt cut by the deadline after a fair time counts as a timeout", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { timeout: "2 seconds", deadline: "4 seconds" })
      const fiber = yield* Effect.forkChild(client.get("/slow"))
      yield* advance("3 seconds") // attempt 1 times out after 2 s, backoff 1 s; attempt 2 has 1 s left
      yield* advance("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect((error as Cause.TimeoutError).message).toBe("Deadline of 4s exceeded during an attempt")
      // 1 s is half of the 2 s timeout: a fair time, so it counts like a timeout
      expect((yield* client.status).failureCount).toBe(2)
    }))

  it.effect("a call sets its own deadline, overriding the client's", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake, { deadline: "1 minute" })
      const fiber = yield* Effect.forkChild(client.get("/q", { deadline: "1500 millis" }))
      yield* advance("1 second")
      expect(responseStatus(yield* Effect.flip(Fiber.join(fiber)))).toBe(503)
      expect(times(fake)).toEqual([0, 1000])

      const hanging = makeFake(hang)
      const quick = yield* clientOn(hanging)
      const slow = yield* Effect.forkChild(quick.get("/q", { deadline: "300 millis" }))
      yield* advance("300 millis")
      const error = yield* Effect.flip(Fiber.join(slow))
      expect((error as Cause.TimeoutError).message).toBe("Deadline of 300ms exceeded during an attempt")
      expect(hanging.calls.length).toBe(1)
    }))

  it.effect("a wait in the bulkhead queue counts towards the deadline", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 1, timeout: "1 minute" })
      const holder = yield* Effect.forkChild(client.get("/hold"))
      yield* settle
      const queued = yield* Effect.forkChild(client.get("/queued", { deadline: "3 seconds" }))
      yield* advance("2999 millis")
      expect(isRunning(queued)).toBe(true)
      yield* advance("1 millis")
      const error = yield* Effect.flip(Fiber.join(queued))
      expect(Cause.isTimeoutError(error)).toBe(true)
      expect((error as Cause.TimeoutError).message).toBe(
        "Deadline of 3s exceeded waiting for a place in the bulkhead"
      )
      expect(fake.calls.map((c) => c.url)).toEqual(["http://chroma:6003/hold"])
      yield* Fiber.interrupt(holder)
    }))
})

describe("retry budget", () => {
  it.effect("a storm of 100 calls × 3 attempts against a failing upstream becomes 100 + 4 attempts", () =>
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
      const fiber = yield* Effect.forkChild(client.get("/again"))
      yield* settle
      fake.script(status(200))
      yield* advance("1 second")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      expect(fake.calls.length - seen).toBe(2) // the failure was retried
    }))

  it.effect("the default budget (100 tokens) cuts the same storm from 300 attempts to 149", () =>
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

  it.effect("answers that are not retried (404) cost nothing; the budget is per client", () =>
    Effect.gen(function*() {
      const client = yield* clientOn(makeFake(status(404)), { retryBudget: { maxTokens: 4 } })
      for (let i = 0; i < 10; i++) yield* Effect.flip(client.get("/missing"))
      expect((yield* client.retryBudget).tokens).toBe(4)
      const failing = makeFake(status(503))
      const other = yield* clientOn(failing, { retryBudget: { maxTokens: 4 }, failureThreshold: 100 })
      const fiber = yield* Effect.forkChild(other.get("/q"))
      yield* advance("3 seconds")
      yield* Effect.flip(Fiber.join(fiber))
      expect(failing.calls.length).toBe(2) // 3 tokens left after the first failure (> 2), 2 after the second
      expect((yield* other.retryBudget).tokens).toBe(2)
      expect((yield* client.retryBudget).tokens).toBe(4)
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
      const fiber = yield* Effect.forkChild(client[method]("/charge", { json: { cents: 100 }, ...options }))
      yield* advance("1 second")
      yield* advance("1 second")
      yield* advance("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      return { attempts: fake.calls.length, error: yield* Effect.flip(exit) }
    })

  it.effect("a POST that never reached the server (refused, DNS failure) is retried", () =>
    Effect.gen(function*() {
      const refusedPost = yield* attemptsOf(refused, "post")
      expect(refusedPost.attempts).toBe(2)
      expect(refusedPost.error._tag === "HttpClientError" && refusedPost.error.reason._tag).toBe("TransportError")
      expect((yield* attemptsOf(dnsFailure, "post")).attempts).toBe(2)
      expect((yield* attemptsOf(refused, "patch")).attempts).toBe(2)
    }))

  it.effect("a POST or PATCH that may have reached it (timeout, reset, 503) is not", () =>
    Effect.gen(function*() {
      const timedOut = yield* attemptsOf(hang, "post")
      expect(timedOut.attempts).toBe(1)
      expect(Cause.isTimeoutError(timedOut.error)).toBe(true)
      const wasReset = yield* attemptsOf(reset, "post")
      expect(wasReset.attempts).toBe(1)
      expect(wasReset.error._tag === "HttpClientError" && wasReset.error.reason._tag).toBe("TransportError")
      const unavailable = yield* attemptsOf(status(503), "post")
      expect(unavailable.attempts).toBe(1)
      expect(responseStatus(unavailable.error)).toBe(503)
      expect((yield* attemptsOf(status(503), "patch")).attempts).toBe(1)
    }))

  it.effect("an Idempotency-Key makes it retryable; other methods and the default are unaffected", () =>
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

  it.effect("the refusal is logged with the reason", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      yield* logs.provide(attemptsOf(status(503), "post"))
      expect(logs.messages()).toContain(
        "[Chroma Server] HTTP 503 on attempt 1/2, not retried: a POST without an Idempotency-Key header may have reached the server"
      )
    }))
})

describe("bulkhead", () => {
  it.effect("20 calls at once, maxConcurrent 5, maxQueued 5: 10 rejected with BulkheadFull, none counted", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 5, maxQueued: 5, failureThreshold: 1 })
      const fibers = yield* storm(20, client.get("/q"))
      yield* settle
      const rejected = yield* Effect.forEach(fibers.slice(10), (f) => Effect.flip(Fiber.join(f)))
      expect(yield* Clock.currentTimeMillis).toBe(0) // at once
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

  it.effect("a call holds its place for all its attempts and waits; queued calls go in order", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503), status(503), status(200))
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 2 })
      const first = yield* Effect.forkChild(client.get("/first"))
      yield* settle
      const second = yield* Effect.forkChild(client.get("/second"))
      yield* settle
      const third = yield* Effect.forkChild(client.get("/third"))
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

  it.effect("an interrupted queued call leaves the queue and frees its place", () =>
    Effect.gen(function*() {
      const fake = makeFake(after("1 second", status(200)))
      const client = yield* clientOn(fake, { maxConcurrent: 1, maxQueued: 1 })
      const running = yield* Effect.forkChild(client.get("/running"))
      yield* settle
      const queued = yield* Effect.forkChild(client.get("/queued"))
      yield* settle
      expect((yield* Effect.flip(client.get("/rejected")))._tag).toBe("BulkheadFull")
      yield* Fiber.interrupt(queued)
      const next = yield* Effect.forkChild(client.get("/next")) // takes the freed queue place
      yield* settle
      expect(isRunning(next)).toBe(true)
      yield* advance("1 second")
      yield* advance("1 second")
      expect((yield* Fiber.join(running)).status).toBe(200)
      expect((yield* Fiber.join(next)).status).toBe(200)
      expect(fake.calls.map((c) => [c.at, c.url.slice(baseUrl.length)])).toEqual([[0, "/running"], [1000, "/next"]])

      // interrupting a running call gives its place to the next in line
      const holder = yield* Effect.forkChild(client.get("/holder"))
      yield* settle
      const waiting = yield* Effect.forkChild(client.get("/waiting"))
      yield* settle
      yield* Fiber.interrupt(holder)
      yield* advance("1 second")
      expect((yield* Fiber.join(waiting)).status).toBe(200)
      expect(fake.calls.map((c) => c.url.slice(baseUrl.length)).slice(2)).toEqual(["/holder", "/waiting"])
    }))

  it.effect("no place is lost or doubled when running and queued calls are interrupted at any moment", () =>
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
            expect(Cause.isTimeoutError(Cause.squash(exit.cause))).toBe(true)
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

  it.effect("maxQueued: 0 rejects any call beyond maxConcurrent; without a bulkhead nothing is rejected", () =>
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
    it.effect(`${path.join(".")}: ${JSON.stringify(options)}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          ResilientServiceClient.make({ baseUrl, id: "checked", ...options } as ResilientServiceClient.Options).pipe(
            Effect.provide(makeFake(status(200)).layer)
          )
        )
        expect(pathOf(error)).toEqual(path)
        expect(error.message.length).toBeGreaterThan(0)
      }))
  }

  it.effect("nothing is built on bad input: the id stays free in the registry", () =>
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

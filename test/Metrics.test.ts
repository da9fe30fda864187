/**
 * The metrics a client and its breaker record, read back with `Metric.value` after a scripted
 * sequence on a fake transport under the TestClock. Metrics are global: every test uses a
 * service name of its own.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker, Metrics, ResilientServiceClient } from "../src/index.js"
import { hang, makeFake, status } from "./utils/fakeClient.js"

const requests = (service: string, outcome: "success" | "failure" | "rejected") =>
  Effect.map(
    Metric.value(Metrics.requestsTotal.pipe(Metric.tagged("service", service), Metric.tagged("outcome", outcome))),
    (state) => state.count
  )

const retries = (service: string) =>
  Effect.map(Metric.value(Metrics.retriesTotal.pipe(Metric.tagged("service", service))), (state) => state.count)

const gauge = (service: string) =>
  Effect.map(Metric.value(Metrics.breakerState.pipe(Metric.tagged("service", service))), (state) => state.value)

const stateChanges = (service: string, to: "closed" | "half_open" | "open") =>
  Effect.map(
    Metric.value(Metrics.stateChangesTotal.pipe(Metric.tagged("service", service), Metric.tagged("to", to))),
    (state) => state.count
  )

const durations = (service: string) => Metric.value(Metrics.requestDurationMs.pipe(Metric.tagged("service", service)))

/** Every requests_total outcome of a service at once. */
const outcomes = (service: string) =>
  Effect.all({
    success: requests(service, "success"),
    failure: requests(service, "failure"),
    rejected: requests(service, "rejected")
  })

describe("Metrics", () => {
  it.scoped("a scripted sequence: success, success after a retry, a failure that opens, a rejection, recovery", () =>
    Effect.gen(function*() {
      const service = "metrics-scripted"
      const fake = makeFake(status(200))
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://billing:8080",
        serviceName: service,
        maxAttempts: 2,
        failureThreshold: 2,
        backoff: "1 second",
        recoveryTimeout: "30 seconds"
      }).pipe(Effect.provide(fake.layer))
      expect(yield* gauge(service)).toBe(0)

      // 1. a success at once
      expect((yield* client.get("/a")).status).toBe(200)
      expect(yield* outcomes(service)).toEqual({ success: 1, failure: 0, rejected: 0 })
      expect(yield* retries(service)).toBe(0)

      // 2. a 503, then after the 1 s backoff a 200: one request, one retry
      fake.script(status(503))
      const second = yield* Effect.fork(client.get("/b"))
      yield* TestClock.adjust("500 millis")
      expect(fake.calls.length).toBe(2)
      fake.script(status(200))
      yield* TestClock.adjust("500 millis")
      expect((yield* Fiber.join(second)).status).toBe(200)
      expect(fake.calls.length).toBe(3)
      expect(yield* outcomes(service)).toEqual({ success: 2, failure: 0, rejected: 0 })
      expect(yield* retries(service)).toBe(1)
      expect(yield* gauge(service)).toBe(0)

      // 3. two 503s: the second (the last attempt) opens the breaker and the call fails
      fake.script(status(503))
      const third = yield* Effect.fork(client.get("/c"))
      yield* TestClock.adjust("1 second")
      const failure = yield* Effect.flip(Fiber.join(third))
      expect(failure._tag).toBe("ResponseError")
      expect(fake.calls.length).toBe(5)
      expect(yield* outcomes(service)).toEqual({ success: 2, failure: 1, rejected: 0 })
      expect(yield* retries(service)).toBe(2)
      expect(yield* gauge(service)).toBe(2)
      expect(yield* stateChanges(service, "open")).toBe(1)

      // 4. rejected at once by the open breaker: the transport is not called
      const rejection = yield* Effect.flip(client.get("/d"))
      expect(rejection._tag).toBe("ServiceUnavailable")
      expect(fake.calls.length).toBe(5)
      expect(yield* outcomes(service)).toEqual({ success: 2, failure: 1, rejected: 1 })
      expect(yield* retries(service)).toBe(2)

      // 5. the recovery timeout passes (half_open without any call), a probe succeeds (closed)
      fake.script(status(200))
      yield* TestClock.adjust("30 seconds")
      expect((yield* client.status).state).toBe("half_open")
      expect(yield* gauge(service)).toBe(1)
      expect(yield* stateChanges(service, "half_open")).toBe(1)
      expect((yield* client.get("/e")).status).toBe(200)
      expect(yield* gauge(service)).toBe(0)
      expect(yield* outcomes(service)).toEqual({ success: 3, failure: 1, rejected: 1 })
      expect(yield* retries(service)).toBe(2)
      expect({
        open: yield* stateChanges(service, "open"),
        half_open: yield* stateChanges(service, "half_open"),
        closed: yield* stateChanges(service, "closed")
      }).toEqual({ open: 1, half_open: 1, closed: 1 })

      // one observation per call: 0 ms, 1000 ms (backoff), 1000 ms (backoff), 0 ms, 0 ms
      const histogram = yield* durations(service)
      expect(histogram.count).toBe(5)
      expect(histogram.sum).toBe(2000)
      expect(histogram.min).toBe(0)
      expect(histogram.max).toBe(1000)
      const bucket = (boundary: number) => histogram.buckets.find(([le]) => le === boundary)?.[1]
      expect(bucket(1)).toBe(3) // cumulative: the three 0 ms calls
      expect(bucket(512)).toBe(3)
      expect(bucket(1024)).toBe(5)
    }))

  it.scoped("every attempt's wait counts in the call's duration; retries count attempts after the first", () =>
    Effect.gen(function*() {
      const service = "metrics-all-attempts-failed"
      const fake = makeFake(status(503))
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://chroma:6003",
        serviceName: service,
        maxAttempts: 3,
        failureThreshold: 10
      }).pipe(Effect.provide(fake.layer))
      const call = yield* Effect.fork(client.get("/query"))
      yield* TestClock.adjust("3 seconds") // waits of 1 s and 2 s
      expect((yield* Effect.flip(Fiber.join(call)))._tag).toBe("ResponseError")
      expect(fake.calls.length).toBe(3)
      expect(yield* outcomes(service)).toEqual({ success: 0, failure: 1, rejected: 0 })
      expect(yield* retries(service)).toBe(2)
      const histogram = yield* durations(service)
      expect([histogram.count, histogram.sum]).toEqual([1, 3000])
      // the breaker counted 3 failures out of 10: still closed, no transition
      expect(yield* gauge(service)).toBe(0)
      expect(yield* stateChanges(service, "open")).toBe(0)
    }))

  it.scoped("an interrupted call is recorded under no outcome", () =>
    Effect.gen(function*() {
      const service = "metrics-interrupted"
      const fake = makeFake(hang)
      const client = yield* ResilientServiceClient.make({ baseUrl: "http://git:9000", serviceName: service })
        .pipe(Effect.provide(fake.layer))
      const call = yield* Effect.fork(client.get("/repo"))
      yield* TestClock.adjust("1 second")
      expect(fake.calls.length).toBe(1)
      yield* Fiber.interrupt(call)
      expect(yield* outcomes(service)).toEqual({ success: 0, failure: 0, rejected: 0 })
      expect((yield* durations(service)).count).toBe(0)
    }))

  it.scoped("a standalone breaker records its gauge and transitions, half_open by time alone", () =>
    Effect.gen(function*() {
      const service = "metrics-standalone-breaker"
      const breaker = yield* CircuitBreaker.make({ name: service, failureThreshold: 1, recoveryTimeout: "10 seconds" })
      yield* Effect.flip(breaker(Effect.fail("boom")))
      expect(yield* gauge(service)).toBe(2)
      expect(yield* stateChanges(service, "open")).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(yield* breaker.state).toBe("half_open")
      expect(yield* gauge(service)).toBe(1)
      expect(yield* stateChanges(service, "half_open")).toBe(1)
      yield* breaker(Effect.void)
      expect(yield* gauge(service)).toBe(0)
      expect(yield* stateChanges(service, "closed")).toBe(1)
      // a breaker alone makes no client metrics
      expect(yield* outcomes(service)).toEqual({ success: 0, failure: 0, rejected: 0 })
    }))
})

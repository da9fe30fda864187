/**
 * The metrics a breaker records, read back with `Metric.value` under the TestClock. Metrics are
 * global: every test uses a service name of its own. (The client's metrics, `requests_total`,
 * `retries_total` and the duration histogram as a client records them, are tested with the client.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, Metrics } from "../src/index.js"

const gauge = (service: string) =>
  Effect.map(Metric.value(Metric.withAttributes(Metrics.breakerState, { service })), (state) => state.value)

const stateChanges = (service: string, to: "closed" | "half_open" | "open") =>
  Effect.map(
    Metric.value(Metric.withAttributes(Metrics.stateChangesTotal, { service, to })),
    (state) => state.count
  )

const requests = (service: string, outcome: "success" | "failure" | "rejected") =>
  Effect.map(
    Metric.value(Metric.withAttributes(Metrics.requestsTotal, { service, outcome })),
    (state) => state.count
  )

describe("Metrics", () => {
  it("the metrics keep the Effect 3 edition's names, kinds and descriptions", () => {
    const all = [
      Metrics.requestsTotal,
      Metrics.retriesTotal,
      Metrics.breakerState,
      Metrics.stateChangesTotal,
      Metrics.retryBudgetTokens,
      Metrics.requestDurationMs
    ]
    expect(all.map((metric) => [metric.id, metric.type])).toEqual([
      ["resilience_requests_total", "Counter"],
      ["resilience_retries_total", "Counter"],
      ["resilience_breaker_state", "Gauge"],
      ["resilience_state_changes_total", "Counter"],
      ["resilience_retry_budget_tokens", "Gauge"],
      ["resilience_request_duration_ms", "Histogram"]
    ])
    expect(all.every((metric) => (metric.description ?? "").length > 10)).toBe(true)
  })

  it.effect("the duration histogram's buckets: 1 ms doubling up to 32,768 ms, then +Inf", () =>
    Effect.gen(function*() {
      const histogram = Metric.withAttributes(Metrics.requestDurationMs, { service: "metrics-buckets" })
      yield* Metric.update(histogram, 1000)
      yield* Metric.update(histogram, 0)
      const state = yield* Metric.value(histogram)
      expect(state.buckets.map(([le]) => le)).toEqual([
        ...Array.from({ length: 16 }, (_, i) => 2 ** i),
        Number.POSITIVE_INFINITY
      ])
      const bucket = (boundary: number) => state.buckets.find(([le]) => le === boundary)?.[1]
      expect([bucket(1), bucket(512), bucket(1024)]).toEqual([1, 1, 2])
      expect([state.count, state.sum, state.min, state.max]).toEqual([2, 1000, 0, 1000])
    }))

  it("stateValue: 0 closed, 1 half_open, 2 open", () => {
    expect([Metrics.stateValue("closed"), Metrics.stateValue("half_open"), Metrics.stateValue("open")]).toEqual([
      0,
      1,
      2
    ])
  })

  it.effect("a standalone breaker records its gauge and transitions, half_open by time alone", () =>
    Effect.gen(function*() {
      const service = "metrics-standalone-breaker"
      const breaker = yield* CircuitBreaker.make({ name: service, failureThreshold: 1, recoveryTimeout: "10 seconds" })
      expect(yield* gauge(service)).toBe(0)
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
      expect([
        yield* requests(service, "success"),
        yield* requests(service, "failure"),
        yield* requests(service, "rejected")
      ]).toEqual([0, 0, 0])
    }))

  it.effect("isolate and reset are transitions like any other", () =>
    Effect.gen(function*() {
      const service = "metrics-isolate-reset"
      const breaker = yield* CircuitBreaker.make({ name: service })
      yield* breaker.isolate
      expect(yield* gauge(service)).toBe(2)
      expect(yield* stateChanges(service, "open")).toBe(1)
      yield* breaker.reset
      expect(yield* gauge(service)).toBe(0)
      expect(yield* stateChanges(service, "closed")).toBe(1)
    }))

  it.effect("a breaker made under its own MetricRegistry records there", () =>
    Effect.gen(function*() {
      const service = "metrics-own-registry"
      const registry: Metric.MetricRegistry = new Map()
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: service, failureThreshold: 1 })
        yield* Effect.flip(breaker(Effect.fail("boom")))
        expect(yield* gauge(service)).toBe(2)
      }).pipe(Effect.provideService(Metric.MetricRegistry, registry))
      expect([...registry.values()].some((metadata) => metadata.id === "resilience_breaker_state")).toBe(true)
      // nothing of it in the global registry
      expect(yield* stateChanges(service, "open")).toBe(0)
    }))
})

// docs/observability.md, "Metrics" (kept in sync by test/editionDocs.test.ts)
import { Effect, Metric } from "effect"
import { Metrics } from "../../src/index.js"

// the metrics live in Effect's global registry: read them in-process with Metric.value,
// with the attributes they were recorded with
export const chromaCounts = Effect.gen(function*() {
  const service = "Chroma Server"
  const rejected = yield* Metric.value(Metric.withAttributes(Metrics.requestsTotal, { service, outcome: "rejected" }))
  const retries = yield* Metric.value(Metric.withAttributes(Metrics.retriesTotal, { service }))
  const state = yield* Metric.value(Metric.withAttributes(Metrics.breakerState, { service }))
  const durations = yield* Metric.value(Metric.withAttributes(Metrics.requestDurationMs, { service }))
  return { rejected: rejected.count, retries: retries.count, state: state.value, calls: durations.count }
})

import { Effect, Metric } from "effect"
import { Metrics } from "../src/index.js"

// the metrics live in Effect's global registry: read them in-process with Metric.value
export const chromaCounts = Effect.gen(function*() {
  const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) =>
    metric.pipe(Metric.tagged("service", "Chroma Server"))
  const rejected = yield* Metric.value(tagged(Metrics.requestsTotal).pipe(Metric.tagged("outcome", "rejected")))
  const retries = yield* Metric.value(tagged(Metrics.retriesTotal))
  const state = yield* Metric.value(tagged(Metrics.breakerState))
  const durations = yield* Metric.value(tagged(Metrics.requestDurationMs))
  return { rejected: rejected.count, retries: retries.count, state: state.value, calls: durations.count }
})

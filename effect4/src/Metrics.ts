/**
 * The metrics every client and breaker records with Effect's `Metric`, with the attribute
 * `service` (Effect 4's name for a metric tag). Export them with `@effect/opentelemetry` or read
 * them with `Metric.value` (of the metric `Metric.withAttributes(m, { service })`) or
 * `Metric.snapshot`.
 *
 * @since 0.4.0
 */
import * as Metric from "effect/Metric"

/**
 * Calls made through a client, one per call however many attempts it took; attribute `outcome` is
 * `success`, `failure` or `rejected` (it failed with `ServiceUnavailable` — refused by the breaker,
 * or cut short when the breaker opened — or with `BulkheadFull`).
 *
 * @since 0.4.0
 * @category metrics
 */
export const requestsTotal = Metric.counter("resilience_requests_total", {
  description: "Calls through a resilient client, by outcome (success, failure, rejected)",
  incremental: true
})

/**
 * Retries: attempts after the first.
 *
 * @since 0.4.0
 * @category metrics
 */
export const retriesTotal = Metric.counter("resilience_retries_total", {
  description: "Attempts after the first one of a call",
  incremental: true
})

/**
 * The breaker's state: 0 closed, 1 half_open, 2 open.
 *
 * @since 0.4.0
 * @category metrics
 */
export const breakerState = Metric.gauge("resilience_breaker_state", {
  description: "Circuit breaker state: 0 closed, 1 half_open, 2 open"
})

/**
 * Transitions of a breaker; attribute `to` is the state entered.
 *
 * @since 0.4.0
 * @category metrics
 */
export const stateChangesTotal = Metric.counter("resilience_state_changes_total", {
  description: "Circuit breaker transitions, by the state entered",
  incremental: true
})

/**
 * Tokens left in a client's retry budget (0 to `maxTokens`); retries stop while it is at or
 * below half of `maxTokens`. Not recorded for clients made with `retryBudget: false`.
 *
 * @since 0.4.0
 * @category metrics
 */
export const retryBudgetTokens = Metric.gauge("resilience_retry_budget_tokens", {
  description: "Tokens left in a client's retry budget; retries stop at or below half of its size"
})

/**
 * Duration of whole calls in milliseconds (all attempts and waits included); bucket bounds from
 * 1 ms doubling up to 32,768 ms (about 33 s), then +Inf.
 *
 * @since 0.4.0
 * @category metrics
 */
export const requestDurationMs = Metric.histogram("resilience_request_duration_ms", {
  description: "Duration of calls through a resilient client, retries included, in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 17 })
})

/**
 * The gauge value of a state.
 *
 * @since 0.4.0
 * @category metrics
 */
export const stateValue = (state: "closed" | "half_open" | "open"): number =>
  state === "closed" ? 0 : state === "half_open" ? 1 : 2

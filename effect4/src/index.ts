/**
 * effect-resilience for Effect 4: circuit breaker, retry with exponential backoff and per-attempt
 * timeouts for calls between services. The modules of the Effect 3 edition (`CircuitBreaker`,
 * `RetryPolicy`, `ResilientServiceClient`, …) are exported from here as they are ported.
 *
 * @module
 */

/** This edition's package version (the 0.4 line is the Effect 4 edition; 0.3.x is the Effect 3 one). */
export const version = "0.4.0"

/**
 * Exponential backoff capped by attempts, jitter, and which failures are transient.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * The tagged error of a call rejected by a full bulkhead.
 *
 * @since 0.1.0
 */
export * as BulkheadFull from "./BulkheadFull.js"

/**
 * Named configurations from the Python client's guide.
 *
 * @since 0.1.0
 */
export * as Presets from "./Presets.js"

/**
 * effect-resilience for Effect 4: circuit breaker, retry with exponential backoff and per-attempt
 * timeouts for calls between services. The same modules as the Effect 3 edition (`CircuitBreaker`,
 * `RetryPolicy`, `ResilientServiceClient`, …), on the same pure core.
 *
 * @module
 */

/** This edition's package version (the 0.4 line is the Effect 4 edition; 0.3.x is the Effect 3 one). */
export const version = "0.4.0"

/**
 * A callable circuit breaker backed by a `Ref` state machine, made in a `Scope`.
 *
 * @since 0.4.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * Keyed circuits: one circuit breaker per key (host, tenant, path prefix), made on first use,
 * with an idle expiry and a cap on keys.
 *
 * @since 0.4.1
 */
export * as KeyedCircuitBreaker from "./KeyedCircuitBreaker.js"

/**
 * Exponential backoff capped by attempts, jitter, and which failures are transient.
 *
 * @since 0.4.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * The status snapshot of a breaker and its wire JSON.
 *
 * @since 0.4.0
 */
export * as ServiceStatus from "./ServiceStatus.js"

/**
 * The tagged error of a rejected call.
 *
 * @since 0.4.0
 */
export * as ServiceUnavailable from "./ServiceUnavailable.js"

/**
 * The tagged error of a call rejected by a full bulkhead.
 *
 * @since 0.4.0
 */
export * as BulkheadFull from "./BulkheadFull.js"

/**
 * An HTTP client for one service with retry, per-attempt timeouts and a circuit breaker.
 *
 * @since 0.4.0
 */
export * as ResilientServiceClient from "./ResilientServiceClient.js"

/**
 * Named configurations from the Python client's guide.
 *
 * @since 0.4.0
 */
export * as Presets from "./Presets.js"

/**
 * Where clients and breakers list themselves for the status endpoint.
 *
 * @since 0.4.0
 */
export * as ServiceRegistry from "./ServiceRegistry.js"

/**
 * The monitoring endpoint `GET /v1/api/status/services`, as an `HttpApiGroup` and router routes,
 * and the status page.
 *
 * @since 0.4.0
 */
export * as StatusApi from "./StatusApi.js"

/**
 * The metrics recorded by clients and breakers.
 *
 * @since 0.4.0
 */
export * as Metrics from "./Metrics.js"

/**
 * A lean `HttpClient` layer on an undici dispatcher (needs the optional peer `undici` ^8).
 *
 * @since 0.4.0
 */
export * as UndiciTransport from "./UndiciTransport.js"

/**
 * Fleet mode: replicas share their breakers through Redis (optional, needs `@redis/client`).
 *
 * @since 0.4.0
 */
export * as Fleet from "./Fleet.js"

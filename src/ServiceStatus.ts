/**
 * The status snapshot of one protected service, as the monitoring endpoint shows it.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The three states of a circuit breaker, spelled as on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BreakerState = Schema.Literal("closed", "open", "half_open")

/**
 * `"closed"`: calls run. `"open"`: calls are rejected at once. `"half_open"`: a few probe calls
 * run to test whether the service recovered.
 *
 * @since 0.1.0
 * @category models
 */
export type BreakerState = typeof BreakerState.Type

/**
 * A snapshot of a breaker: its state, its consecutive counted failures, when it last
 * counted a failure and when it last changed state.
 *
 * Encodes to (and decodes from) the snake_case wire JSON of the Python client:
 *
 * ```json
 * { "service": "Chroma Server", "state": "closed", "failure_count": 0,
 *   "last_failure": null, "last_state_change": "2025-11-15T10:30:45.000Z" }
 * ```
 *
 * `lastFailure` is `Option.none()` (wire `null`) until the first counted failure. Timestamps
 * are ISO-8601 UTC strings on the wire, read from Effect's `Clock`. `JSON.stringify(status)`
 * gives this wire JSON too (through `toJSON`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ServiceStatus } from "effect-resilience"
 *
 * const toJson = Schema.encodeSync(ServiceStatus.ServiceStatus)
 *
 * // or simply: JSON.stringify(status) === JSON.stringify(toJson(status))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class ServiceStatus extends Schema.Class<ServiceStatus>("effect-resilience/ServiceStatus")({
  service: Schema.String,
  state: BreakerState,
  failureCount: Schema.propertySignature(Schema.NonNegativeInt).pipe(Schema.fromKey("failure_count")),
  lastFailure: Schema.propertySignature(Schema.OptionFromNullOr(Schema.Date)).pipe(
    Schema.fromKey("last_failure")
  ),
  lastStateChange: Schema.propertySignature(Schema.Date).pipe(Schema.fromKey("last_state_change"))
}) {
  /**
   * The wire JSON, so that `JSON.stringify(status)` (and anything built on it: an
   * `HttpServerResponse.unsafeJson`, a log line, a snapshot in a test) gives the snake_case
   * shape above, with ISO-8601 strings and `null`, rather than the camelCase fields and an
   * `Option` envelope.
   *
   * @since 0.1.0
   */
  toJSON(): ServiceStatusJson {
    return toJson(this)
  }
}

/**
 * The wire form of a {@link ServiceStatus}: what `Schema.encode(ServiceStatus)` produces and
 * what the status endpoint serves.
 *
 * @since 0.1.0
 * @category models
 */
export type ServiceStatusJson = typeof ServiceStatus.Encoded

/**
 * Encodes a status to its wire JSON (snake_case keys, ISO-8601 dates, `null` for no failure).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJson: (status: ServiceStatus) => ServiceStatusJson = Schema.encodeSync(ServiceStatus)

/**
 * Builds a status from millisecond timestamps; `lastFailure` is `undefined` when no failure
 * was counted yet. Used by the breaker; handy for fakes in tests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromMillis = (fields: {
  readonly service: string
  readonly state: BreakerState
  readonly failureCount: number
  readonly lastFailure: number | undefined
  readonly lastStateChange: number
}): ServiceStatus =>
  new ServiceStatus({
    service: fields.service,
    state: fields.state,
    failureCount: fields.failureCount,
    lastFailure: fields.lastFailure === undefined ? Option.none() : Option.some(new Date(fields.lastFailure)),
    lastStateChange: new Date(fields.lastStateChange)
  })

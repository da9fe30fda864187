/**
 * The status snapshot of one protected service, as the monitoring endpoint shows it.
 *
 * @since 0.4.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The three states of a circuit breaker, spelled as on the wire.
 *
 * @since 0.4.0
 * @category schemas
 */
export const BreakerState = Schema.Literals(["closed", "open", "half_open"])

/**
 * `"closed"`: calls run. `"open"`: calls are rejected at once. `"half_open"`: a few probe calls
 * run to test whether the service recovered.
 *
 * @since 0.4.0
 * @category models
 */
export type BreakerState = typeof BreakerState.Type

/**
 * A snapshot of a breaker: its state, its consecutive counted failures, when it last
 * counted a failure and when it last changed state.
 *
 * The wire JSON is the snake_case shape of the Python client, byte for byte the Effect 3
 * edition's:
 *
 * ```json
 * { "service": "Chroma Server", "state": "closed", "failure_count": 0,
 *   "last_failure": null, "last_state_change": "2025-11-15T10:30:45.000Z" }
 * ```
 *
 * `JSON.stringify(status)` gives it (through `toJSON`), and so do {@link toJson} and
 * `Schema.encodeSync(ServiceStatusJson)`; {@link ServiceStatusJson} also decodes it back.
 * Unlike the Effect 3 edition, the class's own schema (`Schema.encode(ServiceStatus)`) keeps the
 * camelCase field names: in Effect 4 a `Schema.Class` cannot rename its keys, so the renaming is
 * the separate schema {@link ServiceStatusJson}, which decodes to this class.
 *
 * `lastFailure` is `Option.none()` (wire `null`) until the first counted failure. Timestamps
 * are ISO-8601 UTC strings on the wire, read from Effect's `Clock`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ServiceStatus } from "effect-resilience"
 *
 * const toJson = Schema.encodeSync(ServiceStatus.ServiceStatusJson)
 *
 * // or simply: JSON.stringify(status) === JSON.stringify(toJson(status))
 * ```
 *
 * @since 0.4.0
 * @category models
 */
export class ServiceStatus extends Schema.Class<ServiceStatus>("effect-resilience/ServiceStatus")({
  service: Schema.String,
  state: BreakerState,
  failureCount: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  lastFailure: Schema.OptionFromNullOr(Schema.DateFromString),
  lastStateChange: Schema.DateFromString
}) {
  /**
   * The wire JSON, so that `JSON.stringify(status)` (and anything built on it: an
   * `HttpServerResponse.jsonUnsafe`, a log line, a snapshot in a test) gives the snake_case
   * shape above, with ISO-8601 strings and `null`, rather than the camelCase fields and an
   * `Option` envelope.
   *
   * @since 0.4.0
   */
  toJSON(): ServiceStatusJson {
    return toJson(this)
  }
}

/**
 * The schema of the wire JSON: decodes the snake_case object to a {@link ServiceStatus} and
 * encodes one to it. Use it wherever a status crosses a process boundary (an `HttpApi`
 * endpoint's success schema, a client reading the status endpoint).
 *
 * @since 0.4.0
 * @category schemas
 */
export const ServiceStatusJson = ServiceStatus.pipe(Schema.encodeKeys({
  failureCount: "failure_count",
  lastFailure: "last_failure",
  lastStateChange: "last_state_change"
}))

/**
 * The wire form of a {@link ServiceStatus}: what `Schema.encode(ServiceStatusJson)` produces and
 * what the status endpoint serves.
 *
 * @since 0.4.0
 * @category models
 */
export type ServiceStatusJson = typeof ServiceStatusJson.Encoded

/**
 * Encodes a status to its wire JSON (snake_case keys, ISO-8601 dates, `null` for no failure).
 *
 * @since 0.4.0
 * @category encoding
 */
export const toJson: (status: ServiceStatus) => ServiceStatusJson = Schema.encodeSync(ServiceStatusJson)

/**
 * Decodes the wire JSON to a status; throws a `Schema.SchemaError`-carrying error on anything
 * else (use `Schema.decodeUnknownResult(ServiceStatusJson)` for a typed result).
 *
 * @since 0.4.0
 * @category encoding
 */
export const fromJson: (json: unknown) => ServiceStatus = Schema.decodeUnknownSync(ServiceStatusJson)

/**
 * Builds a status from millisecond timestamps; `lastFailure` is `undefined` when no failure
 * was counted yet. Used by the breaker; handy for fakes in tests.
 *
 * @since 0.4.0
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

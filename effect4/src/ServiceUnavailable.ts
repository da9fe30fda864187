/**
 * The error a circuit breaker fails a call with when it will not run it.
 *
 * @since 0.4.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { rejectionMessage } from "./internal/breakerText.js"

/**
 * The wire form of `retryAfter`: milliseconds, or `null` for an isolated breaker's infinite wait
 * (JSON has no infinity), so that every rejection survives an encode/decode round trip.
 */
const RetryAfterMillis = Schema.NullOr(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))).pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transform({
      decode: (millis: number | null) => millis === null ? Duration.infinity : Duration.millis(millis),
      encode: (duration: Duration.Duration) => Duration.isFinite(duration) ? Duration.toMillis(duration) : null
    })
  )
)

/**
 * A call was rejected by an `open` (or saturated `half_open`) circuit breaker; the protected
 * effect was not run.
 *
 * - `service`: the breaker's name.
 * - `state`: `"open"`, or `"half_open"` when every probe permit is taken.
 * - `retryAfter`: the time left until the next probe may run (zero while a probe is in flight,
 *   infinite while the breaker is isolated by hand; JSON `null` then).
 *
 * Tagged `"ServiceUnavailable"`, so `Effect.catchTag("ServiceUnavailable", …)` selects it. An
 * `HttpApi` endpoint that declares it as an error answers HTTP 503, with the fields as JSON
 * (`retryAfter` in milliseconds, `null` while isolated), which `Schema.decode` reads back to an
 * equal error.
 *
 * Rejections are built without a stack trace: they are expected outcomes, and capturing one
 * would cost more than the rejection itself.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ServiceUnavailable } from "effect-resilience"
 *
 * declare const search: Effect.Effect<ReadonlyArray<string>, ServiceUnavailable.ServiceUnavailable>
 *
 * const withFallback = search.pipe(
 *   Effect.catchTag("ServiceUnavailable", () => Effect.succeed([]))
 * )
 * ```
 *
 * @since 0.4.0
 * @category errors
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  {
    service: Schema.String,
    state: Schema.Literals(["open", "half_open"]),
    retryAfter: RetryAfterMillis
  },
  { httpApiStatus: 503 }
) {
  /**
   * @since 0.4.0
   */
  override get message(): string {
    return rejectionMessage(this.service, this.state, Duration.toMillis(this.retryAfter))
  }
}

/**
 * Builds a {@link ServiceUnavailable} without validating its fields again and without
 * capturing a stack trace; this is what the breaker uses on its rejection path.
 *
 * @since 0.4.0
 * @category constructors
 */
export const unsafeMake = (
  service: string,
  state: "open" | "half_open",
  retryAfterMillis: number
): ServiceUnavailable => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new ServiceUnavailable({ service, state, retryAfter: Duration.millis(retryAfterMillis) }, {
      disableChecks: true
    })
  } finally {
    Error.stackTraceLimit = limit
  }
}

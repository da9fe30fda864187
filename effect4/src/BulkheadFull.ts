/**
 * The error a client fails a call with when its bulkhead has no place left for it.
 *
 * @since 0.4.0
 */
import * as Schema from "effect/Schema"

/**
 * A call was rejected at once because its client already runs `maxConcurrent` calls and has
 * `maxQueued` more waiting for a place; no request was sent.
 *
 * - `service`: the client's `serviceName`.
 * - `maxConcurrent`: calls that may run at the same time.
 * - `maxQueued`: calls that may wait for a place.
 *
 * The circuit breaker does not count it (the service was not called) and the client never
 * retries it. Tagged `"BulkheadFull"`, so `Effect.catchTag("BulkheadFull", …)` selects it. An
 * `HttpApi` endpoint that declares it as an error answers HTTP 503, with the fields as JSON.
 *
 * Built without a stack trace: it is an expected outcome of load shedding, where it may be
 * raised many times a second.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BulkheadFull } from "effect-resilience"
 *
 * declare const search: Effect.Effect<ReadonlyArray<string>, BulkheadFull.BulkheadFull>
 *
 * const shed = search.pipe(Effect.catchTag("BulkheadFull", () => Effect.succeed([])))
 * ```
 *
 * @since 0.4.0
 * @category errors
 */
export class BulkheadFull extends Schema.TaggedError<BulkheadFull>()(
  "BulkheadFull",
  {
    service: Schema.String,
    maxConcurrent: Schema.Int,
    maxQueued: Schema.Int
  },
  { httpApiStatus: 503 }
) {
  /**
   * @since 0.4.0
   */
  override get message(): string {
    return `[${this.service}] Bulkhead full: ${this.maxConcurrent} calls running and ${this.maxQueued} queued, call rejected`
  }
}

/**
 * Builds a {@link BulkheadFull} without running its field checks again (`disableChecks`: the
 * integers are not re-checked; Effect 4 still checks the fields' types) and without capturing a
 * stack trace; this is what the client uses when it rejects a call.
 *
 * @since 0.4.0
 * @category constructors
 */
export const unsafeMake = (service: string, maxConcurrent: number, maxQueued: number): BulkheadFull => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new BulkheadFull({ service, maxConcurrent, maxQueued }, { disableChecks: true })
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * Whether a value is a {@link BulkheadFull}.
 *
 * @since 0.4.0
 * @category guards
 */
export const isBulkheadFull = (u: unknown): u is BulkheadFull => u instanceof BulkheadFull

/**
 * Rate-based tripping strategies: the arithmetic lives in the core shared by both editions
 * (`core/src/strategies.ts`); this module reads this edition's `Duration` input for it, so the
 * names and messages are those of `Duration.format` and of `validate`.
 *
 * @internal
 */
import * as Core from "../../../core/src/strategies.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import * as validate from "./validate.js"

/** @internal */
export const defaultBuckets = Core.defaultBuckets

const durationReader: Core.DurationReader = {
  positiveMillis: validate.checkDurationMillis,
  show: validate.show
}

/** @internal */
export const failureRate = (options: CircuitBreaker.FailureRateOptions): Core.TrippingStrategy<Core.RateWindow> =>
  Core.failureRate(options, durationReader)

/** @internal */
export const slowCallRate = (options: CircuitBreaker.SlowCallRateOptions): Core.TrippingStrategy<Core.RateWindow> =>
  Core.slowCallRate(options, durationReader)

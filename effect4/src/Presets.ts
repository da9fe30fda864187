/**
 * Named configurations from the Python client's guide, as plain option objects to spread into
 * `ResilientServiceClient.make` / `layer`.
 *
 * @example
 * ```ts
 * import { Presets, ResilientServiceClient } from "effect-resilience"
 *
 * const billing = ResilientServiceClient.make({ baseUrl: "http://billing:8080", ...Presets.fastOperations })
 * ```
 *
 * @since 0.4.0
 */
import type * as Duration from "effect/Duration"

/**
 * The options a preset sets.
 *
 * @since 0.4.0
 * @category models
 */
export interface Preset {
  readonly maxAttempts: number
  readonly timeout: Duration.Input
  readonly failureThreshold?: number
  readonly recoveryTimeout?: Duration.Input
}

/**
 * Vector search, file I/O: 3 attempts, 15 s per attempt.
 *
 * @since 0.4.0
 * @category presets
 */
export const slowOperations: Preset = { maxAttempts: 3, timeout: "15 seconds" }

/**
 * Billing, auth: 2 attempts, 5 s per attempt.
 *
 * @since 0.4.0
 * @category presets
 */
export const fastOperations: Preset = { maxAttempts: 2, timeout: "5 seconds" }

/**
 * Git and other long operations: 3 attempts, 30 s per attempt, 90 s before a probe.
 *
 * @since 0.4.0
 * @category presets
 */
export const complexOperations: Preset = { maxAttempts: 3, timeout: "30 seconds", recoveryTimeout: "90 seconds" }

/**
 * Development: 3 attempts, 10 s per attempt.
 *
 * @since 0.4.0
 * @category presets
 */
export const development: Preset = { maxAttempts: 3, timeout: "10 seconds" }

/**
 * Production: 3 attempts, 10 s per attempt, open after 5 failures, 60 s before a probe.
 *
 * @since 0.4.0
 * @category presets
 */
export const production: Preset = {
  maxAttempts: 3,
  timeout: "10 seconds",
  failureThreshold: 5,
  recoveryTimeout: "60 seconds"
}

/**
 * The presets: the Python guide's settings, as options every constructor of this edition takes.
 * (That a preset spread into `ResilientServiceClient.make` drives the client's attempts and
 * timeouts is the client's test.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CoreNames from "../../core/src/optionNames.js"
import { Presets, RetryPolicy } from "../src/index.js"

const all: ReadonlyArray<readonly [string, Presets.Preset]> = [
  ["slowOperations", Presets.slowOperations],
  ["fastOperations", Presets.fastOperations],
  ["complexOperations", Presets.complexOperations],
  ["development", Presets.development],
  ["production", Presets.production]
]

describe("Presets", () => {
  it("are the Python guide's settings", () => {
    expect(Presets.slowOperations).toEqual({ maxAttempts: 3, timeout: "15 seconds" })
    expect(Presets.fastOperations).toEqual({ maxAttempts: 2, timeout: "5 seconds" })
    expect(Presets.complexOperations).toEqual({
      maxAttempts: 3,
      timeout: "30 seconds",
      recoveryTimeout: "90 seconds"
    })
    expect(Presets.development).toEqual({ maxAttempts: 3, timeout: "10 seconds" })
    expect(Presets.production).toEqual({
      maxAttempts: 3,
      timeout: "10 seconds",
      failureThreshold: 5,
      recoveryTimeout: "60 seconds"
    })
  })

  it.each(all)("%s: every name is a client option and every duration reads as Effect 4's Duration", (_, preset) => {
    for (const name of Object.keys(preset)) expect(CoreNames.client.known).toContain(name)
    for (const duration of [preset.timeout, preset.recoveryTimeout]) {
      if (duration === undefined) continue
      const decoded = Duration.fromInput(duration)
      expect(Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0).toBe(true)
    }
  })

  it.effect("maxAttempts means the same to RetryPolicy: production makes 3 attempts in all", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ maxAttempts: Presets.production.maxAttempts })
      expect(policy.maxAttempts).toBe(3)
      const fast = yield* RetryPolicy.make({ maxAttempts: Presets.fastOperations.maxAttempts })
      expect(fast.maxAttempts).toBe(2)
    }))
})

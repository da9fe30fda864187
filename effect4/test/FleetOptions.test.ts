/**
 * Fleet options: each invalid one is a ConfigError naming the field, found before any connection
 * is attempted (no Redis needed), and arbitrary option objects never give a defect.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SchemaIssue from "effect/SchemaIssue"
import * as fc from "fast-check"
import { CircuitBreaker, Fleet } from "../src/index.js"

const build = (options: unknown) => Effect.exit(Effect.scoped(Layer.build(Fleet.layerRedis(options as Fleet.Options))))

const pathOf = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<string> | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
  if (!(failure instanceof Config.ConfigError) || !("issue" in failure.cause)) return undefined
  const issue = failure.cause.issue
  return issue instanceof SchemaIssue.Pointer ? issue.path.map(String) : undefined
}

describe("Fleet.layerRedis options", () => {
  const valid = { fleet: "checkout", url: "redis://127.0.0.1:6379" }
  const cases: ReadonlyArray<[string, Record<string, unknown>]> = [
    ["fleet", { ...valid, fleet: "" }],
    ["fleet", { ...valid, fleet: 42 }],
    ["url", { ...valid, url: "http://127.0.0.1:6379" }],
    ["url", { ...valid, url: "" }],
    ["replica", { ...valid, replica: "" }],
    // lone surrogates: no encoding (UTF-8, URIs) can carry them
    ["fleet", { ...valid, fleet: "shop\uD800" }],
    ["fleet", { ...valid, fleet: "\uDC00eu" }],
    ["replica", { ...valid, replica: "pod-\uDBFF" }],
    ["quorum", { ...valid, quorum: 0 }],
    ["quorum", { ...valid, quorum: 1.5 }],
    ["quorumWindow", { ...valid, quorumWindow: "soon" }],
    ["leaseTtl", { ...valid, leaseTtl: -1 }],
    ["heartbeat", { ...valid, heartbeat: 0 }],
    ["commandTimeout", { ...valid, commandTimeout: "forever" }],
    // the holder's timer (leaseTtl − commandTimeout) would drop a lease as soon as it is granted
    ["leaseTtl", { ...valid, leaseTtl: "200 millis", commandTimeout: "200 millis" }],
    ["leaseTtl", { ...valid, leaseTtl: "399 millis", commandTimeout: "200 millis" }],
    ["leaseTtl", { ...valid, leaseTtl: "999 millis" }],
    ["connectTimeout", { ...valid, connectTimeout: Infinity }]
  ]
  for (const [field, options] of cases) {
    it.effect(`${JSON.stringify(options[field])} as ${field} is a ConfigError naming ${field}`, () =>
      Effect.map(build(options), (exit) => expect(pathOf(exit)).toEqual([field])))
  }

  it.effect("a breaker name that is not well-formed UTF-16 is a ConfigError naming name; a surrogate pair is fine", () =>
    Effect.gen(function*() {
      const made = (name: string) => Effect.exit(Effect.scoped(CircuitBreaker.make({ name })))
      const exit = yield* made("billing\uD83D")
      expect(pathOf(exit)).toEqual(["name"])
      expect(Exit.isSuccess(yield* made("billing \uD83D\uDE00"))).toBe(true)
    }))

  it.effect("options that are not an object are a ConfigError", () =>
    Effect.gen(function*() {
      for (const options of [undefined, null, "redis://127.0.0.1:6379", 7]) {
        expect(pathOf(yield* build(options)), String(options)).toEqual(["fleet"])
      }
    }))

  it("arbitrary option objects give a ConfigError or a fleet, never a defect", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          fleet: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)),
          url: fc.oneof(fc.string(), fc.constant(undefined)),
          quorum: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined)),
          leaseTtl: fc.oneof(fc.integer(), fc.string(), fc.constant(undefined))
        }, { requiredKeys: [] }),
        async (options) => {
          // a valid URL here would connect: keep every generated URL off redis://
          const safe = { ...options, url: typeof options.url === "string" ? `x${options.url}` : options.url }
          const exit = await Effect.runPromise(build(safe))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            expect(Cause.hasDies(exit.cause)).toBe(false)
            expect(pathOf(exit)).toBeDefined()
          }
        }
      ),
      { numRuns: 100 }
    )
  })
})

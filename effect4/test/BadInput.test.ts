/**
 * Bad input never crashes and secrets never leak: arbitrary option objects give a working client
 * or a ConfigError (never a defect, never a thrown exception); secrets in URL userinfo, header
 * values and query values never show in log lines, the status JSON or error messages (fake
 * transport from src/Testing.ts, TestClock). `parseRetryAfter` and the other constructors' option
 * names are tested with their modules.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import { ResilientServiceClient, ServiceStatus } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { makeLogCapture } from "./utils/logs.js"

const runTest = <A, E>(self: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(self.pipe(Effect.scoped, Effect.provide(TestClock.layer())))

/** The typed failures of a cause. */
const failuresOf = (cause: Cause.Cause<unknown>): ReadonlyArray<unknown> =>
  cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)

/** Every failure of the cause is a ConfigError; it has no defect and no interruption. */
const expectOnlyConfigErrors = (cause: Cause.Cause<unknown>, context: string) => {
  expect(Cause.hasDies(cause), `${context}\n${Cause.pretty(cause)}`).toBe(false)
  expect(Cause.hasInterrupts(cause), context).toBe(false)
  const failures = failuresOf(cause)
  expect(failures.length, context).toBeGreaterThan(0)
  for (const failure of failures) {
    expect((failure as { _tag?: unknown })._tag, context).toBe("ConfigError")
  }
}

const optionKeys = [
  "baseUrl",
  "serviceName",
  "id",
  "maxAttempts",
  "timeout",
  "failureThreshold",
  "recoveryTimeout",
  "strategy",
  "probeTimeout",
  "store",
  "storeKey",
  "backoff",
  "halfOpenMaxProbes",
  "maxDelay",
  "jitter",
  "retryOn",
  "isFailure",
  "maxRetryAfter",
  "deadline",
  "retryBudget",
  "retryUnsafeMethods",
  "maxConcurrent",
  "maxQueued"
] as const satisfies ReadonlyArray<keyof ResilientServiceClient.Options>

/** A value of a random type: numbers of every kind, strings (some valid), objects, functions, null. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -1, 0.5, 1, 2, 3, 1e21, Number.MAX_SAFE_INTEGER + 2, -1e-9),
  fc.double(),
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom("", " ", "1 second", "10 millis", "-1 seconds", "Infinity", "full", "none", "equal", "abc"),
  fc.string(),
  fc.constantFrom("http://upstream.test", "https://user:pw@upstream.test:8443/base", "/relative", "ftp://x", "http://"),
  fc.constantFrom(null, undefined, true, false),
  fc.constant(() => true),
  fc.constant(() => {
    throw new Error("a throwing option")
  }),
  fc.func(fc.anything()),
  fc.object(),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.constant(Duration.seconds(1)),
  fc.constant(Duration.infinity),
  fc.constant(Symbol("s")),
  fc.bigInt()
)

const optionsArbitrary: fc.Arbitrary<Record<string, unknown>> = fc.tuple(
  fc.oneof(
    { arbitrary: fc.constant("http://upstream.test"), weight: 3 },
    { arbitrary: anyValue, weight: 1 }
  ),
  fc.oneof(
    fc.dictionary(fc.constantFrom(...optionKeys), anyValue, { maxKeys: 6 }),
    // one option at a time: most of these build a client
    fc.dictionary(fc.constantFrom(...optionKeys), anyValue, { maxKeys: 1 })
  )
).map(([baseUrl, rest]) => ({ baseUrl, ...rest }))

// String() throws on a value whose toString is not a function ({ toString: [] }): the test's own
// description of a case must not be what fails
const printable = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    return "(a value String() cannot print)"
  }
}

describe("bad input", () => {
  it("arbitrary option objects give a working client or a ConfigError, never a defect", async () => {
    const seen = { clients: 0, configErrors: 0 }
    await fc.assert(
      fc.asyncProperty(optionsArbitrary, (options) =>
        runTest(Effect.gen(function*() {
          const context = String(Object.entries(options).map(([k, v]) => `${k}: ${typeof v} ${printable(v)}`))
          const upstream = Testing.fakeUpstream({ "*": Testing.json(200, { ok: true }) })
          const made = yield* Effect.exit(
            Effect.suspend(() => ResilientServiceClient.make(options as unknown as ResilientServiceClient.Options))
              .pipe(Effect.provide(upstream.layer), makeLogCapture().provide)
          )
          if (Exit.isFailure(made)) {
            expectOnlyConfigErrors(made.cause, context)
            expect(upstream.requests().length, context).toBe(0)
            seen.configErrors++
            return
          }
          // a client that was built works
          const client = made.value
          const call = yield* Effect.forkChild(makeLogCapture().provide(client.get("/ping")))
          yield* TestClock.adjust("1 hour")
          const exit = yield* Fiber.await(call)
          expect(Exit.isSuccess(exit), `${context}\n${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`).toBe(
            true
          )
          if (Exit.isSuccess(exit)) expect(exit.value.status).toBe(200)
          const status = yield* client.status
          expect(() => ServiceStatus.toJson(status)).not.toThrow()
          seen.clients++
        }))),
      { numRuns: 120 }
    )
    // both ends were reached
    expect(seen.clients).toBeGreaterThan(5)
    expect(seen.configErrors).toBeGreaterThan(5)
  }, 60_000)

  it("a non-object options value is a ConfigError, never a defect", async () => {
    for (const options of [undefined, null, 1, "http://upstream.test", () => ({}), [], Symbol("x")]) {
      await runTest(Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Effect.suspend(() => ResilientServiceClient.make(options as unknown as ResilientServiceClient.Options))
            .pipe(Effect.provide(Testing.fakeUpstream().layer))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expectOnlyConfigErrors(exit.cause, String(options))
      }))
    }
  })

  const answers = [
    Testing.json(200, { ok: true }),
    Testing.json(503, { down: true }),
    Testing.json(404, { missing: true }),
    Testing.refused,
    Testing.reset,
    Testing.unresolvable,
    Testing.hang
  ]

  it("secrets in userinfo, header values and query values never appear in logs, status JSON or errors", async () => {
    const secretArbitrary = fc.stringMatching(/^[A-Za-z0-9]{10,16}$/).map((s) => `zq${s}`)
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          password: secretArbitrary,
          header: secretArbitrary,
          query: secretArbitrary,
          inline: secretArbitrary,
          answers: fc.array(fc.constantFrom(...answers), { minLength: 1, maxLength: 4 }),
          calls: fc.integer({ min: 1, max: 3 })
        }),
        (secrets) =>
          runTest(Effect.gen(function*() {
            const logs = makeLogCapture()
            const upstream = Testing.fakeUpstream({ "*": secrets.answers })
            const client = yield* ResilientServiceClient.make({
              baseUrl: `http://svc-user:${secrets.password}@upstream.test:8080/api`,
              timeout: "1 second",
              failureThreshold: 4,
              recoveryTimeout: "30 seconds"
            }).pipe(Effect.provide(upstream.layer))
            const errors: Array<string> = []
            for (let i = 0; i < secrets.calls; i++) {
              const call = yield* Effect.forkChild(logs.provide(
                client.get(`/items/${i}?token=${secrets.inline}&page=2`, {
                  headers: { "x-api-key": secrets.header, authorization: `Bearer ${secrets.header}` },
                  urlParams: { key: secrets.query }
                })
              ))
              yield* TestClock.adjust("1 minute")
              const exit = yield* Fiber.await(call)
              if (Exit.isFailure(exit)) {
                for (const error of failuresOf(exit.cause)) {
                  errors.push(String((error as { message?: unknown }).message), String(error))
                }
                expect(Cause.hasDies(exit.cause)).toBe(false)
              }
            }
            // the secrets did go out, so their absence below means something
            const sent = upstream.requests()
            expect(sent.length).toBeGreaterThan(0)
            expect(sent[0]!.url).toContain(secrets.inline)
            expect(sent[0]!.url).toContain(secrets.query)
            expect(sent[0]!.headers["x-api-key"]).toBe(secrets.header)

            const status = JSON.stringify(ServiceStatus.toJson(yield* client.status))
            const logText = JSON.stringify(logs.lines)
            const everything = [status, logText, ...errors, client.serviceName, client.id, client.baseUrl]
            for (const secret of [secrets.password, secrets.header, secrets.query, secrets.inline]) {
              for (const text of everything) expect(text).not.toContain(secret)
            }
            expect(client.serviceName).toBe("upstream.test:8080")
          }))
      ),
      { numRuns: 40 }
    )
  }, 60_000)
})

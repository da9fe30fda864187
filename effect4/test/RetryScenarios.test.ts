/**
 * The retry scenarios shared by both editions (core/scenarios/retry.ts), run by the Effect 4
 * edition: `Effect.retry` with `RetryPolicy.schedule`, `RetryPolicy.isTransient`, a
 * `RetryPolicy.makeBudget` bucket and `Retry-After` read with `RetryPolicy.parseRetryAfter`, on the
 * `TestClock`; then the same scenarios through `ResilientServiceClient` on the fake transport,
 * where the client's own rules (its backoff, budget and `Retry-After`) must give the same
 * attempts. test/RetryScenarios.test.ts runs the same scenarios on the Effect 3 edition.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClientError from "effect/http/HttpClientError"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/testing/TestClock"
import type { Outcome, Result, RetryScenario } from "../../core/scenarios/retry.js"
import { retryAfterRule, scenarios } from "../../core/scenarios/retry.js"
import { ResilientServiceClient, RetryPolicy } from "../src/index.js"
import type { Answer } from "./utils/fakeClient.js"
import { makeFake, refused, status } from "./utils/fakeClient.js"
import { statusError, transportError, withDoubles } from "./utils/retry.js"

/** The error an attempt fails with, as this edition's client would see it. */
const failure = (outcome: Exclude<Outcome, { _tag: "Success" }>): unknown => {
  switch (outcome._tag) {
    case "Transport":
      return transportError()
    case "Timeout":
      return new Cause.TimeoutError("attempt timed out")
    case "Status":
      return statusError(outcome.status, outcome.retryAfter === undefined ? {} : { "retry-after": outcome.retryAfter })
  }
}

/** How a call ended, in the scenarios' terms. */
const resultOf = (exit: Exit.Exit<unknown, unknown>): Result | string => {
  if (Exit.isSuccess(exit)) return "Success"
  const error = Cause.squash(exit.cause)
  if (Cause.isTimeoutError(error)) return "Timeout"
  if (HttpClientError.isHttpClientError(error)) {
    if (error.reason._tag === "TransportError") return "Transport"
    if (error.reason._tag === "StatusCodeError") return { status: error.reason.response.status }
    return error.reason._tag
  }
  return String(error)
}

/** The `Retry-After` of an error, in milliseconds, when the rule reads one there. */
const retryAfterOf = (error: unknown, wallMillis: number): number | undefined => {
  if (!HttpClientError.isHttpClientError(error) || error.reason._tag !== "StatusCodeError") return undefined
  const response = error.reason.response
  if (!(retryAfterRule.statuses as ReadonlyArray<number>).includes(response.status)) return undefined
  return Option.getOrUndefined(
    Option.map(RetryPolicy.parseRetryAfter(response.headers["retry-after"], wallMillis), Duration.toMillis)
  )
}

const run = (scenario: RetryScenario) =>
  Effect.gen(function*() {
    const { policy } = scenario
    const schedule = RetryPolicy.schedule({
      maxAttempts: policy.maxAttempts,
      baseDelay: policy.baseDelayMillis === undefined ? undefined : Duration.millis(policy.baseDelayMillis),
      factor: policy.factor,
      maxDelay: policy.maxDelayMillis === undefined ? undefined : Duration.millis(policy.maxDelayMillis),
      jitter: policy.jitter
    })
    // the delay is the longer of the backoff and the Retry-After: an Effect 4 schedule's step
    // sees its input (the error) in its metadata
    const withRetryAfter = Schedule.modifyDelay(schedule, ({ duration, input }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const retryAfter = retryAfterOf(input, now)
        return retryAfter !== undefined && retryAfter > Duration.toMillis(duration)
          ? Duration.millis(retryAfter)
          : duration
      }))
    const budget = scenario.budget === undefined ? undefined : yield* RetryPolicy.makeBudget(scenario.budget)
    const starts: Array<Array<number>> = []

    const call = (index: number) => {
      const times: Array<number> = []
      starts[index] = times
      const attempt = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const outcome = scenario.outcomes[Math.min(times.length, scenario.outcomes.length - 1)]!
        times.push(now)
        return outcome._tag === "Success" ? Effect.succeed("ok") : Effect.fail(failure(outcome))
      }).pipe(
        Effect.tap(() =>
          budget?.recordSuccess ?? Effect.void
        ),
        Effect.tapError((error) =>
          budget !== undefined && RetryPolicy.isTransient(error) ? budget.recordFailure : Effect.void
        )
      )
      return Effect.retry(attempt, {
        schedule: withRetryAfter,
        while: (error) =>
          Effect.map(Clock.currentTimeMillis, (now) =>
            RetryPolicy.isTransient(error) &&
            (budget === undefined || budget.unsafeState().retriesAllowed) &&
            (retryAfterOf(error, now) ?? 0) <= retryAfterRule.maxRetryAfterMillis)
      })
    }

    const calls = scenario.calls ?? 1
    const fibers = yield* Effect.forEach(
      Array.from({ length: calls }, (_, i) => i),
      (i) => Effect.forkChild(call(i))
    )
    yield* TestClock.adjust("1 day")
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    return {
      attemptsAt: starts[0]!,
      attempts: starts.reduce((n, times) => n + times.length, 0),
      results: exits.map(resultOf),
      tokensLeft: budget === undefined ? undefined : budget.unsafeState().tokens
    }
  }).pipe(withDoubles(scenario.random ?? [0.5]))

describe("retry scenarios (core/scenarios/retry.ts) on the Effect 4 edition", () => {
  it.effect.each(scenarios)("$name", (scenario) =>
    Effect.gen(function*() {
      const outcome = yield* run(scenario)
      const { expected } = scenario
      if (expected.attemptsAt !== undefined) expect(outcome.attemptsAt).toEqual(expected.attemptsAt)
      expect(outcome.attempts).toBe(expected.attempts)
      for (const result of outcome.results) expect(result).toEqual(expected.result)
      if (expected.tokensLeft !== undefined) expect(outcome.tokensLeft).toBe(expected.tokensLeft)
    }))
})

/**
 * Whether the client can play a scenario: its backoff factor is 2, an attempt that times out
 * takes the client's `timeout` (which would shift every later attempt), and the fake transport's
 * script is shared by the calls of a storm (so a storm repeats one outcome).
 */
const throughClient = (scenario: RetryScenario): boolean =>
  (scenario.policy.factor === undefined || scenario.policy.factor === 2) &&
  !scenario.outcomes.some((outcome) => outcome._tag === "Timeout") &&
  ((scenario.calls ?? 1) === 1 || scenario.outcomes.length === 1)

const answer = (outcome: Outcome): Answer =>
  outcome._tag === "Success"
    ? status(200)
    : outcome._tag === "Status"
    ? status(outcome.status, undefined, outcome.retryAfter === undefined ? {} : { "retry-after": outcome.retryAfter })
    : refused

const runClient = (scenario: RetryScenario) =>
  Effect.gen(function*() {
    const { policy } = scenario
    const fake = makeFake(...scenario.outcomes.map(answer))
    const client = yield* ResilientServiceClient.make({
      baseUrl: "http://upstream.test",
      serviceName: "scenario",
      failureThreshold: 1_000_000,
      retry: {
        maxAttempts: policy.maxAttempts,
        backoff: policy.baseDelayMillis === undefined ? undefined : Duration.millis(policy.baseDelayMillis),
        maxDelay: policy.maxDelayMillis === undefined ? undefined : Duration.millis(policy.maxDelayMillis),
        jitter: policy.jitter
      },
      retryBudget: scenario.budget ?? false
    }).pipe(Effect.provide(fake.layer))
    const fibers = yield* Effect.forEach(
      Array.from({ length: scenario.calls ?? 1 }),
      () => Effect.forkChild(client.get("/resource"))
    )
    yield* TestClock.adjust("1 day")
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    return {
      attemptsAt: fake.calls.map((call) => call.at),
      attempts: fake.calls.length,
      results: exits.map((exit) => resultOf(Exit.map(exit, () => "ok"))),
      tokensLeft: (yield* client.retryBudget).tokens
    }
  }).pipe(withDoubles(scenario.random ?? [0.5]))

describe("retry scenarios (core/scenarios/retry.ts) through ResilientServiceClient on the Effect 4 edition", () => {
  it.effect.each(scenarios.filter(throughClient))("$name", (scenario) =>
    Effect.gen(function*() {
      const outcome = yield* runClient(scenario)
      const { expected } = scenario
      if (expected.attemptsAt !== undefined && (scenario.calls ?? 1) === 1) {
        expect(outcome.attemptsAt).toEqual(expected.attemptsAt)
      }
      expect(outcome.attempts).toBe(expected.attempts)
      for (const result of outcome.results) expect(result).toEqual(expected.result)
      if (expected.tokensLeft !== undefined) expect(outcome.tokensLeft).toBe(expected.tokensLeft)
    }))
})

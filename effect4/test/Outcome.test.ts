/**
 * The judge of an attempt (`client/outcome.ts`) as this edition reads an Effect 4 `Cause` and its
 * `HttpClientError` reasons for the core's rules. The retry decision after a failed attempt is
 * the core's (`core/src/retryDecision.ts`), checked against its table once, by the Effect 3
 * edition's test/Outcome.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import { RetryPolicy } from "../src/index.js"
import * as Outcome from "../src/internal/client/outcome.js"

const request = HttpClientRequest.get("http://svc.test/q")
const answered = (status: number) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.StatusCodeError({
      request,
      response: HttpClientResponse.fromWeb(request, new Response(null, { status }))
    })
  })
const requestError = (reason: "Transport" | "Encode" | "InvalidUrl") =>
  new HttpClientError.HttpClientError({
    reason: reason === "Transport"
      ? new HttpClientError.TransportError({ request, cause: new Error(reason) })
      : reason === "Encode"
      ? new HttpClientError.EncodeError({ request, cause: new Error(reason) })
      : new HttpClientError.InvalidUrlError({ request, cause: new Error(reason) })
  })
const deadlineCut = (fair: boolean) => {
  const error = new Cause.TimeoutError("Deadline of 1s exceeded during an attempt")
  Object.defineProperty(error, Outcome.DeadlineCutId, { value: { fair } })
  return error
}

describe("the judge of an attempt", () => {
  const cases: ReadonlyArray<readonly [string, Cause.Cause<unknown> | undefined, Outcome.Outcome]> = [
    ["a success", undefined, "answered"],
    ["503", Cause.fail(answered(503)), "failed"],
    ["500", Cause.fail(answered(500)), "failed"],
    ["429", Cause.fail(answered(429)), "failed"],
    ["404", Cause.fail(answered(404)), "answered"],
    ["400", Cause.fail(answered(400)), "answered"],
    ["a transport error", Cause.fail(requestError("Transport")), "failed"],
    ["an attempt timeout", Cause.fail(new Cause.TimeoutError("Timed out after 10s")), "failed"],
    ["an invalid URL (never sent)", Cause.fail(requestError("InvalidUrl")), "silent"],
    ["a body that could not be encoded (never sent)", Cause.fail(requestError("Encode")), "silent"],
    ["an interruption", Cause.interrupt(), "silent"],
    ["a deadline cut after a fair time", Cause.fail(deadlineCut(true)), "failed"],
    ["a deadline cut before a fair time", Cause.fail(deadlineCut(false)), "silent"],
    ["a defect", Cause.die(new Error("bug")), "failed"],
    ["a defect beside an interruption", Cause.combine(Cause.die("bug"), Cause.interrupt()), "failed"]
  ]
  for (const [name, cause, outcome] of cases) {
    it(`${name} → ${outcome}`, () => {
      expect(Outcome.judge(cause, RetryPolicy.isTransient)).toBe(outcome)
    })
  }

  it("isFailure decides only for answers and failures that were sent and not cut unfairly", () => {
    const countsEverything = () => true
    expect(Outcome.judge(Cause.fail(answered(404)), countsEverything)).toBe("failed")
    expect(Outcome.judge(Cause.fail(requestError("InvalidUrl")), countsEverything)).toBe("silent")
    expect(Outcome.judge(Cause.fail(deadlineCut(false)), countsEverything)).toBe("silent")
    const countsNothing = () => false
    expect(Outcome.judge(Cause.fail(answered(503)), countsNothing)).toBe("answered")
    // a cut after a fair time is a timeout: isFailure decides, as for any timeout
    expect(Outcome.judge(Cause.fail(deadlineCut(true)), countsNothing)).toBe("answered")
    expect(Outcome.judge(Cause.fail(deadlineCut(true)), (e) => !Cause.isTimeoutError(e))).toBe("answered")
  })

  it("a fair time is at least half of the shorter of the timeout and the deadline", () => {
    expect(Outcome.isFairCut(800, 10_000, 800)).toBe(true) // a first attempt under a short deadline
    expect(Outcome.isFairCut(400, 10_000, 800)).toBe(true)
    expect(Outcome.isFairCut(399, 10_000, 800)).toBe(false)
    expect(Outcome.isFairCut(1_000, 2_000, 4_000)).toBe(true)
    expect(Outcome.isFairCut(500, 2_000, 3_500)).toBe(false) // a retry left with a sliver
  })
})

/**
 * The judge of an attempt (`client/outcome.ts`) and the retry decision after a failed attempt
 * (`client/retryDecision.ts`): pure functions, checked against tables.
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as FiberId from "effect/FiberId"
import { RetryPolicy, ServiceUnavailable } from "../src/index.js"
import * as Outcome from "../src/internal/client/outcome.js"
import * as RetryDecision from "../src/internal/client/retryDecision.js"

const request = HttpClientRequest.get("http://svc.test/q")
const answered = (status: number) =>
  new HttpClientError.ResponseError({
    request,
    response: HttpClientResponse.fromWeb(request, new Response(null, { status })),
    reason: "StatusCode"
  })
const requestError = (reason: "Transport" | "Encode" | "InvalidUrl") =>
  new HttpClientError.RequestError({ request, reason, cause: new Error(reason) })
const deadlineCut = (fair: boolean) => {
  const error = new Cause.TimeoutException("Deadline of 1s exceeded during an attempt")
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
    ["an attempt timeout", Cause.fail(new Cause.TimeoutException("Timed out after 10s")), "failed"],
    ["an invalid URL (never sent)", Cause.fail(requestError("InvalidUrl")), "silent"],
    ["a body that could not be encoded (never sent)", Cause.fail(requestError("Encode")), "silent"],
    ["an interruption", Cause.interrupt(FiberId.none), "silent"],
    ["a deadline cut after a fair time", Cause.fail(deadlineCut(true)), "failed"],
    ["a deadline cut before a fair time", Cause.fail(deadlineCut(false)), "silent"],
    ["a defect", Cause.die(new Error("bug")), "failed"],
    ["a defect beside an interruption", Cause.sequential(Cause.die("bug"), Cause.interrupt(FiberId.none)), "failed"]
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
    expect(Outcome.judge(Cause.fail(deadlineCut(true)), (e) => !Cause.isTimeoutException(e))).toBe("answered")
  })

  it("a fair time is at least half of the shorter of the timeout and the deadline", () => {
    expect(Outcome.isFairCut(800, 10_000, 800)).toBe(true) // a first attempt under a short deadline
    expect(Outcome.isFairCut(400, 10_000, 800)).toBe(true)
    expect(Outcome.isFairCut(399, 10_000, 800)).toBe(false)
    expect(Outcome.isFairCut(1_000, 2_000, 4_000)).toBe(true)
    expect(Outcome.isFairCut(500, 2_000, 3_500)).toBe(false) // a retry left with a sliver
  })
})

describe("the retry decision", () => {
  const rejection = ServiceUnavailable.unsafeMake("svc", "open", 5_000)
  const base: RetryDecision.Facts = {
    attempt: 1,
    maxAttempts: 3,
    now: 10_000,
    deadlinePassed: false,
    retryable: true,
    rejection: undefined,
    unsafeToRepeat: false,
    bodySpent: false,
    budgetAllows: true,
    scheduledMillis: 1_000,
    retryAfterMillis: undefined,
    maxRetryAfterMillis: 30_000,
    deadlineAt: Infinity
  }
  const cases: ReadonlyArray<readonly [string, Partial<RetryDecision.Facts>, RetryDecision.Decision]> = [
    ["a retryable failure waits the backoff", {}, { _tag: "Wait", delayMillis: 1_000, fromServer: false }],
    ["a passed deadline gives up", { deadlinePassed: true }, { _tag: "GiveUp", why: { _tag: "deadline" } }],
    ["a failure retryOn turns down gives up", { retryable: false }, { _tag: "GiveUp", why: { _tag: "notRetried" } }],
    ["the last attempt gives up", { attempt: 3 }, { _tag: "GiveUp", why: { _tag: "exhausted" } }],
    ["the last attempt reports its own failure even when the breaker opened", { attempt: 3, rejection }, {
      _tag: "GiveUp",
      why: { _tag: "exhausted" }
    }],
    ["an open breaker ends the call with its rejection", { rejection }, { _tag: "Reject", rejection }],
    ["an open breaker wins over an unsafe method", { rejection, unsafeToRepeat: true }, { _tag: "Reject", rejection }],
    ["an unsafe method gives up", { unsafeToRepeat: true }, { _tag: "GiveUp", why: { _tag: "unsafe" } }],
    ["a one-shot body that went out gives up", { bodySpent: true }, { _tag: "GiveUp", why: { _tag: "bodySpent" } }],
    ["a one-shot body that went out reports its own failure even when the breaker opened", {
      bodySpent: true,
      rejection
    }, { _tag: "GiveUp", why: { _tag: "bodySpent" } }],
    ["a spent budget gives up", { budgetAllows: false }, { _tag: "GiveUp", why: { _tag: "budget" } }],
    ["an ended schedule gives up", { scheduledMillis: undefined }, { _tag: "GiveUp", why: { _tag: "exhausted" } }],
    ["a longer Retry-After sets the delay", { retryAfterMillis: 3_000 }, {
      _tag: "Wait",
      delayMillis: 3_000,
      fromServer: true
    }],
    ["a shorter Retry-After leaves the backoff", { retryAfterMillis: 500 }, {
      _tag: "Wait",
      delayMillis: 1_000,
      fromServer: false
    }],
    ["a Retry-After over the cap gives up", { retryAfterMillis: 31_000 }, {
      _tag: "GiveUp",
      why: { _tag: "retryAfter", retryAfterMillis: 31_000 }
    }],
    ["a wait that would end at the deadline gives up", { deadlineAt: 11_000 }, {
      _tag: "GiveUp",
      why: { _tag: "pastDeadline", delayMillis: 1_000 }
    }],
    ["a wait that ends before the deadline goes ahead", { deadlineAt: 11_001 }, {
      _tag: "Wait",
      delayMillis: 1_000,
      fromServer: false
    }],
    ["a negative scheduled delay waits nothing", { scheduledMillis: -5 }, {
      _tag: "Wait",
      delayMillis: 0,
      fromServer: false
    }]
  ]
  for (const [name, facts, decision] of cases) {
    it(name, () => {
      expect(RetryDecision.decide({ ...base, ...facts })).toEqual(decision)
    })
  }
})

/**
 * The Python guide's "Performance Impact" table, measured on loopback with the guide's settings
 * (3 attempts, 1 s / 2 s backoff, threshold 5, 60 s recovery; 1 s attempt timeout), every
 * duration divided by 10 with `--quick`:
 *
 * - service down: a refusing upstream (a port on 127.0.0.1 with nothing listening) and a hanging
 *   one (accepts, never answers): time until one sequential caller gets its first fast failure
 *   (`ServiceUnavailable`), and per-call latency once open; a plain client (same attempts,
 *   timeout and backoff via `Effect.retry` + `Effect.timeout`, no breaker) for comparison;
 * - transient failure: success rate of calls against an upstream failing 30 % at random (503),
 *   plain (1 attempt) against ours;
 * - recovery: time from the upstream coming back to the breaker closing.
 */
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Exit, Logger, LogLevel, ManagedRuntime, Schedule, Scope } from "effect"
import { CircuitBreaker, ResilientServiceClient } from "../src/index.js"
import { median, type Options, percentile, range, refusingPort, round, startUpstream } from "./lib.js"

interface Settings {
  readonly maxAttempts: number
  readonly backoff: Duration.Duration
  /** The attempt timeout: the guide's 10 s. */
  readonly timeout: Duration.Duration
  /** The attempt timeout against the hanging upstream: 1 s. */
  readonly hangTimeout: Duration.Duration
  readonly failureThreshold: number
  readonly recoveryTimeout: Duration.Duration
}

const settingsFor = (quick: boolean): Settings => {
  const scale = quick ? 10 : 1
  return {
    maxAttempts: 3,
    backoff: Duration.millis(1000 / scale),
    timeout: Duration.millis(10_000 / scale),
    hangTimeout: Duration.millis(1000 / scale),
    failureThreshold: 5,
    recoveryTimeout: Duration.millis(60_000 / scale)
  }
}

type Rt = ManagedRuntime.ManagedRuntime<HttpClient.HttpClient, never>

/** A failure-rate breaker for the transient case: opens at 50 % of the last 100 calls (20 seen). */
const rateStrategy = CircuitBreaker.failureRate({
  threshold: 0.5,
  minimumCalls: 20,
  window: { kind: "count", size: 100 }
})

const makeOurs = (
  rt: Rt,
  scope: Scope.CloseableScope,
  baseUrl: string,
  s: Settings,
  strategy?: CircuitBreaker.TrippingStrategy<any>
) =>
  rt.runPromise(Scope.extend(
    ResilientServiceClient.make({
      // a strategy decides when the breaker opens: the threshold goes with the default one only
      ...(strategy ? { strategy } : { failureThreshold: s.failureThreshold }),
      baseUrl,
      serviceName: "bench-down",
      maxAttempts: s.maxAttempts,
      backoff: s.backoff,
      timeout: s.timeout,
      recoveryTimeout: s.recoveryTimeout
    }),
    scope
  ))

/** The same attempts, timeout and backoff without a breaker. */
const plainGet = (url: string, s: Settings, attempts: number) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.pipe(HttpClient.filterStatusOk).get(url).pipe(
      Effect.flatMap((r) => r.text),
      Effect.timeout(s.timeout),
      Effect.retry(Schedule.exponential(s.backoff).pipe(Schedule.intersect(Schedule.recurs(attempts - 1))))
    ))

const isUnavailable = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
  (exit.cause.error as { _tag?: string } | undefined)?._tag === "ServiceUnavailable"

const quietly = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.None)

const downCase = async (rt: Rt, baseUrl: string, s: Settings, openCalls: number, plainCalls: number) => {
  const scope = await rt.runPromise(Scope.make())
  try {
    const ours = await makeOurs(rt, scope, baseUrl, s)
    const oursResult = await rt.runPromise(quietly(Effect.gen(function*() {
      const t0 = process.hrtime.bigint()
      let slowCalls = 0
      for (;;) {
        const exit = yield* Effect.exit(ours.get("/item"))
        if (isUnavailable(exit)) break
        if (Exit.isSuccess(exit)) return yield* Effect.die("the upstream answered")
        slowCalls++
        if (Number(process.hrtime.bigint() - t0) > 120e9) return yield* Effect.die("no fast failure in 120 s")
      }
      const firstFastFailureMs = Number(process.hrtime.bigint() - t0) / 1e6
      const lat: Array<number> = []
      for (let i = 0; i < openCalls; i++) {
        const t = process.hrtime.bigint()
        const exit = yield* Effect.exit(ours.get("/item"))
        lat.push(Number(process.hrtime.bigint() - t) / 1e3)
        if (!isUnavailable(exit)) return yield* Effect.die("expected ServiceUnavailable once open")
      }
      lat.sort((a, b) => a - b)
      return {
        firstFastFailureMs: round(firstFastFailureMs, 1),
        slowCallsBefore: slowCalls,
        openCalls,
        openCallP50Us: round(percentile(lat, 0.5), 2),
        openCallP99Us: round(percentile(lat, 0.99), 2),
        openCallMaxUs: round(lat[lat.length - 1]!, 1)
      }
    })))
    const plainMs: Array<number> = []
    for (let i = 0; i < plainCalls; i++) {
      const t = process.hrtime.bigint()
      const exit = await rt.runPromiseExit(plainGet(`${baseUrl}/item`, s, s.maxAttempts))
      if (Exit.isSuccess(exit)) throw new Error("the upstream answered the plain client")
      plainMs.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    return {
      ours: oursResult,
      plain: { firstFastFailureMs: null, calls: plainCalls, perCallMs: round(median(plainMs), 1) }
    }
  } finally {
    await rt.runPromise(Scope.close(scope, Exit.void))
  }
}

export const runDown = async (opts: Options) => {
  const s = settingsFor(opts.quick)
  const rt: Rt = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const openCalls = opts.quick ? 2_000 : 10_000
  const plainCalls = opts.quick ? 2 : 1
  try {
    // service down: refusing
    const port = await refusingPort()
    const refused = await downCase(rt, `http://127.0.0.1:${port}`, s, openCalls, plainCalls)
    // service down: hanging
    const hang = await startUpstream("hang")
    let hanging
    try {
      hanging = await downCase(rt, hang.url, { ...s, timeout: s.hangTimeout }, openCalls, plainCalls)
    } finally {
      hang.close()
    }

    // transient failure: 30 % of requests fail with 503 at random
    const CALLS = opts.quick ? 200 : 1_000
    const REPEATS = 3
    const CONCURRENCY = 50
    const flaky = await startUpstream({ flaky: 0.3 })
    const plainRates: Array<number> = []
    const oursRates: Array<number> = []
    const oursUnavailable: Array<number> = []
    const oursClosedRates: Array<number> = []
    const rateRates: Array<number> = []
    try {
      for (let r = 0; r < REPEATS; r++) {
        const plainExits = await rt.runPromise(
          Effect.forEach(
            Array.from({ length: CALLS }),
            () => Effect.exit(plainGet(`${flaky.url}/item`, s, 1)),
            { concurrency: CONCURRENCY }
          )
        )
        plainRates.push(plainExits.filter(Exit.isSuccess).length / CALLS)
        const scope = await rt.runPromise(Scope.make())
        try {
          const rated = await makeOurs(rt, scope, flaky.url, s, rateStrategy)
          const rateExits = await rt.runPromise(quietly(Effect.forEach(
            Array.from({ length: CALLS }),
            () => Effect.exit(Effect.flatMap(rated.get("/item"), (res) => res.text)),
            { concurrency: CONCURRENCY }
          )))
          rateRates.push(rateExits.filter(Exit.isSuccess).length / CALLS)
          const ours = await makeOurs(rt, scope, flaky.url, s)
          const exits = await rt.runPromise(quietly(Effect.forEach(
            Array.from({ length: CALLS }),
            () => Effect.exit(Effect.flatMap(ours.get("/item"), (res) => res.text)),
            { concurrency: CONCURRENCY }
          )))
          oursRates.push(exits.filter(Exit.isSuccess).length / CALLS)
          const unavailable = exits.filter(isUnavailable).length
          oursUnavailable.push(unavailable)
          // the calls the breaker let through (it opens when 5 failed attempts come in a row)
          oursClosedRates.push(exits.filter(Exit.isSuccess).length / Math.max(1, CALLS - unavailable))
        } finally {
          await rt.runPromise(Scope.close(scope, Exit.void))
        }
      }
    } finally {
      flaky.close()
    }

    // recovery: the upstream answers 503 until the breaker opens, then comes back
    const up = await startUpstream("down")
    let recovery
    try {
      const scope = await rt.runPromise(Scope.make())
      try {
        const ours = await makeOurs(rt, scope, up.url, s)
        recovery = await rt.runPromise(quietly(Effect.gen(function*() {
          while ((yield* ours.breaker.state) !== "open") yield* Effect.exit(ours.get("/item"))
          yield* Effect.promise(() => up.setMode("ok"))
          const tUp = process.hrtime.bigint()
          let calls = 0
          for (;;) {
            yield* Effect.exit(ours.get("/item"))
            calls++
            if ((yield* ours.breaker.state) === "closed") break
            yield* Effect.sleep("10 millis")
          }
          return { closeAfterUpMs: round(Number(process.hrtime.bigint() - tUp) / 1e6, 1), callsWhileOpen: calls }
        })))
      } finally {
        await rt.runPromise(Scope.close(scope, Exit.void))
      }
    } finally {
      up.close()
    }

    return {
      settings: {
        maxAttempts: s.maxAttempts,
        backoffMs: Duration.toMillis(s.backoff),
        timeoutMs: Duration.toMillis(s.timeout),
        hangTimeoutMs: Duration.toMillis(s.hangTimeout),
        failureThreshold: s.failureThreshold,
        recoveryTimeoutMs: Duration.toMillis(s.recoveryTimeout)
      },
      down: { refused, hanging },
      transient: {
        calls: CALLS,
        repeats: REPEATS,
        concurrency: CONCURRENCY,
        failureRate: 0.3,
        plainSuccessRate: round(median(plainRates), 4),
        plainSuccessRateRange: range(plainRates),
        oursSuccessRate: round(median(oursRates), 4),
        oursSuccessRateRange: range(oursRates),
        oursServiceUnavailable: oursUnavailable,
        oursSuccessRateOfAdmitted: round(median(oursClosedRates), 4),
        oursSuccessRateOfAdmittedRange: range(oursClosedRates).map((x) => round(x, 4)),
        /** Ours with `failureRate({ threshold: 0.5, minimumCalls: 20, window: last 100 calls })`. */
        oursFailureRateSuccessRate: round(median(rateRates), 4),
        oursFailureRateSuccessRateRange: range(rateRates).map((x) => round(x, 4))
      },
      recovery: { recoveryTimeoutMs: Duration.toMillis(s.recoveryTimeout), ...recovery }
    }
  } finally {
    await rt.dispose()
  }
}

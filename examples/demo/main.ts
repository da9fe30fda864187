/**
 * `npm run demo`: an embedded upstream, a gateway using three resilient clients, a scripted
 * outage and recovery printed as it happens, then the Python guide's "Performance Impact"
 * table measured live.
 *
 *   npm run demo                     scaled timings (under a minute)
 *   npm run demo -- --real-timings   the guide's timings (10 s timeout, 1 s backoff, 60 s recovery)
 *   npm run demo -- --serve          keep the gateway up and print its URLs
 *   npm run demo -- --fleet          three replica processes sharing their breakers through Redis
 *                                    (needs redis-server on PATH; see fleet.ts)
 */
import { HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Schedule, Stream } from "effect"
import * as http from "node:http"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry } from "../../src/index.js"
import { Billing, clients, Git, router, Search, type Timings } from "./gateway.js"
import { makeUpstream, type Mode, type Upstream } from "./upstream.js"

const realTimings = process.argv.includes("--real-timings")
const serve = process.argv.includes("--serve")
// --quick: shorter still, for the end-to-end test of the demo
const quick = process.argv.includes("--quick")

const timings: Timings = realTimings
  ? { timeout: "10 seconds", backoff: "1 second", recoveryTimeout: "60 seconds" }
  : quick
  ? { timeout: "200 millis", backoff: "20 millis", recoveryTimeout: "1 second" }
  : { timeout: "400 millis", backoff: "100 millis", recoveryTimeout: "3 seconds" }

const started = performance.now()
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`
const say = (line: string) => Effect.sync(() => console.log(`${stamp()} ${line}`))
const ms = (millis: number) =>
  millis < 1 ? `${(millis * 1000).toFixed(0)}µs` : `${millis.toFixed(millis < 10 ? 1 : 0)}ms`
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(Effect.exit(effect), (exit) => ({ exit, millis: performance.now() - start }))
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

// ---------------------------------------------------------------------------------------------
// The scenario: healthy → down → open → fallback answers fast → back → probe → closed
// ---------------------------------------------------------------------------------------------

const scenario = (gatewayUrl: string, upstream: Upstream) =>
  Effect.gen(function*() {
    const driver = yield* HttpClient.HttpClient
    const switchTo = (mode: Mode, words: string) => Effect.zipRight(upstream.setMode(mode), say(`── upstream ${words}`))
    const search = (label: string) =>
      Effect.gen(function*() {
        const { exit, millis } = yield* timed(
          Effect.flatMap(driver.get(`${gatewayUrl}/search?q=effect`), (r) => r.json as Effect.Effect<any, unknown>)
        )
        const body = Exit.isSuccess(exit) ? exit.value : undefined
        const source = body?.source === "chroma" ? "chroma" : `fallback (${body?.reason ?? "?"})`
        yield* say(`${label.padEnd(24)} GET /search → ${source.padEnd(32)} ${ms(millis)}`)
      })
    const charge = Effect.gen(function*() {
      const { exit, millis } = yield* timed(driver.post(`${gatewayUrl}/charge`))
      yield* say(
        `${"billing".padEnd(24)} POST /charge → HTTP ${Exit.isSuccess(exit) ? exit.value.status : "?"} ${ms(millis)}`
      )
    })

    yield* switchTo("healthy", "healthy")
    for (let i = 1; i <= 3; i++) yield* search(`healthy #${i}`)
    yield* charge

    yield* switchTo("refusing", "down: refusing connections")
    const chroma = yield* Search
    let i = 0
    while ((yield* chroma.breaker.state) !== "open") yield* search(`down #${++i}`)
    for (let j = 1; j <= 3; j++) yield* search(`open, fallback #${j}`)
    yield* charge

    yield* switchTo("healthy", "back up")
    yield* say(
      `waiting for the breaker's recovery timeout (${Duration.format(Duration.decode(timings.recoveryTimeout))})`
    )
    yield* chroma.breaker.changes.pipe(Stream.filter((c) => c.to === "half_open"), Stream.take(1), Stream.runDrain)
    yield* search("probe")
    yield* say(`Chroma Server is ${yield* chroma.breaker.state}`)
  })

// ---------------------------------------------------------------------------------------------
// The Python guide's "Performance Impact" table, measured
// ---------------------------------------------------------------------------------------------

interface Row {
  readonly scenario: string
  readonly before: string
  readonly after: string
  readonly improvement: string
}

const performanceTable = (upstream: Upstream) =>
  Effect.gen(function*() {
    const platform = yield* HttpClient.HttpClient
    const timeout = Duration.decode(timings.timeout)
    const backoff = Duration.decode(timings.backoff)
    // the "before": the same attempts, timeout and backoff, and no breaker
    const plainCall = Effect.flatMap(
      Effect.timeout(Effect.flatMap(platform.get(`${upstream.url}/query`), (r) => r.text), timeout),
      () => Effect.void
    ).pipe(
      Effect.retry(Schedule.intersect(Schedule.exponential(backoff), Schedule.recurs(2)))
    )
    const freshClient = (serviceName: string) =>
      ResilientServiceClient.make({ baseUrl: upstream.url, serviceName, ...timings })

    // Service down: the upstream hangs
    yield* upstream.setMode("hanging")
    const plainDown = yield* timed(plainCall)
    const down = yield* freshClient("perf-down")
    const t0 = performance.now()
    let firstFastFailure = Number.NaN
    while (Number.isNaN(firstFastFailure)) {
      const { exit } = yield* timed(down.get("/query"))
      if (Exit.isFailure(exit) && String(exit.cause).includes("ServiceUnavailable")) {
        firstFastFailure = performance.now() - t0
      }
    }
    const openLatencies: Array<number> = []
    for (let k = 0; k < (quick ? 50 : 200); k++) openLatencies.push((yield* timed(down.get("/query"))).millis)

    // Transient failure: 30 % of requests fail
    yield* upstream.setMode("flaky")
    const calls = quick ? 60 : 200
    let plainOk = 0
    for (let k = 0; k < calls; k++) {
      const { exit } = yield* timed(
        Effect.flatMap(
          platform.get(`${upstream.url}/query`),
          (r) => r.status < 400 ? Effect.void : Effect.fail("status")
        )
      )
      if (Exit.isSuccess(exit)) plainOk++
    }
    const flaky = yield* ResilientServiceClient.make({
      baseUrl: upstream.url,
      serviceName: "perf-flaky",
      ...timings,
      backoff: "10 millis",
      // 5 failed attempts in a row happen by chance at a steady 30 % error rate and would open the
      // guide's consecutive-failures breaker; a rate over the last calls tells noise from an outage
      strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 20, window: { kind: "count", size: 100 } })
    })
    let oursOk = 0
    for (let k = 0; k < calls; k++) if (Exit.isSuccess((yield* timed(flaky.get("/query"))).exit)) oursOk++

    // Recovery: from the upstream coming back to the first success, calls arriving every 50 ms
    yield* upstream.setMode("refusing")
    yield* Effect.exit(plainCall)
    yield* upstream.setMode("healthy")
    const plainBack = performance.now()
    while (Exit.isFailure((yield* timed(plainCall)).exit)) yield* Effect.sleep("50 millis")
    const plainRecoveredAfter = performance.now() - plainBack
    yield* upstream.setMode("refusing")
    const recovering = yield* freshClient("perf-recovery")
    while ((yield* recovering.breaker.state) !== "open") yield* Effect.exit(recovering.get("/query"))
    yield* upstream.setMode("healthy")
    const back = performance.now()
    while ((yield* recovering.breaker.state) !== "closed") {
      yield* Effect.exit(recovering.get("/query"))
      yield* Effect.sleep("50 millis")
    }
    const recoveredAfter = performance.now() - back

    const rows: ReadonlyArray<Row> = [
      {
        scenario: "Service down (hanging)",
        before: `${(plainDown.millis / 1000).toFixed(2)}s per call, every call`,
        after: `open after ${(firstFastFailure / 1000).toFixed(2)}s, then ${ms(median(openLatencies))} per call`,
        improvement: `${(plainDown.millis / median(openLatencies)).toFixed(0)}× faster per call once open`
      },
      {
        scenario: "Transient failure (30%)",
        before: `${((100 * plainOk) / calls).toFixed(1)}% succeed (no retry)`,
        after: `${((100 * oursOk) / calls).toFixed(1)}% succeed (auto-retry, failure-rate breaker)`,
        improvement: `+${((100 * (oursOk - plainOk)) / calls).toFixed(1)} points`
      },
      {
        scenario: "Recovery",
        before: `first success ${(plainRecoveredAfter / 1000).toFixed(2)}s after it came back (no breaker)`,
        after: `closed ${(recoveredAfter / 1000).toFixed(2)}s after the upstream came back`,
        improvement: "automatic, no restart"
      }
    ]
    return rows
  })

const printTable = (rows: ReadonlyArray<Row>) =>
  Effect.sync(() => {
    const headers = ["Scenario", "Before (plain client)", "After (effect-resilience)", "Improvement"]
    const cells = rows.map((r) => [r.scenario, r.before, r.after, r.improvement])
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
    const line = (cols: ReadonlyArray<string>) => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
    console.log("")
    console.log(
      `Performance Impact (${realTimings ? "the guide's timings" : "scaled timings"}: timeout ${
        Duration.format(Duration.decode(timings.timeout))
      }, backoff ${Duration.format(Duration.decode(timings.backoff))}, recovery ${
        Duration.format(Duration.decode(timings.recoveryTimeout))
      }, 3 attempts, threshold 5)`
    )
    console.log(line(headers))
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
    for (const row of cells) console.log(line(row))
  })

// ---------------------------------------------------------------------------------------------

const program = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const upstream = yield* makeUpstream()
  const app = HttpServer.serve(router).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(clients(upstream.url, timings)),
    Layer.provideMerge(ServiceRegistry.layer)
  )
  const context = yield* Layer.buildWithScope(app, scope)
  const gateway = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address)).pipe(
    Effect.provide(context)
  )
  const gatewayUrl = gateway.replace("0.0.0.0", "127.0.0.1")
  yield* say(
    `upstream on ${upstream.url}, gateway on ${gatewayUrl} (${realTimings ? "the guide's timings" : "scaled timings"})`
  )

  // print every transition of the three breakers as it happens
  const all = yield* Effect.provide(Effect.all([Search, Billing, Git]), context)
  for (const client of all) {
    yield* client.breaker.changes.pipe(
      Stream.runForEach((c) => say(`⚡ ${c.service}: ${c.from} → ${c.to}`)),
      Effect.forkIn(scope)
    )
  }
  yield* Effect.yieldNow()

  if (serve) {
    yield* say(`serving: ${gatewayUrl}/search?q=effect  ${gatewayUrl}/v1/api/status/services  (Ctrl-C to stop)`)
    return yield* Effect.never
  }
  yield* Effect.provide(scenario(gatewayUrl, upstream), context)
  yield* say("measuring the Performance Impact table…")
  const rows = yield* performanceTable(upstream)
  yield* printTable(rows)
})

const main = program.pipe(
  Effect.scoped,
  Effect.provide(NodeHttpClient.layerUndici),
  Logger.withMinimumLogLevel(LogLevel.None)
)

if (process.argv.includes("--fleet")) {
  // the fleet demo: replica processes sharing their breakers through Redis
  void import("./fleet.js")
} else {
  Effect.runPromise(main).then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}

/**
 * `npm run demo`: an embedded upstream, a gateway using three resilient clients, a scripted
 * outage and recovery printed as it happens, then the Python guide's "Performance Impact"
 * table measured live.
 *
 *   npm run demo                     scaled timings (under a minute)
 *   npm run demo -- --real-timings   the guide's timings (10 s timeout, 1 s backoff, 60 s recovery)
 *   npm run demo -- --serve          keep the gateway up, print its URLs, and let a person break
 *                                    and heal the upstream (POST /demo/upstream/down, /up)
 *   npm run demo -- --fleet          three replica processes sharing their breakers through Redis
 *                                    (needs redis-server on PATH; see fleet.ts)
 */
import { HttpClient, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Exit, Fiber, Layer, Logger, LogLevel, Schedule, Schema, Stream } from "effect"
import * as http from "node:http"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry, UndiciTransport } from "../../src/index.js"
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
// what a newcomer cannot guess, said where it happens
const explain = (line: string) => say(`   ↳ ${line}`)
const seconds = (millis: number) => `${(millis / 1000).toFixed(1)}s`
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
    yield* explain(
      "billing's client has retryUnsafeMethods: false and each charge carries an Idempotency-Key: the safe setting " +
        "for payments (the default retries a POST, as the Python client did)"
    )

    yield* switchTo("refusing", "down: refusing connections")
    const chroma = yield* Search
    let i = 0
    while ((yield* chroma.breaker.state) !== "open") yield* search(`down #${++i}`)
    yield* explain(
      `open during call #${i}: the breaker counts failed attempts, not calls; each call makes up to 3 attempts ` +
        `and 5 failed attempts in a row open it (call #1's three, then two of call #2's)`
    )
    yield* explain("call #1 still answered from the fallback: search fails open on the client's own errors too")
    for (let j = 1; j <= 3; j++) yield* search(`open, fallback #${j}`)
    yield* explain("while open, calls are rejected at once with ServiceUnavailable and never reach the upstream")
    yield* charge
    yield* explain(
      "billing answers 503 on purpose: a charge cannot come from a fallback, so it fails closed " +
        "(search, which can, fails open)"
    )

    yield* switchTo("healthy", "back up")
    yield* say(
      `waiting for the breaker's recovery timeout (${Duration.format(Duration.decode(timings.recoveryTimeout))})`
    )
    yield* explain("the upstream is back, but until then calls are still rejected without reaching it")
    yield* chroma.breaker.changes.pipe(Stream.filter((c) => c.to === "half_open"), Stream.take(1), Stream.runDrain)
    yield* explain("half_open: the next call is let through as a probe; if it succeeds the breaker closes")
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

/**
 * Measures one row of the table, saying which row and, while it runs, how long it has been at it:
 * with the guide's timings a row takes a minute or more.
 */
const measureRow = <A, E, R>(index: number, title: string, what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* say(`measuring row ${index}/3, ${title}: ${what}`)
    const start = performance.now()
    const tick = realTimings ? "10 seconds" : quick ? "1 second" : "3 seconds"
    const ticker = yield* Effect.fork(
      Effect.forever(
        Effect.zipRight(
          Effect.sleep(tick),
          Effect.suspend(() => say(`   … row ${index}/3 still measuring (${seconds(performance.now() - start)})`))
        )
      )
    )
    const result = yield* Effect.ensuring(effect, Fiber.interrupt(ticker))
    yield* say(`   row ${index}/3 measured in ${seconds(performance.now() - start)}`)
    return result
  })

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
    const down = yield* measureRow(
      1,
      "Service down",
      "the upstream hangs; one call of a plain client, then a resilient client until its breaker opens, then 200 calls",
      Effect.gen(function*() {
        yield* upstream.setMode("hanging")
        const plainDown = yield* timed(plainCall)
        const client = yield* freshClient("perf-down")
        const t0 = performance.now()
        let firstFastFailure = Number.NaN
        while (Number.isNaN(firstFastFailure)) {
          const { exit } = yield* timed(client.get("/query"))
          if (Exit.isFailure(exit) && String(exit.cause).includes("ServiceUnavailable")) {
            firstFastFailure = performance.now() - t0
          }
        }
        const openLatencies: Array<number> = []
        for (let k = 0; k < (quick ? 50 : 200); k++) openLatencies.push((yield* timed(client.get("/query"))).millis)
        return { plainMillis: plainDown.millis, firstFastFailure, openMedian: median(openLatencies) }
      })
    )

    // Transient failure: 30 % of requests fail
    const calls = quick ? 60 : 200
    const transient = yield* measureRow(
      2,
      "Transient failure",
      `30% of requests answer 503; ${calls} calls without retry, then ${calls} through a resilient client`,
      Effect.gen(function*() {
        yield* upstream.setMode("flaky")
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
          breaker: {
            strategy: CircuitBreaker.failureRate({
              threshold: 0.5,
              minimumCalls: 20,
              window: { kind: "count", size: 100 }
            })
          }
        })
        let oursOk = 0
        for (let k = 0; k < calls; k++) if (Exit.isSuccess((yield* timed(flaky.get("/query"))).exit)) oursOk++
        return { plainOk, oursOk }
      })
    )

    // Recovery: from the upstream coming back to the first success, calls arriving every 50 ms
    const recovery = yield* measureRow(
      3,
      "Recovery",
      "the upstream refuses, then comes back; how long until calls succeed again, without and with a breaker",
      Effect.gen(function*() {
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
        return { plainRecoveredAfter, recoveredAfter: performance.now() - back }
      })
    )

    const rows: ReadonlyArray<Row> = [
      {
        scenario: "Service down (hanging)",
        before: `${(down.plainMillis / 1000).toFixed(2)}s per call, every call`,
        after: `open after ${(down.firstFastFailure / 1000).toFixed(2)}s, then ${ms(down.openMedian)} per call`,
        improvement: `${(down.plainMillis / down.openMedian).toFixed(0)}× faster per call once open`
      },
      {
        scenario: "Transient failure (30%)",
        before: `${((100 * transient.plainOk) / calls).toFixed(1)}% succeed (no retry)`,
        after: `${((100 * transient.oursOk) / calls).toFixed(1)}% succeed (auto-retry, failure-rate breaker)`,
        improvement: `+${((100 * (transient.oursOk - transient.plainOk)) / calls).toFixed(1)} points`
      },
      {
        scenario: "Recovery",
        before: `first success ${(recovery.plainRecoveredAfter / 1000).toFixed(2)}s after it came back (no breaker)`,
        after: `closed ${(recovery.recoveredAfter / 1000).toFixed(2)}s after the upstream came back`,
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
    console.log("")
    console.log(
      "Service down: the plain client waits out every attempt of every call; the breaker opens after 5 failed " +
        "attempts (during the 2nd call) and from then on answers at once."
    )
    console.log(
      "Transient failure: retries turn most failed attempts into successful calls; the demo's client uses a " +
        "failure-rate breaker here, since 5 failures in a row happen by chance at 30%."
    )
    console.log(
      "Recovery: \"before\" is a client without a breaker that never stopped calling, so it succeeds as soon as " +
        "the upstream is back; \"after\" is one that waited out its recovery timeout (" +
        Duration.format(Duration.decode(timings.recoveryTimeout)) +
        ") before its probe. The breaker is slower to notice a recovery on purpose: " +
        "during the outage it sent nothing, where the plain client kept hammering the service."
    )
  })

// ---------------------------------------------------------------------------------------------
// --serve: a person breaks and heals the upstream and watches the status page
// ---------------------------------------------------------------------------------------------

const upstreamModes: Record<string, Mode> = { down: "refusing", up: "healthy", hang: "hanging", flaky: "flaky" }

/** `POST /demo/upstream/down` (refuse connections), `/up`, `/hang`, `/flaky`: the upstream's health, by hand. */
const demoRoutes = (upstream: Upstream) =>
  HttpRouter.empty.pipe(
    HttpRouter.post(
      "/demo/upstream/:health",
      Effect.gen(function*() {
        const { health } = yield* HttpRouter.schemaPathParams(Schema.Struct({ health: Schema.String }))
        const mode = upstreamModes[health]
        if (mode === undefined) {
          return yield* HttpServerResponse.json({ error: `unknown: ${health}`, known: Object.keys(upstreamModes) }, {
            status: 404
          })
        }
        yield* upstream.setMode(mode)
        yield* say(`── upstream ${health} (${mode}), by request`)
        return yield* HttpServerResponse.json({ upstream: mode })
      })
    )
  )

const serveForAPerson = (gatewayUrl: string) =>
  Effect.gen(function*() {
    const driver = yield* HttpClient.HttpClient
    yield* say("serving (Ctrl-C to stop):")
    const lines = [
      ["status page", `${gatewayUrl}/v1/api/status`],
      ["status JSON", `${gatewayUrl}/v1/api/status/services`],
      ["search", `${gatewayUrl}/search?q=effect`],
      ["break the upstream", `curl -X POST ${gatewayUrl}/demo/upstream/down`],
      ["heal it", `curl -X POST ${gatewayUrl}/demo/upstream/up`],
      ["or make it hang / flaky", `curl -X POST ${gatewayUrl}/demo/upstream/hang  (or /flaky)`]
    ]
    for (const [what, where] of lines) yield* say(`   ${what!.padEnd(24)} ${where}`)
    const every = realTimings ? "1 second" : quick ? "100 millis" : "300 millis"
    yield* explain(
      `a background caller sends GET /search every ${Duration.format(Duration.decode(every))}, so the breaker ` +
        "sees traffic: break the upstream and watch the page turn red, heal it and watch it turn green"
    )
    return yield* Effect.exit(driver.get(`${gatewayUrl}/search?q=effect`)).pipe(
      Effect.zipRight(Effect.sleep(every)),
      Effect.forever
    )
  })

// ---------------------------------------------------------------------------------------------

const program = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const upstream = yield* makeUpstream()
  const app = HttpServer.serve(HttpRouter.concat(router, demoRoutes(upstream))).pipe(
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

  if (serve) return yield* serveForAPerson(gatewayUrl)
  yield* Effect.provide(scenario(gatewayUrl, upstream), context)
  yield* say("measuring the Performance Impact table…")
  const rows = yield* performanceTable(upstream)
  yield* printTable(rows)
})

// The clients run on the lean UndiciTransport, the faster of the two transports in
// `npm run bench` (docs/transports.md); the platform's `NodeHttpClient.layerUndici` works the
// same way: swap this one layer.
const main = program.pipe(
  Effect.scoped,
  Effect.provide(UndiciTransport.layer()),
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

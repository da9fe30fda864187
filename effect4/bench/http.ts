/**
 * The transport rows of the HTTP benchmark, on Effect 4 and undici 8: an upstream in a child
 * process on 127.0.0.1 (the top-level bench/server.mjs), concurrency 50, all defaults, in one
 * process, contenders alternating: raw undici (`undici.request`); the floor an Effect client
 * stands on (`Effect.tryPromise` around `undici.request`); one `Effect.callback` around
 * `dispatcher.dispatch` with undici 8's handler API (what a transport can reach under the
 * floor); Effect 4's own `NodeHttpClient.layerUndici`; `FetchHttpClient.layer` (the runtime's
 * fetch); the lean transport (`UndiciTransport.layer()`); our `ResilientServiceClient` with its
 * defaults on Effect 4's undici client and on the lean transport.
 *
 *   npm run bench:http                (in effect4/; 7 repeats x 12,000 requests)
 *   npm run bench:http -- --quick     (3 repeats x 1,500 requests)
 *
 * Promise contenders run 50 async loops; Effect contenders run 50 fibers that each loop over
 * their requests. Per contender: requests/s, p50/p99 latency, CPU µs per request and its ratio
 * to the floor's CPU in the same repeat (median and range over the repeats), GC time per request.
 * Prints a table and writes bench/results/http.json and .md.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Layer } from "effect"
import { Effect, Exit, ManagedRuntime, Scope } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { fork } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { Agent, type Dispatcher, request } from "undici"
import { fmt, fmtRange, markdown, median, orderFor, percentile, range, round, table } from "../../bench/lib.js"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const CONCURRENCY = 50

/** The rows, in the order printed. */
const CLIENTS = ["undici", "floor", "callbackDispatch", "platform", "fetch", "lean", "ours", "oursLean"] as const
type Client = (typeof CLIENTS)[number]

const LABELS: Record<Client, string> = {
  undici: "undici (raw `request`)",
  floor: "floor: `Effect.tryPromise(undici.request)`",
  callbackDispatch: "`Effect.callback` + `dispatcher.dispatch`",
  platform: "`NodeHttpClient.layerUndici` (Effect 4)",
  fetch: "`FetchHttpClient.layer` (Effect 4)",
  lean: "`UndiciTransport.layer()`",
  ours: "`ResilientServiceClient` on `NodeHttpClient.layerUndici`",
  oursLean: "`ResilientServiceClient` on `UndiciTransport`"
}

interface Sample {
  readonly reqPerSec: number
  readonly cpuUsPerReq: number
  readonly gcUsPerReq: number
  readonly p50Ms: number
  readonly p99Ms: number
}

// the top-level upstream (bench/server.mjs), from this file or its bundle in bench/.build/
const serverPath = fileURLToPath(
  new URL("../../bench/server.mjs", import.meta.url.replace("/bench/.build/", "/bench/")).href
)

const startUpstream = async () => {
  const child = fork(serverPath, [JSON.stringify("ok")], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port))
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}`)))
  })
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() }
}

// Garbage collections as Node reports them; a sample keeps those that started while it ran.
const gcPauses: Array<{ readonly start: number; readonly duration: number }> = []
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push({ start: entry.startTime, duration: entry.duration })
})

type Runner = (n: number) => Promise<Sample>

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

const measured = async (n: number, drive: (latencies: Float64Array) => Promise<unknown>): Promise<Sample> => {
  const latencies = new Float64Array(n)
  gcPauses.length = 0
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  await drive(latencies)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const ended = performance.now()
  // GC entries are delivered asynchronously: give the observer one turn of the event loop
  await nextTurn()
  const gcMs = gcPauses.filter((p) => p.start >= started && p.start <= ended).reduce((a, p) => a + p.duration, 0)
  const sorted = Array.from(latencies).sort((a, b) => a - b)
  return {
    reqPerSec: n / seconds,
    cpuUsPerReq: (cpu.user + cpu.system) / n,
    gcUsPerReq: (gcMs * 1000) / n,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99)
  }
}

/** 50 async loops, each awaiting one request at a time. */
const promiseRunner = (one: () => Promise<unknown>): Runner => (n) =>
  measured(n, (latencies) => {
    let next = 0
    const worker = async () => {
      while (next < n) {
        const i = next++
        const t0 = process.hrtime.bigint()
        await one()
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6
      }
    }
    return Promise.all(Array.from({ length: CONCURRENCY }, worker))
  })

/** 50 fibers, each running one request at a time in a loop until `n` have been taken. */
const effectRunner = <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, never>,
  one: Effect.Effect<unknown, unknown, R>
): Runner =>
(n) =>
  measured(n, (latencies) => {
    let next = 0
    const worker: Effect.Effect<void, unknown, R> = Effect.suspend(() => {
      if (next >= n) return Effect.void
      const i = next++
      const t0 = process.hrtime.bigint()
      return Effect.flatMap(one, () => {
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6
        return worker
      })
    })
    return runtime.runPromise(
      Effect.all(Array.from({ length: CONCURRENCY }, () => worker), { concurrency: "unbounded", discard: true })
    )
  })

const undiciGet = async (dispatcher: Agent, url: string) => {
  const res = await request(url, { dispatcher })
  const text = await res.body.text()
  if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`)
  return text
}

/**
 * The least an Effect can do to make a request on undici 8: one `Effect.callback` around
 * `dispatcher.dispatch`, the body gathered by the handler; interrupting it aborts the request.
 */
const dispatchGet = (dispatcher: Dispatcher, url: URL): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume) => {
    const chunks: Array<Uint8Array> = []
    let controller: Dispatcher.DispatchController | undefined
    let status = 0
    let done = false
    const decoder = new TextDecoder()
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
      },
      onResponseStart(_c, statusCode) {
        status = statusCode
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk)
      },
      onResponseEnd() {
        done = true
        const text = chunks.length === 1 ? decoder.decode(chunks[0]) : chunks.map((c) => decoder.decode(c)).join("")
        resume(status >= 500 ? Effect.fail(new Error(`status ${status}`)) : Effect.succeed(text))
      },
      onResponseError(_c, error) {
        done = true
        resume(Effect.fail(error))
      }
    }
    dispatcher.dispatch({ origin: url.origin, path: url.pathname + url.search, method: "GET", headers: {} }, handler)
    return Effect.sync(() => {
      if (!done) controller?.abort(new Error("interrupted"))
    })
  })

const run = async () => {
  const REQUESTS = quick ? 1_500 : 12_000
  const REPEATS = quick ? 3 : 7
  const upstream = await startUpstream()
  const url = `${upstream.url}/item`
  const platformRuntime = ManagedRuntime.make(NodeHttpClient.layerUndici as Layer.Layer<HttpClient.HttpClient>)
  const fetchRuntime = ManagedRuntime.make(FetchHttpClient.layer)
  const leanRuntime = ManagedRuntime.make(UndiciTransport.layer())
  const agents: Array<Agent> = []
  const agent = () => {
    const a = new Agent({ connections: CONCURRENCY })
    agents.push(a)
    return a
  }
  const scope = Scope.makeUnsafe()
  gcObserver.observe({ entryTypes: ["gc"] })
  try {
    const ours = await platformRuntime.runPromise(
      Scope.provide(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const oursLean = await leanRuntime.runPromise(
      Scope.provide(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const undiciAgent = agent()
    const floorAgent = agent()
    const dispatchAgent = agent()
    const target = new URL(url)
    const get = Effect.flatMap(HttpClient.get(url), (r) => r.text)
    const runners: Record<Client, Runner> = {
      undici: promiseRunner(() => undiciGet(undiciAgent, url)),
      floor: effectRunner(platformRuntime, Effect.tryPromise(() => undiciGet(floorAgent, url))),
      callbackDispatch: effectRunner(platformRuntime, Effect.suspend(() => dispatchGet(dispatchAgent, target))),
      platform: effectRunner(platformRuntime, get),
      fetch: effectRunner(fetchRuntime, get),
      lean: effectRunner(leanRuntime, get),
      ours: effectRunner(platformRuntime, Effect.flatMap(ours.get("/item"), (r) => r.text)),
      oursLean: effectRunner(leanRuntime, Effect.flatMap(oursLean.get("/item"), (r) => r.text))
    }
    for (const name of CLIENTS) await runners[name](quick ? 500 : 1_000) // warm up
    const samples = Object.fromEntries(CLIENTS.map((name) => [name, [] as Array<Sample>])) as Record<
      Client,
      Array<Sample>
    >
    for (let i = 0; i < REPEATS; i++) {
      for (const name of orderFor(CLIENTS, i)) samples[name].push(await runners[name](REQUESTS))
    }
    const summary = (name: Client) => {
      const s = samples[name]
      const rps = s.map((x) => x.reqPerSec)
      const cpuToFloor = s.map((x, i) => x.cpuUsPerReq / samples.floor[i]!.cpuUsPerReq)
      const cpuToPlatform = s.map((x, i) => x.cpuUsPerReq / samples.platform[i]!.cpuUsPerReq)
      return {
        reqPerSec: Math.round(median(rps)),
        reqPerSecRange: range(rps).map(Math.round) as [number, number],
        p50Ms: round(median(s.map((x) => x.p50Ms)), 3),
        p99Ms: round(median(s.map((x) => x.p99Ms)), 3),
        cpuUsPerReq: round(median(s.map((x) => x.cpuUsPerReq)), 1),
        /** This one's CPU per request over the floor's (same repeat): < 1 is cheaper than the floor. */
        cpuRatioToFloor: round(median(cpuToFloor), 3),
        cpuRatioToFloorRange: range(cpuToFloor).map((x) => round(x, 3)) as [number, number],
        /** This one's CPU per request over Effect 4's undici client's (same repeat). */
        cpuRatioToPlatform: round(median(cpuToPlatform), 3),
        gcUsPerReq: round(median(s.map((x) => x.gcUsPerReq)), 1)
      }
    }
    const results = Object.fromEntries(CLIENTS.map((name) => [name, summary(name)])) as Record<
      Client,
      ReturnType<typeof summary>
    >
    return { requests: REQUESTS, repeats: REPEATS, concurrency: CONCURRENCY, results }
  } finally {
    gcObserver.disconnect()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await platformRuntime.dispose()
    await fetchRuntime.dispose()
    await leanRuntime.dispose()
    for (const a of agents) await a.close()
    upstream.close()
  }
}

const header = `Node ${process.version}, ${cpus().length} cores, load ${
  loadavg().map((x) => x.toFixed(2)).join(" ")
} at start, ${new Date().toISOString()}`
const outcome = await run()
table(
  `HTTP transports, Effect 4 (${outcome.repeats} repeats x ${outcome.requests} requests, concurrency ${outcome.concurrency}; ${header})`,
  ["client", "CPU µs/req", "CPU / floor (range)", "CPU / platform", "req/s (range)", "p50 ms", "p99 ms", "GC µs/req"],
  CLIENTS.map((name) => {
    const r = outcome.results[name]
    return [
      LABELS[name],
      fmt(r.cpuUsPerReq),
      `${fmt(r.cpuRatioToFloor)} (${fmtRange(r.cpuRatioToFloorRange)})`,
      fmt(r.cpuRatioToPlatform),
      `${fmt(r.reqPerSec)} (${fmtRange(r.reqPerSecRange)})`,
      fmt(r.p50Ms),
      fmt(r.p99Ms),
      fmt(r.gcUsPerReq)
    ]
  })
)
mkdirSync("bench/results", { recursive: true })
writeFileSync("bench/results/http.json", JSON.stringify({ header, ...outcome }, null, 2))
writeFileSync("bench/results/http.md", markdown.join("\n"))

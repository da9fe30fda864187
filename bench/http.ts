/**
 * HTTP on loopback (upstream in a child process on 127.0.0.1), concurrency 50, all defaults, in
 * one process, contenders alternating: raw undici; the floor an Effect client stands on
 * (`Effect.tryPromise` around `undici.request`); one `Effect.async` around `dispatcher.dispatch`
 * (what a transport can reach under the floor); the raw `@effect/platform` HttpClient
 * (`NodeHttpClient.layerUndici`); the raw lean transport (`UndiciTransport.layer()`); our client
 * with defaults on each of the two; opossum wrapping undici; cockatiel (retry + breaker + timeout)
 * wrapping undici.
 *
 * Promise contenders run 50 async loops; Effect contenders run 50 fibers that each loop over their
 * requests (an `Effect.forEach` over every request would keep an exit per request and measure the
 * driver as much as the client). Per contender: requests/s, p50/p99 latency, CPU µs per request,
 * its ratio to the floor's CPU in the same repeat, GC time per request, and (Effect contenders, in
 * a separate instrumented pass) run-loop steps per request. Medians and min–max over the repeats.
 */
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  timeout,
  TimeoutStrategy,
  wrap
} from "cockatiel"
import { Effect, Exit, ManagedRuntime, Scope } from "effect"
import { setMaxListeners } from "node:events"
import { PerformanceObserver } from "node:perf_hooks"
import Opossum from "opossum"
import { Agent, type Dispatcher, request } from "undici"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import { median, type Options, orderFor, percentile, range, round, startUpstream } from "./lib.js"

const CONCURRENCY = 50

/** The rows of the HTTP table, in the order printed. */
export const CLIENTS = [
  "undici",
  "floor",
  "asyncDispatch",
  "platform",
  "lean",
  "ours",
  "oursLean",
  "opossum",
  "cockatiel"
] as const
type Client = (typeof CLIENTS)[number]

/** The contenders that run on Effect's run loop (their steps per request are counted). */
const EFFECT_CLIENTS: ReadonlyArray<Client> = ["floor", "asyncDispatch", "platform", "lean", "ours", "oursLean"]

interface Sample {
  readonly reqPerSec: number
  readonly cpuUsPerReq: number
  readonly gcUsPerReq: number
  readonly p50Ms: number
  readonly p99Ms: number
}

// Garbage collections as Node reports them; a sample keeps those that started while it ran.
const gcPauses: Array<{ readonly start: number; readonly duration: number }> = []
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push({ start: entry.startTime, duration: entry.duration })
})

type Runner = (n: number) => Promise<Sample>

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
  await new Promise((resolve) => setImmediate(resolve))
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

const undiciGet = async (dispatcher: Agent, url: string, signal?: AbortSignal) => {
  const res = await request(url, { dispatcher, ...(signal ? { signal } : {}) })
  const text = await res.body.text()
  if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`)
  return text
}

/**
 * The least an Effect can do to make a request: one `Effect.async` around `dispatcher.dispatch`,
 * the body gathered by the handler; interrupting it aborts the request.
 */
const dispatchGet = (dispatcher: Dispatcher, url: URL): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    const chunks: Array<Uint8Array> = []
    let abort: ((reason?: Error) => void) | undefined
    let status = 0
    let done = false
    const decoder = new TextDecoder()
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest) {
        abort = abortRequest
      },
      onHeaders(statusCode) {
        status = statusCode
        return true
      },
      onData(chunk) {
        chunks.push(chunk)
        return true
      },
      onComplete() {
        done = true
        const text = chunks.length === 1 ? decoder.decode(chunks[0]) : chunks.map((c) => decoder.decode(c)).join("")
        resume(status >= 500 ? Effect.fail(new Error(`status ${status}`)) : Effect.succeed(text))
      },
      onError(error) {
        done = true
        resume(Effect.fail(error))
      }
    }
    dispatcher.dispatch({ origin: url.origin, path: url.pathname + url.search, method: "GET", headers: {} }, handler)
    return Effect.sync(() => {
      if (!done) abort?.(new Error("interrupted"))
    })
  })

/**
 * Counts the run-loop steps of `run(n)`: every primitive the fiber runtime evaluates goes through
 * a method of the fiber's prototype named after its op code, so wrapping those methods counts them.
 */
const countSteps = async (run: (n: number) => Promise<unknown>, n: number): Promise<number> => {
  const fiber = Effect.runFork(Effect.never)
  const proto = Object.getPrototypeOf(fiber) as Record<string, unknown>
  const originals = new Map<string, (...args: Array<unknown>) => unknown>()
  let steps = 0
  for (const key of Object.getOwnPropertyNames(proto)) {
    const method = proto[key]
    if (!/^[A-Z][A-Za-z]+$/.test(key) || typeof method !== "function") continue
    originals.set(key, method as (...args: Array<unknown>) => unknown)
    proto[key] = function(this: unknown, ...args: Array<unknown>) {
      steps++
      return (method as (...args: Array<unknown>) => unknown).apply(this, args)
    }
  }
  try {
    await run(n)
  } finally {
    for (const [key, method] of originals) proto[key] = method
    Effect.runFork(fiber.interruptAsFork(fiber.id()))
  }
  return steps / n
}

export const runHttp = async (opts: Options) => {
  const REQUESTS = opts.quick ? 1_500 : 12_000
  const REPEATS = opts.quick ? 3 : 7
  const upstream = await startUpstream("ok")
  const url = `${upstream.url}/item`
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const leanRuntime = ManagedRuntime.make(UndiciTransport.layer())
  const scope = await runtime.runPromise(Scope.make())
  const agents: Array<Agent> = []
  const agent = () => {
    const a = new Agent({ connections: CONCURRENCY })
    agents.push(a)
    return a
  }
  gcObserver.observe({ entryTypes: ["gc"] })
  try {
    const ours = await runtime.runPromise(
      Scope.extend(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const oursLean = await leanRuntime.runPromise(
      Scope.extend(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const undiciAgent = agent()
    const floorAgent = agent()
    const dispatchAgent = agent()
    const opossumAgent = agent()
    const opossum = new Opossum(() => undiciGet(opossumAgent, url))
    const cockatielAgent = agent()
    const cockatiel = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 1000 }) }),
      circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(10_000, TimeoutStrategy.Aggressive)
    )
    // One long-lived signal for all calls, as cockatiel's own default (a never-aborted signal), but
    // without the listener-count warning at concurrency 50.
    const parentSignal = new AbortController().signal
    setMaxListeners(0, parentSignal)
    const target = new URL(url)
    const runners: Record<Client, Runner> = {
      undici: promiseRunner(() => undiciGet(undiciAgent, url)),
      floor: effectRunner(runtime, Effect.tryPromise(() => undiciGet(floorAgent, url))),
      asyncDispatch: effectRunner(runtime, Effect.suspend(() => dispatchGet(dispatchAgent, target))),
      platform: effectRunner(runtime, Effect.flatMap(HttpClient.get(url), (r) => r.text)),
      lean: effectRunner(leanRuntime, Effect.flatMap(HttpClient.get(url), (r) => r.text)),
      ours: effectRunner(runtime, Effect.flatMap(ours.get("/item"), (r) => r.text)),
      oursLean: effectRunner(leanRuntime, Effect.flatMap(oursLean.get("/item"), (r) => r.text)),
      opossum: promiseRunner(() => opossum.fire()),
      cockatiel: promiseRunner(() =>
        cockatiel.execute(({ signal }) => undiciGet(cockatielAgent, url, signal), parentSignal)
      )
    }
    for (const name of CLIENTS) await runners[name](opts.quick ? 500 : 1_000) // warm up
    const samples = Object.fromEntries(CLIENTS.map((name) => [name, [] as Array<Sample>])) as Record<
      Client,
      Array<Sample>
    >
    for (let i = 0; i < REPEATS; i++) {
      for (const name of orderFor(CLIENTS, i)) samples[name].push(await runners[name](REQUESTS))
    }
    const steps: Partial<Record<Client, number>> = {}
    for (const name of EFFECT_CLIENTS) steps[name] = round(await countSteps(runners[name], 2_000), 1)
    opossum.shutdown()
    const summary = (name: Client) => {
      const s = samples[name]
      const rps = s.map((x) => x.reqPerSec)
      const ratio = s.map((x, i) => x.reqPerSec / samples.platform[i]!.reqPerSec)
      const cpuToFloor = s.map((x, i) => x.cpuUsPerReq / samples.floor[i]!.cpuUsPerReq)
      return {
        reqPerSec: Math.round(median(rps)),
        reqPerSecRange: range(rps).map(Math.round) as [number, number],
        p50Ms: round(median(s.map((x) => x.p50Ms)), 3),
        p99Ms: round(median(s.map((x) => x.p99Ms)), 3),
        cpuUsPerReq: round(median(s.map((x) => x.cpuUsPerReq)), 1),
        /** This one's CPU per request over the floor's (same repeat): < 1 is cheaper than the floor. */
        cpuRatioToFloor: round(median(cpuToFloor), 3),
        cpuRatioToFloorRange: range(cpuToFloor).map((x) => round(x, 3)) as [number, number],
        /** The raw platform client's CPU per request over this one's (same repeat): > 1 is cheaper. */
        cpuRatioToPlatform: round(median(s.map((x, i) => samples.platform[i]!.cpuUsPerReq / x.cpuUsPerReq)), 3),
        gcUsPerReq: round(median(s.map((x) => x.gcUsPerReq)), 1),
        /** Run-loop steps per request (Effect contenders; null for the others). */
        stepsPerReq: steps[name] ?? null,
        ratioToPlatform: round(median(ratio), 3),
        ratioToPlatformRange: range(ratio).map((x) => round(x, 3)) as [number, number]
      }
    }
    /** This one's requests/s over opossum + undici's, median of the repeats' ratios. */
    const throughputToOpossum = (name: Client) =>
      round(median(samples[name].map((x, i) => x.reqPerSec / samples.opossum[i]!.reqPerSec)), 3)
    const result: Record<string, unknown> = { requests: REQUESTS, repeats: REPEATS, concurrency: CONCURRENCY }
    for (const name of CLIENTS) result[name] = summary(name)
    result.oursLeanToOpossum = throughputToOpossum("oursLean")
    return result as {
      requests: number
      repeats: number
      concurrency: number
      oursLeanToOpossum: number
    } & Record<Client, ReturnType<typeof summary>>
  } finally {
    gcObserver.disconnect()
    await runtime.runPromise(Scope.close(scope, Exit.void)).catch(() => undefined)
    await runtime.dispose()
    await leanRuntime.dispose()
    for (const a of agents) await a.close()
    upstream.close()
  }
}

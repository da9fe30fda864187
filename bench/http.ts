/**
 * HTTP on loopback (upstream in a child process on 127.0.0.1), concurrency 50, all defaults, in
 * one process: raw undici, the raw `@effect/platform` HttpClient (`NodeHttpClient.layerUndici`),
 * the raw lean transport (`UndiciTransport.layer()`), our client with defaults on each of the two,
 * opossum wrapping undici, cockatiel (retry + breaker + timeout) wrapping undici.
 * Requests/s, p50/p99 latency, client CPU µs per request; alternating order, medians and
 * min–max over the repeats, ratio to the raw platform client.
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
import Opossum from "opossum"
import { Agent, request } from "undici"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import { median, type Options, orderFor, percentile, range, round, startUpstream } from "./lib.js"

const CONCURRENCY = 50

/** The rows of the HTTP table, in the order printed. */
export const CLIENTS = ["undici", "platform", "lean", "ours", "oursLean", "opossum", "cockatiel"] as const

interface Sample {
  readonly reqPerSec: number
  readonly cpuUsPerReq: number
  readonly p50Ms: number
  readonly p99Ms: number
}

const finish = (n: number, start: bigint, cpu0: NodeJS.CpuUsage, latencies: Float64Array): Sample => {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const sorted = Array.from(latencies).sort((a, b) => a - b)
  return {
    reqPerSec: n / seconds,
    cpuUsPerReq: (cpu.user + cpu.system) / n,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99)
  }
}

type Runner = (n: number) => Promise<Sample>

const promiseRunner = (one: () => Promise<unknown>): Runner => async (n) => {
  const latencies = new Float64Array(n)
  let next = 0
  const cpu0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  const worker = async () => {
    while (next < n) {
      const i = next++
      const t0 = process.hrtime.bigint()
      await one()
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return finish(n, start, cpu0, latencies)
}

const effectRunner = <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, never>,
  one: Effect.Effect<unknown, unknown, R>
): Runner =>
async (n) => {
  const latencies = new Float64Array(n)
  const cpu0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  await runtime.runPromise(Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) =>
      Effect.suspend(() => {
        const t0 = process.hrtime.bigint()
        return Effect.tap(one, () => {
          latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6
        })
      }),
    { concurrency: CONCURRENCY, discard: true }
  ))
  return finish(n, start, cpu0, latencies)
}

const undiciGet = async (dispatcher: Agent, url: string, signal?: AbortSignal) => {
  const res = await request(url, { dispatcher, ...(signal ? { signal } : {}) })
  const text = await res.body.text()
  if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`)
  return text
}

export const runHttp = async (opts: Options) => {
  const REQUESTS = opts.quick ? 1_500 : 5_000
  const REPEATS = opts.quick ? 3 : 5
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
  try {
    const ours = await runtime.runPromise(
      Scope.extend(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const oursLean = await leanRuntime.runPromise(
      Scope.extend(ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "bench" }), scope)
    )
    const undiciAgent = agent()
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
    const runners: Record<string, Runner> = {
      undici: promiseRunner(() => undiciGet(undiciAgent, url)),
      platform: effectRunner(
        runtime,
        Effect.flatMap(HttpClient.get(url), (r) => r.text)
      ),
      lean: effectRunner(
        leanRuntime,
        Effect.flatMap(HttpClient.get(url), (r) => r.text)
      ),
      ours: effectRunner(runtime, Effect.flatMap(ours.get("/item"), (r) => r.text)),
      oursLean: effectRunner(leanRuntime, Effect.flatMap(oursLean.get("/item"), (r) => r.text)),
      opossum: promiseRunner(() => opossum.fire()),
      cockatiel: promiseRunner(() =>
        cockatiel.execute(({ signal }) => undiciGet(cockatielAgent, url, signal), parentSignal)
      )
    }
    const names = Object.keys(runners)
    for (const name of names) await runners[name]!(opts.quick ? 500 : 1_000) // warm up
    const samples: Record<string, Array<Sample>> = {}
    for (const name of names) samples[name] = []
    for (let i = 0; i < REPEATS; i++) {
      for (const name of orderFor(names, i)) samples[name]!.push(await runners[name]!(REQUESTS))
    }
    opossum.shutdown()
    const summary = (name: string) => {
      const s = samples[name]!
      const rps = s.map((x) => x.reqPerSec)
      const ratio = s.map((x, i) => x.reqPerSec / samples.platform![i]!.reqPerSec)
      return {
        reqPerSec: Math.round(median(rps)),
        reqPerSecRange: range(rps).map(Math.round) as [number, number],
        p50Ms: round(median(s.map((x) => x.p50Ms)), 3),
        p99Ms: round(median(s.map((x) => x.p99Ms)), 3),
        cpuUsPerReq: round(median(s.map((x) => x.cpuUsPerReq)), 1),
        /** The raw platform client's CPU per request over this one's (same repeat): > 1 is cheaper. */
        cpuRatioToPlatform: round(median(s.map((x, i) => samples.platform![i]!.cpuUsPerReq / x.cpuUsPerReq)), 3),
        ratioToPlatform: round(median(ratio), 3),
        ratioToPlatformRange: range(ratio).map((x) => round(x, 3)) as [number, number]
      }
    }
    const result: Record<string, unknown> = { requests: REQUESTS, repeats: REPEATS, concurrency: CONCURRENCY }
    for (const name of names) result[name] = summary(name)
    return result as {
      requests: number
      repeats: number
      concurrency: number
    } & Record<(typeof CLIENTS)[number], ReturnType<typeof summary>>
  } finally {
    await runtime.runPromise(Scope.close(scope, Exit.void)).catch(() => undefined)
    await runtime.dispose()
    await leanRuntime.dispose()
    for (const a of agents) await a.close()
    upstream.close()
  }
}

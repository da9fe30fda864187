/**
 * HTTP on loopback, concurrency 50: the raw `@effect/platform` HttpClient (undici) against
 * `ResilientServiceClient` with all defaults, measured in the same run, alternating order.
 * Reports requests/s and client CPU µs per request (the upstream runs in a child process).
 *
 *   npm run bench:http [-- --quick]
 */
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { ResilientServiceClient } from "../src/index.js"

const quick = process.argv.includes("--quick")
const REQUESTS = quick ? 4_000 : 15_000
const REPEATS = quick ? 3 : 5
const CONCURRENCY = 50

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface Sample {
  readonly reqPerSec: number
  readonly cpuUsPerReq: number
}

const measure = (one: Effect.Effect<unknown, unknown>, n: number): Effect.Effect<Sample, unknown> =>
  Effect.gen(function*() {
    const cpu0 = process.cpuUsage()
    const start = process.hrtime.bigint()
    yield* Effect.forEach(Array.from({ length: n }), () => one, { concurrency: CONCURRENCY, discard: true })
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpu0)
    return { reqPerSec: n / seconds, cpuUsPerReq: (cpu.user + cpu.system) / n }
  })

const main = async () => {
  const server = fork(fileURLToPath(new URL("./server.mjs", import.meta.url).href.replace(".build/", "")))
  const port = await new Promise<number>((resolve) => server.once("message", (m: { port: number }) => resolve(m.port)))
  const url = `http://127.0.0.1:${port}`
  const program = Effect.gen(function*() {
    const raw = yield* HttpClient.HttpClient
    const ours = yield* ResilientServiceClient.make({ baseUrl: url, serviceName: "bench" })
    const cases = {
      platform: Effect.flatMap(raw.get(`${url}/item`), (r) => r.text),
      ours: Effect.flatMap(ours.get("/item"), (r) => r.text)
    }
    for (const one of Object.values(cases)) yield* measure(one, 2_000) // warm up
    const samples: Record<string, Array<Sample>> = { platform: [], ours: [] }
    for (let i = 0; i < REPEATS; i++) {
      const order = i % 2 === 0 ? ["platform", "ours"] as const : ["ours", "platform"] as const
      for (const name of order) samples[name]!.push(yield* measure(cases[name], REQUESTS))
    }
    const summary = (name: string) => {
      const s = samples[name]!
      return {
        reqPerSec: Math.round(median(s.map((x) => x.reqPerSec))),
        reqPerSecRange: [
          Math.round(Math.min(...s.map((x) => x.reqPerSec))),
          Math.round(Math.max(...s.map((x) => x.reqPerSec)))
        ],
        cpuUsPerReq: Number(median(s.map((x) => x.cpuUsPerReq)).toFixed(1))
      }
    }
    const platform = summary("platform")
    const oursSummary = summary("ours")
    const ratios = samples.ours!.map((o, i) => o.reqPerSec / samples.platform![i]!.reqPerSec)
    return {
      requests: REQUESTS,
      repeats: REPEATS,
      concurrency: CONCURRENCY,
      platform,
      ours: oursSummary,
      throughputRatio: Number(median(ratios).toFixed(3)),
      throughputRatioRange: [Number(Math.min(...ratios).toFixed(3)), Number(Math.max(...ratios).toFixed(3))]
    }
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  try {
    console.log(JSON.stringify(await Effect.runPromise(program), null, 2))
  } finally {
    server.kill()
  }
}

main()

/**
 * Memory: the heap after 1,000,000 closed-path breaker calls against before, the footprint
 * of 10,000 breakers (heap delta / 10,000), and of 10,000 keys of one keyed breaker (a call
 * each: its breaker, its scope, its place in the table). Needs `--expose-gc` (bench/run.mjs
 * passes it).
 */
import { Effect } from "effect"
import { CircuitBreaker, KeyedCircuitBreaker } from "../src/index.js"
import { times } from "./breaker.js"
import { type Options, round } from "./lib.js"

const heap = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

export const runMemory = async (opts: Options) => {
  const CALLS = opts.quick ? 300_000 : 1_000_000
  const BREAKERS = opts.quick ? 2_000 : 10_000
  if (!(globalThis as { gc?: unknown }).gc) throw new Error("run with --expose-gc (node bench/run.mjs ...)")

  const calls = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make({ name: "bench-memory" })
    const task = Effect.succeed(1)
    // warm up: the first calls allocate what stays for the breaker's life (JIT, caches)
    Effect.runSync(times(breaker(task), 10_000))
    const before = heap()
    // in chunks, so that the loop itself holds no memory across the measure
    for (let i = 0; i < CALLS / 100_000; i++) Effect.runSync(times(breaker(task), 100_000))
    const after = heap()
    return { before, after }
  })))

  const footprint = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const before = heap()
    const keep: Array<unknown> = []
    for (let i = 0; i < BREAKERS; i++) keep.push(yield* CircuitBreaker.make({ name: `b${i}` }))
    const after = heap()
    return { before, after, kept: keep.length }
  })))

  const keyed = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const breakers = yield* KeyedCircuitBreaker.make({ name: "bench-keyed", maxKeys: BREAKERS + 100 })
    const task = Effect.succeed(1)
    // warm up on other keys, dropped before the measure (one key per call site's first use)
    for (let i = 0; i < 100; i++) yield* breakers.call(`warm${i}`, task)
    const before = heap()
    for (let i = 0; i < BREAKERS; i++) yield* breakers.call(`k${i}`, task)
    const after = heap()
    return { before, after, kept: (yield* breakers.keys).length - 100 }
  })))

  const MiB = 1024 * 1024
  return {
    calls: CALLS,
    heapBeforeMiB: round(calls.before / MiB, 2),
    heapAfterMiB: round(calls.after / MiB, 2),
    heapGrowthMiB: round((calls.after - calls.before) / MiB, 3),
    breakers: footprint.kept,
    bytesPerBreaker: Math.round((footprint.after - footprint.before) / footprint.kept),
    keys: keyed.kept,
    bytesPerKey: Math.round((keyed.after - keyed.before) / keyed.kept)
  }
}

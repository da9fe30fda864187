/**
 * Memory of the Effect 4 edition: the footprint of 10,000 breakers (heap delta / 10,000) and of
 * 10,000 keys of one keyed breaker (a call each: its breaker, its scope, its place in the table).
 *
 *   npx node ../bench/run.mjs bench/memory.ts            (in effect4/, on Node 22)
 *   npx node ../bench/run.mjs bench/memory.ts --quick    (2,000 of each)
 *
 * Prints a table; `--expose-gc` is passed by bench/run.mjs.
 */
import { Effect } from "effect"
import { table } from "../../bench/lib.js"
import { CircuitBreaker, KeyedCircuitBreaker } from "../src/index.js"

const heap = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

const main = async () => {
  if (!(globalThis as { gc?: unknown }).gc) throw new Error("run with --expose-gc (node ../bench/run.mjs ...)")
  const COUNT = process.argv.includes("--quick") ? 2_000 : 10_000

  const breakers = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const before = heap()
    const keep: Array<unknown> = []
    for (let i = 0; i < COUNT; i++) keep.push(yield* CircuitBreaker.make({ name: `b${i}` }))
    const after = heap()
    return Math.round((after - before) / keep.length)
  })))

  const keys = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const keyed = yield* KeyedCircuitBreaker.make({ name: "bench-keyed", maxKeys: COUNT + 100 })
    const task = Effect.succeed(1)
    for (let i = 0; i < 100; i++) yield* keyed.call(`warm${i}`, task)
    const before = heap()
    for (let i = 0; i < COUNT; i++) yield* keyed.call(`k${i}`, task)
    const after = heap()
    const kept = (yield* keyed.keys).length - 100
    return Math.round((after - before) / kept)
  })))

  table("Memory (Effect 4 edition)", ["measure", "value", "goal"], [
    [`bytes per breaker (${COUNT} breakers)`, breakers, "≤ 2,048"],
    [`bytes per key of a keyed breaker (${COUNT} keys)`, keys, "≤ 2,048"]
  ])
}

await main()

/**
 * Breaker micro-benchmark: the closed path's added cost per call against a bare
 * `Effect.succeed` loop measured in the same run, and rejections per second on the open path.
 *
 *   npm run bench:breaker            (or: npx tsx bench/breaker.ts [--quick])
 */
import { Effect, Exit } from "effect"
import { CircuitBreaker } from "../src/index.js"

const quick = process.argv.includes("--quick")
const N = quick ? 200_000 : 1_000_000
const REPEATS = quick ? 5 : 9

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Runs `effect` `n` times in a row in one fiber (no yield between iterations). */
const times = (effect: Effect.Effect<unknown, unknown>, n: number): Effect.Effect<void, unknown> => {
  const loop = (i: number): Effect.Effect<void, unknown> =>
    i === 0 ? Effect.void : Effect.flatMap(effect, () => loop(i - 1))
  return Effect.suspend(() => loop(n))
}

const timeRun = (effect: Effect.Effect<unknown, unknown>): number => {
  const start = process.hrtime.bigint()
  const exit = Effect.runSyncExit(effect)
  const elapsed = Number(process.hrtime.bigint() - start)
  if (Exit.isFailure(exit)) throw new Error(`benchmark failed: ${String(exit.cause)}`)
  return elapsed
}

const program = Effect.gen(function*() {
  const closed = yield* CircuitBreaker.make({ name: "bench-closed" })
  const open = yield* CircuitBreaker.make({ name: "bench-open", failureThreshold: 1, recoveryTimeout: "1 hour" })
  yield* Effect.either(open(Effect.fail("boom")))
  return { closed, open }
})

const main = async () => {
  const { closed, open } = await Effect.runPromise(Effect.scoped(program).pipe(Effect.map((x) => x)))
  // The scope above has closed; the breakers keep working as values (their timers are gone,
  // which the 1-hour recovery timeout never needs during the benchmark).
  const task = Effect.succeed(1)
  const baseline = times(task, N)
  const protectedLoop = times(closed(task), N)
  const rejectedLoop = times(Effect.either(open(task)), N)

  const base: Array<number> = []
  const prot: Array<number> = []
  const rej: Array<number> = []
  for (let i = 0; i < 2; i++) {
    timeRun(baseline)
    timeRun(protectedLoop)
    timeRun(rejectedLoop)
  }
  for (let i = 0; i < REPEATS; i++) {
    // alternate the order so that neither side always runs on a warmer (or hotter) machine
    if (i % 2 === 0) {
      base.push(timeRun(baseline) / N)
      prot.push(timeRun(protectedLoop) / N)
    } else {
      prot.push(timeRun(protectedLoop) / N)
      base.push(timeRun(baseline) / N)
    }
    rej.push(timeRun(rejectedLoop) / N)
  }
  const overhead = base.map((b, i) => prot[i]! - b)
  const result = {
    calls: N,
    repeats: REPEATS,
    baselineNsPerCall: median(base),
    protectedNsPerCall: median(prot),
    closedOverheadNs: median(overhead),
    closedOverheadNsRange: [Math.min(...overhead), Math.max(...overhead)],
    openRejectionsPerSec: 1e9 / median(rej),
    openRejectionsPerSecRange: [1e9 / Math.max(...rej), 1e9 / Math.min(...rej)]
  }
  console.log(JSON.stringify(result, null, 2))
}

main()

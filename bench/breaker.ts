/**
 * Breaker micro-benchmarks, ours against opossum and cockatiel, in one process:
 *
 * - closed path: the added ns per call against a baseline measured in the same run (ours: a bare
 *   `Effect.succeed` loop run with `Effect.runSyncExit`; the peers: an `await` loop calling a
 *   trivial async function), alternating order, median and min–max over the repeats;
 * - open path: rejections per second, each breaker forced open.
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import { Effect, Exit, Logger, LogLevel } from "effect"
import Opossum from "opossum"
import { CircuitBreaker } from "../src/index.js"
import { median, type Options, orderFor, range, round } from "./lib.js"

/** Runs `effect` `n` times in a row in one fiber (no yield between iterations). */
export const times = (effect: Effect.Effect<unknown, unknown>, n: number): Effect.Effect<void, unknown> => {
  const loop = (i: number): Effect.Effect<void, unknown> =>
    i === 0 ? Effect.void : Effect.flatMap(effect, () => loop(i - 1))
  return Effect.suspend(() => loop(n))
}

/**
 * The clock of the samples, in ns: the process's CPU time (user + system, µs resolution) by
 * default, which a shared machine's other load disturbs much less than the wall clock; wall
 * time (`process.hrtime`) with `--wall`. Samples last several ms, so µs resolution is enough.
 */
const cpuTick = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}
const wallTick = (): number => Number(process.hrtime.bigint())
let tick = cpuTick

/** Times the samples on the wall clock (`wall`) or on the process's CPU time. */
export const useClock = (wall: boolean): void => {
  tick = wall ? wallTick : cpuTick
}

/** Runs `effect` synchronously; the time it took, in ns of the samples' clock. */
export const timeSync = (effect: Effect.Effect<unknown, unknown>): number => {
  const start = tick()
  const exit = Effect.runSyncExit(effect)
  const elapsed = tick() - start
  if (Exit.isFailure(exit)) throw new Error(`benchmark failed: ${String(exit.cause)}`)
  return elapsed
}

const timeAsync = async (n: number, f: () => Promise<unknown>): Promise<number> => {
  const start = tick()
  for (let i = 0; i < n; i++) await f()
  return tick() - start
}

const timeAsyncRejecting = async (n: number, f: () => Promise<unknown>): Promise<number> => {
  const start = tick()
  let rejected = 0
  for (let i = 0; i < n; i++) {
    try {
      await f()
    } catch {
      rejected++
    }
  }
  const elapsed = tick() - start
  if (rejected !== n) throw new Error(`expected ${n} rejections, got ${rejected}`)
  return elapsed
}

export interface PathResult {
  readonly baselineNsPerCall: number
  readonly protectedNsPerCall: number
  readonly closedOverheadNs: number
  readonly closedOverheadNsRange: [number, number]
  readonly openRejectionsPerSec: number
  readonly openRejectionsPerSecRange: [number, number]
}

const summarize = (base: Array<number>, prot: Array<number>, rej: Array<number>): PathResult => {
  const overhead = base.map((b, i) => prot[i]! - b)
  const rate = rej.map((ns) => 1e9 / ns)
  return {
    baselineNsPerCall: round(median(base), 1),
    protectedNsPerCall: round(median(prot), 1),
    closedOverheadNs: round(median(overhead), 1),
    closedOverheadNsRange: range(overhead).map((x) => round(x, 1)) as [number, number],
    openRejectionsPerSec: Math.round(median(rate)),
    openRejectionsPerSecRange: range(rate).map(Math.round) as [number, number]
  }
}

export const runBreaker = async (opts: Options) => {
  const clock = opts.wall ? "wall" : "cpu"
  useClock(opts.wall)
  const N = opts.quick ? 100_000 : 300_000
  const NP = opts.quick ? 25_000 : 100_000
  /** Calls per open-path sample of the peers (slow: a rejected promise each). */
  const NPO = opts.quick ? 10_000 : 30_000
  const REPEATS = opts.quick ? 5 : 7

  // ours
  const { closed, open } = await Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const closed = yield* CircuitBreaker.make({ name: "bench-closed" })
      const open = yield* CircuitBreaker.make({ name: "bench-open", failureThreshold: 1, recoveryTimeout: "1 hour" })
      yield* Effect.either(open(Effect.fail("boom")))
      return { closed, open }
    })).pipe(Logger.withMinimumLogLevel(LogLevel.None))
  )
  // The scope has closed; the breakers keep working as values (their timers are gone, which the
  // 1-hour recovery timeout never needs during the benchmark).
  const task = Effect.succeed(1)
  const ours = {
    base: () => timeSync(times(task, N)) / N,
    prot: () => timeSync(times(closed(task), N)) / N,
    rej: () => timeSync(times(Effect.either(open(task)), N)) / N
  }

  // peers
  const trivial = async () => 1
  const opossumClosed = new Opossum(trivial)
  const opossumOpen = new Opossum(trivial)
  opossumOpen.open()
  const cockatielClosed = circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) })
  const cockatielOpen = circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) })
  const isolation = cockatielOpen.isolate()
  const peerBase = async () => (await timeAsync(NP, trivial)) / NP
  const opossum = {
    base: peerBase,
    prot: async () => (await timeAsync(NP, () => opossumClosed.fire())) / NP,
    rej: async () => (await timeAsyncRejecting(NPO, () => opossumOpen.fire())) / NPO
  }
  const cockatiel = {
    base: peerBase,
    prot: async () => (await timeAsync(NP, () => cockatielClosed.execute(trivial))) / NP,
    rej: async () => (await timeAsyncRejecting(NPO, () => cockatielOpen.execute(trivial))) / NPO
  }

  type Sut = {
    base: () => number | Promise<number>
    prot: () => number | Promise<number>
    rej: () => number | Promise<number>
  }
  const suts: Record<string, Sut> = { ours, opossum, cockatiel }
  const names = Object.keys(suts)
  const samples: Record<string, { base: Array<number>; prot: Array<number>; rej: Array<number> }> = {}
  for (const name of names) samples[name] = { base: [], prot: [], rej: [] }
  // warm up
  for (let w = 0; w < 1; w++) {
    for (const name of names) {
      const s = suts[name]!
      await s.base()
      await s.prot()
      await s.rej()
    }
  }
  for (let i = 0; i < REPEATS; i++) {
    for (const name of orderFor(names, i)) {
      const s = suts[name]!
      const out = samples[name]!
      // alternate baseline and protected so that neither always runs on a warmer machine
      if (i % 2 === 0) {
        out.base.push(await s.base())
        out.prot.push(await s.prot())
      } else {
        out.prot.push(await s.prot())
        out.base.push(await s.base())
      }
      out.rej.push(await s.rej())
    }
  }
  opossumClosed.shutdown()
  opossumOpen.shutdown()
  isolation.dispose()

  const result = {
    clock,
    calls: N,
    peerCalls: NP,
    peerOpenCalls: NPO,
    repeats: REPEATS,
    ours: summarize(samples.ours!.base, samples.ours!.prot, samples.ours!.rej),
    opossum: summarize(samples.opossum!.base, samples.opossum!.prot, samples.opossum!.rej),
    cockatiel: summarize(samples.cockatiel!.base, samples.cockatiel!.prot, samples.cockatiel!.rej)
  }
  return result
}

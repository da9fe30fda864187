/**
 * Our breaker (alone, and in fleet mode) against Effect 4's own, `effect/persistence/CircuitBreaker`,
 * on its memory store, on its Redis store and on ours (`Fleet.layerStore`); each Redis user gets a
 * private redis-server on a free loopback port, started here:
 *
 *   npm run bench -- --only effect4     (at the top level: runs this file on Node 22)
 *   npm run bench:breaker               (in effect4/, the same; under 4 minutes on 2 busy cores)
 *   npm run bench:breaker -- --quick    (fewer calls and repeats, a 1 s Redis stop; about 35 s)
 *   npm run bench:breaker -- --wall     (micro-benchmarks on the wall clock, default: CPU time)
 *
 * 1. Closed path: the cost of one call through a closed breaker, against a bare `Effect.succeed`
 *    loop measured in the same run (the baseline), as a ratio; median and range over the repeats,
 *    the contenders in a rotating order. The synchronous contenders run with `Effect.runSyncExit`
 *    (our store answers from local state, so Effect's breaker on it runs synchronously too); the
 *    Redis store, which waits for Redis twice per call, runs with `Effect.runPromise` and is also
 *    timed on the wall clock.
 * 2. Rejection: the cost of one call rejected by an open breaker, the same way, and the
 *    rejections per second it allows (on the wall clock for the Redis store).
 * 3. Redis commands per call, counted by Redis: `INFO commandstats` (Effect's scripts) and
 *    `INFO stats` (every command our store's Redis processed, background included).
 * 4. Latency: p50, p99 and max of closed calls run one at a time, on the wall clock.
 * 5. Redis stopped: a call starts every 10 ms; Redis gets `SIGSTOP` for 3 s, then `SIGCONT`. The
 *    latency of the calls started during the stop, for the Redis store, our store and ours in fleet
 *    mode (each its own Redis stopped), and, as the reference, for the breakers that use no Redis.
 *
 * Prints tables (and the issue's two targets) and writes bench/results/breaker.json and .md.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import type { Context } from "effect"
import { Effect, Exit, Fiber, Layer, References, Result, Scope } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { Redis } from "effect/persistence"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fmt, fmtRange, markdown, median, orderFor, percentile, range, round, table } from "../../bench/lib.js"
import { type RedisServer, startRedis } from "../../test/utils/redisServer.js"
import { CircuitBreaker, Fleet } from "../src/index.js"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const wall = args.includes("--wall")

// ---------------------------------------------------------------------------------------------
// Clocks and loops
// ---------------------------------------------------------------------------------------------

/** The process's CPU time (user + system) in ns: a shared machine's load disturbs it less. */
const cpuTick = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}
const wallTick = (): number => Number(process.hrtime.bigint())
const tick = wall ? wallTick : cpuTick
const clock = wall ? "wall time" : "CPU time"

/** `effect` `n` times in a row in one fiber. */
const times = (effect: Effect.Effect<unknown, unknown>, n: number): Effect.Effect<void, unknown> => {
  const loop = (i: number): Effect.Effect<void, unknown> =>
    i === 0 ? Effect.void : Effect.flatMap(effect, () => loop(i - 1))
  return Effect.suspend(() => loop(n))
}

/** `effect` `n` times with its failure turned into a value, checking that every call was rejected. */
const rejected = (effect: Effect.Effect<unknown, unknown>, n: number): Effect.Effect<void, unknown> =>
  Effect.suspend(() => {
    let failures = 0
    const counted = Effect.tap(Effect.result(effect), (result) =>
      Effect.sync(() => {
        if (Result.isFailure(result)) failures++
      }))
    return Effect.flatMap(
      times(counted, n),
      () => failures === n ? Effect.void : Effect.die(new Error(`expected ${n} rejections, got ${failures}`))
    )
  })

/** ns per call of `effect` run synchronously `n` times (the samples' clock). */
const perCallSync = (effect: Effect.Effect<unknown, unknown>, n: number): number => {
  const start = tick()
  const exit = Effect.runSyncExit(times(effect, n))
  const elapsed = tick() - start
  if (Exit.isFailure(exit)) throw new Error(`benchmark failed: ${String(exit.cause)}`)
  return elapsed / n
}

/** ns per call of `effect` run `n` times as one promise: [the samples' clock, the wall clock]. */
const perCallAsync = async (effect: Effect.Effect<unknown, unknown>, n: number): Promise<[number, number]> => {
  const start = tick()
  const startWall = wallTick()
  await Effect.runPromise(times(effect, n))
  return [(tick() - start) / n, (wallTick() - startWall) / n]
}

const silent = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(
    Effect.provideService(References.MinimumLogLevel, "None"),
    Effect.provideService(References.UnhandledLogLevel, undefined)
  )

// ---------------------------------------------------------------------------------------------
// The contenders
// ---------------------------------------------------------------------------------------------

type Call = Effect.Effect<unknown, unknown>

interface Contender {
  readonly name: string
  /** Runs asynchronously (waits for Redis): timed with `runPromise`, fewer calls. */
  readonly async: boolean
  /** The redis-server this contender's breaker talks to, if any (stopped in section 5). */
  readonly server?: RedisServer | undefined
  /** One call through the closed breaker. */
  readonly closed: Call
  /** One call through the open breaker (rejected). */
  readonly open: Call
}

const task = Effect.succeed(1)

const effectBreakers = (
  name: string,
  store: Context.Context<EffectBreaker.CircuitBreakerStore>,
  scope: Scope.Scope,
  async: boolean,
  server?: RedisServer
): Effect.Effect<Contender> =>
  Effect.gen(function*() {
    // the defaults of ours: open after 5 failures in a row, for an hour here (no probe during the run)
    const breaker = yield* EffectBreaker.make({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "1 hour" })
    const fail = Effect.fail("boom").pipe(breaker.execute({ key: "open" }))
    for (let i = 0; i < 5; i++) yield* Effect.flip(fail)
    const state = yield* Effect.orDie(breaker.state("open"))
    if (state._tag !== "Open") return yield* Effect.die(new Error(`${name}: the open key is ${state._tag}`))
    return {
      name,
      async,
      server,
      closed: task.pipe(breaker.execute({ key: "closed" })),
      open: task.pipe(breaker.execute({ key: "open" }))
    }
  }).pipe(Effect.provide(store), Scope.provide(scope))

const ours = (scope: Scope.Scope, name: string, server?: RedisServer): Effect.Effect<Contender, unknown> =>
  Effect.gen(function*() {
    const closed = yield* CircuitBreaker.make({ name: "bench-closed" })
    const open = yield* CircuitBreaker.make({ name: "bench-open", failureThreshold: 1, recoveryTimeout: "1 hour" })
    yield* Effect.flip(open(Effect.fail("boom")))
    return { name, async: false, server, closed: closed(task), open: open(task) }
  }).pipe(Scope.provide(scope))

// ---------------------------------------------------------------------------------------------
// Measures
// ---------------------------------------------------------------------------------------------

interface Samples {
  readonly closed: Array<number>
  readonly open: Array<number>
  readonly closedWall: Array<number>
  readonly openWall: Array<number>
}

const measure = async (contenders: ReadonlyArray<Contender>, repeats: number, n: number, nAsync: number) => {
  const baseline: Array<number> = []
  const samples = new Map<string, Samples>(
    contenders.map((c) => [c.name, { closed: [], open: [], closedWall: [], openWall: [] }])
  )
  const sample = async (c: Contender, path: "closed" | "open", keep: boolean) => {
    const out = samples.get(c.name)!
    const call = path === "open" ? c.open : c.closed
    if (c.async) {
      const [ns, wallNs] = await perCallAsync(path === "open" ? rejected(call, 1) : call, nAsync)
      if (keep) {
        out[path].push(ns)
        out[path === "open" ? "openWall" : "closedWall"].push(wallNs)
      }
    } else {
      const ns = path === "open" ? perCallSync(rejected(call, n), 1) / n : perCallSync(call, n)
      if (keep) out[path].push(ns)
    }
  }
  // warm-up, not kept
  perCallSync(task, n)
  for (const c of contenders) {
    await sample(c, "closed", false)
    await sample(c, "open", false)
  }
  for (let i = 0; i < repeats; i++) {
    baseline.push(perCallSync(task, n))
    for (const c of orderFor(contenders, i)) {
      await sample(c, "closed", true)
      await sample(c, "open", true)
    }
    baseline.push(perCallSync(task, n))
  }
  return { baseline, samples }
}

/** Redis' own count of `EVALSHA` (and `EVAL`) calls so far. */
const scriptCalls = Effect.gen(function*() {
  const redis = yield* Redis.Redis
  const info = yield* redis.send<string>("INFO", "commandstats")
  const count = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  return count("evalsha") + count("eval")
})

/** Redis' count of the commands it has processed so far (`INFO stats`). */
const commandsProcessed = Effect.gen(function*() {
  const redis = yield* Redis.Redis
  const info = yield* redis.send<string>("INFO", "stats")
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN)
})

interface Latency {
  readonly name: string
  readonly calls: number
  readonly p50Us: number
  readonly p99Us: number
  readonly maxUs: number
}

/** The wall-clock latency of each of `n` closed calls run one after the other. */
const latencies = (name: string, call: Call, n: number): Effect.Effect<Latency, unknown> =>
  Effect.suspend(() => {
    const xs: Array<number> = []
    let start = 0
    const timed = Effect.andThen(
      Effect.sync(() => {
        start = wallTick()
      }),
      Effect.tap(call, () =>
        Effect.sync(() => {
          xs.push((wallTick() - start) / 1000)
        }))
    )
    return Effect.map(times(timed, n), () => {
      xs.sort((a, b) => a - b)
      return {
        name,
        calls: n,
        p50Us: round(percentile(xs, 0.5), 1),
        p99Us: round(percentile(xs, 0.99), 1),
        maxUs: round(xs[xs.length - 1] ?? NaN, 1)
      }
    })
  })

interface StopResult {
  readonly name: string
  readonly calls: number
  readonly callsDuringStop: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly outsideP50Ms: number
}

/**
 * A call every 10 ms for `before + stop + after` ms; Redis stopped (`SIGSTOP`) from `before` for
 * `stop` ms. The latency of every call, grouped by whether it started during the stop.
 */
const duringStop = (
  name: string,
  call: Call,
  signal: (s: NodeJS.Signals) => void,
  timing: { readonly before: number; readonly stop: number; readonly after: number }
): Effect.Effect<StopResult> =>
  Effect.gen(function*() {
    const t0 = wallTick()
    const elapsedMs = () => (wallTick() - t0) / 1e6
    const records: Array<{ start: number; latency: number }> = []
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    let stopped: [number, number] = [Infinity, Infinity]
    const controller = Effect.gen(function*() {
      yield* Effect.sleep(timing.before)
      signal("SIGSTOP")
      const from = elapsedMs()
      yield* Effect.sleep(timing.stop)
      signal("SIGCONT")
      stopped = [from, elapsedMs()]
    })
    const control = yield* Effect.forkChild(controller)
    const end = timing.before + timing.stop + timing.after
    while (elapsedMs() < end) {
      const start = elapsedMs()
      fibers.push(
        yield* Effect.forkChild(
          Effect.ensuring(
            Effect.exit(call),
            Effect.sync(() => records.push({ start, latency: elapsedMs() - start }))
          )
        )
      )
      yield* Effect.sleep(10)
    }
    yield* Fiber.join(control)
    yield* Fiber.awaitAll(fibers)
    const inside = records.filter((r) => r.start >= stopped[0] && r.start < stopped[1]).map((r) => r.latency)
      .sort((a, b) => a - b)
    const outside = records.filter((r) => r.start < stopped[0] || r.start >= stopped[1]).map((r) => r.latency)
    return {
      name,
      calls: records.length,
      callsDuringStop: inside.length,
      p50Ms: round(percentile(inside, 0.5), 3),
      p99Ms: round(percentile(inside, 0.99), 3),
      maxMs: round(inside[inside.length - 1] ?? NaN, 3),
      outsideP50Ms: round(median(outside), 3)
    }
  })

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const main = async () => {
  const started = wallTick()
  const loadAtStart = loadavg().map((x) => round(x, 2))
  const N = quick ? 50_000 : 200_000
  const N_ASYNC = quick ? 500 : 2_000
  const N_LATENCY = quick ? 1_000 : 5_000
  const REPEATS = quick ? 5 : 7
  const STOP = quick ? { before: 500, stop: 1_000, after: 500 } : { before: 1_000, stop: 3_000, after: 1_000 }

  // one Redis each for Effect's store, our fleet and our store, so that each one's commands are
  // counted and stopped apart
  const redisServer = await startRedis()
  const fleetRedis = await startRedis()
  const storeRedis = await startRedis()
  const scope = Scope.makeUnsafe()
  try {
    const memoryStore = await Effect.runPromise(
      Layer.build(EffectBreaker.layerStoreMemory()).pipe(Scope.provide(scope))
    )
    const redisLayer = NodeRedis.layer({ socket: { host: "127.0.0.1", port: redisServer.port } })
    const redis = await Effect.runPromise(Layer.build(redisLayer).pipe(Scope.provide(scope)))
    const storeRedisClient = await Effect.runPromise(
      Layer.build(NodeRedis.layer({ socket: { host: "127.0.0.1", port: storeRedis.port } })).pipe(Scope.provide(scope))
    )
    const redisStore = await Effect.runPromise(
      Layer.build(EffectBreaker.layerStoreRedis({ prefix: "bench:" })).pipe(Effect.provide(redis), Scope.provide(scope))
    )
    // ours in fleet mode: its breakers join a fleet on the same Redis (openings, the probe and
    // the statuses go through Redis in the background)
    const fleet = await Effect.runPromise(
      silent(Layer.build(Fleet.layerRedis({ fleet: "bench", url: fleetRedis.url })).pipe(Scope.provide(scope)))
    )
    // our fleet as Effect's store: every key answered from local state, the fleet protocol in the
    // background on its own Redis
    const ourStore = await Effect.runPromise(
      silent(Layer.build(Fleet.layerStore({ fleet: "bench-store", url: storeRedis.url })).pipe(Scope.provide(scope)))
    )
    const OUR_STORE = "effect/persistence, our store (Fleet.layerStore)"
    const MEMORY = "effect/persistence, memory store"
    const contenders = await Effect.runPromise(silent(Effect.all([
      ours(scope, "ours"),
      ours(scope, "ours in a fleet (Redis)", fleetRedis).pipe(Effect.provide(fleet)),
      effectBreakers(MEMORY, memoryStore, scope, false),
      effectBreakers("effect/persistence, Redis store", redisStore, scope, true, redisServer),
      effectBreakers(OUR_STORE, ourStore, scope, false, storeRedis)
    ])))
    const withRedis = <A, E>(effect: Effect.Effect<A, E, Redis.Redis>, client = redis) =>
      Effect.runPromise(effect.pipe(Effect.provide(client)))

    // 1, 2: closed path and rejection
    const { baseline, samples } = await measure(contenders, REPEATS, N, N_ASYNC)
    const base = median(baseline)
    const ratio = (xs: ReadonlyArray<number>) => round(median(xs) / base, 1)
    const ratioRange = (xs: ReadonlyArray<number>) => range(xs.map((x) => round(x / base, 1)))
    const oursClosed = median(samples.get("ours")!.closed)
    const oursOpen = median(samples.get("ours")!.open)
    const rows = contenders.map((c) => {
      const s = samples.get(c.name)!
      // rejections per second: on the samples' clock, but on the wall clock for a breaker that
      // waits for Redis (its CPU time leaves the wait out)
      const rejectionNs = c.async ? median(s.openWall) : median(s.open)
      return {
        name: c.name,
        callsPerSample: c.async ? N_ASYNC : N,
        closedNs: round(median(s.closed), 1),
        closedRatio: ratio(s.closed),
        closedRatioRange: ratioRange(s.closed),
        closedVsOurs: round(median(s.closed) / oursClosed, 1),
        openNs: round(median(s.open), 1),
        openRatio: ratio(s.open),
        openRatioRange: ratioRange(s.open),
        openVsOurs: round(median(s.open) / oursOpen, 1),
        rejectionsPerSec: round(1e9 / rejectionNs, -3),
        rejectionsPerSecClock: c.async ? "wall" : clock,
        closedWallUs: s.closedWall.length > 0 ? round(median(s.closedWall) / 1000, 1) : undefined,
        openWallUs: s.openWall.length > 0 ? round(median(s.openWall) / 1000, 1) : undefined
      }
    })
    table(
      `Cost per call over a bare Effect.succeed (${clock}, ${REPEATS} repeats, median and range; baseline ${
        fmt(base)
      } ns/call; calls per sample: ${N} synchronous, ${N_ASYNC} through Redis)`,
      [
        "breaker",
        "closed ns/call",
        "× bare",
        "range",
        "× ours",
        "rejection ns/call",
        "× bare",
        "range",
        "× ours",
        "rejections/s"
      ],
      rows.map((r) => [
        r.name,
        r.closedNs,
        r.closedRatio,
        fmtRange(r.closedRatioRange),
        r.closedVsOurs,
        r.openNs,
        r.openRatio,
        fmtRange(r.openRatioRange),
        r.openVsOurs,
        `${fmt(r.rejectionsPerSec)}${r.rejectionsPerSecClock === "wall" ? " (wall)" : ""}`
      ])
    )
    const redisRow = rows.find((r) => r.closedWallUs !== undefined)!
    table("Redis store on the wall clock (loopback, one call at a time; median)", ["path", "µs/call"], [
      ["closed", redisRow.closedWallUs!],
      ["rejection", redisRow.openWallUs!]
    ])

    // 3: Redis commands per call (Effect's Redis store: its scripts; our store: every command,
    // background included, over calls that take a few milliseconds in all)
    const redisContender = contenders.find((c) => c.async)!
    const storeContender = contenders.find((c) => c.name === OUR_STORE)!
    const COUNTED = 100
    const STORE_COUNTED = 1_000
    const before = await withRedis(scriptCalls)
    await Effect.runPromise(times(redisContender.closed, COUNTED))
    const middle = await withRedis(scriptCalls)
    await Effect.runPromise(rejected(redisContender.open, COUNTED))
    const after = await withRedis(scriptCalls)
    const idle = -(await withRedis(commandsProcessed, storeRedisClient)) +
      (await withRedis(commandsProcessed, storeRedisClient))
    const storeBefore = await withRedis(commandsProcessed, storeRedisClient)
    await Effect.runPromise(times(storeContender.closed, STORE_COUNTED))
    const storeMiddle = await withRedis(commandsProcessed, storeRedisClient)
    await Effect.runPromise(rejected(storeContender.open, STORE_COUNTED))
    const storeAfter = await withRedis(commandsProcessed, storeRedisClient)
    const commands = {
      closedScriptsPerCall: round((middle - before) / COUNTED, 2),
      rejectionScriptsPerCall: round((after - middle) / COUNTED, 2),
      ourStoreClosedCommandsPerCall: round(Math.max(0, storeMiddle - storeBefore - idle) / STORE_COUNTED, 3),
      ourStoreRejectionCommandsPerCall: round(Math.max(0, storeAfter - storeMiddle - idle) / STORE_COUNTED, 3)
    }
    table(`Redis commands per call (counted by Redis: INFO commandstats and INFO stats)`, [
      "store",
      "calls",
      "closed call",
      "rejection"
    ], [
      ["Effect's Redis store (EVALSHA)", COUNTED, commands.closedScriptsPerCall, commands.rejectionScriptsPerCall],
      [
        "our store (every command)",
        STORE_COUNTED,
        commands.ourStoreClosedCommandsPerCall,
        commands.ourStoreRejectionCommandsPerCall
      ]
    ])

    // 4: latency per closed call, one at a time, on the wall clock
    const latency: Array<Latency> = []
    for (const c of contenders) {
      latency.push(await Effect.runPromise(latencies(c.name, c.closed, c.async ? N_ASYNC : N_LATENCY)))
    }
    table(
      "Latency of a closed call, one at a time (wall clock, loopback Redis where there is one)",
      ["breaker", "calls", "p50 µs", "p99 µs", "max µs"],
      latency.map((l) => [l.name, l.calls.toLocaleString("en-US"), l.p50Us, l.p99Us, l.maxUs])
    )

    // 5: Redis stopped; the memory store (no Redis) runs the same pattern, as the reference
    const stops: Array<StopResult> = []
    const stopped = [
      contenders.find((c) => c.async)!,
      contenders.find((c) => c.name === OUR_STORE)!,
      contenders.find((c) => c.name === MEMORY)!,
      ...contenders.filter((c) => c.name.startsWith("ours"))
    ]
    for (const c of stopped) {
      const signal = c.server?.signal ?? (() => {})
      stops.push(await Effect.runPromise(silent(duringStop(c.name, c.closed, signal, STOP))))
    }
    table(
      `Redis stopped (SIGSTOP) for ${
        STOP.stop / 1000
      } s: latency of the calls started during the stop (a call every 10 ms; the breakers without Redis run the same pattern)`,
      ["breaker", "Redis stopped", "calls during the stop", "p50 ms", "p99 ms", "max ms", "p50 ms outside the stop"],
      stops.map((s, i) => [
        s.name,
        stopped[i]!.server === undefined ? "none used" : "its own",
        String(s.callsDuringStop),
        s.p50Ms,
        s.p99Ms,
        s.maxMs,
        s.outsideP50Ms
      ])
    )

    // the targets
    const memoryRow = rows.find((r) => r.name === MEMORY)!
    const storeStop = stops.find((s) => s.name === OUR_STORE)!
    const memoryStop = stops.find((s) => s.name === MEMORY)!
    // "as fast": the median call during the stop as fast as the same store's outside the stop in
    // the same run (within half, or 50 µs): measured in the same minutes, under the same load of
    // the machine; and the slow tail far from any wait for Redis (a command's timeout is 500 ms):
    // the p99 of a few hundred calls on a shared machine is its few slowest, hence a bound, not a
    // ratio. The memory store's calls (no Redis) are printed beside them as a reference.
    const asFast = storeStop.p50Ms <= 1.5 * storeStop.outsideP50Ms + 0.05 && storeStop.p99Ms < 10
    const targets = [
      {
        target: "ours ≥ 5× cheaper per closed call than Effect's breaker on its memory store",
        measured: `${memoryRow.closedVsOurs}×`,
        goal: "≥ 5×",
        met: memoryRow.closedVsOurs >= 5
      },
      {
        target: "our store: calls during a Redis stop as fast as without Redis (p50 vs its own outside the stop, p99)",
        measured: `${fmt(storeStop.p50Ms)} / ${fmt(storeStop.p99Ms)} ms (outside the stop ${
          fmt(storeStop.outsideP50Ms)
        } ms; memory store ${fmt(memoryStop.p50Ms)} / ${fmt(memoryStop.p99Ms)} ms)`,
        goal: "p50 ≤ 1.5× its p50 outside the stop + 0.05 ms; p99 < 10 ms",
        met: asFast
      }
    ]
    table(
      "Targets",
      ["target", "measured", "goal", ""],
      targets.map((t) => [t.target, t.measured, t.goal, t.met ? "met" : "MISSED"])
    )

    const seconds = round((wallTick() - started) / 1e9, 1)
    const results = {
      meta: {
        date: new Date().toISOString(),
        mode: quick ? "quick" : "full",
        clock,
        node: process.version,
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        loadAverageAtStart: loadAtStart,
        loadAverage: loadavg().map((x) => round(x, 2)),
        seconds
      },
      baselineNsPerCall: round(base, 1),
      repeats: REPEATS,
      rows,
      commands,
      latency,
      redisStopped: { ...STOP, results: stops },
      targets
    }
    mkdirSync("bench/results", { recursive: true })
    writeFileSync("bench/results/breaker.json", JSON.stringify(results, null, 2) + "\n")
    writeFileSync("bench/results/breaker.md", markdown.join("\n"))
    console.log(`\n${quick ? "quick" : "full"} run in ${seconds} s; wrote bench/results/breaker.json and .md`)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await redisServer.stop()
    await fleetRedis.stop()
    await storeRedis.stop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

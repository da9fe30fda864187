/**
 * Fleet mode, N replicas in this process (each its own fleet layer and Redis connections) on a
 * private redis-server:
 *
 * - propagation: one replica's breaker opens; the delay until each other replica's breaker has
 *   opened (p50 / p99 over every follower of every round);
 * - an outage: every replica calls a dead service every 10 ms for a while; how many calls reach
 *   it, fleet against independent breakers (the same replicas under `Fleet.optOut`);
 * - the call path: closed-path ns per call and open-path rejections per second of a breaker in
 *   the fleet against one outside it, measured in the same run;
 * - Redis's time per heartbeat period: N replicas' heartbeats (16 breakers each, about 16 KB of
 *   statuses) and their re-reads of each breaker's state, sent straight to a private server as
 *   the replicas would send them in one period; the time Redis spent running them
 *   (`INFO commandstats`), per period.
 */
import { Context, Effect, Layer, Logger, LogLevel, Queue, Schedule } from "effect"
import { CircuitBreaker, Fleet } from "../src/index.js"
import * as Scripts from "../src/internal/fleetScripts.js"
import * as RedisClient from "../test/utils/redisClient.js"
import { startRedis } from "../test/utils/redisServer.js"
import { times, timeSync, useClock } from "./breaker.js"
import { median, type Options, percentile, round } from "./lib.js"

const nowMs = () => Number(process.hrtime.bigint()) / 1e6

const replicas = (url: string, fleet: string, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i + 1),
    (i) =>
      Effect.map(
        Layer.build(Fleet.layerRedis({ fleet, url, replica: `r${i}`, heartbeat: "200 millis" })),
        (context) => ({ context, fleet: Context.get(context, Fleet.Fleet) })
      ),
    { concurrency: "unbounded" }
  )

const awaitReachable = (fleet: Fleet.Fleet) =>
  fleet.reachable.pipe(
    Effect.repeat({ until: (reachable) => reachable, schedule: Schedule.spaced("10 millis") }),
    Effect.timeout("10 seconds")
  )

const propagation = (url: string, n: number, rounds: number) =>
  Effect.scoped(Effect.gen(function*() {
    const all = yield* replicas(url, `bench-propagation-${n}`, n)
    for (const r of all) yield* awaitReachable(r.fleet)
    const delays: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      yield* Effect.scoped(Effect.gen(function*() {
        const breakers = yield* Effect.forEach(all, (r) =>
          CircuitBreaker.make({ name: `svc-${round}`, failureThreshold: 1, recoveryTimeout: "1 minute" }).pipe(
            Effect.provide(r.context)
          ))
        // let every replica read the fleet's view of the new service first
        yield* Effect.sleep("300 millis")
        const followers = yield* Effect.forEach(breakers.slice(1), (b) =>
          b.subscribe)
        const start = nowMs()
        yield* Effect.either(breakers[0]!(Effect.fail("down")))
        const seen = yield* Effect.forEach(
          followers,
          (queue) =>
            Queue.take(queue).pipe(
              Effect.repeat({
                until: (change) =>
                  change.to === "open"
              }),
              Effect.map(() => nowMs() - start),
              Effect.timeout("5 seconds")
            ),
          { concurrency: "unbounded" }
        )
        delays.push(...seen)
      }))
    }
    const sorted = [...delays].sort((a, b) => a - b)
    return { replicas: n, rounds, p50Ms: round(percentile(sorted, 0.5), 1), p99Ms: round(percentile(sorted, 0.99), 1) }
  }))

// the microseconds Redis spent in scripts since the last CONFIG RESETSTAT
const scriptMicros = (connection: RedisClient.TestConnection) =>
  Effect.map(connection.send(["INFO", "commandstats"]), (info) => {
    let total = 0
    for (const match of String(info).matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)) {
      total += Number(match[1])
    }
    return total
  })

const heartbeatCost = (url: string, n: number, periods: number) =>
  Effect.scoped(Effect.gen(function*() {
    const services = 16
    const fleet = `bench-heartbeat-${n}`
    const connections = yield* Effect.forEach(Array.from({ length: 8 }), () => RedisClient.connectReady(url, 5_000))
    const clients = yield* Effect.forEach(connections, (connection) => Scripts.client(connection, fleet))
    // about 1 KB of statuses per breaker: 16 KB per replica
    const statuses = JSON.stringify(Object.fromEntries(Array.from({ length: services }, (_, i) => [`service-${i}`, {
      service: `service-${i}`,
      state: "closed",
      failure_count: 0,
      last_failure: null,
      last_state_change: "2026-12-01T10:32:12.000Z",
      detail: "x".repeat(900)
    }])))
    const replicas = Array.from({ length: n }, (_, i) => i)
    const heartbeats = Effect.forEach(
      replicas,
      (i) => clients[i % clients.length]!.heartbeat(`replica-${i}`, 60_000, statuses),
      { concurrency: 16, discard: true }
    )
    const reads = Effect.forEach(
      replicas,
      (i) =>
        Effect.forEach(
          Array.from({ length: services }, (_, s) => s),
          (s) => clients[i % clients.length]!.read(`service-${s}`),
          { discard: true }
        ),
      { concurrency: 16, discard: true }
    )
    const admin = connections[0]!
    const measure = (work: Effect.Effect<void, unknown>) =>
      Effect.gen(function*() {
        // once to load the scripts and fill the keys, then the measured periods
        yield* work
        yield* admin.send(["CONFIG", "RESETSTAT"])
        for (let p = 0; p < periods; p++) yield* work
        return round((yield* scriptMicros(admin)) / periods / 1000, 2)
      })
    const heartbeatMs = yield* measure(heartbeats)
    const readsMs = yield* measure(reads)
    return { replicas: n, services, periods, heartbeatMs, readsMs, msPerPeriod: round(heartbeatMs + readsMs, 2) }
  }))

const outage = (url: string, n: number, seconds: number, shared: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const all = yield* replicas(url, `bench-outage-${n}-${shared}`, n)
    for (const r of all) yield* awaitReachable(r.fleet)
    let reached = 0
    const dead = Effect.suspend(() => {
      reached++
      return Effect.fail("down")
    })
    const breakers = yield* Effect.forEach(all, (r) => {
      const make = CircuitBreaker.make({ name: "upstream", failureThreshold: 5, recoveryTimeout: "500 millis" })
      return (shared ? make : Fleet.optOut(make)).pipe(Effect.provide(r.context))
    })
    yield* Effect.sleep("300 millis")
    const deadline = nowMs() + seconds * 1000
    // calls that reached the service before the first rejection anywhere (the openings) and after
    // (the probes of the half-open periods)
    let atFirstRejection: number | undefined
    yield* Effect.forEach(
      breakers,
      (breaker) =>
        Effect.either(breaker(dead)).pipe(
          Effect.tap((result) => {
            if (result._tag === "Left" && result.left !== "down" && atFirstRejection === undefined) {
              atFirstRejection = reached
            }
          }),
          Effect.zipRight(Effect.sleep("10 millis")),
          Effect.repeat({ while: () => nowMs() < deadline })
        ),
      { concurrency: "unbounded", discard: true }
    )
    return { total: reached, afterFirstRejection: reached - (atFirstRejection ?? reached) }
  }))

const callPath = (url: string, calls: number, repeats: number) =>
  Effect.gen(function*() {
    const [r] = yield* replicas(url, "bench-call-path", 1)
    const make = (name: string, inFleet: boolean) => {
      const made = CircuitBreaker.make({ name, failureThreshold: 1, recoveryTimeout: "1 hour" })
      return (inFleet ? made : Fleet.optOut(made)).pipe(Effect.provide(r!.context))
    }
    const local = { closed: yield* make("local-closed", false), open: yield* make("local-open", false) }
    const fleet = { closed: yield* make("fleet-closed", true), open: yield* make("fleet-open", true) }
    yield* Effect.either(local.open(Effect.fail("down")))
    yield* Effect.either(fleet.open(Effect.fail("down")))
    const task = Effect.succeed(1)
    const closedLocal: Array<number> = []
    const closedFleet: Array<number> = []
    const openLocal: Array<number> = []
    const openFleet: Array<number> = []
    for (let i = 0; i < repeats; i++) {
      // alternate the order between repeats
      const pairs: Array<[Array<number>, CircuitBreaker.CircuitBreaker, boolean]> = [
        [closedLocal, local.closed, false],
        [closedFleet, fleet.closed, false],
        [openLocal, local.open, true],
        [openFleet, fleet.open, true]
      ]
      for (const [out, breaker, open] of i % 2 === 0 ? pairs : pairs.reverse()) {
        out.push(timeSync(times(open ? Effect.either(breaker(task)) : breaker(task), calls)) / calls)
      }
    }
    return {
      calls,
      repeats,
      closedNsPerCall: { local: round(median(closedLocal), 1), fleet: round(median(closedFleet), 1) },
      openRejectionsPerSec: {
        local: Math.round(1e9 / median(openLocal)),
        fleet: Math.round(1e9 / median(openFleet))
      }
    }
  })

export const runFleet = async (opts: Options) => {
  useClock(opts.wall)
  const server = await startRedis()
  try {
    const program = Effect.gen(function*() {
      const rounds = opts.quick ? 5 : 20
      const prop3 = yield* propagation(server.url, 3, rounds)
      const prop10 = yield* propagation(server.url, 10, rounds)
      const prop20 = yield* propagation(server.url, 20, rounds)
      const heartbeats = []
      for (const n of [10, 50, 200]) heartbeats.push(yield* heartbeatCost(server.url, n, opts.quick ? 3 : 10))
      const seconds = opts.quick ? 2 : 5
      const outages = []
      for (const n of [3, 10]) {
        const fleet = yield* outage(server.url, n, seconds, true)
        const independent = yield* outage(server.url, n, seconds, false)
        outages.push({ replicas: n, seconds, fleet, independent })
      }
      const path = yield* Effect.scoped(callPath(server.url, opts.quick ? 100_000 : 300_000, opts.quick ? 5 : 7))
      return { propagation: [prop3, prop10, prop20], heartbeats, outages, callPath: path }
    })
    return await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.None)))
  } finally {
    await server.stop()
  }
}

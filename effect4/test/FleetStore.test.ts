/**
 * Effect 4's own breaker (`effect/persistence/CircuitBreaker`) on `Fleet.layerStore`, on private
 * redis-servers, under the faults of fleet mode: one replica opens and the others adopt; only
 * one replica of the fleet probes and its success closes them all; calls keep their answers (and
 * never wait for Redis) while Redis is stopped with SIGSTOP; an opening survives a FLUSHALL; a
 * probe interrupted gives the lease back to the fleet at once. Waits are on conditions; the time guards
 * only bound a wait that a broken store makes endless (or as long as the lease).
 */
import { expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Schedule, Stream } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { startRedis } from "../../test/utils/redisServer.js"
import { describeWithRedis } from "../../test/utils/redisSuite.js"
import { Fleet } from "../src/index.js"
import { pollUntil } from "./utils/fleet.js"
import * as RedisClient from "./utils/redisClient.js"

interface StoreReplica {
  readonly name: string
  readonly fleet: Fleet.Fleet
  readonly breaker: EffectBreaker.CircuitBreaker
  /** The transitions this replica's breaker emitted, in order. */
  readonly transitions: ReadonlyArray<string>
  /** How many of this replica's calls ran as the probe. */
  readonly probes: () => number
}

const ownRedis = Effect.acquireRelease(Effect.promise(() => startRedis()), (s) => Effect.promise(() => s.stop()))

let fleets = 0
const freshFleet = () => `store-${++fleets}`

const replica = (
  url: string,
  fleet: string,
  name: string,
  options: {
    readonly breaker?: Partial<Parameters<typeof EffectBreaker.make>[0]>
    readonly store?: Partial<Fleet.StoreOptions>
  } = {}
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Fleet.layerStore({
      fleet,
      url,
      replica: name,
      heartbeat: "100 millis",
      // time to answer on a loaded machine: a command that times out leaves the replica deciding
      // alone for a while (its own probes), which the tests that count probes would see
      commandTimeout: "1 second",
      connectTimeout: "1 second",
      leaseTtl: "3 seconds",
      ...options.store
    }))
    const breaker = yield* EffectBreaker.make({
      tripPolicy: EffectBreaker.consecutive(2),
      openDuration: "1 second",
      ...options.breaker
    }).pipe(Effect.provide(context))
    const transitions: Array<string> = []
    yield* breaker.transitions.pipe(
      Stream.runForEach((t) => Effect.sync(() => transitions.push(`${t.key} ${t.from}->${t.to}`))),
      Effect.forkScoped({ startImmediately: true })
    )
    let probes = 0
    const counting: EffectBreaker.CircuitBreaker = {
      ...breaker,
      execute: ((self: Effect.Effect<unknown, unknown>, opts: { readonly key: string }) =>
        breaker.execute(self, {
          ...opts,
          classify: (exit, { probe }) => {
            if (probe) probes++
            return Exit.isSuccess(exit) ? EffectBreaker.success : EffectBreaker.failure()
          }
        })) as unknown as EffectBreaker.CircuitBreaker["execute"]
    }
    return {
      name,
      fleet: Context.get(context, Fleet.Fleet),
      breaker: counting,
      transitions,
      probes: () => probes
    } satisfies StoreReplica
  })

const reachable = (r: StoreReplica) => pollUntil(r.fleet.reachable, (ok) => ok)
const stateOf = (r: StoreReplica, key: string) => Effect.map(r.breaker.state(key), (s) => s._tag)
const awaitStateOf = (r: StoreReplica, key: string, tag: EffectBreaker.State["_tag"]) =>
  pollUntil(stateOf(r, key), (s) => s === tag)
const succeed = (r: StoreReplica, key: string) => r.breaker.execute(Effect.succeed("ok"), { key })
const fail = (r: StoreReplica, key: string) => Effect.ignore(r.breaker.execute(Effect.fail("boom"), { key }))
const rejection = (r: StoreReplica, key: string) =>
  Effect.map(
    Effect.flip(r.breaker.execute(Effect.void, { key })),
    (e) => e instanceof EffectBreaker.CircuitBreakerError ? e.reason._tag : "other"
  )

/** Calls `key` on `r` every 20 ms until its circuit reads Closed (the call succeeds). */
const callUntilClosed = (r: StoreReplica, key: string, within: Duration.Input) =>
  Effect.ignore(succeed(r, key)).pipe(
    Effect.andThen(stateOf(r, key)),
    Effect.repeat({ until: (s) => s === "Closed", schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutOrElse({ duration: within, orElse: () => Effect.fail(`${r.name} never closed ${key}`) })
  )

describeWithRedis("Fleet.layerStore under Effect 4's breaker", () => {
  it.live(
    "one replica opens, the other adopts the opening (which its transitions do not show)",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const a = yield* replica(own.url, fleet, "a", { breaker: { openDuration: "5 seconds" } })
        const b = yield* replica(own.url, fleet, "b", { breaker: { openDuration: "5 seconds" } })
        yield* Effect.all([reachable(a), reachable(b)])
        // both use the key first: a key joins the fleet on its first admission
        expect(yield* succeed(a, "pay")).toBe("ok")
        expect(yield* succeed(b, "pay")).toBe("ok")
        yield* fail(a, "pay")
        yield* fail(a, "pay")
        expect(yield* stateOf(a, "pay")).toBe("Open")
        yield* awaitStateOf(b, "pay", "Open")
        expect(yield* rejection(b, "pay")).toBe("CircuitOpen")
        const state = yield* b.breaker.state("pay")
        expect(state._tag === "Open" && Duration.toMillis(state.retryAfter) <= 5_000).toBe(true)
        // another key is not affected
        expect(yield* succeed(b, "search")).toBe("ok")
        expect(a.transitions).toEqual(["pay Closed->Open"])
        expect(b.transitions).toEqual([])
        // the fleet's status lists the key on both replicas
        const replicas = yield* pollUntil(
          a.fleet.replicas,
          (all) => all.length === 2 && all.every((r) => r.services["pay"]?.state === "open")
        )
        expect(replicas.map((r) => r.replica)).toEqual(["a", "b"])
      }).pipe(Effect.scoped),
    30_000
  )

  it.live("only one replica probes; its success closes the key on every replica", () =>
    Effect.gen(function*() {
      const own = yield* ownRedis
      const fleet = freshFleet()
      // an opening of 3 s: every replica reads it open before it ends, however late the machine runs
      const all = yield* Effect.forEach(
        ["a", "b", "c"],
        (name) => replica(own.url, fleet, name, { breaker: { openDuration: "3 seconds" } })
      )
      yield* Effect.forEach(all, reachable, { discard: true })
      yield* Effect.forEach(all, (r) => succeed(r, "k"), { discard: true })
      const [a] = all
      yield* fail(a!, "k")
      yield* fail(a!, "k")
      yield* Effect.forEach(all, (r) => awaitStateOf(r, "k", "Open"), { concurrency: "unbounded", discard: true })
      // every replica calls until its circuit is closed
      yield* Effect.forEach(all, (r) => callUntilClosed(r, "k", "10 seconds"), {
        concurrency: "unbounded",
        discard: true
      })
      expect(all.map((r) => r.probes()).reduce((x, y) => x + y, 0)).toBe(1)
    }).pipe(Effect.scoped), 30_000)

  it.live(
    "while Redis is stopped (SIGSTOP), calls keep their answers and never wait for it",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // a Redis command may take 2 s before it counts as lost: a call that waited for one would
        // still be waiting when the fleet noticed the loss
        const slow = { commandTimeout: "2 seconds", leaseTtl: "4 seconds" } as const
        const a = yield* replica(own.url, fleet, "a", { store: slow, breaker: { openDuration: "1 minute" } })
        const b = yield* replica(own.url, fleet, "b", { store: slow, breaker: { openDuration: "1 minute" } })
        yield* Effect.all([reachable(a), reachable(b)])
        yield* succeed(a, "k")
        yield* succeed(b, "k")
        own.signal("SIGSTOP")
        yield* Effect.addFinalizer(() => Effect.sync(() => own.signal("SIGCONT")))
        const answers = yield* Effect.forEach(
          Array.from({ length: 500 }, (_, i) => i),
          (i) => a.breaker.execute(Effect.succeed(i), { key: "k" })
        )
        expect(answers).toEqual(Array.from({ length: 500 }, (_, i) => i))
        // the breaker still decides: two failures open the key here
        yield* fail(a, "k")
        yield* fail(a, "k")
        expect(yield* rejection(a, "k")).toBe("CircuitOpen")
        expect(yield* a.fleet.reachable).toBe(true)
        // then the fleet notices the loss, and the calls go on as before
        yield* pollUntil(a.fleet.reachable, (ok) => !ok)
        expect(yield* succeed(b, "k")).toBe("ok")
        expect(yield* rejection(a, "k")).toBe("CircuitOpen")
        // Redis back: a's opening reaches b
        own.signal("SIGCONT")
        yield* Effect.all([reachable(a), reachable(b)])
        yield* awaitStateOf(b, "k", "Open")
      }).pipe(Effect.scoped),
    30_000
  )

  it.live("an opening survives a FLUSHALL: a replica joining afterwards adopts it", () =>
    Effect.gen(function*() {
      const own = yield* ownRedis
      const fleet = freshFleet()
      const a = yield* replica(own.url, fleet, "a", { breaker: { openDuration: "20 seconds" } })
      yield* reachable(a)
      yield* succeed(a, "k")
      yield* fail(a, "k")
      yield* fail(a, "k")
      const connection = yield* RedisClient.connectReady(own.url)
      // the opening is in Redis, then lost with everything else
      yield* pollUntil(connection.send(["KEYS", `*${fleet}*`]), (keys) => Array.isArray(keys) && keys.length > 0)
      yield* connection.send(["FLUSHALL"])
      expect(yield* rejection(a, "k")).toBe("CircuitOpen")
      const c = yield* replica(own.url, fleet, "c", { breaker: { openDuration: "20 seconds" } })
      yield* reachable(c)
      // c's first call joins the key (and runs: c knew nothing yet); the republished opening follows
      yield* Effect.ignore(succeed(c, "k"))
      yield* awaitStateOf(c, "k", "Open")
      expect(yield* rejection(c, "k")).toBe("CircuitOpen")
    }).pipe(Effect.scoped), 30_000)

  it.live(
    "a probe interrupted gives the lease back at once: another replica probes long before half the lease",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // lease 20 s: the halfway give-back (no probe running) would come after 10 s, the expiry
        // after 20 s; the interrupted probe gives it back at once. An opening of 2 s: b sees it
        // open before it ends, however late the machine runs
        const options = { store: { leaseTtl: "20 seconds" }, breaker: { openDuration: "2 seconds" } } as const
        const a = yield* replica(own.url, fleet, "a", options)
        const b = yield* replica(own.url, fleet, "b", options)
        yield* Effect.all([reachable(a), reachable(b)])
        yield* succeed(a, "k")
        yield* succeed(b, "k")
        yield* fail(a, "k")
        yield* fail(a, "k")
        yield* awaitStateOf(b, "k", "Open")
        // a asks for the lease until its call runs as the probe, then the probe is interrupted
        const started = yield* Deferred.make<void>()
        const probe = yield* Effect.forkChild(
          a.breaker.execute(Effect.andThen(Deferred.succeed(started, undefined), Effect.never), { key: "k" }).pipe(
            Effect.retry({ schedule: Schedule.spaced("20 millis") })
          ),
          { startImmediately: true }
        )
        yield* Deferred.await(started).pipe(
          Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.fail("a never probed") })
        )
        // b is refused while a holds the lease
        yield* awaitStateOf(b, "k", "HalfOpen")
        expect(yield* rejection(b, "k")).toBe("CircuitHalfOpen")
        yield* Fiber.interrupt(probe)
        expect(yield* a.breaker.state("k")).toMatchObject({ _tag: "HalfOpen", probing: false })
        // b gets the lease as soon as a gives it back, and its probe closes the fleet (5 s: half
        // of the time after which the halfway rule would have given it back)
        yield* callUntilClosed(b, "k", "5 seconds")
        expect(b.probes()).toBe(1)
        yield* awaitStateOf(a, "k", "Closed")
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a key idle for idleTimeToLive leaves the fleet, and joins it again on its next call",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const a = yield* replica(own.url, fleet, "a", { store: { idleTimeToLive: "300 millis" } })
        const b = yield* replica(own.url, fleet, "b", { breaker: { openDuration: "20 seconds" } })
        yield* Effect.all([reachable(a), reachable(b)])
        yield* succeed(a, "k")
        yield* succeed(b, "k")
        const listed = (r: StoreReplica) =>
          Effect.map(a.fleet.replicas, (all) => all.find((x) => x.replica === r.name)?.services["k"] !== undefined)
        yield* pollUntil(listed(a), (yes) => yes)
        // a keeps calling another key (admissions sweep the idle ones) until "k" is gone from its status
        yield* pollUntil(Effect.andThen(succeed(a, "other"), listed(a)), (yes) => !yes)
        // b opens "k"; a's next call makes "k" again, which joins and adopts the opening
        yield* fail(b, "k")
        yield* fail(b, "k")
        yield* Effect.ignore(succeed(a, "k"))
        yield* awaitStateOf(a, "k", "Open")
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a rate policy and a Schedule of openings on the fleet: each opening grows, and the other replica adopts it",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const breaker = {
          tripPolicy: EffectBreaker.rate({ threshold: 0.5, size: 4, minimumCalls: 4 }),
          // openings of 2 s then 4 s: each long enough for b to see it before it ends on a loaded machine
          openDuration: Schedule.exponential("2 seconds")
        }
        const a = yield* replica(own.url, fleet, "a", { breaker })
        const b = yield* replica(own.url, fleet, "b", { breaker })
        yield* Effect.all([reachable(a), reachable(b)])
        yield* succeed(b, "r")
        // 1 failure in 3 calls: below minimumCalls; the 4th call (a failure) makes 2 in 4
        yield* succeed(a, "r")
        yield* fail(a, "r")
        yield* succeed(a, "r")
        expect(yield* stateOf(a, "r")).toBe("Closed")
        yield* fail(a, "r")
        expect(yield* a.breaker.state("r")).toMatchObject({ _tag: "Open", consecutiveOpenings: 1 })
        yield* awaitStateOf(b, "r", "Open")
        // a's probe (once it holds the lease) fails: the second opening is the schedule's second delay
        const probed = Effect.flip(a.breaker.execute(Effect.fail("still down"), { key: "r" })).pipe(
          Effect.filterOrFail((error) => error === "still down"),
          Effect.retry({ schedule: Schedule.spaced("20 millis") }),
          Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.fail("a never probed") })
        )
        yield* probed
        const second = yield* a.breaker.state("r")
        expect(second).toMatchObject({ _tag: "Open", consecutiveOpenings: 2 })
        expect(second._tag === "Open" && Duration.toMillis(second.retryAfter) > 2_000).toBe(true)
        expect(a.transitions).toEqual(["r Closed->Open", "r Open->HalfOpen", "r HalfOpen->Open"])
        // b adopts the second opening, with what remains of its 4 s (more than the whole first)
        yield* pollUntil(
          b.breaker.state("r"),
          (state) => state._tag === "Open" && Duration.toMillis(state.retryAfter) > 2_000
        )
        yield* callUntilClosed(a, "r", "10 seconds")
        yield* awaitStateOf(b, "r", "Closed")
      }).pipe(Effect.scoped),
    30_000
  )
})

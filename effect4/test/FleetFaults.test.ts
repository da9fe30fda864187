/**
 * Fleet mode under the faults an operator meets in production, one scenario per behaviour, each
 * on a private redis-server that the test stops, pauses or flushes: the probe lease goes only to
 * a replica that probes and is never renewed; nothing stale is applied after a stall; epochs
 * survive a `FLUSHALL`; an opening republished after data loss keeps what remained of it; a
 * remaining time from elsewhere is clamped. Waits are on transitions and conditions; the time
 * guards only bound a wait that the old behaviour made endless.
 */
import { expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as PubSub from "effect/PubSub"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { startRedis } from "../../test/utils/redisServer.js"
import { describeWithRedis } from "../../test/utils/redisSuite.js"
import type { CircuitBreaker } from "../src/index.js"
import * as Scripts from "../src/internal/fleetScripts.js"
import { awaitReachable, awaitState, boom, makeReplica, pollUntil, type Replica } from "./utils/fleet.js"
import * as RedisClient from "./utils/redisClient.js"

describeWithRedis("Fleet under Redis faults", () => {
  let fleets = 0
  const freshFleet = () => `faults-${++fleets}`

  /** A private redis-server for one test, stopped (and resumed first) with the test's scope. */
  const ownRedis = Effect.acquireRelease(Effect.promise(() => startRedis()), (s) => Effect.promise(() => s.stop()))

  const replicas = (
    url: string,
    fleet: string,
    n: number,
    options: Partial<Parameters<typeof makeReplica>[0]> = {}
  ) =>
    Effect.forEach(
      Array.from({ length: n }, (_, i) => i + 1),
      (i) => makeReplica({ url, fleet, name: `r${i}`, ...options }),
      { concurrency: "unbounded" }
    )

  const allReachable = (all: ReadonlyArray<Replica>) => Effect.forEach(all, awaitReachable, { discard: true })
  const trip = (replica: Replica) => Effect.ignore(replica.breaker(boom)).pipe(Effect.repeat({ times: 1 }))
  const allOpen = (all: ReadonlyArray<Replica>) =>
    Effect.forEach(all, (r) => awaitState(r.breaker, "open"), { concurrency: "unbounded", discard: true })

  /** Every state a breaker enters from now on, for the life of the scope. */
  const history = (breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.gen(function*() {
      const seen: Array<CircuitBreaker.State> = []
      const changes = yield* breaker.subscribe
      yield* Effect.forkScoped(Effect.forever(Effect.map(PubSub.take(changes), (change) => seen.push(change.to))))
      return seen
    })

  /** The replica calls `call` every 20 ms until its breaker is closed; fails after `within`. */
  const callUntilClosed = <E>(replica: Replica, call: Effect.Effect<unknown, E>, within: Duration.Input) =>
    replica.breaker.state.pipe(
      Effect.tap((state) => state === "closed" ? Effect.void : Effect.ignore(replica.breaker(call))),
      Effect.repeat({ until: (state) => state === "closed", schedule: Schedule.spaced("20 millis") }),
      Effect.timeoutOrElse({ duration: within, orElse: () => Effect.fail(`${replica.name} never closed`) })
    )

  /** Replica "slow" (recovery 1 h) opens the fleet; replica "quick" (300 ms) follows it. */
  const slowOpensQuick = (url: string, fleet: string) =>
    Effect.gen(function*() {
      const slow = yield* makeReplica({ url, fleet, name: "slow", breaker: { recoveryTimeout: "1 hour" } })
      const quick = yield* makeReplica({ url, fleet, name: "quick", breaker: { recoveryTimeout: "300 millis" } })
      yield* allReachable([slow, quick])
      yield* Effect.all([trip(slow), awaitState(quick.breaker, "open")], { concurrency: "unbounded", discard: true })
      return { quick, slow }
    })

  const retryAfterMillis = (replica: Replica) =>
    Effect.map(
      Effect.flip(replica.breaker(Effect.void)),
      (error) => error._tag === "ServiceUnavailable" ? Duration.toMillis(error.retryAfter) : -1
    )

  const readView = (url: string, fleet: string, service = "upstream") =>
    Effect.scoped(
      Effect.flatMap(RedisClient.connectReady(url), (connection) =>
        Effect.flatMap(Scripts.client(connection, fleet), (client) =>
          Effect.map(client.read(service), (answer) =>
            answer.view)))
    )

  /** A call that signals once it runs (a probe), then waits for `release` and fails. */
  const held = Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    let running = false
    const call = Effect.suspend(() => {
      running = true
      return Effect.andThen(Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(release)), boom)
    })
    /** The replica calls until one of its calls runs (its probe), in the background. */
    const probeWith = (replica: Replica) =>
      Effect.forkScoped(
        Effect.ignore(replica.breaker(call)).pipe(
          Effect.repeat({ until: () => running, schedule: Schedule.spaced("20 millis") })
        )
      )
    return { started: Deferred.await(started), release: Deferred.succeed(release, undefined), probeWith }
  })

  it.live(
    "the lease goes to the replica that calls: 6 replicas, one with traffic, it probes and the fleet closes",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const all = yield* replicas(own.url, freshFleet(), 6, {
          // commands with 750 ms to answer (at most half the lease): with the helpers' 200 ms, six
          // replicas on a loaded machine lose Redis now and then, and each loss is a detour
          fleetOptions: { leaseTtl: "1500 millis", commandTimeout: "750 millis" },
          breaker: { recoveryTimeout: "300 millis" }
        })
        yield* allReachable(all)
        yield* Effect.all([trip(all[0]!), allOpen(all)], { concurrency: "unbounded", discard: true })
        // five replicas stay idle: none of them may hold the lease the caller needs (before, one of
        // them took it as its breaker reached half_open and renewed it for as long as it lived)
        const caller = all[5]!
        yield* callUntilClosed(caller, Effect.void, "6 seconds")
        for (const replica of all) yield* awaitState(replica.breaker, "closed")
      }),
    30_000
  )

  it.live(
    "a probe that hangs past leaseTtl: another replica probes, the fleet closes, and the late result counts for nothing",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const [a, b] = yield* replicas(own.url, freshFleet(), 2, {
          fleetOptions: { leaseTtl: "1 second" },
          breaker: { recoveryTimeout: "300 millis" }
        })
        yield* allReachable([a!, b!])
        yield* Effect.all([trip(a!), allOpen([a!, b!])], { concurrency: "unbounded", discard: true })
        // a calls until one of its calls is a probe; that probe hangs until released, then fails
        const probe = yield* held
        yield* probe.probeWith(a!)
        yield* probe.started
        // b's calls get the lease once a's has expired (before, a renewed it while its probe hung)
        yield* callUntilClosed(b!, Effect.void, "8 seconds")
        yield* probe.release
        yield* awaitState(a!.breaker, "closed")
        expect((yield* readView(own.url, `faults-${fleets}`)).state).toBe("closed")
      }),
    30_000
  )

  // a failover pauses writes (CLIENT PAUSE WRITE); a stalled host stops the process (SIGSTOP)
  for (const fault of ["CLIENT PAUSE WRITE", "SIGSTOP"] as const) {
    it.live(
      `an opening proposed as Redis stalls (${fault}) is not applied when it resumes: the fleet stays closed`,
      () =>
        Effect.gen(function*() {
          const own = yield* ownRedis
          const fleet = freshFleet()
          // heartbeats apart, so that nothing else of a's is in flight when it opens
          const [a, b] = yield* replicas(own.url, fleet, 2, {
            fleetOptions: { heartbeat: "2 seconds" },
            breaker: { recoveryTimeout: "300 millis" }
          })
          yield* allReachable([a!, b!])
          const seenByB = yield* history(b!.breaker)
          const admin = yield* RedisClient.connectReady(own.url)
          // the scripts are known to Redis (as in any fleet that has run a while): a stalled
          // EVALSHA runs when Redis resumes, it does not fail with NOSCRIPT
          const scripts = yield* Scripts.scripts
          yield* Effect.forEach(Object.values(scripts), (script) => admin.send(["SCRIPT", "LOAD", script.source]))
          const clientIds = Effect.map(
            admin.send(["CLIENT", "LIST"]),
            (list) => Array.from(String(list).matchAll(/^id=(\d+) /gm), (m) => m[1]!)
          )
          const before = yield* clientIds
          if (fault === "SIGSTOP") {
            own.signal("SIGSTOP")
            yield* Effect.addFinalizer(() => Effect.sync(() => own.signal("SIGCONT")))
          } else {
            yield* admin.send(["CLIENT", "PAUSE", "20000", "WRITE"])
            yield* Effect.addFinalizer(() => Effect.ignore(admin.send(["CLIENT", "UNPAUSE"])))
          }
          // a opens meanwhile: its proposal is written, waits in Redis, and times out here
          yield* trip(a!)
          yield* pollUntil(a!.fleet.reachable, (reachable) => !reachable)
          if (fault === "CLIENT PAUSE WRITE") {
            // the timeout replaced a's command connection: its next commands do not queue behind it
            yield* pollUntil(clientIds, (ids) => ids.some((id) => !before.includes(id)))
          }
          // a decides alone meanwhile: its opening ends and a probe closes it again
          yield* callUntilClosed(a!, Effect.void, "5 seconds")
          if (fault === "SIGSTOP") own.signal("SIGCONT")
          else yield* admin.send(["CLIENT", "UNPAUSE"])
          yield* allReachable([a!, b!])
          // the proposal ran when Redis resumed, after its deadline: it changed nothing
          const view = yield* readView(own.url, fleet)
          expect(view).toMatchObject({ generation: 0, state: "closed" })
          expect(seenByB).not.toContain("open")
          expect(yield* b!.breaker.state).toBe("closed")
        }),
      30_000
    )
  }

  it.live(
    "after FLUSHALL the first change of the new epoch reaches the others at once, not at their next heartbeat",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // heartbeats far apart: only the channel can carry the change within the test
        const [a, b] = yield* replicas(own.url, fleet, 2, {
          fleetOptions: { heartbeat: "20 seconds" },
          breaker: { recoveryTimeout: "200 millis" }
        })
        yield* allReachable([a!, b!])
        // generation 1: open; generation 2: a's probe closed it
        yield* Effect.all([trip(a!), allOpen([a!, b!])], { concurrency: "unbounded", discard: true })
        yield* callUntilClosed(a!, Effect.void, "5 seconds")
        yield* awaitState(b!.breaker, "closed")
        const connection = yield* RedisClient.connectReady(own.url)
        yield* connection.send(["FLUSHALL"])
        // a opens again: its proposal meets the empty state, and publishes generation 1 of a new
        // epoch (before, b took it for a late message of generation 1 and ignored it)
        yield* trip(a!)
        yield* awaitState(b!.breaker, "open").pipe(
          Effect.timeoutOrElse({
            // far sooner than the next heartbeat (20 s), and room for a loaded machine
            duration: "10 seconds",
            orElse: () => Effect.fail("b did not adopt the new epoch's opening")
          })
        )
      }),
    30_000
  )

  it.live(
    "FLUSHALL during a failing probe: the probe's opening is published again, the fleet does not close",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // heartbeats far apart: the settling, not a heartbeat's read, is what meets the empty state
        const [a, b] = yield* replicas(own.url, fleet, 2, {
          fleetOptions: { heartbeat: "20 seconds" },
          // openings of 3 s: the re-published one lasts long enough for the polling below to read it
          // however late the machine runs (at 300 ms it could end between two reads)
          breaker: { recoveryTimeout: "3 seconds" }
        })
        yield* allReachable([a!, b!])
        yield* Effect.all([trip(a!), allOpen([a!, b!])], { concurrency: "unbounded", discard: true })
        const seenByA = yield* history(a!.breaker)
        const probe = yield* held
        yield* probe.probeWith(a!)
        yield* probe.started
        const connection = yield* RedisClient.connectReady(own.url)
        yield* connection.send(["FLUSHALL"])
        // the probe fails: a opens again; its settling meets the empty state (before, a adopted
        // that state: open → closed, and calls went to the failing upstream)
        yield* probe.release
        const view = yield* pollUntil(readView(own.url, fleet), (v) => v.state === "open")
        expect(view.generation).toBe(1)
        yield* awaitState(b!.breaker, "open")
        expect(seenByA.slice(seenByA.indexOf("half_open"))).not.toContain("closed")
      }),
    30_000
  )

  it.live(
    "after FLUSHALL an opening is published again with what remains of it, not its full length",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // an opening long enough to outlast the re-publishing however late the machine runs (at
        // 1.5 s it could end first on a loaded machine, and nothing would be published again)
        const all = yield* replicas(own.url, fleet, 2, { breaker: { recoveryTimeout: "10 seconds" } })
        yield* allReachable(all)
        yield* Effect.all([trip(all[0]!), allOpen(all)], { concurrency: "unbounded", discard: true })
        const connection = yield* RedisClient.connectReady(own.url)
        // part of the opening has passed
        yield* pollUntil(readView(own.url, fleet), (v) => v.state === "open" && v.remainingMillis < 8_500)
        yield* connection.send(["FLUSHALL"])
        const again = yield* pollUntil(readView(own.url, fleet), (v) => v.state !== "closed")
        // before, the snapshot of the last transition: 10 s again
        expect(again.remainingMillis).toBeLessThan(8_500)
        for (const replica of all) expect(yield* retryAfterMillis(replica)).toBeLessThan(8_500)
      }),
    30_000
  )

  it.live(
    "a remaining time from elsewhere is clamped: one replica's 1 h recovery, or a forged message, is this one's longest opening",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const { quick, slow } = yield* slowOpensQuick(own.url, fleet)
        expect(yield* retryAfterMillis(quick)).toBeLessThanOrEqual(300)
        // its opening ends after its own recovery: its probe closes the fleet (before: an hour;
        // the guard allows for a lease of quick's own lost in a moment without Redis, 3 s at most)
        yield* callUntilClosed(quick, Effect.void, "10 seconds")
        yield* awaitState(slow.breaker, "closed")
        // anyone able to PUBLISH on the channel: a newer state, open for a day
        const connection = yield* RedisClient.connectReady(own.url)
        yield* connection.send([
          "PUBLISH",
          Scripts.channel(fleet),
          JSON.stringify({ service: "upstream", epoch: 9e12, gen: 99, state: "open", remaining: 86_400_000, by: "x" })
        ])
        yield* awaitState(quick.breaker, "open")
        expect(yield* retryAfterMillis(quick)).toBeLessThanOrEqual(300)
      }),
    30_000
  )

  it.live(
    "a replica whose shorter recovery ends the fleet's long opening probes with sparse calls, and closes the fleet",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const { quick, slow } = yield* slowOpensQuick(own.url, fleet)
        // a call every 500 ms, several heartbeats apart: before, each heartbeat's read (without
        // quick's horizon) said `open` again, took the granted lease away and left it in Redis
        // until its TTL, so no call ever probed
        const result = yield* quick.breaker.state.pipe(
          Effect.tap((state) => state === "closed" ? Effect.void : Effect.ignore(quick.breaker(Effect.void))),
          Effect.repeat({ until: (state) => state === "closed", schedule: Schedule.spaced("500 millis") }),
          Effect.timeoutOrElse({ duration: Duration.seconds(12), orElse: () => Effect.fail("quick never closed") }),
          Effect.result
        )
        expect(Result.isSuccess(result)).toBe(true)
        yield* awaitState(slow.breaker, "closed")
      }),
    30_000
  )

  it.live(
    "a holder that loses Redis while its probe runs keeps the lease and settles the probe's success once Redis is back",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // a lease far longer than the wait below: only the holder's settling can close the fleet
        const [a, b] = yield* replicas(own.url, fleet, 2, {
          fleetOptions: { leaseTtl: "30 seconds" },
          breaker: { recoveryTimeout: "300 millis" }
        })
        yield* allReachable([a!, b!])
        yield* Effect.all([trip(a!), allOpen([a!, b!])], { concurrency: "unbounded", discard: true })
        // a calls until one of its calls is a probe under the lease; the probe waits, then succeeds
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        let running = false
        const call = Effect.suspend(() => {
          running = true
          return Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(release))
        })
        yield* Effect.forkScoped(
          Effect.ignore(a!.breaker(call)).pipe(
            Effect.repeat({ until: () => running, schedule: Schedule.spaced("20 millis") })
          )
        )
        yield* Deferred.await(started)
        // Redis stalls while the probe runs: a's commands time out, and the probe succeeds meanwhile
        own.signal("SIGSTOP")
        yield* Effect.addFinalizer(() => Effect.sync(() => own.signal("SIGCONT")))
        yield* pollUntil(a!.fleet.reachable, (reachable) => !reachable)
        yield* Deferred.succeed(release, undefined)
        yield* awaitState(a!.breaker, "closed")
        own.signal("SIGCONT")
        yield* allReachable([a!, b!])
        // before, a forgot its lease (left in Redis for leaseTtl), adopted the fleet's half_open
        // and its probe's success was lost: nobody closed the fleet
        yield* awaitState(b!.breaker, "closed")
        expect((yield* readView(own.url, fleet)).state).toBe("closed")
        expect(yield* a!.breaker.state).toBe("closed")
      }),
    30_000
  )
  it.live(
    "a holder whose probe is interrupted gives the lease back at once: another replica probes long before half the lease",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        // a lease of 20 s: the halfway give-back (no probe running) would come after 10 s, its
        // expiry after 20 s; only the give-back on the interrupted probe lets b probe within 5 s
        const [a, b] = yield* replicas(own.url, fleet, 2, {
          fleetOptions: { leaseTtl: "20 seconds", commandTimeout: "1 second" },
          breaker: { recoveryTimeout: "300 millis" }
        })
        yield* allReachable([a!, b!])
        yield* Effect.all([trip(a!), allOpen([a!, b!])], { concurrency: "unbounded", discard: true })
        // a calls until one of its calls runs as the probe under the lease; the probe hangs
        const probe = yield* held
        const caller = yield* probe.probeWith(a!)
        yield* probe.started
        expect((yield* readView(own.url, fleet)).leaseRemainingMillis).toBeGreaterThan(10_000)
        yield* Fiber.interrupt(caller)
        // b asks for the lease (denied while a held it), gets it once a gave it back, and its
        // probe closes the fleet
        yield* callUntilClosed(b!, Effect.void, "5 seconds")
        yield* awaitState(a!.breaker, "closed")
        expect((yield* readView(own.url, fleet)).state).toBe("closed")
      }),
    30_000
  )
})

/**
 * Fleet mode end to end: replicas in this process, each with its own fleet layer (its own Redis
 * connections) and its own breaker, on a private redis-server. Each scenario is bounded by guard
 * timeouts; waits are on the breakers' transitions, never on sleeps.
 */
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as http from "node:http"
import { CircuitBreaker, Fleet, ResilientServiceClient } from "../src/index.js"
import * as Scripts from "../src/internal/fleetScripts.js"
import * as Testing from "../src/Testing.js"
import { awaitReachable, awaitState, boom, makeReplica, pollUntil, type Replica } from "./utils/fleet.js"
import { makeLogCapture } from "./utils/logs.js"
import * as RedisClient from "./utils/redisClient.js"
import { startRedis } from "./utils/redisServer.js"
import { describeWithRedisServer } from "./utils/redisSuite.js"
import { makeServer } from "./utils/server.js"

describeWithRedisServer("Fleet", (server) => {
  let fleets = 0
  const freshFleet = () => `fleet-test-${++fleets}`

  const replicas = (fleet: string, n: number, options: Partial<Parameters<typeof makeReplica>[0]> = {}) =>
    Effect.forEach(
      Array.from({ length: n }, (_, i) => i + 1),
      (i) => makeReplica({ url: server().url, fleet, name: `r${i}`, ...options }),
      { concurrency: "unbounded" }
    )

  /** A private redis-server for one test, stopped with the test's scope. */
  const ownRedis = Effect.acquireRelease(Effect.promise(() => startRedis()), (s) => Effect.promise(() => s.stop()))

  const allReachable = (all: ReadonlyArray<Replica>) => Effect.forEach(all, awaitReachable, { discard: true })

  const trip = (replica: Replica) => Effect.ignore(replica.breaker(boom)).pipe(Effect.repeatN(1))

  it.scopedLive("the retry budget holds for the fleet: one replica's failed attempts spend the others' budget", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const upstream = Testing.fakeUpstream({ "*": Testing.refused })
      const [a, b] = yield* Effect.forEach(["a", "b"], (replica) =>
        Effect.gen(function*() {
          const context = yield* Layer.build(Fleet.layerRedis({
            fleet,
            url: server().url,
            replica,
            heartbeat: "100 millis",
            // time to answer on a loaded machine: counts sent while Redis seems away are not shared
            commandTimeout: "1 second",
            connectTimeout: "1 second"
          }))
          yield* pollUntil(Context.get(context, Fleet.Fleet).reachable, (reachable) => reachable)
          return yield* ResilientServiceClient.make({
            baseUrl: "http://billing.test",
            serviceName: "billing",
            maxAttempts: 1,
            failureThreshold: 1_000,
            retryBudget: { maxTokens: 100, tokenRatio: 0.5 }
          }).pipe(Effect.provide(Layer.merge(Layer.succeedContext(context), upstream.layer)))
        }))
      // 60 failed attempts on replica a: 60 tokens of its budget, and of b's once a tells it
      yield* makeLogCapture().provide(Effect.repeatN(Effect.ignore(a!.get("/charge")), 59))
      expect((yield* a!.retryBudget).tokens).toBe(40)
      // (a heartbeat may fall amid the 60 calls: the counts then arrive in two messages, so wait
      // for all of them, not the first)
      const shared = yield* pollUntil(b!.retryBudget, (state) => state.tokens <= 40)
      expect(shared).toEqual({ tokens: 40, maxTokens: 100, retriesAllowed: false })
      // a's own message does not come back to it
      expect((yield* a!.retryBudget).tokens).toBe(40)
      expect(upstream.requests().length).toBe(60)
    }))

  it.scopedLive("an opening on one replica opens every replica of the fleet, for the same remaining time", () =>
    Effect.gen(function*() {
      const all = yield* replicas(freshFleet(), 3)
      yield* allReachable(all)
      const [first, ...others] = all
      const followers = Effect.forEach(others, (r) => awaitState(r.breaker, "open"), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Effect.zipRight(trip(first!), followers, { concurrent: true })
      for (const replica of all) {
        const error = yield* Effect.flip(replica.breaker(Effect.succeed(1)))
        expect(error._tag).toBe("ServiceUnavailable")
        if (error._tag === "ServiceUnavailable") {
          expect(error.state).toBe("open")
          // the remaining time travelled: at most the 300 ms recovery timeout
          expect(error.retryAfter.pipe((d) => d.value._tag === "Millis" ? d.value.millis : 0)).toBeLessThanOrEqual(300)
        }
      }
      // a breaker of another name, or in another fleet, is not touched
      const other = yield* makeReplica({ url: server().url, fleet: freshFleet(), name: "x" })
      expect(yield* other.breaker.state).toBe("closed")
    }))

  it.scopedLive(
    "exactly one probe per half-open period reaches the upstream across the fleet",
    () =>
      Effect.gen(function*() {
        // the upstream fails the two tripping calls and the first probe, then recovers
        const upstream = yield* makeServer((_request, response, index) => {
          response.statusCode = index < 3 ? 503 : 200
          response.end()
        })
        const call = Effect.tryPromise(() => fetch(upstream.url)).pipe(
          Effect.flatMap((response) => response.status === 200 ? Effect.void : Effect.fail(response.status))
        )
        // commands with time to answer on a loaded machine: a command that times out leaves the
        // replica deciding alone for a while, and a replica alone probes on its own (by design)
        const all = yield* replicas(freshFleet(), 3, { fleetOptions: { commandTimeout: "1 second" } })
        yield* allReachable(all)
        yield* Effect.zipRight(
          Effect.ignore(all[0]!.breaker(call)).pipe(Effect.repeatN(1)),
          Effect.forEach(all, (r) => awaitState(r.breaker, "open"), { concurrency: "unbounded", discard: true }),
          { concurrent: true }
        )
        expect(upstream.requests.length).toBe(2)
        // every replica keeps calling (every 5 ms) until its breaker is closed again
        // (the state is read before each call: calls made once closed are not probes)
        const traffic = (replica: Replica) =>
          replica.breaker.state.pipe(
            Effect.tap((state) => state === "closed" ? Effect.void : Effect.ignore(replica.breaker(call))),
            Effect.repeat({ until: (state) => state === "closed", schedule: Schedule.spaced("5 millis") })
          )
        yield* Effect.forEach(all, traffic, { concurrency: "unbounded", discard: true }).pipe(
          Effect.timeout("15 seconds")
        )
        // two half-open periods (the first probe failed, the second succeeded): one probe each
        expect(upstream.requests.length).toBe(4)
        for (const replica of all) expect(yield* replica.breaker.state).toBe("closed")
      }),
    30_000
  )

  it.scopedLive("with a quorum of 2 one replica's opening stays local until a second replica opens", () =>
    Effect.gen(function*() {
      const all = yield* replicas(freshFleet(), 3, { fleetOptions: { quorum: 2, quorumWindow: "10 seconds" } })
      yield* allReachable(all)
      yield* trip(all[0]!)
      // the proposal is pending in Redis (the fleet fiber sends it after the trip)
      const connection = yield* RedisClient.connectReady(server().url)
      const keys = Scripts.serviceKeys(all[0]!.fleet.fleet, "upstream")
      yield* pollUntil(connection.send(["ZCARD", keys.proposals]), (n) => n === 1)
      expect(yield* all[1]!.breaker.state).toBe("closed")
      expect(yield* all[2]!.breaker.state).toBe("closed")
      yield* Effect.zipRight(trip(all[1]!), awaitState(all[2]!.breaker, "open"), { concurrent: true })
    }))

  it.scopedLive("an opening the quorum did not take ends locally: the replica probes on its own in half_open", () =>
    Effect.gen(function*() {
      const all = yield* replicas(freshFleet(), 2, { fleetOptions: { quorum: 2 } })
      yield* allReachable(all)
      yield* trip(all[0]!)
      yield* awaitState(all[0]!.breaker, "half_open")
      // the replica grants itself the probe once its fleet fiber has seen the half_open period:
      // calls until then are rejected
      const probe = yield* pollUntil(Effect.either(all[0]!.breaker(Effect.succeed("probe"))), (r) => r._tag === "Right")
      expect(probe).toEqual(Either.right("probe"))
      expect(yield* all[0]!.breaker.state).toBe("closed")
      expect(yield* all[1]!.breaker.state).toBe("closed")
    }))

  it.scopedLive("a fleet layer's Redis connections (commands and subscriber) close with its scope", () =>
    Effect.gen(function*() {
      // a server of its own: no other test's connections come and go meanwhile
      const own = yield* ownRedis
      const observer = yield* RedisClient.connectReady(own.url)
      const clients = observer.send(["CLIENT", "LIST"]).pipe(
        Effect.map((list) => String(list).split("\n").filter((line) => line.includes("addr=")).length)
      )
      const before = yield* clients
      yield* Effect.scoped(Effect.gen(function*() {
        const replica = yield* makeReplica({ url: own.url, fleet: freshFleet(), name: "short" })
        yield* awaitReachable(replica)
        // the command connection and the subscriber
        yield* pollUntil(clients, (n) => n === before + 2)
      }))
      expect(yield* pollUntil(clients, (n) => n === before)).toBe(before)
    }))

  it.scopedLive("a breaker made under Fleet.optOut stays local", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      // an opening long enough to be still in force when r9 joins, however slowly it does (with the
      // helpers' 300 ms it could end first, and r9 would have nothing to follow)
      const long = { recoveryTimeout: "30 seconds" } as const
      const [a] = yield* replicas(fleet, 1, { breaker: long })
      yield* allReachable([a!])
      const local = yield* Fleet.optOut(CircuitBreaker.make({ name: "upstream", failureThreshold: 1 })).pipe(
        Effect.provideService(Fleet.Fleet, a!.fleet)
      )
      yield* Effect.zipRight(trip(a!), awaitState(a!.breaker, "open"), { concurrent: true })
      // the fleet's opening is published; a joined breaker would follow within a heartbeat
      const b = yield* makeReplica({ url: server().url, fleet, name: "r9", breaker: long })
      yield* awaitState(b.breaker, "open")
      expect(yield* local.state).toBe("closed")
    }))

  it.scopedLive("replicas publish their statuses; a replica that stops is gone after a few heartbeats", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* replicas(fleet, 1)
      yield* allReachable([a!])
      yield* Effect.scoped(Effect.gen(function*() {
        const b = yield* makeReplica({ url: server().url, fleet, name: "short-lived", service: "billing" })
        yield* awaitReachable(b)
        const listed = yield* pollUntil(
          a!.fleet.replicas,
          (list) => list.some((r) => r.replica === "short-lived" && r.services["billing"] !== undefined)
        )
        const entry = listed.find((r) => r.replica === "short-lived")!
        expect(entry.services["billing"]).toMatchObject({ service: "billing", state: "closed", failure_count: 0 })
      }))
      // its scope closed: no more heartbeats; 3 missed ones and it is gone
      const after = yield* pollUntil(a!.fleet.replicas, (list) => !list.some((r) => r.replica === "short-lived"))
      expect(after.map((r) => r.replica)).toEqual(["r1"])
    }))

  it.scopedLive(
    "Redis hung (SIGSTOP): calls neither fail nor wait, the loss is logged once, and the fleet converges after",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const capture = makeLogCapture()
        const fleet = freshFleet()
        // commands with 1 s to answer: on a loaded machine Redis just resumed may take longer than
        // the helpers' 200 ms, and each such moment is an outage of its own (logged as one)
        const [a, b] = yield* replicas(fleet, 2, {
          url: own.url,
          breaker: { recoveryTimeout: "30 seconds" },
          fleetOptions: { commandTimeout: "1 second" }
        }).pipe(
          capture.provide
        )
        yield* allReachable([a!, b!])
        own.signal("SIGSTOP")
        yield* Effect.addFinalizer(() => Effect.sync(() => own.signal("SIGCONT")))
        // every call completes while Redis cannot answer: none of them waits for it
        const results = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => b!.breaker(Effect.succeed(i)),
          { concurrency: 10 }
        )
        expect(results).toHaveLength(50)
        // a's breaker opens on its own, with Redis hung
        yield* trip(a!)
        expect(yield* a!.breaker.state).toBe("open")
        // the loss is noticed (a heartbeat times out) and logged once
        yield* awaitUnreachable(a!)
        yield* awaitUnreachable(b!)
        own.signal("SIGCONT")
        // a pushes its opening; b adopts it
        yield* awaitState(b!.breaker, "open")
        yield* allReachable([a!, b!])
        // one line per outage and replica layer, not one per failed command: 2 for the SIGSTOP,
        // and as many losses as returns should a loaded machine add an outage of its own
        const lossLines = capture.messages().filter((m) => m.includes("Redis unreachable"))
        const backLines = capture.messages().filter((m) => m.includes("Redis reachable again"))
        expect(lossLines.length).toBeGreaterThanOrEqual(2)
        expect(backLines).toHaveLength(lossLines.length)
      }),
    30_000
  )

  it.scopedLive(
    "Redis killed (SIGKILL) and restarted empty on the same port: calls go on, openings are published again",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const [a, b] = yield* replicas(fleet, 2, { url: own.url, breaker: { recoveryTimeout: "30 seconds" } })
        yield* allReachable([a!, b!])
        yield* Effect.promise(() => own.kill())
        const results = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => b!.breaker(Effect.succeed(i))
        )
        expect(results).toHaveLength(20)
        yield* trip(a!)
        expect(yield* a!.breaker.state).toBe("open")
        expect(yield* b!.breaker.state).toBe("closed")
        yield* awaitUnreachable(a!)
        yield* Effect.promise(() => own.restart())
        yield* awaitState(b!.breaker, "open")
        const connection = yield* RedisClient.connectReady(own.url)
        const client = yield* Scripts.client(connection, fleet)
        expect((yield* client.read("upstream")).view.state).toBe("open")
      }),
    30_000
  )

  it.scopedLive(
    "FLUSHALL while the fleet is open: the replicas that are still open publish the opening again",
    () =>
      Effect.gen(function*() {
        const fleet = freshFleet()
        const all = yield* replicas(fleet, 2, { breaker: { recoveryTimeout: "30 seconds" } })
        yield* allReachable(all)
        yield* Effect.zipRight(trip(all[0]!), awaitState(all[1]!.breaker, "open"), { concurrent: true })
        const connection = yield* RedisClient.connectReady(server().url)
        const client = yield* Scripts.client(connection, fleet)
        expect((yield* client.read("upstream")).view).toMatchObject({ state: "open", generation: 1 })
        yield* connection.send(["FLUSHALL"])
        const view = yield* pollUntil(client.read("upstream"), (a) => a.view.state === "open")
        // the remaining time, not a fresh 30 s
        expect(view.view.remainingMillis).toBeLessThan(30_000)
        expect(view.view.remainingMillis).toBeGreaterThan(20_000)
        for (const replica of all) expect(yield* replica.breaker.state).toBe("open")
      }),
    30_000
  )

  it.scopedLive(
    "Redis slow (DEBUG SLEEP): calls go on meanwhile and an opening made during it propagates after",
    () =>
      Effect.gen(function*() {
        const fleet = freshFleet()
        const all = yield* replicas(fleet, 2)
        yield* allReachable(all)
        const connection = yield* RedisClient.connect(server().url, 5_000)
        yield* connection.ready
        const sleeping = yield* Effect.fork(connection.send(["DEBUG", "SLEEP", "1"]))
        const results = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => all[1]!.breaker(Effect.succeed(i))
        )
        expect(results).toHaveLength(20)
        yield* Effect.zipRight(trip(all[0]!), awaitState(all[1]!.breaker, "open"), { concurrent: true })
        yield* sleeping.await
      }),
    30_000
  )

  it.scopedLive(
    "GET /v1/api/status/fleet lists every live replica with its statuses; 503 while Redis does not answer",
    () =>
      Effect.gen(function*() {
        const own = yield* ownRedis
        const fleet = freshFleet()
        const [a, b] = yield* replicas(fleet, 2, { url: own.url, breaker: { recoveryTimeout: "30 seconds" } })
        yield* allReachable([a!, b!])
        yield* Effect.zipRight(trip(a!), awaitState(b!.breaker, "open"), { concurrent: true })
        const server = yield* Layer.build(ServerLive)
        yield* HttpServer.serveEffect(Fleet.router).pipe(
          Effect.provide(server),
          Effect.provideService(Fleet.Fleet, a!.fleet)
        )
        const get = HttpClient.get(Fleet.statusPath).pipe(
          Effect.flatMap((response) => Effect.map(response.json, (body) => ({ status: response.status, body }))),
          Effect.scoped,
          Effect.provide(server)
        )
        // both replicas have published a heartbeat since b opened
        const listed = yield* pollUntil(get, (r) => JSON.stringify(r.body).split("\"state\":\"open\"").length === 3)
        expect(listed.status).toBe(200)
        const body = listed.body as {
          fleet: string
          replica: string
          reachable: boolean
          replicas: ReadonlyArray<{ replica: string; age_ms: number; services: Record<string, { state: string }> }>
        }
        expect(body).toMatchObject({ fleet, replica: "r1", reachable: true })
        expect(body.replicas.map((r) => r.replica)).toEqual(["r1", "r2"])
        for (const replica of body.replicas) {
          expect(replica.services["upstream"]).toMatchObject({ service: "upstream", state: "open" })
          expect(replica.age_ms).toBeGreaterThanOrEqual(0)
        }
        yield* Effect.promise(() => own.kill())
        const down = yield* get
        expect(down.status).toBe(503)
        expect(down.body).toMatchObject({ fleet, replica: "r1", reachable: false })
      }),
    30_000
  )

  it.scopedLive(
    "a ResilientServiceClient built under the fleet layer joins with its service name",
    () =>
      Effect.gen(function*() {
        const fleet = freshFleet()
        const [a] = yield* replicas(fleet, 1, { service: "billing" })
        yield* allReachable([a!])
        const context = yield* Layer.build(Fleet.layerRedis({ fleet, url: server().url, replica: "client-side" }))
        const upstream = yield* makeServer((_request, response) => response.end("ok"))
        const client = yield* ResilientServiceClient.make({ baseUrl: upstream.url, serviceName: "billing" }).pipe(
          Effect.provide(NodeHttpClient.layerUndici),
          Effect.provide(context)
        )
        yield* Effect.zipRight(trip(a!), awaitState(client.breaker, "open"), { concurrent: true })
        const error = yield* Effect.flip(client.get("/charge"))
        expect(error._tag).toBe("ServiceUnavailable")
        expect(upstream.requests).toHaveLength(0)
      }),
    30_000
  )
})

/** An HTTP server on 127.0.0.1, an ephemeral port, and an HttpClient aimed at it. */
const ServerLive = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
  Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" }))
)

const awaitUnreachable = (replica: Replica) => pollUntil(replica.fleet.reachable, (reachable) => !reachable)

/**
 * The fleet's Lua scripts on a private redis-server, driven directly: racing connections, the
 * generation guard, the quorum, the probe lease and its expiry, the heartbeats. Redis's own
 * clock is moved with `DEBUG SLEEP` where a test needs time to pass.
 */
import { expect, it } from "@effect/vitest"
import * as Array from "effect/Array"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Scripts from "../src/internal/fleetScripts.js"
import * as RedisClient from "./utils/redisClient.js"
import { describeWithRedisServer } from "./utils/redisSuite.js"

describeWithRedisServer("fleet scripts", (server) => {
  let fleets = 0
  const freshFleet = () => `scripts-${++fleets}`

  const clients = (fleet: string, n: number) =>
    Effect.forEach(
      Array.range(1, n),
      () =>
        Effect.flatMap(RedisClient.connectReady(server().url), (connection) =>
          Effect.map(Scripts.client(connection, fleet), (client) => ({ connection, client }))),
      { concurrency: "unbounded" }
    )

  // puts the service straight into half_open at generation 1 (an opening whose time has passed)
  const halfOpen = (connection: RedisClient.TestConnection, fleet: string, service: string) =>
    connection.send(["HSET", Scripts.serviceKeys(fleet, service).state, "gen", "1", "state", "open", "until", "0"])

  // Redis's clock moves on while the server sleeps
  const redisSleep = (connection: RedisClient.TestConnection, seconds: number) =>
    connection.send(["DEBUG", "SLEEP", String(seconds)])

  it.scopedLive("exactly one of 20 racing proposals opens the fleet", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const replicas = yield* clients(fleet, 20)
      const answers = yield* Effect.forEach(
        replicas,
        ({ client }, i) => client.propose("billing", `replica-${i}`, 0, 30_000, 1, 0),
        { concurrency: "unbounded" }
      )
      expect(answers.filter((a) => a.outcome === "applied")).toHaveLength(1)
      expect(answers.filter((a) => a.outcome === "stale")).toHaveLength(19)
      for (const answer of answers) {
        expect(answer.view.generation).toBe(1)
        expect(answer.view.state).toBe("open")
        // a remaining duration, never an instant
        expect(answer.view.remainingMillis).toBeGreaterThan(29_000)
        expect(answer.view.remainingMillis).toBeLessThanOrEqual(30_000)
      }
      const winner = answers.findIndex((a) => a.outcome === "applied")
      expect(answers[winner]!.view.by).toBe(`replica-${winner}`)
    }))

  it.scopedLive("an opening proposed from a closed period that has ended is dropped", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      // gen 1: open; gen 2: the probe closed it
      yield* client.propose("auth", "r1", 0, 10, 1, 0)
      yield* redisSleep(connection, 0.02)
      const token = "t-1"
      expect((yield* client.acquire("auth", "r1", 1, token, 5_000)).outcome).toBe("granted")
      expect((yield* client.settle("auth", "r1", 1, token, "close", 0)).outcome).toBe("applied")
      // a replica that counted its failures in generation 0 proposes now: dropped
      const late = yield* client.propose("auth", "r2", 0, 10_000, 1, 0)
      expect(late.outcome).toBe("stale")
      expect(late.view).toMatchObject({ generation: 2, state: "closed" })
      // one that knows generation 2 opens it
      expect((yield* client.propose("auth", "r2", 2, 10_000, 1, 0)).outcome).toBe("applied")
    }))

  it.scopedLive("with a quorum of 3 the fleet opens only when 3 distinct replicas proposed within the window", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      const propose = (replica: string) => client.propose("git", replica, 0, 10_000, 3, 200)
      expect((yield* propose("r1")).outcome).toBe("pending")
      // the window passes: r1's proposal no longer counts
      yield* redisSleep(connection, 0.25)
      const second = yield* propose("r2")
      expect(second).toMatchObject({ outcome: "pending", count: 1 })
      // the same replica twice is one voice
      expect(yield* propose("r2")).toMatchObject({ outcome: "pending", count: 1 })
      expect(yield* propose("r3")).toMatchObject({ outcome: "pending", count: 2 })
      const third = yield* propose("r4")
      expect(third.outcome).toBe("applied")
      expect(third.view).toMatchObject({ generation: 1, state: "open" })
    }))

  it.scopedLive("exactly one of 20 racing replicas gets the probe lease; another may take it once it expired", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const replicas = yield* clients(fleet, 20)
      const first = replicas[0]!
      yield* halfOpen(first.connection, fleet, "chroma")
      const answers = yield* Effect.forEach(
        replicas,
        ({ client }, i) => client.acquire("chroma", `replica-${i}`, 1, `token-${i}`, 100),
        { concurrency: "unbounded" }
      )
      expect(answers.filter((a) => a.outcome === "granted")).toHaveLength(1)
      const denied = answers.filter((a) => a.outcome === "denied")
      expect(denied).toHaveLength(19)
      for (const answer of denied) {
        expect(answer.view.state).toBe("half_open")
        expect(answer.view.leaseRemainingMillis).toBeGreaterThan(0)
        expect(answer.view.leaseRemainingMillis).toBeLessThanOrEqual(100)
      }
      const holder = answers.findIndex((a) => a.outcome === "granted")
      const other = (holder + 1) % 20
      // the holder's lease expires; a probe that ran past it can neither close nor open the fleet
      yield* redisSleep(first.connection, 0.15)
      const late = yield* replicas[holder]!.client.settle(
        "chroma",
        `replica-${holder}`,
        1,
        `token-${holder}`,
        "close",
        0
      )
      expect(late.outcome).toBe("rejected")
      expect(late.view).toMatchObject({ generation: 1, state: "half_open", leaseRemainingMillis: 0 })
      const retaken = yield* replicas[other]!.client.acquire("chroma", `replica-${other}`, 1, `token-${other}`, 5_000)
      expect(retaken.outcome).toBe("granted")
    }))

  it.scopedLive("only the lease holder ends half_open; its result is published and opens or closes the fleet", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a, b] = yield* clients(fleet, 2)
      const messages = yield* Queue.unbounded<string>()
      yield* a!.connection.subscribe(Scripts.channel(fleet), (message) => Queue.unsafeOffer(messages, message))
      // PUBLISH answers how many received it: ask until the subscription is in place
      yield* b!.connection.send(["PUBLISH", Scripts.channel(fleet), "ping"]).pipe(
        Effect.repeat({ until: (receivers) => receivers === 1 }),
        Effect.timeout("5 seconds")
      )
      yield* halfOpen(a!.connection, fleet, "fs")
      expect((yield* a!.client.acquire("fs", "a", 1, "ta", 5_000)).outcome).toBe("granted")
      // not the holder: neither with another token nor with the holder's token in an old generation
      expect((yield* b!.client.settle("fs", "b", 1, "tb", "close", 0)).outcome).toBe("rejected")
      expect((yield* b!.client.settle("fs", "b", 0, "ta", "close", 0)).outcome).toBe("rejected")
      // the holder's probe failed: a new opening of 20 s, generation 2
      const failed = yield* a!.client.settle("fs", "a", 1, "ta", "open", 20_000)
      expect(failed.outcome).toBe("applied")
      expect(failed.view).toMatchObject({ generation: 2, state: "open", by: "a" })
      // the second settling of the same lease is stale
      expect((yield* a!.client.settle("fs", "a", 1, "ta", "close", 0)).outcome).toBe("rejected")
      expect((yield* b!.client.read("fs")).view).toMatchObject({ generation: 2, state: "open" })
      // the channel carried the one transition (the pings are not changes)
      const change = yield* Queue.take(messages).pipe(
        Effect.map(Scripts.decodeChange),
        Effect.repeat({ until: (decoded) => decoded !== undefined }),
        Effect.timeout("5 seconds")
      )
      expect(change).toEqual({ service: "fs", generation: 2, state: "open", remainingMillis: 20_000, by: "a" })
      const rest = [...(yield* Queue.takeAll(messages))].map(Scripts.decodeChange).filter((c) => c !== undefined)
      expect(rest).toEqual([])
    }))

  it.scopedLive("heartbeats list live replicas with their statuses and forget those that stopped", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      yield* client.heartbeat("r1", 100, JSON.stringify({ billing: { state: "open" } }))
      yield* client.heartbeat("r2", 60_000, JSON.stringify({ billing: { state: "closed" } }))
      const both = yield* client.replicas
      expect(both.map((r) => r.replica).sort()).toEqual(["r1", "r2"])
      expect(JSON.parse(both.find((r) => r.replica === "r1")!.statuses)).toEqual({ billing: { state: "open" } })
      yield* redisSleep(connection, 0.15)
      const live = yield* client.replicas
      expect(live.map((r) => r.replica)).toEqual(["r2"])
      expect(live[0]!.ageMillis).toBeGreaterThanOrEqual(150)
      // the next heartbeat removes the expired entry for good
      yield* client.heartbeat("r2", 60_000, "{}")
      expect(yield* connection.send(["HKEYS", Scripts.replicasKey(fleet)])).toEqual(["r2"])
    }))

  it("keys of one service share one hash tag, whatever the names contain", () => {
    const keys = Scripts.serviceKeys("shop{eu}", "bill}ing")
    const tag = (key: string) => key.slice(key.indexOf("{") + 1, key.indexOf("}"))
    expect(tag(keys.state)).toBe(tag(keys.proposals))
    expect(tag(keys.state)).toBe("shop%7Beu%7D:bill%7Ding")
  })
})

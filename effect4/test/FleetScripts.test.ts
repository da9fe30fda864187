/**
 * The fleet's Lua scripts on a private redis-server, driven directly: racing connections, the
 * generation guard, the quorum, the probe lease and its expiry, the heartbeats. Redis's own
 * clock is moved with `DEBUG SLEEP` where a test needs time to pass.
 */
import { expect, it } from "@effect/vitest"
import * as Array from "effect/Array"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { startRedis } from "../../test/utils/redisServer.js"
import { describeWithRedisServer } from "../../test/utils/redisSuite.js"
import * as Scripts from "../src/internal/fleetScripts.js"
import * as RedisClient from "./utils/redisClient.js"

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

  const empty = { epoch: 0, generation: 0 }
  // the state halfOpen writes: generation 1 of a state without an epoch
  const halfOpenState = { epoch: 0, generation: 1 }

  // Redis's clock moves on while the server sleeps
  const redisSleep = (connection: RedisClient.TestConnection, seconds: number) =>
    connection.send(["DEBUG", "SLEEP", String(seconds)])

  it.live("exactly one of 20 racing proposals opens the fleet", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const replicas = yield* clients(fleet, 20)
      const answers = yield* Effect.forEach(
        replicas,
        ({ client }, i) => client.propose("billing", `replica-${i}`, empty, 30_000, 1, 0, 0),
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

  it.live("an opening proposed from a closed period that has ended is dropped", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      // gen 1: open; gen 2: the probe closed it
      const { epoch } = (yield* client.propose("auth", "r1", empty, 10, 1, 0, 0)).view
      yield* redisSleep(connection, 0.02)
      const token = "t-1"
      expect((yield* client.acquire("auth", "r1", { epoch, generation: 1 }, token, 5_000, 0)).outcome).toBe("granted")
      expect((yield* client.settle("auth", "r1", { epoch, generation: 1 }, token, "close", 0, 0)).outcome).toBe(
        "applied"
      )
      // a replica that counted its failures in generation 0 proposes now: dropped
      const late = yield* client.propose("auth", "r2", empty, 10_000, 1, 0, 0)
      expect(late.outcome).toBe("stale")
      expect(late.view).toMatchObject({ epoch, generation: 2, state: "closed" })
      // one that knows generation 2 opens it
      expect((yield* client.propose("auth", "r2", { epoch, generation: 2 }, 10_000, 1, 0, 0)).outcome).toBe("applied")
    }))

  it.live("with a quorum of 3 the fleet opens only when 3 distinct replicas proposed within the window", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      const propose = (replica: string) => client.propose("git", replica, empty, 10_000, 3, 200, 0)
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

  it.live("exactly one of 20 racing replicas gets the probe lease; another may take it once it expired", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const replicas = yield* clients(fleet, 20)
      const first = replicas[0]!
      yield* halfOpen(first.connection, fleet, "chroma")
      const answers = yield* Effect.forEach(
        replicas,
        ({ client }, i) => client.acquire("chroma", `replica-${i}`, halfOpenState, `token-${i}`, 100, 0),
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
        halfOpenState,
        `token-${holder}`,
        "close",
        0,
        0
      )
      expect(late.outcome).toBe("rejected")
      expect(late.view).toMatchObject({ generation: 1, state: "half_open", leaseRemainingMillis: 0 })
      const retaken = yield* replicas[other]!.client.acquire(
        "chroma",
        `replica-${other}`,
        halfOpenState,
        `token-${other}`,
        5_000,
        0
      )
      expect(retaken.outcome).toBe("granted")
    }))

  it.live("only the lease holder ends half_open; its result is published and opens or closes the fleet", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a, b] = yield* clients(fleet, 2)
      const messages = yield* Queue.unbounded<string>()
      yield* a!.connection.subscribe(Scripts.channel(fleet), (message) => Queue.offerUnsafe(messages, message))
      // PUBLISH answers how many received it: ask until the subscription is in place
      yield* b!.connection.send(["PUBLISH", Scripts.channel(fleet), "ping"]).pipe(
        Effect.repeat({ until: (receivers) => receivers === 1 }),
        Effect.timeout("5 seconds")
      )
      yield* halfOpen(a!.connection, fleet, "fs")
      expect((yield* a!.client.acquire("fs", "a", halfOpenState, "ta", 5_000, 0)).outcome).toBe("granted")
      // not the holder: neither with another token nor with the holder's token in an old generation
      expect((yield* b!.client.settle("fs", "b", halfOpenState, "tb", "close", 0, 0)).outcome).toBe("rejected")
      expect((yield* b!.client.settle("fs", "b", empty, "ta", "close", 0, 0)).outcome).toBe("rejected")
      // the holder's probe failed: a new opening of 20 s, generation 2 (its state gets an epoch)
      const failed = yield* a!.client.settle("fs", "a", halfOpenState, "ta", "open", 20_000, 0)
      expect(failed.outcome).toBe("applied")
      expect(failed.view).toMatchObject({ generation: 2, state: "open", by: "a" })
      const epoch = failed.view.epoch
      expect(epoch).toBeGreaterThan(0)
      // the second settling of the same lease is stale
      expect((yield* a!.client.settle("fs", "a", halfOpenState, "ta", "close", 0, 0)).outcome).toBe("rejected")
      expect((yield* b!.client.read("fs")).view).toMatchObject({ generation: 2, state: "open" })
      // the channel carried the one transition (the pings are not changes)
      const change = yield* Queue.take(messages).pipe(
        Effect.map(Scripts.decodeChange),
        Effect.repeat({ until: (decoded) => decoded !== undefined }),
        Effect.timeout("5 seconds")
      )
      expect(change).toEqual({ service: "fs", epoch, generation: 2, state: "open", remainingMillis: 20_000, by: "a" })
      const rest = (yield* Queue.clear(messages)).map(Scripts.decodeChange).filter((c) => c !== undefined)
      expect(rest).toEqual([])
    }))

  it.live("heartbeats list live replicas with their statuses and forget those that stopped", () =>
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

  it.live("after FLUSHALL the state starts a new, greater epoch; the old epoch's knowledge is stale", () =>
    Effect.gen(function*() {
      const server2 = yield* Effect.acquireRelease(
        Effect.promise(() => startRedis()),
        (s) => Effect.promise(() => s.stop())
      )
      const connection = yield* RedisClient.connectReady(server2.url)
      const client = yield* Scripts.client(connection, freshFleet())
      const first = yield* client.propose("db", "r1", empty, 60_000, 1, 0, 0)
      expect(first.outcome).toBe("applied")
      const old = first.view
      yield* connection.send(["FLUSHALL"])
      // Redis lost its data: the read answers a state older than the one known
      const read = (yield* client.read("db")).view
      expect(read).toMatchObject({ epoch: 0, generation: 0, state: "closed" })
      // a proposal that knows the old epoch's generation 0 (the same number) is still stale
      expect((yield* client.propose("db", "r2", { epoch: old.epoch, generation: 0 }, 1_000, 1, 0, 0)).outcome).toBe(
        "stale"
      )
      yield* redisSleep(connection, 0.002)
      const again = yield* client.propose("db", "r1", empty, 60_000, 1, 0, 0)
      expect(again.outcome).toBe("applied")
      // generation 1 again, in an epoch after the first one
      expect(again.view.generation).toBe(1)
      expect(again.view.epoch).toBeGreaterThan(old.epoch)
    }))

  it.live("a command that runs past its deadline answers late and changes nothing", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      const time = yield* connection.send(["TIME"])
      const [seconds, micros] = time as ReadonlyArray<string>
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      // a deadline already passed in Redis time (a command written before a stall)
      const late = yield* client.propose("mail", "r1", empty, 60_000, 1, 0, redisNow - 1)
      expect(late.outcome).toBe("late")
      expect(late.view).toMatchObject({ generation: 0, state: "closed" })
      expect(yield* connection.send(["EXISTS", Scripts.serviceKeys(fleet, "mail").state])).toBe(0)
      // within its deadline it applies
      expect((yield* client.propose("mail", "r1", empty, 60_000, 1, 0, redisNow + 60_000)).outcome).toBe("applied")
      yield* halfOpen(connection, fleet, "lease")
      expect((yield* client.acquire("lease", "r1", halfOpenState, "t", 5_000, redisNow - 1)).outcome).toBe("late")
      expect((yield* client.read("lease")).view.leaseRemainingMillis).toBe(0)
    }))

  it.live("a lease is never renewed: every request has its own token, the holder's next one is denied", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      yield* halfOpen(connection, fleet, "kv")
      expect((yield* client.acquire("kv", "r1", halfOpenState, "r1:1", 5_000, 0)).outcome).toBe("granted")
      // the holder asks again (a new token, or even the same one): denied while the lease runs
      expect((yield* client.acquire("kv", "r1", halfOpenState, "r1:2", 5_000, 0)).outcome).toBe("denied")
      expect((yield* client.acquire("kv", "r1", halfOpenState, "r1:1", 5_000, 0)).outcome).toBe("denied")
      // given back unused: another replica takes it at once; a release with another token does nothing
      expect((yield* client.release("kv", "r2:1")).outcome).toBe("stale")
      expect((yield* client.release("kv", "r1:1")).outcome).toBe("released")
      expect((yield* client.acquire("kv", "r2", halfOpenState, "r2:1", 5_000, 0)).outcome).toBe("granted")
      // the released token cannot settle
      expect((yield* client.settle("kv", "r1", halfOpenState, "r1:1", "close", 0, 0)).outcome).toBe("rejected")
    }))

  it.live("a service's state expires when unused: a TTL beyond its opening, renewed by reads", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      const key = Scripts.serviceKeys(fleet, "ttl").state
      yield* client.propose("ttl", "r1", empty, 60_000, 1, 0, 0)
      const ttl = yield* connection.send(["PTTL", key])
      expect(ttl).toBeGreaterThan(Scripts.retentionMillis + 59_000)
      expect(ttl).toBeLessThanOrEqual(Scripts.retentionMillis + 60_000)
      yield* connection.send(["PEXPIRE", key, "5000"])
      yield* client.read("ttl")
      expect(yield* connection.send(["PTTL", key])).toBeGreaterThan(Scripts.retentionMillis)
      // a read of a service never written leaves nothing behind
      yield* client.read("never")
      expect(yield* connection.send(["EXISTS", Scripts.serviceKeys(fleet, "never").state])).toBe(0)
    }))

  it.live("a heartbeat keeps expiries in a sorted set: it never reads the other replicas' statuses", () =>
    Effect.gen(function*() {
      const fleet = freshFleet()
      const [a] = yield* clients(fleet, 1)
      const { client, connection } = a!
      yield* client.heartbeat("r1", 100, "{}")
      yield* client.heartbeat("r2", 60_000, "{}")
      expect(yield* connection.send(["ZRANGE", Scripts.expiriesKey(fleet), "0", "-1"])).toEqual(["r1", "r2"])
      // an entry whose statuses are not what a heartbeat writes is not parsed by a heartbeat
      yield* connection.send(["HSET", Scripts.replicasKey(fleet), "odd", "not a heartbeat"])
      yield* redisSleep(connection, 0.15)
      yield* client.heartbeat("r2", 60_000, "{}")
      expect(yield* connection.send(["ZRANGE", Scripts.expiriesKey(fleet), "0", "-1"])).toEqual(["r2"])
      expect([...(yield* connection.send(["HKEYS", Scripts.replicasKey(fleet)])) as Array<string>].sort()).toEqual([
        "odd",
        "r2"
      ])
      // both keys live as long as the last heartbeat's entry, and a little more
      const ttl = yield* connection.send(["PTTL", Scripts.expiriesKey(fleet)])
      expect(ttl).toBeGreaterThan(60_000)
      expect(ttl).toBeLessThanOrEqual(120_000)
    }))

  it("keys of one service share one hash tag, whatever the names contain", () => {
    const keys = Scripts.serviceKeys("shop{eu}", "bill}ing")
    const tag = (key: string) => key.slice(key.indexOf("{") + 1, key.indexOf("}"))
    expect(tag(keys.state)).toBe(tag(keys.proposals))
    expect(tag(keys.state)).toBe("shop%7Beu%7D:bill%7Ding")
  })
})

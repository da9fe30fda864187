/**
 * Liveness: a connection that stalls without closing (a TCP proxy that stops forwarding, as a
 * middlebox or a lost NAT entry does) is noticed and replaced within a few heartbeats, for the
 * commands and for the subscriber, instead of waiting for TCP to give up (minutes).
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import { describeWithRedisServer } from "../../test/utils/redisSuite.js"
import { startTcpProxy } from "../../test/utils/tcpProxy.js"
import { awaitReachable, awaitState, boom, makeReplica } from "./utils/fleet.js"
import * as RedisClient from "./utils/redisClient.js"

describeWithRedisServer("Fleet liveness", (server) => {
  const proxy = Effect.acquireRelease(
    Effect.promise(() => startTcpProxy(server().port)),
    (p) => Effect.promise(() => p.close())
  )
  // the fleet's test settings: 100 ms heartbeat, 200 ms command timeout
  const liveness = { heartbeatMillis: 100, connectTimeoutMillis: 200 }

  it.live("a command connection that stalls is recycled after a timeout and works again", () =>
    Effect.gen(function*() {
      const stalling = yield* proxy
      // a heartbeat of a minute: no ping or idle bound within the test, only the timeout acts
      const connection = yield* RedisClient.connectReady(stalling.url, 200, { ...liveness, heartbeatMillis: 60_000 })
      const before = stalling.accepted()
      stalling.stall()
      const error = yield* Effect.flip(connection.send(["PING"]))
      expect(error.reason).toBe("Timeout")
      // a new connection through the proxy (which forwards new connections) answers
      expect(yield* connection.ready).toBe("PONG")
      expect(stalling.accepted()).toBeGreaterThan(before)
      expect(yield* connection.send(["PING"])).toBe("PONG")
    }))

  it.live("a subscriber that stalls reconnects by itself and receives again", () =>
    Effect.gen(function*() {
      const stalling = yield* proxy
      const subscriber = yield* RedisClient.connect(stalling.url, 200, liveness)
      // published straight to the server, so that only the subscriber crosses the proxy
      const publisher = yield* RedisClient.connectReady(server().url)
      const messages = yield* Queue.unbounded<string>()
      yield* subscriber.subscribe("liveness:channel", (message) => Queue.offerUnsafe(messages, message))
      const heard = (message: string) =>
        RedisClient.publishUntilReceived(publisher, messages, "liveness:channel", message)
      yield* heard("before")
      const before = stalling.accepted()
      stalling.stall()
      // nothing crosses the stalled connection: only a new subscription hears this one
      yield* heard("after")
      expect(stalling.accepted()).toBeGreaterThan(before)
    }))

  it.live("a replica whose connections stall follows an opening made meanwhile", () =>
    Effect.gen(function*() {
      const stalling = yield* proxy
      const fleet = `liveness-${Math.random().toString(36).slice(2)}`
      const cut = yield* makeReplica({ url: stalling.url, fleet, name: "behind-proxy" })
      const direct = yield* makeReplica({ url: server().url, fleet, name: "direct" })
      yield* awaitReachable(cut)
      yield* awaitReachable(direct)
      stalling.stall()
      // the direct replica opens the fleet; the stalled one hears of it only on new connections
      yield* Effect.ignore(direct.breaker(boom)).pipe(Effect.repeat({ times: 1 }))
      yield* awaitState(direct.breaker, "open")
      yield* awaitState(cut.breaker, "open")
      // and it reaches Redis again (its heartbeats are answered)
      yield* cut.fleet.reachable.pipe(
        Effect.repeat({ until: (reachable) => reachable, schedule: Schedule.spaced("10 millis") }),
        Effect.timeout("5 seconds")
      )
    }))
})

/**
 * The Redis interface on a private redis-server: commands, scripts with the EVAL fallback, a
 * subscription that survives a restart, and the bounds that keep a dead or hung server from
 * holding a caller.
 */
import { expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import { freePort } from "../../test/utils/redisServer.js"
import { describeWithRedisServer } from "../../test/utils/redisSuite.js"
import * as Redis from "../src/internal/redis.js"
import { pollUntil } from "./utils/fleet.js"
import * as RedisClient from "./utils/redisClient.js"

describeWithRedisServer("Redis connection", (server) => {
  const connect = (commandTimeoutMillis = 500) => RedisClient.connect(server().url, commandTimeoutMillis)

  it.live("sends commands and reads their replies", () =>
    Effect.gen(function*() {
      const connection = yield* connect()
      expect(yield* connection.ready).toBe("PONG")
      yield* connection.send(["SET", "redis-test:a", "1"])
      expect(yield* connection.send(["INCR", "redis-test:a"])).toBe(2)
      const error = yield* Effect.flip(connection.send(["INCR", "redis-test:missing-args", "x"]))
      expect(error.reason).toBe("Reply")
    }))

  it.live("runs a script by its SHA-1 and falls back to EVAL when the server forgot it", () =>
    Effect.gen(function*() {
      const connection = yield* connect()
      yield* connection.ready
      const script = yield* Redis.script("echo", "return {KEYS[1], ARGV[1]}")
      expect(yield* connection.script(script, ["k"], ["v"])).toEqual(["k", "v"])
      yield* connection.send(["SCRIPT", "FLUSH"])
      expect(yield* connection.send(["SCRIPT", "EXISTS", script.sha1])).toEqual([0])
      expect(yield* connection.script(script, ["k2"], ["v2"])).toEqual(["k2", "v2"])
      // EVAL loaded it again
      expect(yield* connection.send(["SCRIPT", "EXISTS", script.sha1])).toEqual([1])
    }))

  it.live(
    "delivers published messages, also after the server restarted on the same port",
    () =>
      Effect.gen(function*() {
        const connection = yield* connect()
        yield* connection.ready
        const messages = yield* Queue.unbounded<string>()
        yield* connection.subscribe("redis-test:channel", (message) => Queue.offerUnsafe(messages, message))
        const publishUntilHeard = (message: string) =>
          connection.send(["PUBLISH", "redis-test:channel", message]).pipe(
            Effect.flatMap((receivers) => receivers === 1 ? Effect.void : Effect.fail("not yet")),
            // PUBLISH counts the receivers: ask again until the subscription is in place
            Effect.retry(Schedule.spaced("10 millis")),
            Effect.timeout("10 seconds")
          )
        yield* publishUntilHeard("one")
        expect(yield* Queue.take(messages)).toBe("one")

        yield* Effect.promise(() => server().restart())
        yield* connection.ready
        yield* publishUntilHeard("two")
        // (takeAll waits for at least one message)
        expect(yield* Queue.takeAll(messages)).toContain("two")
      }),
    20_000
  )

  it.live("a command to a hung server fails with a Timeout within its bound", () =>
    Effect.gen(function*() {
      const connection = yield* connect(200)
      yield* connection.ready
      server().signal("SIGSTOP")
      yield* Effect.addFinalizer(() => Effect.sync(() => server().signal("SIGCONT")))
      const exit = yield* Effect.exit(connection.send(["PING"]).pipe(Effect.timeout("3 seconds")))
      server().signal("SIGCONT")
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause).pipe(Option.getOrUndefined)
        // the connection's own bound (200 ms), not the test's 3 s guard
        expect(error).toBeInstanceOf(Redis.RedisError)
        expect((error as Redis.RedisError).reason).toBe("Timeout")
      }
      // the timeout recycled the connection: a new one is ready once the server resumes
      expect(yield* connection.ready).toBe("PONG")
    }))

  it.live("recycle drops the command connection (failing what waits on it) and opens another", () =>
    Effect.gen(function*() {
      const connection = yield* connect(5_000)
      yield* connection.ready
      const before = yield* connection.send(["CLIENT", "ID"])
      // a command written and waiting for its answer (BLPOP blocks until the key gets a value)
      const waiting = yield* Effect.forkChild(connection.send(["BLPOP", "redis-test:never", "0"]))
      // seen from another connection (this one answers in order, after the BLPOP)
      const observer = yield* RedisClient.connectReady(server().url)
      yield* pollUntil(observer.send(["CLIENT", "LIST"]), (list) => String(list).includes("cmd=blpop"))
      yield* connection.recycle
      const error = yield* Effect.flip(Fiber.join(waiting))
      expect(error.reason).toBe("Unavailable")
      yield* connection.ready
      expect(yield* connection.send(["CLIENT", "ID"])).not.toBe(before)
    }))

  it.live("a command to a server that is down fails at once with Unavailable", () =>
    Effect.gen(function*() {
      // a loopback port that nothing listens on
      const port = yield* Effect.promise(() => freePort())
      const connection = yield* Redis.connect({
        url: `redis://127.0.0.1:${port}`,
        commandTimeoutMillis: 1_000,
        connectTimeoutMillis: 200
      })
      const error = yield* Effect.flip(connection.send(["PING"]).pipe(Effect.timeout("3 seconds")))
      expect(error).toBeInstanceOf(Redis.RedisError)
      if (error instanceof Redis.RedisError) expect(error.reason).toBe("Unavailable")
    }))
})

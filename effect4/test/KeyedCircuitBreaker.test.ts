import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, KeyedCircuitBreaker, ResilientServiceClient, ServiceRegistry } from "../src/index.js"
import { pathOf } from "./utils/configErrors.js"
import { makeLogCapture } from "./utils/logs.js"

class Boom {
  readonly _tag = "Boom"
}
const fail = Effect.fail(new Boom())
const ok = Effect.succeed("ok")

const failTimes = (keyed: KeyedCircuitBreaker.KeyedCircuitBreaker, key: string, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.ignore(keyed.call(key, fail)), { discard: true })

/** The in-memory store, whose writes of keys containing `hang` never end. */
const hangingStore = (hang: string) =>
  Effect.gen(function*() {
    const store = yield* KeyValueStore.KeyValueStore
    const hanging: KeyValueStore.KeyValueStore = {
      ...store,
      set: (key, value) => key.includes(hang) ? Effect.never : store.set(key, value)
    }
    return hanging
  }).pipe(Effect.provide(KeyValueStore.layerMemory))

const statesOf = (keyed: KeyedCircuitBreaker.KeyedCircuitBreaker) =>
  Effect.map(keyed.statuses, (all) => all.map(({ key, status }) => [key, status.service, status.state]))

describe("KeyedCircuitBreaker", () => {
  it.effect("a key's breaker is made on first use, and keys are independent", () =>
    Effect.gen(function*() {
      const keyed = yield* KeyedCircuitBreaker.make({ name: "tenants", failureThreshold: 2 })
      expect(yield* keyed.keys).toEqual([])
      yield* failTimes(keyed, "acme", 2)
      expect(yield* keyed.keys).toEqual(["acme"])
      // acme is open: its calls are refused without running; globex's run
      const refused = yield* Effect.flip(keyed.call("acme", ok))
      expect(refused._tag).toBe("ServiceUnavailable")
      expect(yield* keyed.call("globex", ok)).toBe("ok")
      expect(yield* statesOf(keyed)).toEqual([
        ["acme", "tenants/acme", "open"],
        ["globex", "tenants/globex", "closed"]
      ])
      // the same breaker on every call of a key
      expect(yield* keyed.breaker("acme")).toBe(yield* keyed.breaker("acme"))
    }))

  it.effect("a key unused for idleTimeToLive is dropped; the next call makes a fresh breaker", () =>
    Effect.gen(function*() {
      const keyed = yield* KeyedCircuitBreaker.make({ name: "t", failureThreshold: 1, idleTimeToLive: "10 minutes" })
      yield* failTimes(keyed, "a", 1)
      yield* TestClock.adjust("5 minutes")
      yield* keyed.call("b", ok)
      yield* TestClock.adjust("5 minutes")
      // a opened at 0 for the default minute: it is idle from the end of its opening
      expect(yield* keyed.keys).toEqual(["a", "b"])
      yield* TestClock.adjust("1 minute")
      expect(yield* keyed.keys).toEqual(["b"])
      yield* TestClock.adjust("4 minutes")
      expect(yield* keyed.keys).toEqual([])
      // a made again, closed
      expect(yield* keyed.call("a", ok)).toBe("ok")
      expect(yield* statesOf(keyed)).toEqual([["a", "t/a", "closed"]])
    }))

  it.effect("a key with a call in flight, or isolated, is not dropped however long it waits", () =>
    Effect.gen(function*() {
      const keyed = yield* KeyedCircuitBreaker.make({ name: "t", idleTimeToLive: "1 minute" })
      const gate = yield* Deferred.make<void>()
      const running = yield* Effect.forkChild(keyed.call("slow", Deferred.await(gate)))
      yield* (yield* keyed.breaker("held")).isolate
      yield* TestClock.adjust("1 hour")
      expect(yield* keyed.keys).toEqual(["held", "slow"])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(running)
      yield* TestClock.adjust("1 minute")
      expect(yield* keyed.keys).toEqual(["held"])
      yield* (yield* keyed.breaker("held")).reset
      yield* TestClock.adjust("1 minute")
      expect(yield* keyed.keys).toEqual([])
    }))

  it.effect("an open key is not dropped before its opening ends, then idleTimeToLive after it", () =>
    Effect.gen(function*() {
      const keyed = yield* KeyedCircuitBreaker.make({
        name: "t",
        failureThreshold: 1,
        recoveryTimeout: "2 hours",
        idleTimeToLive: "10 minutes"
      })
      yield* failTimes(keyed, "a", 1)
      yield* TestClock.adjust("11 minutes")
      let ran = 0
      const refused = yield* Effect.flip(keyed.call("a", Effect.sync(() => ran++)))
      expect(refused._tag).toBe("ServiceUnavailable")
      expect(ran).toBe(0)
      // the opening ends at 2 hours (half_open): the key goes 10 minutes after its last use or that end
      yield* TestClock.adjust("118 minutes")
      expect(yield* keyed.keys).toEqual(["a"])
      yield* TestClock.adjust("10 minutes")
      expect(yield* keyed.keys).toEqual([])
    }))

  it.effect("a sweep waiting on a key's store write leaves a key used meanwhile in the table, one breaker for it", () =>
    Effect.gen(function*() {
      const store = yield* hangingStore("t/a")
      const keyed = yield* KeyedCircuitBreaker.make({
        name: "t",
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        idleTimeToLive: "1 minute",
        store,
        storeTimeout: "2 minutes"
      })
      // a opens (its write hangs) and is half_open from 1 second; b is used at the same time
      yield* failTimes(keyed, "a", 1)
      yield* keyed.call("b", ok)
      // b expires; a too, unless its opening keeps it: a sweep closing a waits on its write
      yield* TestClock.adjust("1 minute")
      const gate = yield* Deferred.make<void>()
      const held = yield* Effect.forkChild(keyed.call("b", Deferred.await(gate)))
      yield* TestClock.adjust(0)
      const breaker = yield* keyed.breaker("b")
      yield* TestClock.adjust("2 minutes")
      // the call in flight keeps its key: one breaker for b
      expect(yield* keyed.keys).toEqual(["b"])
      expect(yield* keyed.breaker("b")).toBe(breaker)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(held)
      yield* TestClock.adjust("2 minutes")
    }))

  it.effect("a new key does not wait for a dropped key's scope to close (a store write pending)", () =>
    Effect.gen(function*() {
      const store = yield* hangingStore("t/a")
      const keyed = yield* KeyedCircuitBreaker.make({
        name: "t",
        failureThreshold: 1,
        recoveryTimeout: "1 second",
        maxKeys: 1,
        store,
        storeTimeout: "2 minutes"
      })
      yield* failTimes(keyed, "a", 1)
      yield* TestClock.adjust("1 second")
      // a probe closes a: it may make room for b, its writes still pending
      expect(yield* keyed.call("a", ok)).toBe("ok")
      const call = yield* Effect.forkChild(keyed.call("b", ok))
      yield* TestClock.adjust("30 seconds")
      const done = call.pollUnsafe()
      expect(done !== undefined && Exit.isSuccess(done)).toBe(true)
      expect(yield* keyed.keys).toEqual(["b"])
      // a's scope gives its write up: the test's scope closes without waiting on the clock
      yield* TestClock.adjust("2 minutes")
    }))

  it.effect("at maxKeys a new key takes the place of the least recently used closed key, never an open one", () =>
    Effect.gen(function*() {
      const keyed = yield* KeyedCircuitBreaker.make({ name: "t", failureThreshold: 1, maxKeys: 2 })
      yield* failTimes(keyed, "open", 1)
      yield* TestClock.adjust("1 second")
      yield* keyed.call("old", ok)
      yield* TestClock.adjust("1 second")
      yield* keyed.call("new", ok)
      // "open" is the least recently used, but open: "old" made room
      expect(yield* keyed.keys).toEqual(["new", "open"])
      expect((yield* Effect.flip(keyed.call("open", ok)))._tag).toBe("ServiceUnavailable")
    }))

  it.effect("a new key finding no key that may go runs on the overflow breaker, logged", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const keyed = yield* KeyedCircuitBreaker.make({ name: "t", failureThreshold: 1, maxKeys: 1 })
      yield* failTimes(keyed, "down", 1)
      expect(yield* keyed.overflow).toBeUndefined()
      // not refused, not lost: it runs, on the overflow
      expect(yield* logs.provide(keyed.call("other", ok))).toBe("ok")
      expect(yield* keyed.keys).toEqual(["down"])
      const overflow = yield* keyed.overflow
      expect(overflow?.service).toBe("t/*")
      expect(logs.messages().join("\n")).toContain("the call for key 'other' runs on its overflow breaker")
      // the overflow counts like any breaker
      yield* Effect.ignore(keyed.call("third", fail))
      expect(yield* overflow!.state).toBe("open")
    }))

  it.effect("register lists each key in the registry under id/key, and a dropped key leaves it", () =>
    Effect.gen(function*() {
      const registry = yield* ServiceRegistry.ServiceRegistry
      const keyed = yield* KeyedCircuitBreaker.make({ name: "t", failureThreshold: 1, idleTimeToLive: "1 minute" })
      yield* keyed.call("a", ok)
      yield* keyed.register("billing")
      yield* Effect.ignore(keyed.call("b", fail))
      const listed = yield* registry.statuses
      expect(Object.keys(listed)).toEqual(["billing/a", "billing/b"])
      expect(listed["billing/b"]!.state).toBe("open")
      yield* TestClock.adjust("15 seconds")
      const details = yield* registry.snapshot
      expect(details.services["billing/b"]!.recentTransitions.map((c) => c.to)).toEqual(["open"])
      expect(details.services["billing/b"]!.nextProbeIn._tag).toBe("Some")
      yield* TestClock.adjust("45 seconds")
      // b's opening ended at 1 minute: it stays idleTimeToLive after that
      expect(Object.keys(yield* registry.statuses)).toEqual(["billing/b"])
      yield* TestClock.adjust("1 minute")
      expect(Object.keys(yield* registry.statuses)).toEqual([])
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.effect("bad options are a ConfigError naming the option", () =>
    Effect.gen(function*() {
      const paths = []
      for (
        const options of [
          { maxKeys: 0 },
          { maxKeys: 2.5 },
          { idleTimeToLive: "soon" },
          { idleTimeToLive: 0 },
          { failureThreshold: -1 },
          { maxKey: 3 }
        ] as Array<KeyedCircuitBreaker.Options>
      ) {
        const error = yield* Effect.flip(Effect.scoped(KeyedCircuitBreaker.make(options)))
        paths.push(pathOf(error))
      }
      expect(paths).toEqual([
        ["maxKeys"],
        ["maxKeys"],
        ["idleTimeToLive"],
        ["idleTimeToLive"],
        ["failureThreshold"],
        ["maxKey"]
      ])
    }))
})

/** A transport answering by host: 503 from `down`, 200 elsewhere; counts the requests per host. */
const byHost = () => {
  const seen: Array<string> = []
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        const url = new URL(request.url)
        seen.push(`${url.host}${url.pathname}`)
        const status = url.hostname === "down" || url.pathname.startsWith("/down") ? 503 : 200
        return HttpClientResponse.fromWeb(request, new Response(status === 200 ? "ok" : "no", { status }))
      })
    )
  )
  return { seen, layer }
}

describe("ResilientServiceClient: breakerKey", () => {
  it.effect("keyed by host: one host failing opens its own breaker, the other host's calls go on", () =>
    Effect.gen(function*() {
      const upstream = byHost()
      const registry = yield* ServiceRegistry.ServiceRegistry
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://up:1",
        id: "hosts",
        maxAttempts: 1,
        failureThreshold: 2,
        breakerKey: "host"
      }).pipe(Effect.provide(upstream.layer))
      yield* ResilientServiceClient.register(client)
      const down = HttpClientRequest.get("http://down:2/x")
      for (let i = 0; i < 2; i++) yield* Effect.ignore(client.execute(down))
      const refused = yield* Effect.flip(client.execute(down))
      expect(refused._tag).toBe("ServiceUnavailable")
      expect((yield* client.get("/y")).status).toBe(200)
      // the refused call never reached the transport
      expect(upstream.seen).toEqual(["down:2/x", "down:2/x", "up:1/y"])
      expect(yield* client.keyedBreaker!.keys).toEqual(["down:2", "up:1"])
      const listed = yield* registry.statuses
      expect(Object.keys(listed)).toEqual(["hosts", "hosts/down:2", "hosts/up:1"])
      expect(listed["hosts/down:2"]!.state).toBe("open")
      expect(listed["hosts/up:1"]!.state).toBe("closed")
      // the client's own breaker is the overflow: unused
      expect((yield* client.status).state).toBe("closed")
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.effect("keyed by a function of the request: a path prefix", () =>
    Effect.gen(function*() {
      const upstream = byHost()
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://api:1",
        maxAttempts: 1,
        failureThreshold: 1,
        breakerKey: (request) => new URL(request.url).pathname.split("/")[1] ?? ""
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.ignore(client.get("/down/a"))
      expect((yield* Effect.flip(client.get("/down/b")))._tag).toBe("ServiceUnavailable")
      expect((yield* client.get("/users/1")).status).toBe(200)
      expect(upstream.seen).toEqual(["api:1/down/a", "api:1/users/1"])
      const states = (yield* client.keyedBreaker!.statuses).map(({ key, status }) => [key, status.state])
      expect(states).toEqual([["down", "open"], ["users", "closed"]])
      expect(client.keyedBreaker!.name).toBe(client.serviceName)
    }))

  it.effect("breaker.maxKeys bounds the client's keys: a new host finding none that may go runs on the client's breaker", () =>
    Effect.gen(function*() {
      const upstream = byHost()
      const client = yield* ResilientServiceClient.make({
        baseUrl: "http://up:1",
        maxAttempts: 1,
        failureThreshold: 1,
        breakerKey: "host",
        breaker: { maxKeys: 1, idleTimeToLive: "1 minute" }
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.ignore(client.execute(HttpClientRequest.get("http://down:2/x")))
      // down:2 is open and is the only key: up:1 runs on the client's own breaker
      expect((yield* client.get("/y")).status).toBe(200)
      expect(yield* client.keyedBreaker!.keys).toEqual(["down:2"])
      expect(yield* client.keyedBreaker!.overflow).toBe(client.breaker)
      // the table's idle expiry is the one given
      yield* TestClock.adjust("1 minute")
      expect(yield* client.keyedBreaker!.keys).toEqual(["down:2"])
      yield* TestClock.adjust("1 minute")
      expect(yield* client.keyedBreaker!.keys).toEqual([])
    }))

  it.effect("breaker.maxKeys or breaker.idleTimeToLive without breakerKey, or bad, is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const upstream = byHost()
      const paths = []
      for (
        const options of [
          { breaker: { maxKeys: 10 } },
          { breaker: { idleTimeToLive: "1 minute" } },
          { breakerKey: "host", breaker: { maxKeys: 0 } },
          { breakerKey: "host", breaker: { idleTimeToLive: "soon" } }
        ] as Array<Omit<ResilientServiceClient.Options, "baseUrl">>
      ) {
        const error = yield* Effect.flip(Effect.scoped(
          ResilientServiceClient.make({ baseUrl: "http://a:1", ...options }).pipe(Effect.provide(upstream.layer))
        ))
        paths.push(pathOf(error))
      }
      expect(paths).toEqual([
        ["breaker", "maxKeys"],
        ["breaker", "idleTimeToLive"],
        ["breaker", "maxKeys"],
        ["breaker", "idleTimeToLive"]
      ])
    }))

  it.effect("breakerKey: a bad value, or beside a shared breaker, is a ConfigError at breakerKey", () =>
    Effect.gen(function*() {
      const upstream = byHost()
      const bad = yield* Effect.flip(Effect.scoped(
        ResilientServiceClient.make({ baseUrl: "http://a:1", breakerKey: "path" as "host" }).pipe(
          Effect.provide(upstream.layer)
        )
      ))
      expect(pathOf(bad)).toEqual(["breakerKey"])
      const shared = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "shared" })
        return yield* ResilientServiceClient.make({ baseUrl: "http://a:1", breaker, breakerKey: "host" }).pipe(
          Effect.provide(upstream.layer)
        )
      })))
      expect(pathOf(shared)).toEqual(["breakerKey"])
    }))
})

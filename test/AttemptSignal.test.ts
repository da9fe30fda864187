/**
 * On `UndiciTransport` an attempt runs in the caller's fiber and is stopped by its signal (the
 * deadline timer or the client's scope aborts it), not by interrupting a fiber of its own. These
 * cases hold it to what the forked attempt guarantees: the timeout fires with the caller's
 * interruption masked, before the headers and while the body stalls, with a dispatcher that
 * ignores the signal; closing the scope ends the call; every connection closes. Real sockets on
 * 127.0.0.1, time on the TestClock.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import type * as http from "node:http"
import type { Dispatcher } from "undici"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import * as Deadlines from "../src/internal/deadlines.js"
import * as Time from "../src/internal/time.js"
import { heldDispatcher } from "./utils/dispatchers.js"
import { answerJson, type FaultServer, httpServer } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"

/** Counts the fibers started under it. */
class ForkCounter extends Supervisor.AbstractSupervisor<number> {
  started = 0
  get value() {
    return Effect.sync(() => this.started)
  }
  override onStart() {
    this.started++
  }
}

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => makeLogCapture().provide(self)

const isTimeout = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Cause.isTimeoutException(Cause.squash(exit.cause))

/** A server that calls `handle` once each request has arrived, and says when the first did. */
const serverThat = (handle: (res: http.ServerResponse) => void) =>
  Effect.gen(function*() {
    const arrived = yield* Deferred.make<void>()
    const server = yield* httpServer((_req, res) => {
      Deferred.unsafeDone(arrived, Exit.void)
      handle(res)
    })
    return { server, arrived: Deferred.await(arrived) }
  })

/** A client on an `UndiciTransport` of its own, in `scope`. */
const clientIn = (scope: Scope.Scope, server: FaultServer, options: Partial<ResilientServiceClient.Options> = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.buildWithScope(UndiciTransport.layer(), scope)
    return yield* ResilientServiceClient.make({ baseUrl: server.url, timeout: "1 second", maxAttempts: 1, ...options })
      .pipe(Effect.provide(context), Scope.extend(scope))
  })

/** A client (timeout 1 s, one attempt) on `UndiciTransport` over `dispatcher`. */
const clientOnDispatcher = (dispatcher: Dispatcher) =>
  ResilientServiceClient.make({ baseUrl: "http://127.0.0.1:9", timeout: "1 second", maxAttempts: 1 }).pipe(
    Effect.provide(UndiciTransport.layerDispatcher(dispatcher))
  )

describe("an attempt on UndiciTransport stops by its signal", () => {
  it.scoped("it runs in the caller's fiber: a call on UndiciTransport forks no fiber, one on the platform's does", () =>
    Effect.gen(function*() {
      const { server } = yield* serverThat((res) => answerJson(res, 200, { ok: true }))
      const forksPerCall = (layer: Layer.Layer<HttpClient.HttpClient>) =>
        Effect.gen(function*() {
          const context = yield* Layer.build(layer)
          const client = yield* ResilientServiceClient.make({ baseUrl: server.url }).pipe(Effect.provide(context))
          yield* client.get("/warm-up") // starts the client's deadline timer
          const starts = new ForkCounter()
          yield* Effect.supervised(client.get("/ok"), starts)
          return starts.started
        })
      expect(yield* forksPerCall(UndiciTransport.layer())).toBe(0)
      expect(yield* forksPerCall(NodeHttpClient.layerUndici)).toBeGreaterThan(0)
    }))

  it.scoped("headers that never come, the caller's interruption masked: a TimeoutException at 1 s", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const client = yield* clientIn(yield* Effect.scope, server)
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* TestClock.adjust("999 millis")
      expect(yield* Fiber.poll(call)).toEqual(expect.objectContaining({ _tag: "None" }))
      yield* TestClock.adjust("1 millis")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
      expect((yield* client.status).failureCount).toBe(1)
      yield* server.idle // the aborted request's connection closed
      expect(server.live()).toBe(0)
    }))

  it.scoped("a body that stalls after the headers, the caller's interruption masked: a TimeoutException at 1 s", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat((res) => {
        res.writeHead(200, { "content-length": 1_000 })
        res.write("x".repeat(10))
      })
      const client = yield* clientIn(yield* Effect.scope, server)
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.exit(quiet(client.get("/stall")))))
      yield* arrived
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
      yield* server.idle
      expect(server.live()).toBe(0)
    }))

  it.scoped("closing the client's scope ends a call in flight, masked or not, and closes its connection", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const scope = yield* Scope.make()
      const client = yield* clientIn(scope, server)
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.join(call)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      yield* server.idle
      expect(server.live()).toBe(0)
    }))

  it.scoped("a dispatcher that ignores the signal and never calls back still times out; a late answer is discarded", () =>
    Effect.gen(function*() {
      const deaf = yield* heldDispatcher
      const client = yield* clientOnDispatcher(deaf.dispatcher)
      const call = yield* Effect.fork(quiet(client.get("/never")))
      const handler = yield* deaf.dispatched
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.await(call))).toBe(true)
      // the dispatcher connects and answers now, to nobody: the request is aborted (its
      // connection freed), once
      const aborted: Array<Error> = []
      handler.onConnect!((reason) => aborted.push(reason as Error))
      handler.onHeaders!(200, [], () => {}, "OK")
      expect(aborted).toHaveLength(1)
    }))

  it.scoped("a transport derived from UndiciTransport (HttpClient.mapRequest) runs attempts in a fiber, and times out", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const scope = yield* Effect.scope
      const context = yield* Layer.buildWithScope(UndiciTransport.layer(), scope)
      const mapped = HttpClient.mapRequest(
        Effect.runSync(Effect.provide(HttpClient.HttpClient, context)),
        (request) => request
      )
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provideService(HttpClient.HttpClient, mapped))
      const call = yield* Effect.fork(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
    }))
})

describe("after the headers, a timeout ends the body's read whatever the dispatcher does with its abort", () => {
  it.scoped("a dispatcher whose abort does nothing or throws, or that never connected: a TimeoutException at 1 s", () =>
    Effect.gen(function*() {
      for (const connects of ["abort does nothing", "abort throws", "never connects"] as const) {
        const deaf = yield* heldDispatcher
        const client = yield* clientOnDispatcher(deaf.dispatcher)
        const call = yield* Effect.fork(quiet(client.get("/stall")))
        const handler = yield* deaf.dispatched
        if (connects === "abort does nothing") handler.onConnect!(() => {})
        if (connects === "abort throws") {
          handler.onConnect!(() => {
            throw new Error("the dispatcher's abort throws")
          })
        }
        handler.onHeaders!(200, [Buffer.from("content-length"), Buffer.from("100")], () => {}, "OK")
        handler.onData!(Buffer.from("x".repeat(10)))
        yield* TestClock.adjust("1 second")
        expect(isTimeout(yield* Fiber.await(call))).toBe(true)
      }
    }))
})

describe("the deadline timer survives an expire that throws", () => {
  it.scoped("the other entries due fire, and a later deadline still starts a timer", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const deadlines = Deadlines.make(clock, yield* Effect.scope)
      const fired: Array<string> = []
      const now = Time.monotonicMillis(clock)
      yield* deadlines.register(
        now + 100,
        Effect.sync(() => {
          throw new Error("a dispatcher's abort that throws")
        })
      )
      yield* deadlines.register(now + 100, Effect.sync(() => fired.push("same time")))
      yield* TestClock.adjust("100 millis")
      expect(fired).toEqual(["same time"])
      yield* deadlines.register(now + 300, Effect.sync(() => fired.push("later")))
      yield* TestClock.adjust("200 millis")
      expect(fired).toEqual(["same time", "later"])
      expect(deadlines.size()).toBe(0)
    }))
})

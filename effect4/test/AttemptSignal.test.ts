/**
 * On `UndiciTransport` an attempt runs in the caller's fiber and is stopped by its signal (the
 * deadline timer or the client's scope aborts it), not by interrupting a fiber of its own. These
 * cases hold it to what the forked attempt guarantees: the timeout fires with the caller's
 * interruption masked, before the headers and while the body stalls, with a dispatcher that
 * ignores the signal; closing the scope ends the call; every connection closes. Real sockets on
 * 127.0.0.1, time on the TestClock.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import type * as http from "node:http"
import type { Dispatcher } from "undici"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import * as AttemptSignal from "../src/internal/attemptSignal.js"
import * as Deadlines from "../src/internal/deadlines.js"
import * as Time from "../src/internal/time.js"
import { fakeController, heldDispatcher } from "./utils/dispatchers.js"
import { type FaultServer, httpServer } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => makeLogCapture().provide(self)

const isTimeout = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Cause.isTimeoutError(Cause.squash(exit.cause))

/** A server that calls `handle` once each request has arrived, and says when the first did. */
const serverThat = (handle: (res: http.ServerResponse) => void) =>
  Effect.gen(function*() {
    const arrived = yield* Deferred.make<void>()
    const server = yield* httpServer((_req, res) => {
      Deferred.doneUnsafe(arrived, Exit.void)
      handle(res)
    })
    return { server, arrived: Deferred.await(arrived) }
  })

/** A client on an `UndiciTransport` of its own, in `scope`. */
const clientIn = (scope: Scope.Scope, server: FaultServer, options: Partial<ResilientServiceClient.Options> = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.buildWithScope(UndiciTransport.layer(), scope)
    return yield* ResilientServiceClient.make({ baseUrl: server.url, timeout: "1 second", maxAttempts: 1, ...options })
      .pipe(Effect.provide(context), Scope.provide(scope))
  })

/** A client (timeout 1 s, one attempt) on `UndiciTransport` over `dispatcher`. */
const clientOnDispatcher = (dispatcher: Dispatcher) =>
  ResilientServiceClient.make({ baseUrl: "http://127.0.0.1:9", timeout: "1 second", maxAttempts: 1 }).pipe(
    Effect.provide(UndiciTransport.layerDispatcher(dispatcher))
  )

describe("an attempt on UndiciTransport stops by its signal", () => {
  it.effect("it runs in the caller's fiber: UndiciTransport offers the attempt signal, the platform's client does not", () =>
    Effect.gen(function*() {
      // Effect 4 has no public fiber supervision to count the forks of a call (the Effect 3
      // edition counted them): the client takes the path without a fork exactly when its
      // transport offers the attempt-signal form of execute
      const clientOf = (layer: Layer.Layer<HttpClient.HttpClient>) =>
        Effect.map(Layer.build(layer), (context) => Context.get(context, HttpClient.HttpClient))
      expect(AttemptSignal.executeWithSignal(yield* clientOf(UndiciTransport.layer()))).toBeDefined()
      expect(AttemptSignal.executeWithSignal(yield* clientOf(NodeHttpClient.layerUndici))).toBeUndefined()
    }))

  it.effect("headers that never come, the caller's interruption masked: a TimeoutError at 1 s", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const client = yield* clientIn(yield* Effect.scope, server)
      const call = yield* Effect.forkChild(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* TestClock.adjust("999 millis")
      expect(call.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
      expect((yield* client.status).failureCount).toBe(1)
      yield* server.idle // the aborted request's connection closed
      expect(server.live()).toBe(0)
    }))

  it.effect("a body that stalls after the headers, the caller's interruption masked: a TimeoutError at 1 s", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat((res) => {
        res.writeHead(200, { "content-length": 1_000 })
        res.write("x".repeat(10))
      })
      const client = yield* clientIn(yield* Effect.scope, server)
      const call = yield* Effect.forkChild(Effect.uninterruptible(Effect.exit(quiet(client.get("/stall")))))
      yield* arrived
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
      yield* server.idle
      expect(server.live()).toBe(0)
    }))

  it.effect("closing the client's scope ends a call in flight, masked or not, and closes its connection", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const scope = yield* Scope.make()
      const client = yield* clientIn(scope, server)
      const call = yield* Effect.forkChild(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.join(call)
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* server.idle
      expect(server.live()).toBe(0)
    }))

  it.effect("a dispatcher that ignores the signal and never calls back still times out; a late answer is discarded", () =>
    Effect.gen(function*() {
      const deaf = yield* heldDispatcher
      const client = yield* clientOnDispatcher(deaf.dispatcher)
      const call = yield* Effect.forkChild(quiet(client.get("/never")))
      const handler = yield* deaf.dispatched
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.await(call))).toBe(true)
      // the dispatcher connects and answers now, to nobody: the request is aborted (its
      // connection freed)
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, {}, "OK")
      expect(controller.abortedWith()).toBeDefined()
    }))

  it.effect("a transport derived from UndiciTransport (HttpClient.mapRequest) runs attempts in a fiber, and times out", () =>
    Effect.gen(function*() {
      const { server, arrived } = yield* serverThat(() => {})
      const scope = yield* Effect.scope
      const context = yield* Layer.buildWithScope(UndiciTransport.layer(), scope)
      const mapped = HttpClient.mapRequest(Context.get(context, HttpClient.HttpClient), (request) => request)
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provideService(HttpClient.HttpClient, mapped))
      const call = yield* Effect.forkChild(Effect.uninterruptible(Effect.exit(quiet(client.get("/hang")))))
      yield* arrived
      yield* TestClock.adjust("1 second")
      expect(isTimeout(yield* Fiber.join(call))).toBe(true)
    }))
})

describe("after the headers, a timeout ends the body's read whatever the dispatcher does with its abort", () => {
  it.effect("a dispatcher whose abort does nothing or throws, or that never connected: a TimeoutError at 1 s", () =>
    Effect.gen(function*() {
      for (const connects of ["abort does nothing", "abort throws", "never connects"] as const) {
        const deaf = yield* heldDispatcher
        const client = yield* clientOnDispatcher(deaf.dispatcher)
        const call = yield* Effect.forkChild(quiet(client.get("/stall")))
        const handler = yield* deaf.dispatched
        const controller = connects === "abort throws"
          ? Object.assign(fakeController(), {
            abort: () => {
              throw new Error("the dispatcher's abort throws")
            }
          })
          : fakeController({ abortDoesNothing: true })
        if (connects !== "never connects") handler.onRequestStart!(controller, {})
        handler.onResponseStart!(controller, 200, { "content-length": "100" }, "OK")
        handler.onResponseData!(controller, Buffer.from("x".repeat(10)))
        yield* TestClock.adjust("1 second")
        expect(isTimeout(yield* Fiber.await(call))).toBe(true)
      }
    }))
})

describe("the deadline timer survives an expire that throws", () => {
  it.effect("the other entries due fire, and a later deadline still starts a timer", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
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

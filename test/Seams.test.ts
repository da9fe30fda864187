/**
 * The seams: where the client meets its transport, an attempt its body, the breaker its timers
 * and its store. Each block answers one defect found in review (numbered as in the issue that
 * listed them); each test fails on the code that had the defect.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker, Metrics, ResilientServiceClient, ServiceUnavailable } from "../src/index.js"
import { internals } from "../src/internal/circuitBreaker.js"
import * as Testing from "../src/Testing.js"
import { earlyClock, lateTimerClock } from "./utils/clocks.js"
import { rawServer, withUndiciClient } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"
import { makeRecordingTracer } from "./utils/tracer.js"

const baseUrl = "http://upstream.test"

/** An `HttpClient` whose every request runs `respond`, which ignores the abort signal. */
const transport = (
  respond: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError
  >
) => {
  let requests = 0
  const client = HttpClient.make((request) =>
    Effect.suspend(() => {
      requests++
      return respond(request)
    })
  )
  return { layer: Layer.succeed(HttpClient.HttpClient, client), requests: () => requests }
}

const ok = (request: HttpClientRequest.HttpClientRequest) =>
  HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 }))

/** Runs `self` with its log lines kept out of the test output. */
const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => makeLogCapture().provide(self)

const published = (queue: Queue.Dequeue<CircuitBreaker.StateChange>) =>
  Effect.map(Queue.takeAll(queue), (changes) => Chunk.toReadonlyArray(changes).map((c) => `${c.from}→${c.to}`))

class Boom {
  readonly _tag = "Boom"
}

describe("1. an attempt's timeout fires whatever the transport does with its AbortSignal", () => {
  it.scoped("a transport that sleeps an hour and never looks at the signal times out at 1 s", () =>
    Effect.gen(function*() {
      const upstream = transport((request) => Effect.as(Effect.sleep("1 hour"), ok(request)))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(quiet(client.get("/slow")))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(call)
      expect(Exit.isFailure(exit) && Cause.isTimeoutException(Cause.squash(exit.cause))).toBe(true)
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.scoped("a call made where interruption is masked (acquiring a resource) times out too", () =>
    Effect.gen(function*() {
      const upstream = transport((request) => Effect.as(Effect.sleep("1 hour"), ok(request)))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const acquiring = yield* Effect.fork(Effect.uninterruptible(Effect.exit(quiet(client.get("/slow")))))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(acquiring)
      expect(Exit.isFailure(exit) && Cause.isTimeoutException(Cause.squash(exit.cause))).toBe(true)
    }))

  it.scoped("a transport that never resumes and gives no canceller times out too", () =>
    Effect.gen(function*() {
      const upstream = transport(() => Effect.async<never>(() => {}))
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 2 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(quiet(client.get("/never")))
      yield* TestClock.adjust("3 seconds") // 1 s, the 1 s backoff, 1 s
      const error = yield* Effect.flip(Fiber.join(call))
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(upstream.requests()).toBe(2)
    }))

  it.scoped("Testing.delayed(\"1 hour\") under a 1 second timeout fails at 1 s", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.delayed("1 hour", Testing.json(200, {})) })
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second", maxAttempts: 1 })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(quiet(client.get("/slow")))
      yield* TestClock.adjust("1 second")
      expect(Option.isSome(yield* Fiber.poll(call))).toBe(true)
      expect(Cause.isTimeoutException(yield* Effect.flip(Fiber.join(call)))).toBe(true)
    }))

  it.scoped("Testing.delayed honours the abort signal: an aborted request stops waiting at once", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.delayed("1 hour", Testing.json(200, {})) })
      const scope = yield* Scope.make()
      const request = HttpClient.withScope(upstream.client).get(`${baseUrl}/slow`)
      const call = yield* Effect.fork(Effect.provideService(request, Scope.Scope, scope))
      yield* TestClock.adjust(0)
      yield* Scope.close(scope, Exit.void) // aborts the request
      const error = yield* Effect.flip(Fiber.join(call))
      expect(error._tag).toBe("RequestError")
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))
})

describe("2. closing a client's scope ends its calls", () => {
  it.scoped("a call waiting out a backoff and a call queued in the bulkhead end when the scope closes", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/refused": Testing.refused, "/hang": Testing.hang })
      const scope = yield* Scope.make()
      const client = yield* Scope.extend(
        ResilientServiceClient.make({ baseUrl, backoff: "1 hour", maxConcurrent: 1, maxQueued: 1 }),
        scope
      ).pipe(Effect.provide(upstream.layer))
      const backingOff = yield* Effect.fork(quiet(client.get("/refused")))
      yield* TestClock.adjust(0) // attempt 1 failed: it waits an hour; it holds the only place
      const queued = yield* Effect.fork(quiet(client.get("/hang")))
      yield* TestClock.adjust(0)
      expect(Option.isNone(yield* Fiber.poll(queued))).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(Exit.isInterrupted(yield* Fiber.await(backingOff))).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(queued))).toBe(true)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(upstream.requests().map((r) => r.path)).toEqual(["/refused"])
    }))
})

describe("an attempt is the request and its body", () => {
  it.scoped("a body that stalls is a timed-out attempt: retried, counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": [Testing.stalledBody(200), Testing.json(200, { ok: true })] })
      const client = yield* ResilientServiceClient.make({ baseUrl, timeout: "1 second" })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(quiet(client.get("/q")))
      yield* TestClock.adjust("1 second") // the body of attempt 1 never ends
      expect((yield* client.status).failureCount).toBe(1)
      yield* TestClock.adjust("1 second") // backoff
      const response = yield* Fiber.join(call)
      expect(yield* response.json).toEqual({ ok: true })
      expect(upstream.requests().length).toBe(2)
    }))

  it.scoped("a body that breaks off is a transport failure: retried, counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.brokenBody(200) })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxAttempts: 2, backoff: "1 millis" })
        .pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(quiet(client.get("/q")))
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(call))
      expect(error._tag === "RequestError" && error.reason).toBe("Transport")
      expect(upstream.requests().length).toBe(2)
      expect((yield* client.status).failureCount).toBe(2)
    }))

  it.scoped("the response comes back read: its body can be read again, as JSON and as text", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.json(200, { results: [1, 2] }) })
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(upstream.layer))
      const response = yield* client.get("/q")
      expect(yield* response.json).toEqual({ results: [1, 2] })
      expect(yield* response.text).toBe("{\"results\":[1,2]}")
      expect(new Uint8Array(yield* response.arrayBuffer).length).toBe(17)
      const decoded = yield* HttpClientResponse.schemaBodyJson(Schema.Struct({ results: Schema.Array(Schema.Number) }))(
        response
      )
      expect(decoded.results).toEqual([1, 2])
    }))

  it.scoped("a body longer than maxResponseBytes fails with a clear ResponseError, neither retried nor counted", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/announced": Testing.text(200, "x".repeat(2_000)),
        "/streamed": Testing.text(200, "x".repeat(2_000), { "transfer-encoding": "chunked" })
      })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxResponseBytes: 1_000 })
        .pipe(Effect.provide(upstream.layer))
      for (const path of ["/announced", "/streamed"]) {
        const error = yield* Effect.flip(quiet(client.get(path)))
        expect(error._tag === "ResponseError" && error.reason).toBe("Decode")
        expect(error.message).toContain("longer than maxResponseBytes (1000 bytes)")
      }
      expect(upstream.requests().length).toBe(2)
      expect((yield* client.status).failureCount).toBe(0)
      // a call that streams is not limited
      const streamed = yield* client.get("/streamed", { stream: true })
      expect((yield* streamed.text).length).toBe(2_000)
      const invalid = yield* Effect.flip(
        ResilientServiceClient.make({ baseUrl, maxResponseBytes: 0 }).pipe(Effect.provide(upstream.layer))
      )
      expect(invalid).toEqual(
        ConfigError.InvalidData(
          ["maxResponseBytes"],
          "[upstream.test:80] maxResponseBytes must be a positive integer, got 0"
        )
      )
    }))

  it.scoped("a streamed call's body read is bounded by what is left of its deadline", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/q": Testing.stalledBody(200) })
      const client = yield* ResilientServiceClient.make({ baseUrl, deadline: "2 seconds" })
        .pipe(Effect.provide(upstream.layer))
      const response = yield* client.get("/q", { stream: true })
      const read = yield* Effect.fork(response.text)
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(read))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(read))
      expect(error.message).toContain("Deadline of 2s exceeded while reading the body")
    }))
})

describe("three outcomes, one judge: what a probe's end does to a half_open breaker", () => {
  const halfOpen = (answer: Testing.Answer, options: Partial<ResilientServiceClient.Options> = {}) =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/down": Testing.refused, "/probe": answer })
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds",
        ...options
      }).pipe(Effect.provide(upstream.layer))
      yield* Effect.exit(quiet(client.get("/down")))
      yield* TestClock.adjust("10 seconds")
      expect(yield* client.breaker.state).toBe("half_open")
      return { client, upstream }
    })

  it.scoped("3. a probe cut by the call's deadline against a hanging upstream opens it again, never closes it", () =>
    Effect.gen(function*() {
      const { client } = yield* halfOpen(Testing.hang)
      const probe = yield* Effect.fork(quiet(client.get("/probe", { deadline: "800 millis" })))
      yield* TestClock.adjust("800 millis")
      expect(Cause.isTimeoutException(yield* Effect.flip(Fiber.join(probe)))).toBe(true)
      expect(yield* client.breaker.state).toBe("open")
    }))

  it.scoped("3. a probe that was never sent (InvalidUrl) gives its permit back and never closes it", () =>
    Effect.gen(function*() {
      const { client, upstream } = yield* halfOpen(Testing.json(200, {}))
      const error = yield* Effect.flip(quiet(client.execute(HttpClientRequest.get("http://[::1/bad"))))
      expect(error._tag === "RequestError" && error.reason).toBe("InvalidUrl")
      expect(yield* client.breaker.state).toBe("half_open")
      // the permit came back: the next call is the probe, and it closes the breaker
      yield* client.get("/probe")
      expect(yield* client.breaker.state).toBe("closed")
      expect(upstream.requests().map((r) => r.path)).toEqual(["/down", "/probe"])
    }))

  it.scoped("3. a probe whose body could not be encoded by the transport says nothing either", () =>
    Effect.gen(function*() {
      let encodeFails = false
      const flaky = transport((request) =>
        encodeFails
          ? Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", cause: new Error("bad body") }))
          : Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("down") }))
      )
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: "10 seconds"
      }).pipe(Effect.provide(flaky.layer))
      yield* Effect.exit(quiet(client.get("/")))
      yield* TestClock.adjust("10 seconds")
      encodeFails = true
      const error = yield* Effect.flip(quiet(client.post("/", { body: undefined })))
      expect(error._tag === "RequestError" && error.reason).toBe("Encode")
      expect(yield* client.breaker.state).toBe("half_open")
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.scoped("4. under a deadline shorter than the timeout, a hanging upstream still opens the breaker", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.hang })
      const client = yield* ResilientServiceClient.make({ baseUrl, failureThreshold: 2, deadline: "800 millis" })
        .pipe(Effect.provide(upstream.layer))
      for (let i = 0; i < 5; i++) {
        const call = yield* Effect.fork(quiet(client.get("/search")))
        yield* TestClock.adjust("800 millis")
        yield* Effect.exit(Fiber.join(call))
      }
      expect(yield* client.breaker.state).toBe("open")
      // the first two calls, each one attempt of 800 ms, opened it; the rest were rejected
      expect(upstream.requests().length).toBe(2)
    }))
})

describe("5. timers that wake early still publish", () => {
  it.scoped("a recovery timer that wakes 1 ms early publishes open → half_open when the time comes", () =>
    Effect.gen(function*() {
      const clock = yield* earlyClock
      const breaker = yield* Effect.withClock(
        CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "37 millis" }),
        clock
      )
      const queue = yield* breaker.subscribe
      yield* Effect.ignore(breaker(Effect.fail(new Boom())))
      yield* TestClock.adjust("36 millis") // the timer wakes here, 1 ms early
      expect(yield* published(queue)).toEqual(["closed→open"])
      yield* TestClock.adjust("1 millis")
      // no call and no read: the timer itself published it
      expect(yield* published(queue)).toEqual(["open→half_open"])
    }))

  it.scoped("a probe-timeout timer that wakes early publishes half_open → open when the time comes", () =>
    Effect.gen(function*() {
      const clock = yield* earlyClock
      const breaker = yield* Effect.withClock(
        CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "10 millis", probeTimeout: "50 millis" }),
        clock
      )
      const queue = yield* breaker.subscribe
      yield* Effect.ignore(breaker(Effect.fail(new Boom())))
      yield* TestClock.adjust("10 millis")
      yield* Effect.fork(breaker(Effect.never))
      yield* TestClock.adjust("50 millis")
      expect(yield* published(queue)).toEqual(["closed→open", "open→half_open", "half_open→open"])
    }))

  // live fibers once the probe has ended: none, or the recovery timer of the opening it caused
  for (
    const [how, probe, after, live] of [
      ["succeeds", Effect.succeed("ok"), "closed", 0],
      ["fails", Effect.fail(new Boom()), "open", 1],
      ["is interrupted", Effect.interrupt, "half_open", 0]
    ] as const
  ) {
    it.scoped(`a probe that ${how} before its probe timeout stops its timer`, () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "10 millis",
          probeTimeout: "1 hour"
        })
        yield* quiet(Effect.ignore(breaker(Effect.fail(new Boom()))))
        yield* TestClock.adjust("10 millis")
        const supervisor = yield* Supervisor.track
        yield* quiet(Effect.exit(Effect.supervised(breaker(probe), supervisor)))
        yield* TestClock.adjust(0)
        // the probe's 1 hour timer is not among them
        expect((yield* supervisor.value).length).toBe(live)
        expect(yield* breaker.state).toBe(after)
      }))
  }

  it.scopedLive("on the real clock, 100 openings of 37 ms each publish open → half_open with no call", () =>
    Effect.gen(function*() {
      const breakers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          CircuitBreaker.make({ name: `live-${i}`, failureThreshold: 1, recoveryTimeout: "37 millis" }).pipe(
            // the timers log their transitions: keep them out of the test output
            Effect.provide(makeLogCapture().layer)
          )
      )
      const queues = yield* Effect.forEach(breakers, (breaker) => breaker.subscribe)
      yield* quiet(Effect.forEach(breakers, (breaker) => Effect.ignore(breaker(Effect.fail(new Boom())))))
      // waits for the transitions themselves; the timeout only bounds a broken run
      const halfOpened = yield* Effect.forEach(queues, (queue) =>
        Effect.gen(function*() {
          expect((yield* Queue.take(queue)).to).toBe("open")
          return (yield* Queue.take(queue)).to
        })).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "a half_open was never published" }))
      expect(halfOpened.every((to) => to === "half_open")).toBe(true)
    }))
})

describe("6. a success in closed hides no transition", () => {
  it.scoped("a slow call admitted while closed that succeeds after the recovery timeout publishes half_open", () =>
    Effect.gen(function*() {
      // the breaker's timer is late (it wakes only when released): the success sees the end of
      // the opening first, and must announce it
      const { advance, clock } = yield* lateTimerClock
      const breaker = yield* Effect.withClock(
        CircuitBreaker.make({ name: "slow-success", failureThreshold: 1, recoveryTimeout: "10 seconds" }),
        clock
      )
      const queue = yield* breaker.subscribe
      const gate = yield* Deferred.make<string>()
      const slow = yield* Effect.fork(breaker(Deferred.await(gate)))
      yield* TestClock.adjust(0)
      yield* quiet(Effect.ignore(breaker(Effect.fail(new Boom())))) // opens
      yield* advance(20_000)
      yield* Deferred.succeed(gate, "late")
      expect(yield* Fiber.join(slow)).toBe("late")
      expect(yield* published(queue)).toEqual(["closed→open", "open→half_open"])
      const gauge = yield* Metric.value(Metrics.breakerState.pipe(Metric.tagged("service", "slow-success")))
      expect(gauge.value).toBe(Metrics.stateValue("half_open"))
    }))
})

describe("7. a store that hangs delays nothing but its own writes", () => {
  const hangingStore = (get: Effect.Effect<Option.Option<string>> = Effect.succeedNone) => {
    let writes = 0
    const store = KeyValueStore.makeStringOnly({
      get: () => get,
      set: () =>
        Effect.suspend(() => {
          writes++
          return Effect.uninterruptible(Effect.never)
        }),
      remove: () => Effect.void,
      clear: Effect.void,
      size: Effect.succeed(0)
    })
    return { store, writes: () => writes }
  }

  it.scoped("the call that trips the breaker returns at once, later transitions too, and the scope closes", () =>
    Effect.gen(function*() {
      const { store, writes } = hangingStore()
      const logs = makeLogCapture()
      const scope = yield* Scope.make()
      const breaker = yield* logs.provide(Scope.extend(
        CircuitBreaker.make({ name: "hanging", failureThreshold: 1, recoveryTimeout: "1 second", store }),
        scope
      ))
      // no fork: each of these would hang the test if it waited on the store
      yield* Effect.ignore(logs.provide(breaker(Effect.fail(new Boom()))))
      yield* TestClock.adjust("1 second")
      expect(yield* logs.provide(breaker(Effect.succeed("probe")))).toBe("probe")
      yield* breaker.isolate
      yield* breaker.reset
      expect(yield* breaker.state).toBe("closed")
      yield* TestClock.adjust(0)
      expect(writes()).toBeGreaterThanOrEqual(1)
      // closing gives the writer storeTimeout (5 s) at most: the store hangs, so the close ends then
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(0)
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(closing)
    }))

  it.scoped("a call that trips the breaker can be interrupted while the store hangs", () =>
    Effect.gen(function*() {
      const { store } = hangingStore()
      const logs = makeLogCapture()
      const scope = yield* Scope.make()
      const breaker = yield* Scope.extend(
        CircuitBreaker.make({ name: "interruptible", failureThreshold: 1, store, storeTimeout: "1 second" }),
        scope
      )
      const tripping = yield* Effect.fork(logs.provide(breaker(Effect.fail(new Boom()))))
      yield* Fiber.interrupt(tripping) // whether it had finished or not, it ends now
      yield* Effect.ignore(logs.provide(breaker(Effect.fail(new Boom()))))
      expect(yield* breaker.state).toBe("open")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(0)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
    }))

  it.scoped("a write that hangs is given up after storeTimeout, with a warning, and the next one is made", () =>
    Effect.gen(function*() {
      const { store, writes } = hangingStore()
      const logs = makeLogCapture()
      const scope = yield* Scope.make()
      const breaker = yield* logs.provide(
        Scope.extend(
          CircuitBreaker.make({ name: "given-up", failureThreshold: 1, store, storeTimeout: "2 seconds" }),
          scope
        )
      )
      yield* Effect.ignore(breaker(Effect.fail(new Boom())))
      yield* TestClock.adjust(0)
      yield* breaker.reset // while the first write hangs
      yield* TestClock.adjust("2 seconds")
      expect(logs.messages()).toContain(
        "[given-up] Could not store the circuit breaker state under \"effect-resilience/circuit-breaker/given-up\": the write took longer than 2s"
      )
      yield* TestClock.adjust(0)
      expect(writes()).toBe(2) // the latest snapshot, after the one given up
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(0)
      yield* TestClock.adjust("2 seconds") // the close gives the hanging write its storeTimeout
      yield* Fiber.join(closing)
    }))

  it.scoped("a transition just before the scope closes is written on the way out", () =>
    Effect.gen(function*() {
      const store = yield* KeyValueStore.KeyValueStore
      const scope = yield* Scope.make()
      const first = yield* Scope.extend(CircuitBreaker.make({ name: "last-words", failureThreshold: 1, store }), scope)
      yield* quiet(Effect.ignore(first(Effect.fail(new Boom()))))
      yield* Scope.close(scope, Exit.void) // at once: the writer has not run yet
      const second = yield* quiet(CircuitBreaker.make({ name: "last-words", failureThreshold: 1, store }))
      expect(yield* second.state).toBe("open")
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))

  it.scoped("a read that hangs at start-up is given up after storeTimeout, with a warning", () =>
    Effect.gen(function*() {
      const { store } = hangingStore(Effect.never)
      const logs = makeLogCapture()
      const making = yield* Effect.fork(
        logs.provide(CircuitBreaker.make({ name: "slow-store", store, storeTimeout: "2 seconds" }))
      )
      yield* TestClock.adjust("2 seconds")
      const breaker = yield* Fiber.join(making)
      expect(yield* breaker.state).toBe("closed")
      expect(logs.messages()).toContain(
        "[slow-store] Could not read the stored circuit breaker state under \"effect-resilience/circuit-breaker/slow-store\": the read took longer than 2s"
      )
    }))
})

describe("8. an isolated breaker's rejection survives its own schema", () => {
  it.scoped("encode, JSON, decode: an equal error with an infinite retryAfter", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ name: "isolated" })
      yield* breaker.isolate
      const rejection = yield* Effect.flip(breaker(Effect.void))
      if (!(rejection instanceof ServiceUnavailable.ServiceUnavailable)) return expect.fail("expected a rejection")
      const wire = JSON.parse(JSON.stringify(Schema.encodeSync(ServiceUnavailable.ServiceUnavailable)(rejection)))
      expect(wire.retryAfter).toBeNull()
      const decoded = Schema.decodeUnknownSync(ServiceUnavailable.ServiceUnavailable)(wire)
      expect(Duration.isFinite(decoded.retryAfter)).toBe(false)
      expect(decoded.message).toBe(rejection.message)
    }))
})

describe("bad input is an error, never a defect, and never leaks a secret", () => {
  it.scopedLive("9. a status outside 200–599 is a ResponseError, not a defect", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.end("HTTP/1.1 999 Strange\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi")
      })
      const error = yield* withUndiciClient({ baseUrl: server.url, maxAttempts: 1 }, (client) =>
        Effect.flip(quiet(client.get("/odd"))))
      expect(error._tag === "ResponseError" && error.reason).toBe("StatusCode")
      expect(error._tag === "ResponseError" && error.response.status).toBe(999)
      expect(error.message).toContain("invalid status code 999")
    }))

  it.effect("10. a malformed percent-encoding in the base URL's userinfo is a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(ResilientServiceClient.make({ baseUrl: "http://us%zzer:pw@chroma:6003" })).pipe(
          Effect.provide(Testing.fakeUpstream().layer)
        )
      )
      expect(error).toEqual(
        ConfigError.InvalidData(
          ["baseUrl"],
          "[chroma:6003] baseUrl has a malformed percent-encoding (%XX) in its user or password"
        )
      )
    }))

  it.scoped("11. credentials in an absolute URL given to execute reach no log line or span attribute", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const { spans, tracer } = makeRecordingTracer()
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200, {}) })
      yield* logs.provide(Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({ baseUrl: "http://chroma:6003", maxAttempts: 1 })
          .pipe(Effect.provide(upstream.layer))
        yield* client.execute(HttpClientRequest.get("http://admin:s3cret@other:81/x")).pipe(
          Effect.withTracer(tracer)
        )
        // a URL that cannot even be parsed keeps its credentials to itself too
        const invalid = yield* Effect.flip(
          client.execute(HttpClientRequest.get("http://admin:s3cret@[::1/x")).pipe(Effect.withTracer(tracer))
        )
        expect(invalid.message).not.toContain("s3cret")
      }))
      const attributes = spans.flatMap((span) =>
        Array.from(span.attributes, ([key, value]) => `${key}=${String(value)}`)
      )
      const [seen] = upstream.requests()
      expect(seen!.url).toBe("http://other:81/x")
      expect(seen!.headers.authorization).toBe(`Basic ${Buffer.from("admin:s3cret").toString("base64")}`)
      const printed = [...logs.messages(), ...attributes].join("\n")
      expect(attributes.length).toBeGreaterThan(0)
      expect(printed).not.toContain("s3cret")
    }))

  it.scoped("12. an invalid call option fails the call with an IllegalArgumentException naming it", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200, {}) })
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(upstream.layer))
      const bad = yield* Effect.flip(client.get("/q", { timeout: "5 secs" as Duration.DurationInput }))
      expect(Cause.isIllegalArgumentException(bad)).toBe(true)
      expect(bad.message).toBe(
        "Invalid call option timeout: must be a duration such as \"5 seconds\" or a number of milliseconds, got \"5 secs\""
      )
      const negative = yield* Effect.flip(client.execute(HttpClientRequest.get("/q"), { deadline: -1 }))
      expect(negative.message).toContain("Invalid call option deadline: must be a positive, finite duration")
      const scoped = yield* Effect.flip(
        client.httpClient.get("/q").pipe(ResilientServiceClient.withTimeout("soon" as Duration.DurationInput))
      )
      expect(scoped.message).toContain("Invalid call option timeout")
      expect(upstream.requests().length).toBe(0)
    }))

  it.scoped("12. a per-call timeout and deadline work on execute and on httpClient", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.hang })
      const client = yield* ResilientServiceClient.make({ baseUrl, maxAttempts: 1 }).pipe(
        Effect.provide(upstream.layer)
      )
      const viaExecute = yield* Effect.fork(
        quiet(client.execute(HttpClientRequest.get("/a"), { timeout: "2 seconds" }))
      )
      const viaHttpClient = yield* Effect.fork(
        quiet(client.httpClient.get("/b")).pipe(ResilientServiceClient.withDeadline("3 seconds"))
      )
      const nested = yield* Effect.fork(
        quiet(client.httpClient.get("/c")).pipe(
          ResilientServiceClient.withTimeout("1 second"),
          ResilientServiceClient.withTimeout("30 seconds") // the inner one wins
        )
      )
      yield* TestClock.adjust("1 second")
      expect(Option.isSome(yield* Fiber.poll(nested))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(Fiber.join(viaExecute))).message).toBe("Timed out after 2s")
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(Fiber.join(viaHttpClient))).message).toBe(
        "Deadline of 3s exceeded during an attempt"
      )
    }))
})

describe("13. breakers made without a name never share a metric series", () => {
  it.scoped("the second unnamed breaker is circuit-breaker-2, and the name is free again once its scope closes", () =>
    Effect.gen(function*() {
      const first = yield* CircuitBreaker.make()
      const scope = yield* Scope.make()
      const second = yield* Scope.extend(CircuitBreaker.make(), scope)
      expect(first.service).toBe("circuit-breaker")
      expect(second.service).toBe("circuit-breaker-2")
      yield* Effect.ignore(second(Effect.fail(new Boom())))
      const openings = (service: string) =>
        Effect.map(
          Metric.value(Metrics.breakerState.pipe(Metric.tagged("service", service))),
          (state) => state.value
        )
      yield* second.isolate
      expect(yield* openings("circuit-breaker-2")).toBe(Metrics.stateValue("open"))
      expect(yield* openings("circuit-breaker")).toBe(Metrics.stateValue("closed"))
      yield* Scope.close(scope, Exit.void)
      expect((yield* Effect.scoped(CircuitBreaker.make())).service).toBe("circuit-breaker-2")
    }))
})

describe("14. a call waiting out its backoff holds one subscription to its breaker", () => {
  it.scoped("however many openings end before it looks", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.refused })
      const client = yield* ResilientServiceClient.make({ baseUrl, backoff: "1 hour", failureThreshold: 100 })
        .pipe(Effect.provide(upstream.layer))
      const api = internals(client.breaker)
      const waiting = yield* Effect.fork(quiet(client.get("/q")))
      yield* TestClock.adjust(0)
      expect(api.rejectionWaiters()).toBe(1)
      for (let i = 0; i < 10; i++) {
        // an opening that is over before the waiter looks at it
        yield* quiet(Effect.zipRight(client.breaker.isolate, client.breaker.reset))
        // lets the waiter take both changes (each take is a hop through the scheduler)
        yield* Effect.repeatN(TestClock.adjust(0), 3)
      }
      expect(api.rejectionWaiters()).toBe(1)
      yield* Fiber.interrupt(waiting)
      expect(api.rejectionWaiters()).toBe(0)
    }))
})

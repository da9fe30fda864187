/**
 * A client's events tell the truth: every attempt that starts ends with exactly one `Success`,
 * `Failure`, `Defect` or `Interrupted` event (on both ways of running an attempt: in a fiber of
 * its own on the platform's transport, in the caller's fiber on `UndiciTransport`), and a
 * `Retry` is published as the attempt it announces starts, so a call whose backoff ends with the
 * breaker opening publishes its `Rejection` and no `Retry`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import type * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as References from "effect/References"
import * as TestClock from "effect/testing/TestClock"
import type { Dispatcher } from "undici"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import * as Testing from "../src/Testing.js"

const baseUrl = "http://billing.test"

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provideService(self, References.MinimumLogLevel, "None")

/** A client error's name: an `HttpClientError` by its reason. */
const nameOf = (error: ResilientServiceClient.ClientError): string =>
  error._tag === "HttpClientError" ? error.reason._tag : error._tag

const describeEvent = (event: ResilientServiceClient.CallEvent): string => {
  const about = `${event.method} ${event.path}`
  switch (event._tag) {
    case "Success":
    case "Interrupted":
      return `${about} ${event._tag} ${event.attempt}`
    case "Failure":
      return `${about} Failure ${event.attempt} ${event.outcome} ${nameOf(event.error)}`
    case "Defect":
      return `${about} Defect ${event.attempt} ${event.defect instanceof Error ? event.defect.message : event.defect}`
    case "Timeout":
      return `${about} Timeout ${event.attempt} ${Duration.format(event.timeout)}`
    case "Retry":
      return `${about} Retry ${event.attempt} ${Duration.format(event.delay)} ${nameOf(event.error)}`
    case "Rejection":
      return `${about} Rejection ${event.error._tag}`
  }
}

const drain = (subscription: PubSub.Subscription<ResilientServiceClient.CallEvent>) =>
  Effect.map(PubSub.takeAll(subscription), (events) => events.map(describeEvent))

/** An `UndiciTransport` whose dispatcher takes every request and never answers. */
const deafUndici: Layer.Layer<HttpClient.HttpClient> = UndiciTransport.layerDispatcher(
  { dispatch: () => true } as unknown as Dispatcher
)

describe("every attempt that ends publishes an event", () => {
  it.effect("an attempt that dies publishes a Defect, counted by the breaker and not retried", () =>
    Effect.gen(function*() {
      const dies = HttpClient.make(() => Effect.die(new Error("a bug in the transport")))
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(
        Effect.provideService(HttpClient.HttpClient, dies)
      )
      const events = yield* client.subscribeEvents
      yield* Effect.exit(quiet(client.get("/charge")))
      expect(yield* drain(events)).toEqual(["GET /charge Defect 1 a bug in the transport"])
      expect((yield* client.status).failureCount).toBe(1)
    }))

  it.effect("an attempt whose isFailure throws publishes a Defect, counted by the breaker", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/charge": Testing.json(503) })
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        isFailure: () => {
          throw new Error("a bug in isFailure")
        }
      }).pipe(Effect.provide(upstream.layer))
      const events = yield* client.subscribeEvents
      yield* Effect.exit(quiet(client.get("/charge")))
      expect(yield* drain(events)).toEqual(["GET /charge Defect 1 a bug in isFailure"])
      expect((yield* client.status).failureCount).toBe(1)
    }))

  const hanging = [
    { name: "the platform's transport", layer: Testing.fakeUpstream({ "/charge": Testing.hang }).layer },
    { name: "UndiciTransport", layer: deafUndici }
  ] as const
  for (const transport of hanging) {
    it.effect(`${transport.name}: an attempt whose caller is interrupted publishes Interrupted`, () =>
      Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(transport.layer))
        const events = yield* client.subscribeEvents
        const call = yield* Effect.forkChild(quiet(client.get("/charge")))
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(call)
        expect(yield* drain(events)).toEqual(["GET /charge Interrupted 1"])
        const status = yield* client.status
        expect([status.state, status.failureCount]).toEqual(["closed", 0])
      }))
  }
})

describe("a Retry means that an attempt follows", () => {
  it.effect("it is published when the next attempt starts, after the backoff, right before its end", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/flaky": [Testing.json(503), Testing.json(200, {})] })
      const client = yield* ResilientServiceClient.make({ baseUrl, retry: { backoff: "1 second" } }).pipe(
        Effect.provide(upstream.layer)
      )
      const events = yield* client.subscribeEvents
      const call = yield* Effect.forkChild(quiet(client.get("/flaky")))
      expect(describeEvent(yield* PubSub.take(events))).toBe("GET /flaky Failure 1 failed StatusCodeError")
      yield* TestClock.adjust("999 millis")
      expect(yield* PubSub.remaining(events)).toBe(0) // nothing announced during the wait
      yield* TestClock.adjust("1 milli")
      expect((yield* Fiber.join(call)).status).toBe(200)
      expect(yield* drain(events)).toEqual([
        "GET /flaky Retry 1 1s StatusCodeError",
        "GET /flaky Success 2"
      ])
    }))

  it.effect("a call whose backoff ends with the breaker opening publishes its Rejection and no Retry", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/a": Testing.json(503), "/b": Testing.json(503) })
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        retry: { backoff: "1 second" },
        breaker: { failureThreshold: 2 }
      }).pipe(Effect.provide(upstream.layer))
      const events = yield* client.subscribeEvents
      const a = yield* Effect.forkChild(Effect.flip(quiet(client.get("/a"))))
      expect(describeEvent(yield* PubSub.take(events))).toBe("GET /a Failure 1 failed StatusCodeError")
      // another call's failure opens the breaker while the first waits out its backoff
      const b = yield* Effect.flip(quiet(client.get("/b")))
      expect(b._tag).toBe("ServiceUnavailable")
      expect((yield* Fiber.join(a))._tag).toBe("ServiceUnavailable")
      // /a, woken by the opening, may publish before /b does (Effect 4's scheduler runs it early):
      // each call's events are in order, and no Retry is among them
      const drained = yield* drain(events)
      expect(drained.filter((event) => event.startsWith("GET /b"))).toEqual([
        "GET /b Failure 1 failed StatusCodeError",
        "GET /b Rejection ServiceUnavailable"
      ])
      expect(drained.filter((event) => event.startsWith("GET /a"))).toEqual(["GET /a Rejection ServiceUnavailable"])
      expect(drained.length).toBe(3)
      expect(upstream.requests().map((request) => request.path)).toEqual(["/a", "/b"])
    }))
})

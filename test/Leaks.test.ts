/**
 * Nothing is left behind: real-socket clients leave no TCP handle or timer once their scopes
 * close, and a breaker's (or a client's) scope closing stops every fiber it started.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker, ResilientServiceClient } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { httpServer, withUndiciClient } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"

/** How many active resources of each kind the process holds now. */
const resources = (): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}
const countOf = (snapshot: Record<string, number>, kind: string) => snapshot[kind] ?? 0
/** TCP connections: `TCPWrap` in the Node docs, `TCPSocketWrap` in what Node 20 reports. */
const sockets = (snapshot: Record<string, number>) => countOf(snapshot, "TCPWrap") + countOf(snapshot, "TCPSocketWrap")

class Boom {
  readonly _tag = "Boom"
}

describe("leaks", () => {
  it.live("real-socket clients leave no TCPWrap/TCPSocketWrap and no Timeout once their scopes close", () =>
    Effect.gen(function*() {
      let inUse = 0
      const program = Effect.scoped(Effect.gen(function*() {
        const server = yield* httpServer((req, res, index) => {
          if (req.url === "/hang") return // never answered: the attempt times out
          const body = JSON.stringify({ index })
          res.writeHead(index % 3 === 0 ? 503 : 200, { "content-type": "application/json" })
          res.end(body)
        })
        yield* withUndiciClient(
          // generous for the calls that must succeed; the hanging call brings its own short timeout
          { baseUrl: server.url, backoff: "1 millis", timeout: "5 seconds", maxAttempts: 2 },
          (client) =>
            Effect.gen(function*() {
              for (let i = 0; i < 5; i++) {
                const response = yield* client.get(`/ok/${i}`)
                yield* response.json
              }
              yield* Effect.flip(client.get("/hang", { timeout: "100 millis" }))
              // a response whose body is never read
              yield* client.get("/unread")
              inUse = Math.max(inUse, sockets(resources()))
            })
        ).pipe(makeLogCapture().provide)
        yield* server.idle
      }))
      // once first, so that whatever the platform creates once per process exists before we count
      yield* program
      const before = resources()
      yield* program
      yield* program
      const after = resources()
      // the counts mean something: sockets were open while the clients ran
      expect(inUse).toBeGreaterThanOrEqual(2)
      expect(sockets(after)).toBeLessThanOrEqual(sockets(before))
      expect(countOf(after, "ConnectWrap")).toBeLessThanOrEqual(countOf(before, "ConnectWrap"))
      expect(countOf(after, "TCPServerWrap")).toBeLessThanOrEqual(countOf(before, "TCPServerWrap"))
      expect(countOf(after, "Timeout")).toBeLessThanOrEqual(countOf(before, "Timeout"))
      expect(countOf(after, "Immediate")).toBeLessThanOrEqual(countOf(before, "Immediate"))
    }))

  it.scoped("closing a breaker's scope interrupts its recovery timer", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const scope = yield* Scope.make()
      const breaker = yield* Scope.extend(
        CircuitBreaker.make({ failureThreshold: 1, recoveryTimeout: "1 hour" }),
        scope
      )
      yield* makeLogCapture().provide(Effect.ignore(breaker(Effect.fail(new Boom())))).pipe(
        Effect.supervised(supervisor)
      )
      yield* Effect.yieldNow()
      const started = yield* supervisor.value
      expect(started.length).toBeGreaterThanOrEqual(1)
      expect((yield* Effect.forEach(started, Fiber.poll)).some(Option.isNone)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      const exits = yield* Effect.forEach(started, Fiber.poll)
      expect(exits.every((e) => Option.isSome(e) && Exit.isInterrupted(e.value))).toBe(true)
    }))

  it.scoped("closing a breaker's scope interrupts its probe-timeout timers", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const scope = yield* Scope.make()
      const breaker = yield* Scope.extend(
        CircuitBreaker.make({
          failureThreshold: 1,
          recoveryTimeout: "1 second",
          halfOpenMaxProbes: 2,
          probeTimeout: "1 hour"
        }),
        scope
      )
      const logs = makeLogCapture()
      yield* logs.provide(Effect.ignore(breaker(Effect.fail(new Boom()))))
      yield* TestClock.adjust("1 second")
      expect(yield* breaker.state).toBe("half_open")
      // two probes that never end, each with its probe-timeout timer
      const probes = yield* Effect.all([Effect.fork(breaker(Effect.never)), Effect.fork(breaker(Effect.never))]).pipe(
        Effect.supervised(supervisor),
        logs.provide
      )
      yield* Effect.yieldNow()
      const timers = (yield* supervisor.value).filter((fiber) => !(probes as ReadonlyArray<unknown>).includes(fiber))
      expect(timers.length).toBeGreaterThanOrEqual(2)
      expect((yield* Effect.forEach(timers, Fiber.poll)).every(Option.isNone)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      const exits = yield* Effect.forEach(timers, Fiber.poll)
      expect(exits.every((e) => Option.isSome(e) && Exit.isInterrupted(e.value))).toBe(true)
      // no timer fired either: the probes did not time out
      expect(logs.messages().some((m) => m.includes("probe timed out"))).toBe(false)
      yield* Effect.forEach(probes, Fiber.interrupt, { discard: true })
    }))

  it.scoped("closing a client's scope ends its calls in flight at once, and every fiber they started", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/hang": Testing.hang })
      const supervisor = yield* Supervisor.track
      const scope = yield* Scope.make()
      const client = yield* Scope.extend(
        ResilientServiceClient.make({ baseUrl: "http://upstream.test", timeout: "1 hour" }),
        scope
      ).pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.fork(client.get("/hang")).pipe(Effect.supervised(supervisor))
      yield* TestClock.adjust(0)
      expect(upstream.requests().length).toBe(1)
      const started = yield* supervisor.value
      // the call, its attempt and the attempt's timer
      expect(started.length).toBeGreaterThanOrEqual(3)
      expect((yield* Effect.forEach(started, Fiber.poll)).every(Option.isNone)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      // no time passes: the call ends because its client is gone, with an interruption
      expect(Exit.isInterrupted(yield* Fiber.await(call))).toBe(true)
      yield* Effect.forEach(started, Fiber.await, { discard: true })
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      // a call made after the scope closed ends at once the same way
      expect(Exit.isInterrupted(yield* Effect.exit(client.get("/hang")))).toBe(true)
      expect(upstream.requests().length).toBe(1)
    }))
})

/**
 * Nothing is left behind by a client: real-socket clients leave no TCP handle or timer once their
 * scopes close, and a client's scope closing ends its calls and everything they started. Effect 4
 * has no public fiber supervision (the Effect 3 edition tracked the fibers): what a leftover fiber
 * would do is asserted instead, time passing after the close and nothing happening. The breaker's
 * own timers are the breaker's tests.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { ResilientServiceClient } from "../src/index.js"
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

  it.effect("closing a client's scope ends its calls in flight at once, and nothing they started acts later", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/hang": Testing.hang })
      const logs = makeLogCapture()
      const scope = yield* Scope.make()
      const client = yield* Scope.provide(
        ResilientServiceClient.make({ baseUrl: "http://upstream.test", timeout: "1 hour", maxAttempts: 2 }),
        scope
      ).pipe(Effect.provide(upstream.layer))
      const call = yield* Effect.forkChild(logs.provide(client.get("/hang")))
      yield* TestClock.adjust(0)
      expect(upstream.requests().length).toBe(1)
      expect(call.pollUnsafe()).toBeUndefined()
      yield* Scope.close(scope, Exit.void)
      // no time passes: the call ends because its client is gone, with an interruption
      expect(Exit.hasInterrupts(yield* Fiber.await(call))).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBe(0)
      // an attempt timer or a retry left running would now time the attempt out, log and retry
      yield* TestClock.adjust("3 hours")
      expect(logs.messages()).toEqual([])
      expect(upstream.requests().length).toBe(1)
      expect((yield* client.status).failureCount).toBe(0)
      // a call made after the scope closed ends at once the same way
      expect(Exit.hasInterrupts(yield* Effect.exit(client.get("/hang")))).toBe(true)
      expect(upstream.requests().length).toBe(1)
    }))
})

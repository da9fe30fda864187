/**
 * ResilientServiceClient on each transport, over real sockets on 127.0.0.1 (port 0): the same
 * calls, retries, breaker counts and closed connections whichever `HttpClient` layer it runs on.
 */
import { expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ResilientServiceClient } from "../../src/index.js"
import { makeLogCapture } from "../utils/logs.js"
import { refusedPort } from "../utils/server.js"
import { answerJson, describeTransports, expectAllClosed, provideTransport, recordingServer } from "./transports.js"

/** Quick retries, and an attempt timeout no test waits for (the test of timeouts sets its own). */
const fast = { backoff: "1 millis", timeout: "2 seconds" } as const

/** The breaker's count and state. */
const countOf = (client: ResilientServiceClient.ResilientServiceClient) =>
  Effect.map(client.status, (s) => ({ state: s.state, failureCount: s.failureCount }))

describeTransports("ResilientServiceClient", (transport) => {
  const run = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(provideTransport(transport), makeLogCapture().provide)

  it.scoped("a JSON POST and its answer; nothing counted", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) =>
        answerJson(res, 201, { echoed: JSON.parse(request.body.toString("utf8")) })
      )
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url, serviceName: "Chroma Server" })
      const response = yield* client.post("/query", { json: { q: "effect" } })
      expect(response.status).toBe(201)
      expect(yield* response.json).toEqual({ echoed: { q: "effect" } })
      expect(server.seen[0]!.headers["content-type"]).toBe("application/json")
      expect(yield* countOf(client)).toEqual({ state: "closed", failureCount: 0 })
    }).pipe(run))

  it.scopedLive("503, 503, 200: three requests, the 200 returned, the count back at 0", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res, index) => answerJson(res, index < 2 ? 503 : 200, { index }))
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url, ...fast })
      const response = yield* client.get("/query")
      expect(yield* response.json).toEqual({ index: 2 })
      expect(server.seen.length).toBe(3)
      expect(yield* countOf(client)).toEqual({ state: "closed", failureCount: 0 })
    }).pipe(run))

  it.scopedLive("refused: RequestError Transport after every attempt, each counted", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const client = yield* ResilientServiceClient.make({ baseUrl: `http://127.0.0.1:${port}`, ...fast })
      const error = yield* Effect.flip(client.get("/down"))
      expect(error._tag).toBe("RequestError")
      expect(yield* countOf(client)).toEqual({ state: "closed", failureCount: 3 })
    }).pipe(run))

  it.scopedLive("a server that never answers: TimeoutException per attempt, and every connection closed", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer(() => {})
      // each request must reach the server before its attempt ends, however late the machine runs
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url, ...fast, timeout: "1 second" })
      const error = yield* Effect.flip(client.get("/hang"))
      expect(error._tag).toBe("TimeoutException")
      expect(server.seen.length).toBe(3)
      expect(yield* countOf(client)).toEqual({ state: "closed", failureCount: 3 })
      // the transport (and its dispatcher) is still alive: the timeouts themselves closed them
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("the breaker opens on the threshold; the open breaker sends nothing", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 503, {}))
      const client = yield* ResilientServiceClient.make({
        baseUrl: server.url,
        ...fast,
        maxAttempts: 1,
        failureThreshold: 2
      })
      yield* Effect.flip(client.get("/a"))
      yield* Effect.flip(client.get("/b"))
      const rejected = yield* Effect.flip(client.get("/c"))
      expect(rejected._tag).toBe("ServiceUnavailable")
      expect(server.seen.length).toBe(2)
      expect((yield* countOf(client)).state).toBe("open")
    }).pipe(run))

  it.scopedLive("interrupting a call in flight closes its connection and counts nothing", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const server = yield* recordingServer(() => Deferred.unsafeDone(arrived, Exit.void))
      const client = yield* ResilientServiceClient.make({ baseUrl: server.url })
      const call = yield* Effect.fork(client.get("/slow"))
      yield* Deferred.await(arrived)
      yield* Fiber.interrupt(call)
      yield* expectAllClosed(server)
      expect(yield* countOf(client)).toEqual({ state: "closed", failureCount: 0 })
    }).pipe(run))
})

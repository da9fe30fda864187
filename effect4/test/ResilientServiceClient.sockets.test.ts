/**
 * ResilientServiceClient against a real node:http server on 127.0.0.1 (port 0), through
 * `NodeHttpClient.layerUndici`: what the caller sees, what the server saw, what the breaker counted.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import type * as http from "node:http"
import type * as net from "node:net"
import { ResilientServiceClient } from "../src/index.js"
import { makeLogCapture } from "./utils/logs.js"
import type { Handler } from "./utils/server.js"
import { hang, json, makeServer, refusedPort, reset, sequence } from "./utils/server.js"

describe("ResilientServiceClient over real sockets", () => {
  describe("successful calls", () => {
    it.effect("GET returns the response; the server sees the path", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(200, { id: 1, name: "chroma" }))
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url })
        const response = yield* client.get("/items/1")
        expect(response.status).toBe(200)
        expect(yield* response.json).toEqual({ id: 1, name: "chroma" })
        expect(server.requests.length).toBe(1)
        expect(server.requests[0]!.method).toBe("GET")
        expect(server.requests[0]!.url).toBe("/items/1")
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.effect("POST with { json } sends the JSON body and content-type: application/json", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(201, { created: true }))
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url })
        const payload = { q: "effect", n: 3, tags: ["a", "b"], nested: { ok: true } }
        const response = yield* client.post("/query", { json: payload })
        expect(response.status).toBe(201)
        expect(yield* response.json).toEqual({ created: true })
        expect(server.requests.length).toBe(1)
        const seen = server.requests[0]!
        expect(seen.method).toBe("POST")
        expect(seen.url).toBe("/query")
        expect(seen.headers["content-type"]).toMatch(/^application\/json/)
        expect(JSON.parse(seen.body)).toEqual(payload)
        expect((yield* client.status).failureCount).toBe(0)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.effect("every method reaches the server with the right method", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(200, { ok: true }))
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url })
        const calls = [
          ["GET", client.get],
          ["POST", client.post],
          ["PUT", client.put],
          ["PATCH", client.patch],
          ["DELETE", client.delete],
          ["HEAD", client.head]
        ] as const
        for (const [verb, call] of calls) {
          const response = yield* call(`/resource/${verb.toLowerCase()}`)
          expect(response.status).toBe(200)
          if (verb !== "HEAD") expect(yield* response.json).toEqual({ ok: true })
        }
        expect(server.requests.map((r) => r.method)).toEqual(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
        expect(server.requests.map((r) => r.url)).toEqual([
          "/resource/get",
          "/resource/post",
          "/resource/put",
          "/resource/patch",
          "/resource/delete",
          "/resource/head"
        ])
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })

  describe("retries", () => {
    it.live("503, 503, 200 succeeds on attempt 3", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        const server = yield* makeServer(sequence(503, 503, 200))
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          serviceName: "Chroma Server",
          backoff: "1 millis"
        })
        const response = yield* logs.provide(client.get("/query"))
        expect(response.status).toBe(200)
        expect(yield* response.json).toEqual({ index: 2 })
        expect(server.requests.length).toBe(3)
        expect(server.requests.map((r) => r.url)).toEqual(["/query", "/query", "/query"])
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
        const warnings = logs.lines.filter((l) => l.level === "WARN")
        expect(warnings.map((l) => l.message)).toEqual([
          "[Chroma Server] HTTP 503 on attempt 1/3, retrying in 1ms...",
          "[Chroma Server] HTTP 503 on attempt 2/3, retrying in 2ms..."
        ])
        expect(warnings.every((l) => l.annotations["service"] === "Chroma Server")).toBe(true)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    for (const transient of [408, 429, 500, 502, 503, 504]) {
      it.live(`${transient} then 200 is retried once and succeeds`, () =>
        Effect.gen(function*() {
          const server = yield* makeServer(sequence(transient, 200))
          const client = yield* ResilientServiceClient.make({ baseUrl: server.url, backoff: "1 millis" })
          const response = yield* silenced(client.get("/transient"))
          expect(response.status).toBe(200)
          expect(yield* response.json).toEqual({ index: 1 })
          expect(server.requests.length).toBe(2)
          const status = yield* client.status
          expect(status.failureCount).toBe(0)
          expect(status.state).toBe("closed")
        }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
    }

    for (const permanent of [400, 401, 403, 404, 409, 422, 501]) {
      it.live(`${permanent} is not retried, not counted, and its body stays readable`, () =>
        Effect.gen(function*() {
          const body = { error: `status ${permanent}`, detail: { code: permanent } }
          const server = yield* makeServer(json(permanent, body))
          const client = yield* ResilientServiceClient.make({ baseUrl: server.url, backoff: "1 millis" })
          const error = yield* silenced(Effect.flip(client.get("/permanent")))
          const responseError = expectResponseError(error)
          expect(responseError._tag).toBe("StatusCodeError")
          expect(responseError.response.status).toBe(permanent)
          expect(yield* responseError.response.json).toEqual(body)
          expect(server.requests.length).toBe(1)
          const status = yield* client.status
          expect(status.failureCount).toBe(0)
          expect(status.state).toBe("closed")
        }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
    }

    it.live("connection refused: all 3 attempts, then a TransportError, counted 3 times", () =>
      Effect.gen(function*() {
        const logs = makeLogCapture()
        const port = yield* refusedPort
        const client = yield* ResilientServiceClient.make({
          baseUrl: `http://127.0.0.1:${port}`,
          serviceName: "refused",
          backoff: "1 millis"
        })
        const error = yield* logs.provide(Effect.flip(client.get("/anything")))
        expect(error._tag).toBe("HttpClientError")
        expect((error as HttpClientError.HttpClientError).reason._tag).toBe("TransportError")
        const status = yield* client.status
        expect(status.failureCount).toBe(3)
        expect(status.state).toBe("closed")
        expect(logs.lines.filter((l) => l.level === "WARN").length).toBe(2)
        expect(logs.lines.filter((l) => l.level === "ERROR").map((l) => l.message)).toEqual([
          "[refused] All 3 attempts failed: Connection failed"
        ])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.live("a hanging server: each attempt times out, then TimeoutError, counted twice", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(hang)
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          // the request must reach the server before each attempt ends, however late the machine runs
          timeout: "1 second",
          maxAttempts: 2,
          backoff: "1 millis"
        })
        const error = yield* silenced(Effect.flip(client.get("/slow")))
        expect(Cause.isTimeoutError(error)).toBe(true)
        expect(server.requests.length).toBe(2)
        const status = yield* client.status
        expect(status.failureCount).toBe(2)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.live("a connection reset is retried and the next attempt succeeds", () =>
      Effect.gen(function*() {
        const handler: Handler = (req, res, index) =>
          index === 0 ? reset(req, res, index) : json(200, { index })(req, res, index)
        const server = yield* makeServer(handler)
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url, backoff: "1 millis" })
        const response = yield* silenced(client.get("/flaky"))
        expect(response.status).toBe(200)
        expect(yield* response.json).toEqual({ index: 1 })
        expect(server.requests.length).toBe(2)
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })

  describe("circuit breaker", () => {
    it.live("a breaker that opens mid-call ends the call with ServiceUnavailable, no further request", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(503, { down: true }))
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          serviceName: "billing",
          failureThreshold: 2,
          maxAttempts: 5,
          backoff: "1 millis"
        })
        const error = yield* silenced(Effect.flip(client.get("/charge")))
        expect(error._tag).toBe("ServiceUnavailable")
        expect(server.requests.length).toBe(2)
        const status = yield* client.status
        expect(status.state).toBe("open")
        expect(status.failureCount).toBe(2)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.effect("an open breaker lets no request reach the server", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(503, { down: true }))
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          failureThreshold: 2,
          maxAttempts: 1,
          recoveryTimeout: "60 seconds"
        })
        for (let i = 0; i < 2; i++) {
          const error = yield* silenced(Effect.flip(client.get("/x")))
          expect(expectResponseError(error).response.status).toBe(503)
        }
        expect(yield* client.breaker.state).toBe("open")
        const before = server.requests.length
        expect(before).toBe(2)

        const rejected = yield* silenced(Effect.flip(client.get("/x")))
        expect(rejected._tag).toBe("ServiceUnavailable")
        expect(server.requests.length).toBe(before)

        // still open before the recovery timeout has passed
        yield* TestClock.adjust("30 seconds")
        const again = yield* silenced(Effect.flip(client.post("/x", { json: { a: 1 } })))
        expect(again._tag).toBe("ServiceUnavailable")
        expect(server.requests.length).toBe(before)

        const status = yield* client.status
        expect(status.state).toBe("open")
        expect(status.failureCount).toBe(2)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.effect("after recoveryTimeout the next call is the probe; a healthy server closes the breaker", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(503, { down: true }))
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          failureThreshold: 2,
          maxAttempts: 1,
          recoveryTimeout: "10 seconds"
        })
        yield* silenced(Effect.flip(client.get("/x")))
        yield* silenced(Effect.flip(client.get("/x")))
        expect(yield* client.breaker.state).toBe("open")
        expect(server.requests.length).toBe(2)

        yield* TestClock.adjust("11 seconds")
        expect(yield* client.breaker.state).toBe("half_open")
        server.setHandler(json(200, { healthy: true }))

        const response = yield* silenced(client.get("/x"))
        expect(response.status).toBe(200)
        expect(yield* response.json).toEqual({ healthy: true })
        expect(server.requests.length).toBe(3)
        const status = yield* client.status
        expect(status.state).toBe("closed")
        expect(status.failureCount).toBe(0)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })

  describe("connections", () => {
    it.effect("40 failed calls answered 404 with 64 KiB bodies reuse one connection", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(bigJson(404))
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url, maxAttempts: 1 })
        for (let i = 0; i < 40; i++) {
          const error = yield* silenced(Effect.flip(client.get(`/missing/${i}`)))
          const responseError = expectResponseError(error)
          expect(responseError.response.status).toBe(404)
          if (i === 0) {
            const body = (yield* responseError.response.json) as { error: string }
            expect(body.error.length).toBe(64 * 1024)
          }
        }
        expect(server.requests.length).toBe(40)
        expect(server.accepted()).toBeGreaterThanOrEqual(1)
        expect(server.accepted()).toBeLessThanOrEqual(2)
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.live("20 calls answered 503 with 64 KiB bodies, 2 attempts each, reuse one connection", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(bigJson(503))
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          maxAttempts: 2,
          backoff: "1 millis",
          failureThreshold: 1000
        })
        for (let i = 0; i < 20; i++) {
          const error = yield* silenced(Effect.flip(client.get(`/busy/${i}`)))
          expect(expectResponseError(error).response.status).toBe(503)
        }
        expect(server.requests.length).toBe(40)
        expect(server.accepted()).toBeGreaterThanOrEqual(1)
        expect(server.accepted()).toBeLessThanOrEqual(2)
        const status = yield* client.status
        expect(status.failureCount).toBe(40)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.live("closing the client's scope closes its connections", () =>
      Effect.gen(function*() {
        const sockets = new Set<net.Socket>()
        const server = yield* makeServer((req, res, index) => {
          if (res.socket !== null) sockets.add(res.socket)
          json(200, { index })(req, res, index)
        })
        const clientScope = yield* Scope.make()
        // the undici dispatcher lives in the client's scope: closing it closes the dispatcher
        const context = yield* Layer.buildWithScope(NodeHttpClient.layerUndici, clientScope)
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url }).pipe(
          Effect.provide(context),
          Scope.provide(clientScope)
        )
        for (let i = 0; i < 3; i++) {
          const response = yield* client.get(`/keep/${i}`)
          expect(yield* response.json).toEqual({ index: i })
        }
        expect(server.requests.length).toBe(3)
        expect(server.live()).toBeGreaterThanOrEqual(1)
        expect(sockets.size).toBeGreaterThanOrEqual(1)

        yield* Scope.close(clientScope, Exit.void)
        const drained = yield* Effect.timeoutOption(awaitClosed(sockets), "10 seconds")
        expect(Option.isSome(drained)).toBe(true)
        expect(server.live()).toBe(0)
        expect((yield* client.status).failureCount).toBe(0)
      }))
  })

  describe("httpClient composes with effect/http", () => {
    const Item = Schema.Struct({ id: Schema.Number, name: Schema.String })

    it.effect("mapRequest headers reach the server and schemaBodyJson decodes the body", () =>
      Effect.gen(function*() {
        const server = yield* makeServer(json(200, { id: 7, name: "seven" }))
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url })
        const httpClient = client.httpClient.pipe(
          HttpClient.mapRequest(HttpClientRequest.setHeader("x-test", "1"))
        )
        const item = yield* httpClient.get("/items/7").pipe(Effect.flatMap(HttpIncomingMessage.schemaBodyJson(Item)))
        expect(item).toEqual({ id: 7, name: "seven" })
        expect(server.requests.length).toBe(1)
        expect(server.requests[0]!.url).toBe("/items/7")
        expect(server.requests[0]!.headers["x-test"]).toBe("1")
        expect((yield* client.status).failureCount).toBe(0)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.live("a malformed JSON body fails schemaBodyJson with a DecodeError and is not retried", () =>
      Effect.gen(function*() {
        const server = yield* makeServer((_req, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{\"id\": 7, \"name\": ")
        })
        const client = yield* ResilientServiceClient.make({ baseUrl: server.url, backoff: "1 millis" })
        const error = yield* silenced(Effect.flip(
          client.httpClient.get("/items/7").pipe(Effect.flatMap(HttpIncomingMessage.schemaBodyJson(Item)))
        ))
        expect(error._tag).toBe("HttpClientError")
        expect((error as HttpClientError.HttpClientError).reason._tag).toBe("DecodeError")
        expect(server.requests.length).toBe(1)
        const status = yield* client.status
        expect(status.failureCount).toBe(0)
        expect(status.state).toBe("closed")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })
})

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

/** Runs an effect with its log lines captured (and so kept out of the test output). */
const silenced = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => makeLogCapture().provide(self)

/** Asserts that a client error is an `HttpClientError` about a response and narrows it to its reason. */
const expectResponseError = (error: ResilientServiceClient.ClientError): HttpClientError.ResponseError => {
  expect(error._tag).toBe("HttpClientError")
  const reason = (error as HttpClientError.HttpClientError).reason
  expect("response" in reason).toBe(true)
  return reason as HttpClientError.ResponseError
}

/** Answers with a status and a JSON body of a little over 64 KiB (`error` is 64 KiB of "x"). */
const bigJson = (status: number): Handler => {
  const body = JSON.stringify({ error: "x".repeat(64 * 1024) })
  return (_req, res: http.ServerResponse) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  }
}

/** Completes once every socket of the set has emitted `close` (at once for those already closed). */
const awaitClosed = (sockets: ReadonlySet<net.Socket>): Effect.Effect<void> =>
  Effect.forEach(
    sockets,
    (socket) =>
      Effect.callback<void>((resume) => {
        if (socket.closed) return resume(Effect.void)
        const onClose = () => resume(Effect.void)
        socket.once("close", onClose)
        return Effect.sync(() => socket.off("close", onClose))
      }),
    { discard: true }
  )

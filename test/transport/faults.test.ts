/**
 * Transport-level faults and interruption, the same cases on both transports, on real servers
 * on 127.0.0.1 (port 0): what the caller sees, and that an abandoned request closes its
 * connection while the dispatcher lives on (observed through the server's `close` events).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import type * as net from "node:net"
import { setImmediate as setImmediatePromise } from "node:timers/promises"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { rawServer } from "../utils/faultServers.js"
import { refusedPort } from "../utils/server.js"
import { answerJson, describeTransports, expectAllClosed, provideTransport, recordingServer } from "./transports.js"

v8.setFlagsFromString("--expose-gc")
/** The engine's collector, reachable without starting node with --expose-gc. */
const gc = vm.runInNewContext("gc") as () => void

/** A 200 announcing 1,000 bytes of which only the first chunk is ever written. */
const stallAfterFirstChunk = (res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" })
  res.write("first chunk;")
}

/** Raw bytes: a 200 announcing 100 bytes, 10 of them, then the connection is destroyed. */
const resetMidBody = (socket: net.Socket) => {
  socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789", () => {
    socket.destroy()
  })
}

describeTransports("transport faults", (transport) => {
  const run = provideTransport(transport)

  it.scoped("connection refused: RequestError Transport", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get(`http://127.0.0.1:${port}/`))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
    }).pipe(run))

  it.scoped("connection reset before any response: RequestError Transport", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => res.socket?.destroy())
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get(server.url))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(server.seen.length).toBe(1)
    }).pipe(run))

  it.scoped("connection reset mid-body: the status arrives, reading the body is ResponseError Decode", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(resetMidBody)
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      expect(response.status).toBe(200)
      const error = yield* Effect.flip(response.text)
      expect(error._tag).toBe("ResponseError")
      expect(error.reason).toBe("Decode")
    }).pipe(run))

  it.scoped("connection reset mid-body, read as a stream: the stream fails with ResponseError Decode", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(resetMidBody)
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(error._tag).toBe("ResponseError")
      expect(error.reason).toBe("Decode")
    }).pipe(run))

  it.scopedLive("interrupting a request that waits for its headers aborts it and closes the connection", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const server = yield* recordingServer(() => Deferred.unsafeDone(arrived, Exit.void))
      const client = yield* HttpClient.HttpClient
      const fiber = yield* Effect.fork(client.get(server.url))
      yield* Deferred.await(arrived)
      expect(server.live()).toBe(1)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("interrupting a body read (the body stalls) aborts the request and closes the connection", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => stallAfterFirstChunk(res))
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      expect(response.status).toBe(200)
      const reading = yield* Effect.fork(response.text)
      yield* Effect.yieldNow()
      const exit = yield* Fiber.interrupt(reading)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("interrupting an upload (a request body stream that never ends) stops the stream and closes the connection", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const client = yield* HttpClient.HttpClient
      const pulled = yield* Deferred.make<void>()
      const stopped = yield* Deferred.make<void>()
      const body = Stream.make(new TextEncoder().encode("first part")).pipe(
        Stream.tap(() => Deferred.succeed(pulled, undefined)),
        Stream.concat(Stream.never),
        Stream.ensuring(Deferred.succeed(stopped, undefined))
      )
      const upload = yield* Effect.fork(
        client.execute(HttpClientRequest.post(server.url).pipe(HttpClientRequest.bodyStream(body)))
      )
      yield* Deferred.await(pulled)
      yield* Fiber.interrupt(upload)
      yield* Deferred.await(stopped).pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the body stream was left running") })
      )
      yield* expectAllClosed(server)
      expect(server.seen.length).toBe(0)
    }).pipe(run))

  it.scopedLive("response.text with Effect.timeout on a stalled body: TimeoutException, connection closed", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => stallAfterFirstChunk(res))
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      const error = yield* Effect.flip(response.text.pipe(Effect.timeout("50 millis")))
      expect(error._tag).toBe("TimeoutException")
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("Effect.timeout on a request whose server never answers: TimeoutException, connection closed", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer(() => {})
      const client = yield* HttpClient.HttpClient
      // long enough for the request to reach the server (counted below) however late the machine runs
      const error = yield* Effect.flip(client.get(server.url).pipe(Effect.timeout("1 second")))
      expect(error._tag).toBe("TimeoutException")
      expect(server.seen.length).toBe(1)
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("a stream read only in part (Stream.take) closes the connection of the rest", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => stallAfterFirstChunk(res))
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      const first = yield* Stream.runCollect(Stream.take(response.stream, 1))
      expect(new TextDecoder().decode([...first][0])).toBe("first chunk;")
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("HttpClient.withScope: closing the request's scope aborts a stalled body", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => stallAfterFirstChunk(res))
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withScope)
      const status = yield* Effect.scoped(Effect.map(client.get(server.url), (response) => response.status))
      expect(status).toBe(200)
      yield* expectAllClosed(server)
    }).pipe(run))

  it.scopedLive("closing the transport's layer closes its idle keep-alive connections", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, { ok: true }))
      yield* Effect.scoped(
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          expect(yield* Effect.flatMap(client.get(server.url), (r) => r.json)).toEqual({ ok: true })
          expect(server.live()).toBe(1)
        }).pipe(run)
      )
      yield* expectAllClosed(server)
    }))

  it.scopedLive("a response dropped unread is collected, and its body's connection closed", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => stallAfterFirstChunk(res))
      const client = yield* HttpClient.HttpClient
      // the response is used only inside this fiber, which ends: nothing keeps it afterwards
      const status = yield* Effect.map(client.get(server.url), (response) => response.status)
      expect(status).toBe(200)
      expect(server.live()).toBe(1)
      // collect garbage until the server sees the connection close (a finalizer runs after a GC)
      const collect = Effect.forever(Effect.zipRight(Effect.sync(gc), Effect.promise(() => setImmediatePromise())))
      yield* Effect.raceFirst(expectAllClosed(server), collect)
    }).pipe(run))

  it.scoped("bodies read to the end keep their connections open, and they are reused", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res, index) => answerJson(res, 200, { index }))
      const client = yield* HttpClient.HttpClient
      for (let i = 0; i < 5; i++) {
        expect(yield* Effect.flatMap(client.get(server.url), (r) => r.json)).toEqual({ index: i })
      }
      // undici may open a second connection while the first is being released, never one per request
      expect(server.accepted()).toBeLessThanOrEqual(2)
      expect(server.live()).toBe(server.accepted())
    }).pipe(run))

  it.scoped("50 requests in flight at once all succeed, each with its own answer", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) => answerJson(res, 200, { url: request.url }))
      const client = yield* HttpClient.HttpClient
      const answers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => Effect.flatMap(client.get(`${server.url}/${i}`), (r) => r.json),
        { concurrency: "unbounded" }
      )
      expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => ({ url: `/${i}` })))
    }).pipe(run))
})

/**
 * `UndiciTransport` on `dispatcher.dispatch` (undici 8's handler API): what its handler does that
 * the shared transport suite (test/transport/) does not reach. A body read as a stream pauses the
 * socket once a window of it waits unread and resumes it on the next pull; an informational
 * answer (1xx) is not the answer; every read of a body gets the same bytes; a dispatcher without
 * `dispatch` fails every request with an error that says so; an interrupted request returns at
 * once even on a dispatcher whose abort does nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Stream from "effect/Stream"
import { Agent, type Dispatcher, interceptors, MockAgent } from "undici"
import { UndiciTransport } from "../src/index.js"
import * as AttemptSignal from "../src/internal/attemptSignal.js"
import { fakeController, heldDispatcher } from "./utils/dispatchers.js"
import { httpServer } from "./utils/faultServers.js"

/** `size` bytes of a pattern that shows a chunk lost, repeated or out of order. */
const pattern = (size: number): Buffer => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff
  return bytes
}

const joined = (chunks: ReadonlyArray<Uint8Array>): Buffer => Buffer.concat(chunks)

/** The transport's `HttpClient` over an agent of its own, for the life of the test's scope. */
const transport = Effect.map(UndiciTransport.makeAgent(), UndiciTransport.make)

const reasonOf = (error: HttpClientError.HttpClientError) => error.reason._tag

describe("UndiciTransport on dispatcher.dispatch", () => {
  it.live("a body over 64 KiB read as a stream arrives whole, in order, over a real socket", () =>
    Effect.gen(function*() {
      const body = pattern(1024 * 1024 + 3)
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        // in pieces, so that the client's window fills and empties many times
        for (let offset = 0; offset < body.length; offset += 50_000) res.write(body.subarray(offset, offset + 50_000))
        res.end()
      })
      const client = yield* transport
      const response = yield* client.get(`${server.url}/big`)
      const received = joined(yield* Stream.runCollect(response.stream))
      expect(received.length).toBe(body.length)
      expect(received.equals(body)).toBe(true)
    }))

  it.effect("the socket is paused once 64 KiB wait unread, and resumed by the next pull of the stream", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.forkChild(client.get("http://127.0.0.1:9/big"))
      const handler = yield* held.dispatched
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, {}, "OK")
      const response = yield* Fiber.join(fiber)
      const chunk = pattern(16 * 1024)
      // nobody reads: the fourth chunk of 16 KiB fills the window, and the socket is paused
      const pausedAfter = [1, 2, 3, 4].map(() => {
        handler.onResponseData!(controller, chunk)
        return controller.paused
      })
      expect(pausedAfter).toEqual([false, false, false, true])
      expect(controller.pauses()).toBe(1)
      const reading = yield* Effect.forkChild(Stream.runCollect(response.stream))
      // the first pull takes the window and resumes the socket
      while (controller.paused) yield* Effect.yieldNow
      expect(controller.resumes()).toBe(1)
      handler.onResponseData!(controller, chunk)
      expect(controller.paused).toBe(false)
      handler.onResponseEnd!(controller, {})
      const received = joined(yield* Fiber.join(reading))
      expect(received.length).toBe(5 * chunk.length)
      expect(received.equals(Buffer.concat([chunk, chunk, chunk, chunk, chunk]))).toBe(true)
    }))

  it.live("an informational answer (103 Early Hints) before the answer is skipped", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" }, () => {
          res.writeHead(200, { "content-type": "text/plain", "x-final": "yes" })
          res.end("the answer")
        })
      })
      const client = yield* transport
      const response = yield* client.get(`${server.url}/hinted`)
      expect(response.status).toBe(200)
      expect(response.headers["x-final"]).toBe("yes")
      expect(response.headers["link"]).toBeUndefined()
      expect(yield* response.text).toBe("the answer")
    }))

  it.effect("an informational answer through the handler: the response is the one after it", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const fiber = yield* Effect.forkChild(UndiciTransport.make(held.dispatcher).get("http://127.0.0.1:9/"))
      const handler = yield* held.dispatched
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 100, {}, "Continue")
      handler.onResponseStart!(controller, 204, { "x-final": "yes" }, "No Content")
      handler.onResponseEnd!(controller, {})
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(204)
      expect(response.headers["x-final"]).toBe("yes")
    }))

  it.live("text after arrayBuffer (and json after text) reads the same body, small or large", () =>
    Effect.gen(function*() {
      const large = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => `item ${i}`) })
      const server = yield* httpServer((req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(req.url === "/large" ? large : "{\"ok\":true}")
      })
      const client = yield* transport
      for (const [path, expected] of [["/small", "{\"ok\":true}"], ["/large", large]] as const) {
        const response = yield* client.get(`${server.url}${path}`)
        const bytes = yield* response.arrayBuffer
        expect(Buffer.from(bytes).toString("utf8")).toBe(expected)
        expect(yield* response.text).toBe(expected)
        expect(yield* response.json).toEqual(JSON.parse(expected))
        // an ArrayBuffer of its own each time: changing one changes no later read
        new Uint8Array(bytes).fill(0)
        expect(yield* response.text).toBe(expected)
      }
    }))

  it.effect("on undici's MockAgent: status, repeated headers joined, each cookie, the JSON body", () =>
    Effect.gen(function*() {
      const agent = new MockAgent()
      agent.disableNetConnect()
      agent.get("http://billing.test").intercept({ path: "/charges/7", method: "GET" }).reply(
        201,
        { id: 7 },
        {
          headers: {
            "content-type": "application/json",
            "x-many": ["one", "two"],
            "set-cookie": ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"]
          }
        }
      )
      const response = yield* UndiciTransport.make(agent).get("http://billing.test/charges/7")
      expect(response.status).toBe(201)
      expect(response.headers["x-many"]).toBe("one, two")
      expect(response.headers["content-type"]).toBe("application/json")
      expect(response.cookies.cookies["a"]?.value).toBe("1")
      expect(response.cookies.cookies["b"]?.value).toBe("2")
      expect(yield* response.json).toEqual({ id: 7 })
      yield* Effect.promise(() => agent.close())
    }))

  it.effect("a dispatcher without dispatch fails every request with a TransportError saying so", () =>
    Effect.gen(function*() {
      const onlyRequest = { request: () => true } as unknown as Dispatcher
      for (const dispatcher of [onlyRequest, {} as Dispatcher]) {
        const error = yield* Effect.flip(UndiciTransport.make(dispatcher).get("http://127.0.0.1:9/"))
        expect(error._tag).toBe("HttpClientError")
        expect(reasonOf(error)).toBe("TransportError")
        expect(String(error.reason.cause)).toMatch(/needs an undici Dispatcher .* dispatch method/)
      }
      // the same through the layer, as the service
      const viaLayer = yield* Effect.flip(
        Effect.flatMap(Effect.service(HttpClient.HttpClient), (client) => client.get("http://127.0.0.1:9/")).pipe(
          Effect.provide(UndiciTransport.layerDispatcher({} as Dispatcher))
        )
      )
      expect(String(viaLayer.reason.cause)).toMatch(/dispatch method/)
    }))

  it.effect("two whole-body reads at once of a body still arriving both get it", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.forkChild(client.get("http://127.0.0.1:9/split"))
      const handler = yield* held.dispatched
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, { "content-length": "4" }, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onResponseData!(controller, Buffer.from("ab"))
      const reads = yield* Effect.forkChild(
        Effect.all([response.text, response.arrayBuffer], { concurrency: "unbounded" })
      )
      // both readers start and wait for the rest of the body
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      expect(reads.pollUnsafe()).toBeUndefined()
      handler.onResponseData!(controller, Buffer.from("cd"))
      handler.onResponseEnd!(controller, {})
      const [text, bytes] = yield* Fiber.join(reads)
      expect(text).toBe("abcd")
      expect(Buffer.from(bytes).toString("latin1")).toBe("abcd")
    }))

  it.live("through an agent composed with an interceptor: each Set-Cookie line and repeated headers", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.setHeader("set-cookie", ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"])
        res.setHeader("x-many", ["one", "two"])
        res.setHeader("x-latin", "caf\u00e9")
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("ok")
      })
      const agent = yield* Effect.acquireRelease(
        Effect.sync(() => new Agent().compose(interceptors.retry())),
        (agent) => Effect.promise(() => agent.destroy())
      )
      const response = yield* UndiciTransport.make(agent).get(`${server.url}/cookies`)
      expect(response.headers["x-many"]).toBe("one, two")
      expect(response.headers["x-latin"]).toBe("caf\u00e9")
      expect(response.cookies.cookies["a"]?.value).toBe("1")
      expect(response.cookies.cookies["b"]?.value).toBe("2")
      expect(yield* response.text).toBe("ok")
    }))

  it.effect("a request body stream still being sent stops once the exchange ends after its headers", () =>
    Effect.gen(function*() {
      for (const end of ["complete", "error", "abort"] as const) {
        const held = yield* heldDispatcher
        const client = UndiciTransport.make(held.dispatcher)
        // one chunk, then a body that never ends
        const body = HttpBody.stream(Stream.concat(Stream.make(new Uint8Array([1])), Stream.never))
        const fiber = yield* Effect.forkChild(client.post("http://127.0.0.1:9/upload", { body }))
        const handler = yield* held.dispatched
        const iterator = (held.options()!.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        expect((yield* Effect.promise(() => iterator.next())).value).toEqual(new Uint8Array([1]))
        const pending = iterator.next().then(() => "ended", () => "failed")
        const controller = fakeController()
        handler.onRequestStart!(controller, {})
        handler.onResponseStart!(controller, 200, {}, "OK")
        const response = yield* Fiber.join(fiber)
        if (end === "complete") handler.onResponseEnd!(controller, {})
        else if (end === "error") handler.onResponseError!(controller, new Error("reset"))
        else {
          // a response stream taken in part aborts the exchange
          handler.onResponseData!(controller, Buffer.from("x"))
          yield* Stream.runHead(response.stream)
          expect(controller.abortedWith()?.message).toBe("the body stream ended early")
        }
        expect(yield* Effect.promise(() => pending)).toBe("failed")
      }
    }))

  it.effect("a whole-body read after a stream took part of the body fails with a DecodeError", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.forkChild(client.get("http://127.0.0.1:9/parts"))
      const handler = yield* held.dispatched
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, {}, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onResponseData!(controller, Buffer.from("first"))
      // the stream is still open (a stream ended early aborts the request)
      const pull = yield* Stream.toPull(response.stream)
      expect(Buffer.concat(yield* pull).toString()).toBe("first")
      handler.onResponseData!(controller, Buffer.from("rest"))
      handler.onResponseEnd!(controller, {})
      for (const read of [Effect.asVoid(response.text), Effect.asVoid(response.arrayBuffer)]) {
        const error = yield* Effect.flip(read)
        expect(reasonOf(error)).toBe("DecodeError")
        expect(String(error.reason.cause)).toMatch(/already read in part as a stream/)
      }
    }))

  it.effect("interrupting a request returns at once, even on a dispatcher whose abort does nothing", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const fiber = yield* Effect.forkChild(UndiciTransport.make(held.dispatcher).get("http://127.0.0.1:9/hang"))
      const handler = yield* held.dispatched
      const controller = fakeController({ abortDoesNothing: true })
      handler.onRequestStart!(controller, {})
      // the dispatcher never calls back: the interruption alone ends the wait
      yield* Fiber.interrupt(fiber)
      expect(controller.abortedWith()?.message).toBe("the request was interrupted")
    }))

  it.effect("an abort before undici starts the request is applied when it does", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const fiber = yield* Effect.forkChild(UndiciTransport.make(held.dispatcher).get("http://127.0.0.1:9/late"))
      const handler = yield* held.dispatched
      yield* Fiber.interrupt(fiber)
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      expect(controller.abortedWith()?.message).toBe("the request was interrupted")
    }))

  it.effect("a body read waiting on a dispatcher whose abort does nothing ends when interrupted", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const fiber = yield* Effect.forkChild(UndiciTransport.make(held.dispatcher).get("http://127.0.0.1:9/slow"))
      const handler = yield* held.dispatched
      const controller = fakeController({ abortDoesNothing: true })
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, {}, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onResponseData!(controller, Buffer.from("part"))
      const reading = yield* Effect.forkChild(response.text)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      yield* Fiber.interrupt(reading)
      expect(controller.abortedWith()).toBeDefined()
      // the exchange has ended: a later read fails at once instead of waiting
      const error = yield* Effect.flip(response.text)
      expect(reasonOf(error)).toBe("DecodeError")
    }))

  it.effect("an attempt signal aborted while the headers are awaited fails the request at once, abort or not", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const execute = AttemptSignal.executeWithSignal(UndiciTransport.make(held.dispatcher))!
      const signal = new AttemptSignal.AttemptSignal()
      const fiber = yield* Effect.forkChild(execute(HttpClientRequest.get("http://127.0.0.1:9/slow"), signal))
      const handler = yield* held.dispatched
      const controller = fakeController({ abortDoesNothing: true })
      handler.onRequestStart!(controller, {})
      // the dispatcher never calls back: the signal alone ends the wait
      signal.abort()
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(reasonOf(error)).toBe("TransportError")
      expect(String(error.reason.cause)).toMatch(/its attempt ended/)
      expect(controller.abortedWith()?.message).toMatch(/its attempt ended/)
    }))

  it.effect("an attempt signal aborted after the headers fails the body read, the signal ends it", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const execute = AttemptSignal.executeWithSignal(UndiciTransport.make(held.dispatcher))!
      const signal = new AttemptSignal.AttemptSignal()
      const fiber = yield* Effect.forkChild(execute(HttpClientRequest.get("http://127.0.0.1:9/body"), signal))
      const handler = yield* held.dispatched
      const controller = fakeController()
      handler.onRequestStart!(controller, {})
      handler.onResponseStart!(controller, 200, {}, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onResponseData!(controller, Buffer.from("part"))
      const reading = yield* Effect.forkChild(response.text)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      expect(reading.pollUnsafe()).toBeUndefined()
      signal.abort()
      const error = yield* Effect.flip(Fiber.join(reading))
      expect(reasonOf(error)).toBe("DecodeError")
      expect(controller.abortedWith()?.message).toMatch(/its attempt ended/)
    }))

  it.effect("a request header named __proto__ is sent with the trace headers", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const request = HttpClientRequest.get("http://127.0.0.1:9/").pipe(
        HttpClientRequest.setHeaders(JSON.parse("{\"__proto__\":\"kept\",\"x-other\":\"1\"}"))
      )
      yield* Effect.forkChild(client.execute(request))
      yield* held.dispatched
      const headers = held.options()!.headers as Record<string, string>
      expect(Object.keys(headers)).toContain("__proto__")
      expect(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value).toBe("kept")
      expect(headers["traceparent"]).toMatch(/^00-/)
    }))

  it.effect("the legacy handler API is not used: undici 8 accepts the handler", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      yield* Effect.forkChild(UndiciTransport.make(held.dispatcher).get("http://127.0.0.1:9/"))
      const handler = yield* held.dispatched as Effect.Effect<Record<string, unknown>>
      for (const name of ["onRequestStart", "onResponseStart", "onResponseData", "onResponseEnd", "onResponseError"]) {
        expect(typeof handler[name], name).toBe("function")
      }
      for (const name of ["onConnect", "onHeaders", "onData", "onComplete", "onError"]) {
        expect(handler[name], name).toBeUndefined()
      }
    }))
})

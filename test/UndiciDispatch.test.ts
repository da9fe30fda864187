/**
 * `UndiciTransport` on `dispatcher.dispatch`: what its handler does that the shared transport
 * suite (test/transport/) does not reach. A body read as a stream pauses the socket once a
 * window of it waits unread and resumes it on the next pull; an informational answer (1xx) is
 * not the answer; every read of a body gets the same bytes; a dispatcher without `dispatch`
 * fails every request with an error that says so.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Agent, type Dispatcher, interceptors, MockAgent } from "undici"
import { UndiciTransport } from "../src/index.js"
import { heldDispatcher } from "./utils/dispatchers.js"
import { httpServer } from "./utils/faultServers.js"

/** `size` bytes of a pattern that shows a chunk lost, repeated or out of order. */
const pattern = (size: number): Buffer => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff
  return bytes
}

const joined = (chunks: Chunk.Chunk<Uint8Array>): Buffer => Buffer.concat(Chunk.toReadonlyArray(chunks))

/** The transport's `HttpClient` over an agent of its own, for the life of the test's scope. */
const transport = Effect.flatMap(UndiciTransport.makeAgent(), (agent) => Effect.succeed(UndiciTransport.make(agent)))

describe("UndiciTransport on dispatcher.dispatch", () => {
  it.scoped("a body over 64 KiB read as a stream arrives whole, in order, over a real socket", () =>
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

  it.scoped("the socket is paused once 64 KiB wait unread, and resumed by the next pull of the stream", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const resumed = yield* Deferred.make<void>()
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.fork(client.get("http://127.0.0.1:9/big"))
      const handler = yield* held.dispatched
      handler.onConnect!(() => {})
      handler.onHeaders!(200, [], () => Deferred.unsafeDone(resumed, Exit.void), "OK")
      const response = yield* Fiber.join(fiber)
      const chunk = pattern(16 * 1024)
      // nobody reads: the fourth chunk of 16 KiB fills the window, and the socket is paused
      const accepted = [1, 2, 3, 4].map(() => handler.onData!(chunk))
      expect(accepted).toEqual([true, true, true, false])
      const reading = yield* Effect.fork(Stream.runCollect(response.stream))
      // the first pull takes the window and resumes the socket
      yield* Deferred.await(resumed)
      expect(handler.onData!(chunk)).toBe(true)
      handler.onComplete!([])
      const received = joined(yield* Fiber.join(reading))
      expect(received.length).toBe(5 * chunk.length)
      expect(received.equals(Buffer.concat([chunk, chunk, chunk, chunk, chunk]))).toBe(true)
    }))

  it.scoped("an informational answer (103 Early Hints) before the answer is skipped", () =>
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

  it.scoped("text after arrayBuffer (and json after text) reads the same body, small or large", () =>
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

  it.effect("a dispatcher without dispatch fails every request with RequestError Transport saying so", () =>
    Effect.gen(function*() {
      const onlyRequest = { request: () => true } as unknown as Dispatcher
      for (const dispatcher of [onlyRequest, {} as Dispatcher]) {
        const error = yield* Effect.flip(UndiciTransport.make(dispatcher).get("http://127.0.0.1:9/"))
        expect(error).toBeInstanceOf(HttpClientError.RequestError)
        expect(error._tag === "RequestError" && error.reason).toBe("Transport")
        expect(String((error as HttpClientError.RequestError).cause)).toMatch(
          /needs an undici Dispatcher .* dispatch method/
        )
      }
      // the same through the layer, as the service
      const viaLayer = yield* Effect.flip(
        Effect.flatMap(HttpClient.HttpClient, (client) => client.get("http://127.0.0.1:9/")).pipe(
          Effect.provide(UndiciTransport.layerDispatcher({} as Dispatcher))
        )
      )
      expect(String((viaLayer as HttpClientError.RequestError).cause)).toMatch(/dispatch method/)
    }))

  it.scoped("two whole-body reads at once of a body still arriving both get it", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.fork(client.get("http://127.0.0.1:9/split"))
      const handler = yield* held.dispatched
      handler.onConnect!(() => {})
      handler.onHeaders!(200, [Buffer.from("content-length"), Buffer.from("4")], () => {}, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onData!(Buffer.from("ab"))
      const reads = yield* Effect.fork(
        Effect.all([response.text, response.arrayBuffer], { concurrency: "unbounded" })
      )
      // both readers start and wait for the rest of the body
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(reads))).toBe(true)
      handler.onData!(Buffer.from("cd"))
      handler.onComplete!([])
      const [text, bytes] = yield* Fiber.join(reads)
      expect(text).toBe("abcd")
      expect(Buffer.from(bytes).toString("latin1")).toBe("abcd")
    }))

  it.scoped("through an agent composed with an interceptor: each Set-Cookie line and repeated headers", () =>
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

  it.scoped("a request body stream still being sent stops once the exchange ends after its headers", () =>
    Effect.gen(function*() {
      for (const end of ["complete", "error", "abort"] as const) {
        const held = yield* heldDispatcher
        const client = UndiciTransport.make(held.dispatcher)
        // one chunk, then a body that never ends
        const body = HttpBody.stream(Stream.concat(Stream.make(new Uint8Array([1])), Stream.never))
        const fiber = yield* Effect.fork(client.post("http://127.0.0.1:9/upload", { body }))
        const handler = yield* held.dispatched
        const iterator = (held.options()!.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        expect((yield* Effect.promise(() => iterator.next())).value).toEqual(new Uint8Array([1]))
        const pending = iterator.next().then(() => "ended", () => "failed")
        handler.onConnect!(() => {})
        handler.onHeaders!(200, [], () => {}, "OK")
        const response = yield* Fiber.join(fiber)
        if (end === "complete") handler.onComplete!([])
        else if (end === "error") handler.onError!(new Error("reset"))
        else {
          // a response stream taken in part aborts the exchange
          handler.onData!(Buffer.from("x"))
          yield* Stream.runHead(response.stream)
        }
        expect(yield* Effect.promise(() => pending)).toBe("failed")
      }
    }))

  it.scoped("a request header named __proto__ is sent with the trace headers", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const request = HttpClientRequest.get("http://127.0.0.1:9/").pipe(
        HttpClientRequest.setHeaders(JSON.parse("{\"__proto__\":\"kept\",\"x-other\":\"1\"}"))
      )
      yield* Effect.fork(client.execute(request))
      yield* held.dispatched
      const headers = held.options()!.headers as Record<string, string>
      expect(Object.keys(headers)).toContain("__proto__")
      expect(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value).toBe("kept")
      expect(headers["traceparent"]).toMatch(/^00-/)
    }))

  it.scoped("a whole-body read after a stream took part of the body fails with Decode", () =>
    Effect.gen(function*() {
      const held = yield* heldDispatcher
      const client = UndiciTransport.make(held.dispatcher)
      const fiber = yield* Effect.fork(client.get("http://127.0.0.1:9/parts"))
      const handler = yield* held.dispatched
      handler.onConnect!(() => {})
      handler.onHeaders!(200, [], () => {}, "OK")
      const response = yield* Fiber.join(fiber)
      handler.onData!(Buffer.from("first"))
      // the stream is still open (a stream ended early aborts the request)
      const pull = yield* Stream.toPull(response.stream)
      expect(Buffer.concat(Chunk.toReadonlyArray(yield* pull)).toString()).toBe("first")
      handler.onData!(Buffer.from("rest"))
      handler.onComplete!([])
      for (const read of [Effect.asVoid(response.text), Effect.asVoid(response.arrayBuffer)]) {
        const error = yield* Effect.flip(read)
        expect(error._tag === "ResponseError" && error.reason).toBe("Decode")
      }
    }))
})

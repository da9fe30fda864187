/**
 * The fault matrix: ResilientServiceClient through each transport (`NodeHttpClient.layerUndici`,
 * where an attempt runs in a fiber of its own, and `UndiciTransport`, where it runs in the
 * caller's fiber and is stopped by its signal) against real
 * node:http and raw node:net servers on 127.0.0.1 (port 0) that misbehave in one way each. For
 * every fault: what the caller sees, how many requests the server saw, what the breaker counted,
 * and that no connection is left open once the client's scope (with its undici layer) closes.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import { ResilientServiceClient } from "../src/index.js"
import { describeTransports } from "./transport/transports.js"
import type { FaultServer } from "./utils/faultServers.js"
import { answerJson, httpServer, rawServer, withClientOn } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"

/** Runs an effect with its log lines captured (and so kept out of the test output). */
const silenced = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => makeLogCapture().provide(self)

/** After the client's scope closed: every connection the server had is closed. */
const expectNoSocketLeft = (server: FaultServer) =>
  Effect.gen(function*() {
    // a bound for a test that would otherwise hang, not a measure: closing is awaited as an event
    yield* server.idle.pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "connections left open" }))
    expect(server.live()).toBe(0)
  })

const expectTag = (error: { readonly _tag: string }, tag: string) => {
  expect(error._tag).toBe(tag)
}

const statusOf = (client: ResilientServiceClient.ResilientServiceClient) =>
  Effect.map(client.status, (s) => ({ state: s.state, failureCount: s.failureCount }))

type WithClient = ReturnType<typeof withClientOn>

/** Quick retries, and an attempt timeout no test waits for (those that test timeouts set their own). */
const fast = { backoff: "1 millis", timeout: "2 seconds" } as const

/**
 * The attempt timeout of the tests whose subject is a timeout against a server that never
 * answers: long enough that the request reaches the server before it ends however late the
 * machine runs (the tests count the server's requests), short enough to keep the tests quick.
 */
const hangTimeout = "1 second"

/**
 * A 200 whose body breaks off: the body is read within the attempt, so the attempt fails like a
 * reset (RequestError Transport), is retried, and counts: three requests, three failures, and
 * no socket left.
 */
const expectBrokenBody = (withClient: WithClient, server: FaultServer, path: string) =>
  Effect.gen(function*() {
    const [error, status] = yield* withClient(
      { baseUrl: server.url, ...fast },
      (client) => Effect.all([silenced(Effect.flip(client.get(path))), statusOf(client)])
    )
    expectTag(error, "RequestError")
    expect((error as HttpClientError.RequestError).reason).toBe("Transport")
    expect(server.requests()).toBe(3)
    expect(status).toEqual({ state: "closed", failureCount: 3 })
    yield* expectNoSocketLeft(server)
  })

describeTransports("fault matrix over real sockets", (transport) => {
  const withClient = withClientOn(transport.layer())

  it.scopedLive("reset before any response: RequestError Transport after 3 attempts, counted 3 times", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => res.socket?.destroy())
      const [error, status] = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => Effect.all([silenced(Effect.flip(client.get("/reset"))), statusOf(client)])
      )
      expectTag(error, "RequestError")
      expect((error as HttpClientError.RequestError).reason).toBe("Transport")
      expect(server.requests()).toBe(3)
      expect(status).toEqual({ state: "closed", failureCount: 3 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("reset mid-body: RequestError Transport after 3 attempts, counted 3 times", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": 100_000 })
        res.write("x".repeat(1_000), () => res.socket?.destroy())
      })
      yield* expectBrokenBody(withClient, server, "/mid-body")
    }))

  it.scopedLive("headers that never come: TimeoutException after 2 attempts, counted twice", () =>
    Effect.gen(function*() {
      const server = yield* httpServer(() => {})
      const [error, status] = yield* withClient(
        { baseUrl: server.url, ...fast, timeout: hangTimeout, maxAttempts: 2 },
        (client) => Effect.all([silenced(Effect.flip(client.get("/hang"))), statusOf(client)])
      )
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(server.requests()).toBe(2)
      expect(status).toEqual({ state: "closed", failureCount: 2 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("slow headers, sent after the attempt timed out: TimeoutException, counted; the next call works", () =>
    Effect.gen(function*() {
      const held: Array<http.ServerResponse> = []
      const server = yield* httpServer((_req, res, index) => {
        if (index === 0) held.push(res) // answered by the test, once the caller has timed out
        else answerJson(res, 200, { index })
      })
      const [error, late, status] = yield* withClient(
        { baseUrl: server.url, ...fast, timeout: hangTimeout, maxAttempts: 1 },
        (client) =>
          Effect.gen(function*() {
            const error = yield* silenced(Effect.flip(client.get("/slow-headers")))
            // the headers come now, past the timeout, on the connection the client gave up
            for (const res of held) if (!res.destroyed) answerJson(res, 200, { late: true })
            const late = yield* silenced(client.get("/after"))
            return [error, yield* late.json, yield* statusOf(client)] as const
          })
      )
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(late).toEqual({ index: 1 })
      expect(server.requests()).toBe(2)
      // the timeout counted, the success after it reset the count
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("slow headers: the timeout is counted", () =>
    Effect.gen(function*() {
      const server = yield* httpServer(() => {})
      const status = yield* withClient(
        { baseUrl: server.url, ...fast, timeout: hangTimeout, maxAttempts: 1, failureThreshold: 1 },
        (client) => Effect.zipRight(silenced(Effect.flip(client.get("/slow"))), statusOf(client))
      )
      expect(status).toEqual({ state: "open", failureCount: 1 })
      expect(server.requests()).toBe(1)
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a body that stalls after the headers: TimeoutException after 2 attempts, counted twice", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": 1_000 })
        res.write("x".repeat(10)) // and nothing more
      })
      const [error, status] = yield* withClient(
        { baseUrl: server.url, ...fast, timeout: hangTimeout, maxAttempts: 2 },
        (client) => Effect.all([silenced(Effect.flip(client.get("/stall"))), statusOf(client)])
      )
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(server.requests()).toBe(2)
      expect(status).toEqual({ state: "closed", failureCount: 2 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a stalled body under a deadline: the call ends by its deadline and the breaker hears of it", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": 1_000 })
        res.flushHeaders()
      })
      const [error, status] = yield* withClient(
        { baseUrl: server.url, backoff: "10 millis", timeout: "400 millis", deadline: "1 second" },
        (client) => Effect.all([silenced(Effect.flip(client.get("/stall"))), statusOf(client)])
      )
      expect(Cause.isTimeoutException(error)).toBe(true)
      // On time: attempts at 0 and ~410 ms time out (counted); a third, at ~820 ms, has 180 ms
      // left: cut by the deadline before a fair time (half of the 400 ms timeout), it says
      // nothing: 2. Timers running late only move the attempts later, so fewer fit: the second
      // may start with less than half its time left (1), a third never has half (at most 2); the
      // first is counted unless it starts 800 ms late. Counting the unfair cut, no deadline (3
      // attempts, 3 timeouts) or not counting timeouts fails one bound or the other.
      expect(status.state).toBe("closed")
      expect(status.failureCount).toBeGreaterThanOrEqual(1)
      expect(status.failureCount).toBeLessThanOrEqual(2)
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a body read in several chunks comes back whole, as text and as exactly its bytes", () =>
    Effect.gen(function*() {
      const pieces = ["{\"part\":", "1,\"more\":\"", "x".repeat(20_000), "\"}"]
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" }) // chunked: no content-length
        const write = (i: number): void => {
          if (i === pieces.length) return void res.end()
          res.write(pieces[i], () => setImmediate(() => write(i + 1)))
        }
        write(0)
      })
      const expected = pieces.join("")
      yield* withClient({ baseUrl: server.url, ...fast }, (client) =>
        Effect.gen(function*() {
          const response = yield* silenced(client.get("/pieces"))
          expect(yield* response.text).toBe(expected)
          const bytes = new Uint8Array(yield* response.arrayBuffer)
          expect(bytes.byteLength).toBe(Buffer.byteLength(expected))
          expect(Buffer.from(bytes).toString()).toBe(expected)
        }))
    }))

  it.scopedLive("a streamed call reads a slow body past the attempt timeout", () =>
    Effect.gen(function*() {
      const body = "slow body ".repeat(100)
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) })
        res.flushHeaders()
        // the body comes 3 attempt timeouts after the headers (an attempt timeout of 500 ms leaves
        // the headers time to come on a loaded machine)
        const timer = setTimeout(() => res.end(body), 1_500)
        res.on("close", () => clearTimeout(timer))
      })
      const [text, elapsed, status] = yield* withClient(
        { baseUrl: server.url, ...fast, timeout: "500 millis" },
        (client) =>
          Effect.gen(function*() {
            const start = yield* Clock.currentTimeMillis
            const response = yield* silenced(client.get("/slow-body", { stream: true }))
            const text = yield* response.text
            return [text, (yield* Clock.currentTimeMillis) - start, yield* statusOf(client)] as const
          })
      )
      expect(text).toBe(body)
      expect(elapsed).toBeGreaterThanOrEqual(1_450)
      expect(server.requests()).toBe(1)
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a streamed body read that is interrupted aborts the request and closes its connection", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        const timer = setInterval(() => res.write("x".repeat(1024)), 5) // without end
        res.on("close", () => clearInterval(timer))
      })
      yield* withClient({ baseUrl: server.url, ...fast }, (client) =>
        Effect.gen(function*() {
          const response = yield* silenced(client.get("/endless", { stream: true }))
          const read = yield* Effect.exit(response.text.pipe(Effect.timeout("100 millis")))
          expect(Exit.isFailure(read)).toBe(true)
          // the connection closes while the client's scope is still open
          yield* expectNoSocketLeft(server)
        }))
    }))

  it.scopedLive("a streamed body is read only until the call's deadline", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        const timer = setInterval(() => res.write("x"), 5) // without end
        res.on("close", () => clearInterval(timer))
      })
      // the headers come at once; a deadline of 1 s leaves them time to come on a loaded machine
      yield* withClient({ baseUrl: server.url, ...fast, deadline: "1 second" }, (client) =>
        Effect.gen(function*() {
          const response = yield* silenced(client.get("/endless", { stream: true }))
          const error = yield* Effect.flip(response.text)
          expectTag(error, "ResponseError")
          expect(error.message).toContain("Deadline of 1s exceeded while reading the body")
          yield* expectNoSocketLeft(server)
        }))
    }))

  it.scopedLive("429 with Retry-After: 1 is retried after max(backoff, 1 s)", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res, index) =>
        index === 0 ? answerJson(res, 429, { slow: "down" }, { "retry-after": "1" }) : answerJson(res, 200, { index })
      )
      const [body, elapsed, status] = yield* withClient(
        { baseUrl: server.url, backoff: "5 millis", timeout: "2 seconds" },
        (client) =>
          Effect.gen(function*() {
            const start = yield* Clock.currentTimeMillis
            const response = yield* silenced(client.get("/limited"))
            const body = yield* response.json
            return [body, (yield* Clock.currentTimeMillis) - start, yield* statusOf(client)] as const
          })
      )
      expect(body).toEqual({ index: 1 })
      expect(server.requests()).toBe(2)
      expect(elapsed).toBeGreaterThanOrEqual(1_000)
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("429 with Retry-After: 1 counts once per attempt", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => answerJson(res, 429, {}, { "retry-after": "1" }))
      const [error, status] = yield* withClient(
        { baseUrl: server.url, backoff: "5 millis", timeout: "2 seconds", maxAttempts: 2 },
        (client) => Effect.all([silenced(Effect.flip(client.get("/limited"))), statusOf(client)])
      )
      expectTag(error, "ResponseError")
      expect((error as HttpClientError.ResponseError).response.status).toBe(429)
      expect(server.requests()).toBe(2)
      expect(status).toEqual({ state: "closed", failureCount: 2 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a malformed JSON body: schemaBodyJson fails with ResponseError Decode, not retried or counted", () =>
    Effect.gen(function*() {
      const Item = Schema.Struct({ id: Schema.Number })
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{\"id\": 7,")
      })
      const [error, status] = yield* withClient({ baseUrl: server.url, ...fast }, (client) =>
        Effect.all([
          silenced(Effect.flip(client.get("/item").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Item))))),
          statusOf(client)
        ]))
      expectTag(error, "ResponseError")
      expect((error as HttpClientError.ResponseError).reason).toBe("Decode")
      expect(server.requests()).toBe(1)
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("an unresolvable host: RequestError Transport, retried, counted per attempt", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const [error, status] = yield* withClient(
        { baseUrl: "http://does-not-exist.invalid", backoff: "1 millis", timeout: "5 seconds" },
        (client) => Effect.all([logs.provide(Effect.flip(client.get("/x"))), statusOf(client)])
      )
      expectTag(error, "RequestError")
      expect((error as HttpClientError.RequestError).reason).toBe("Transport")
      expect(status).toEqual({ state: "closed", failureCount: 3 })
      // retried: two retry warnings, then one final error
      expect(logs.lines.filter((l) => l.level === "WARN").length).toBe(2)
      expect(logs.lines.filter((l) => l.level === "ERROR").length).toBe(1)
    }))

  it.scopedLive("a 5 MiB body is read whole", () =>
    Effect.gen(function*() {
      const big = Buffer.alloc(5 * 1024 * 1024, "a")
      big.write("start", 0)
      big.write("end", big.length - 3)
      const server = yield* httpServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.length })
        res.end(big)
      })
      const [bytes, status] = yield* withClient({ baseUrl: server.url, ...fast }, (client) =>
        Effect.gen(function*() {
          const response = yield* silenced(client.get("/big"))
          const bytes = new Uint8Array(yield* response.arrayBuffer)
          return [bytes, yield* statusOf(client)] as const
        }))
      expect(bytes.length).toBe(5 * 1024 * 1024)
      expect(Buffer.from(bytes).equals(big)).toBe(true)
      expect(server.requests()).toBe(1)
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a truncated chunked body: RequestError Transport after 3 attempts, counted 3 times", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        socket.write("a\r\n0123456789\r\n")
        // a chunk announced as 0x400 bytes, cut after 10, and the connection closed
        socket.end("400\r\n0123456789")
      })
      yield* expectBrokenBody(withClient, server, "/chunked")
    }))

  it.scopedLive("a raw server that answers Connection: close: every call succeeds on a new connection", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket, index) => {
        const body = JSON.stringify({ index })
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
            `connection: close\r\n\r\n${body}`
        )
      })
      const [bodies, status] = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) =>
          Effect.gen(function*() {
            const bodies: Array<unknown> = []
            for (let i = 0; i < 5; i++) {
              bodies.push(yield* Effect.flatMap(silenced(client.get(`/c/${i}`)), (r) => r.json))
            }
            return [bodies, yield* statusOf(client)] as const
          })
      )
      expect(bodies).toEqual([0, 1, 2, 3, 4].map((index) => ({ index })))
      expect(server.requests()).toBe(5)
      expect(server.accepted()).toBe(5)
      expect(status).toEqual({ state: "closed", failureCount: 0 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("a server that destroys idle keep-alive sockets: calls still succeed", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res, index) => {
        // keep-alive is announced, but the socket is destroyed as soon as the answer is out
        const socket = res.socket
        res.on("finish", () => setImmediate(() => socket?.destroy()))
        answerJson(res, 200, { index })
      })
      const [count, status] = yield* withClient({ baseUrl: server.url, ...fast }, (client) =>
        Effect.gen(function*() {
          let ok = 0
          for (let i = 0; i < 10; i++) {
            const response = yield* silenced(client.get(`/k/${i}`))
            yield* response.json
            ok++
          }
          return [ok, yield* statusOf(client)] as const
        }))
      expect(count).toBe(10)
      // a request may have gone out on a socket being destroyed and been retried
      expect(server.requests()).toBeGreaterThanOrEqual(10)
      expect(server.accepted()).toBeGreaterThanOrEqual(10)
      expect(status.state).toBe("closed")
      expect(status.failureCount).toBe(0)
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("reset after a one-shot upload: RequestError Transport, one request, counted once, not sent again", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => res.socket?.destroy())
      let runs = 0
      // a source that can be read once (a Node stream, an incoming request): run again, it is empty
      const oneShot = Stream.suspend(() =>
        runs++ === 0 ? Stream.make(new TextEncoder().encode("row 1\n")) : Stream.empty
      )
      const [error, status] = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) =>
          Effect.all([
            silenced(Effect.flip(client.put("/upload", { body: HttpBody.stream(oneShot) }))),
            statusOf(client)
          ])
      )
      expectTag(error, "RequestError")
      expect((error as HttpClientError.RequestError).reason).toBe("Transport")
      expect(server.requests()).toBe(1)
      expect(runs).toBe(1)
      expect(status).toEqual({ state: "closed", failureCount: 1 })
      yield* expectNoSocketLeft(server)
    }))

  it.scopedLive("reset after a replayable upload: retried whole, 3 requests, counted 3 times", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_req, res) => res.socket?.destroy())
      const body = ResilientServiceClient.replayable(HttpBody.stream(Stream.make(new TextEncoder().encode("row 1\n"))))
      const [error, status] = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => Effect.all([silenced(Effect.flip(client.put("/upload", { body }))), statusOf(client)])
      )
      expectTag(error, "RequestError")
      expect(server.requests()).toBe(3)
      expect(status).toEqual({ state: "closed", failureCount: 3 })
      yield* expectNoSocketLeft(server)
    }))
})

// not a case per transport: it brings a transport of its own
describe("fault matrix over real sockets, on a deaf transport", () => {
  it.scopedLive("a transport that ignores its AbortSignal: the attempt is interrupted at its timeout all the same", () =>
    Effect.gen(function*() {
      const server = yield* httpServer(() => {})
      // fetch without the signal: nothing the client does can abort these requests
      const deaf = HttpClient.make((request, url) =>
        Effect.map(
          Effect.promise(() => fetch(url, { method: request.method })),
          (web) => HttpClientResponse.fromWeb(request, web)
        )
      )
      const [error, status] = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url,
          ...fast,
          timeout: hangTimeout,
          maxAttempts: 2
        })
        return yield* Effect.all([silenced(Effect.flip(client.get("/deaf"))), statusOf(client)])
      }).pipe(Effect.scoped, Effect.provideService(HttpClient.HttpClient, deaf))
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(server.requests()).toBe(2)
      expect(status).toEqual({ state: "closed", failureCount: 2 })
    }))
})

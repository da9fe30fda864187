/**
 * Request and response bodies through the resilient client, on both transports, against real
 * node:http servers on 127.0.0.1 (port 0): a one-shot upload is never sent twice (nor empty), a
 * body that can be sent again is, an upload whose own stream fails is the caller's failure, and
 * a response body the client will not keep is closed (its connection freed, counted on the
 * server).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"
import { answerJson, describeTransports, expectAllClosed, recordingServer, transports } from "./transport/transports.js"
import { serve, withClientOn } from "./utils/faultServers.js"
import { makeLogCapture } from "./utils/logs.js"

const encoder = new TextEncoder()
const parts = ["line 1\n", "line 2\n", "line 3\n"]
const whole = parts.join("")

/**
 * A stream that can be read once, like a Node stream or an incoming request: run again, it is
 * empty (what is gone is gone).
 */
const oneShotStream = () => {
  let taken = false
  return Stream.suspend(() => {
    if (taken) return Stream.empty
    taken = true
    return Stream.fromIterable(parts.map((part) => encoder.encode(part)))
  })
}

/** 503 to the first request, 200 (with the body it saw) to the others. */
const unavailableOnce = recordingServer((request, res, index) =>
  index === 0
    ? answerJson(res, 503, { error: "busy" })
    : answerJson(res, 200, { received: request.body.toString("utf8") })
)

const fast = { backoff: "1 millis", timeout: "2 seconds" } as const

/** The reason's tag of a client error that is an `HttpClientError`, else its own tag. */
const reasonOf = (error: ResilientServiceClient.ClientError): string =>
  error._tag === "HttpClientError" ? error.reason._tag : error._tag

/** The response a client error carries, if any. */
const responseOf = (error: ResilientServiceClient.ClientError) =>
  error._tag === "HttpClientError" ? error.response : undefined

const failureCountOf = (client: ResilientServiceClient.ResilientServiceClient) =>
  Effect.map(client.status, (status) => status.failureCount)

describeTransports("request bodies and retries", (transport) => {
  const withClient = withClientOn(transport.layer())

  it.live("a one-shot stream answered 503 is not sent again: the call fails with the 503, one request", () =>
    Effect.gen(function*() {
      const server = yield* unavailableOnce
      const logs = makeLogCapture()
      const error = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => Effect.flip(client.put("/files/a.txt", { body: HttpBody.stream(oneShotStream(), "text/plain") }))
      ).pipe(logs.provide)
      expect(reasonOf(error)).toBe("StatusCodeError")
      expect(responseOf(error)?.status).toBe(503)
      expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole])
      expect(logs.messages().some((line) => line.includes("not retried: its body is a stream that can be read once")))
        .toBe(true)
    }))

  it.live("a one-shot Node stream (a Raw body) answered 503 is not sent again, never empty", () =>
    Effect.gen(function*() {
      const server = yield* unavailableOnce
      const error = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) =>
          Effect.flip(client.put("/files/a.txt", {
            body: HttpBody.raw(nodeStream(), { contentType: "text/plain" })
          }))
      ).pipe(makeLogCapture().provide)
      expect(reasonOf(error)).toBe("StatusCodeError")
      expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole])
    }))

  it.live("a stream marked replayable is sent again, whole: 503 then 200", () =>
    Effect.gen(function*() {
      const server = yield* unavailableOnce
      const body = ResilientServiceClient.replayable(
        HttpBody.stream(Stream.fromIterable(parts.map((part) => encoder.encode(part))), "text/plain")
      )
      const received = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => Effect.flatMap(client.put("/files/a.txt", { body }), (response) => response.json)
      ).pipe(makeLogCapture().provide)
      expect(received).toEqual({ received: whole })
      expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole, whole])
      expect(server.seen[1]!.headers["content-type"]).toBe("text/plain")
    }))

  it.live("bytes and text are sent again, whole: 503 then 200", () =>
    Effect.gen(function*() {
      const server = yield* unavailableOnce
      yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => client.put("/files/a.txt", { body: HttpBody.text(whole) })
      ).pipe(makeLogCapture().provide)
      expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole, whole])
    }))

  it.live("on transform, a one-shot stream is not sent again either", () =>
    Effect.gen(function*() {
      const server = yield* unavailableOnce
      const error = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.transform(yield* HttpClient.HttpClient, {
          serviceName: "Files",
          ...fast
        })
        return yield* Effect.flip(
          client.put(`${server.url}/files/a.txt`, { body: HttpBody.stream(oneShotStream(), "text/plain") })
        )
      }).pipe(Effect.provide(transport.layer()), makeLogCapture().provide)
      expect(reasonOf(error)).toBe("StatusCodeError")
      expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole])
    }))
})

/** 307 to `/b` for the first request, 200 (with the body it saw) to the others. */
const redirectingOnce = recordingServer((request, res, index) => {
  if (index === 0) {
    res.writeHead(307, { location: "/b", "content-length": 0 })
    res.end()
  } else {
    answerJson(res, 200, { received: request.body.toString("utf8") })
  }
})

const sentAgainWords = "a one-shot body cannot be sent again"

const expectSentAgain = (error: { readonly _tag: string; readonly message: string }) => {
  expect(error._tag).toBe("HttpClientError")
  expect((error as HttpClientError.HttpClientError).reason._tag).toBe("EncodeError")
  expect(error.message).toContain(sentAgainWords)
}

/** The same parts from a Node stream, read once. */
const nodeStream = () => Readable.from(parts.map((part) => Buffer.from(part)))

/** The one-shot bodies the client is given: an Effect stream and a `Raw` Node stream. */
const oneShotBodies: ReadonlyArray<readonly [string, () => HttpBody.HttpBody]> = [
  ["a one-shot stream", () => HttpBody.stream(oneShotStream(), "text/plain")],
  ["a Raw Node stream", () => HttpBody.raw(nodeStream(), { contentType: "text/plain" })]
]

describeTransports("one-shot bodies sent again by a redirect or a retry outside the client", (transport) => {
  const withClient = withClientOn(transport.layer())

  type Client = HttpClient.HttpClient.With<ResilientServiceClient.ClientError>

  /** `body` PUT to `/a` through `wrap` around the client's `httpClient`: the call's error. */
  const putAround = (server: { readonly url: string }, wrap: (client: Client) => Client, body: HttpBody.HttpBody) =>
    withClient(
      { baseUrl: server.url, ...fast, maxAttempts: 1 },
      (client) => Effect.flip(wrap(client.httpClient).put("/a", { body }))
    ).pipe(makeLogCapture().provide)

  for (const [what, makeBody] of oneShotBodies) {
    it.live(`transform over followRedirects: a 307 does not send ${what} again (nor empty)`, () =>
      Effect.gen(function*() {
        const server = yield* redirectingOnce
        const error = yield* Effect.gen(function*() {
          const client = yield* ResilientServiceClient.transform(
            HttpClient.followRedirects(yield* HttpClient.HttpClient),
            { serviceName: "Files", ...fast }
          )
          return yield* Effect.flip(client.put(`${server.url}/a`, { body: makeBody() }))
        }).pipe(Effect.provide(transport.layer()), makeLogCapture().provide)
        expectSentAgain(error)
        expect(server.seen.map((seen) => [seen.url, seen.body.toString("utf8")])).toEqual([["/a", whole]])
        expect(server.seen[0]!.headers["content-type"]).toBe("text/plain")
      }))

    it.live(`followRedirects around client.httpClient: a 307 does not send ${what} again`, () =>
      Effect.gen(function*() {
        const server = yield* redirectingOnce
        expectSentAgain(yield* putAround(server, (client) => HttpClient.followRedirects(client), makeBody()))
        expect(server.seen.map((seen) => [seen.url, seen.body.toString("utf8")])).toEqual([["/a", whole]])
      }))

    it.live(`retryTransient around client.httpClient: a 503 does not send ${what} again`, () =>
      Effect.gen(function*() {
        const server = yield* unavailableOnce
        const retried = (client: Client) => HttpClient.retryTransient(client, { times: 1 })
        expectSentAgain(yield* putAround(server, retried, makeBody()))
        expect(server.seen.map((seen) => seen.body.toString("utf8"))).toEqual([whole])
      }))
  }

  it.live("a Node stream someone already read from is refused, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const source = nodeStream()
      source.read()
      expectSentAgain(yield* putAround(server, (client) => client, HttpBody.raw(source)))
      expect(server.seen).toEqual([])
    }))

  it.live("a stream marked replayable is still sent again through followRedirects, whole", () =>
    Effect.gen(function*() {
      const server = yield* redirectingOnce
      const body = ResilientServiceClient.replayable(
        HttpBody.stream(Stream.fromIterable(parts.map((part) => encoder.encode(part))), "text/plain")
      )
      const received = yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) => Effect.flatMap(HttpClient.followRedirects(client.httpClient).put("/a", { body }), (r) => r.json)
      ).pipe(makeLogCapture().provide)
      expect(received).toEqual({ received: whole })
      expect(server.seen.map((seen) => [seen.url, seen.body.toString("utf8")])).toEqual([["/a", whole], ["/b", whole]])
    }))
})

/** The shared transports, and node:http (whose sink ends a request whose body failed, unless aborted). */
const uploadTransports = [
  ...transports,
  { name: "NodeHttpClient.layerNodeHttp", layer: () => NodeHttpClient.layerNodeHttp }
]

describe.each(uploadTransports)("an upload whose own stream fails ($name)", (transport) => {
  const withClient = withClientOn(transport.layer())

  it.live("is an EncodeError, not counted, not retried; the server sees no complete request", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const diskError = new Error("EIO: i/o error, read")
      // marked replayable, so that only the kind of failure decides whether it is retried
      const body = ResilientServiceClient.replayable(
        HttpBody.stream(Stream.concat(Stream.make(encoder.encode("start")), Stream.fail(diskError)))
      )
      yield* withClient(
        { baseUrl: server.url, ...fast },
        (client) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(client.put("/files/a.txt", { body }))
            expect(reasonOf(error)).toBe("EncodeError")
            expect((error as HttpClientError.HttpClientError).reason.cause).toBe(diskError)
            expect(yield* failureCountOf(client)).toBe(0)
            // aborted, not ended: the connection closes (while the client is still open) and the
            // server never saw the truncated body as a whole request
            yield* expectAllClosed(server)
            expect(server.seen).toEqual([])
          })
      ).pipe(makeLogCapture().provide)
    }))
})

describe("a Raw Node stream the transport never read", () => {
  it.live("is retried: the first attempt failed before sending anything, the second sends it whole", () =>
    Effect.gen(function*() {
      let requests = 0
      // refuses the first request before reading its body (a refused connection), sends the second
      const transport = HttpClient.make((request) =>
        Effect.gen(function*() {
          if (requests++ === 0) {
            return yield* Effect.fail(
              new HttpClientError.HttpClientError({
                reason: new HttpClientError.TransportError({ request, cause: new Error("ECONNREFUSED") })
              })
            )
          }
          const sent = yield* Effect.orDie(Stream.runCollect((request.body as HttpBody.Stream).stream))
          const text = new TextDecoder().decode(Buffer.concat(Array.from(sent)))
          return HttpClientResponse.fromWeb(request, new Response(text, { status: 200 }))
        })
      )
      const answer = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.transform(transport, { serviceName: "Files", ...fast })
        return yield* Effect.flatMap(
          client.put("http://127.0.0.1:9/files/a.txt", {
            body: HttpBody.raw(nodeStream())
          }),
          (response) => response.text
        )
      }).pipe(Effect.scoped, makeLogCapture().provide)
      expect(answer).toBe(whole)
      expect(requests).toBe(2)
    }))
})

describe("a body a transport starts after its attempt ended", () => {
  it.live("is refused: a timed-out attempt cannot start it late, and the retry sends it whole", () =>
    Effect.gen(function*() {
      const late = yield* Deferred.make<void>()
      const lateRun = yield* Deferred.make<Exit.Exit<ReadonlyArray<Uint8Array>, unknown>>()
      let requests = 0
      // a transport that starts the first body late, in a fiber of its own, and never answers
      // the first request (so its attempt times out); the second request first wakes the late
      // one up (the first attempt is over by then) and waits for it, then sends and answers
      const transport = HttpClient.make((request) =>
        Effect.gen(function*() {
          const body = request.body as HttpBody.Stream
          if (requests++ === 0) {
            yield* Effect.forkDetach(
              Effect.flatMap(
                Deferred.await(late),
                () =>
                  Effect.flatMap(Effect.exit(Stream.runCollect(body.stream)), (exit) => Deferred.succeed(lateRun, exit))
              )
            )
            return yield* Effect.never
          }
          yield* Deferred.succeed(late, undefined)
          yield* Deferred.await(lateRun)
          const sent = yield* Effect.orDie(Stream.runCollect(body.stream))
          const text = new TextDecoder().decode(Buffer.concat(Array.from(sent)))
          return HttpClientResponse.fromWeb(request, new Response(text, { status: 200 }))
        })
      )
      const answer = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.transform(transport, {
          serviceName: "Files",
          backoff: "1 millis",
          // the first attempt waits this out; the second, which must succeed, has as long
          timeout: "1 second"
        })
        return yield* Effect.flatMap(
          client.put("http://127.0.0.1:9/files/a.txt", { body: HttpBody.stream(oneShotStream(), "text/plain") }),
          (response) => response.text
        )
      }).pipe(Effect.scoped, makeLogCapture().provide)
      expect(answer).toBe(whole)
      expect(Exit.isFailure(yield* Deferred.await(lateRun))).toBe(true)
    }))
})

/**
 * A file whose bytes come from its stream only: it refuses to be read whole (`arrayBuffer`,
 * `bytes`, `text`), and its stream gives its first 64 KiB, then waits for `gate` before the
 * rest. A form sent with it can only go out if it is streamed: one read whole first never gets
 * past the gate, which opens when the server has received part of the file.
 */
class GatedFile extends File {
  constructor(private readonly content: Uint8Array, private readonly gate: Promise<void>, name: string) {
    super([content], name, { type: "application/octet-stream" })
  }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    let step = 0
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        if (step++ === 0) {
          controller.enqueue(this.content.slice(0, 64 * 1024))
        } else {
          await this.gate
          controller.enqueue(this.content.slice(64 * 1024))
          controller.close()
        }
      }
    })
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    throw new Error("read whole")
  }
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    throw new Error("read whole")
  }
  override text(): Promise<string> {
    throw new Error("read whole")
  }
}

describe("form data on UndiciTransport", () => {
  it.live("is streamed with its content-length: a file-backed Blob and a file that cannot be read whole", () =>
    Effect.gen(function*() {
      const size = 4 * 1024 * 1024
      const fileBytes = new Uint8Array(size).map((_, i) => (i * 31) % 251)
      const gatedBytes = new Uint8Array(size).map((_, i) => (i * 7) % 253)
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "form-"))),
        (dir) => Effect.promise(() => fs.promises.rm(dir, { recursive: true, force: true }))
      )
      const filePath = path.join(dir, "data.bin")
      yield* Effect.promise(() => fs.promises.writeFile(filePath, fileBytes))
      const fileBlob = yield* Effect.promise(() => fs.openAsBlob(filePath, { type: "application/octet-stream" }))
      let openGate!: () => void
      const gate = new Promise<void>((resolve) => {
        openGate = resolve
      })
      const received: { headers?: http.IncomingHttpHeaders; body?: Buffer } = {}
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        let length = 0
        req.on("data", (chunk: Buffer) => {
          chunks.push(chunk)
          length += chunk.length
          // part of the gated file arrived: the form is being sent while it is read
          if (length >= 32 * 1024) openGate()
        })
        req.on("end", () => {
          received.headers = req.headers
          received.body = Buffer.concat(chunks)
          answerJson(res, 200, {})
        })
      })
      const { url } = yield* serve(server, () => (received.body === undefined ? 0 : 1))
      const form = new FormData()
      form.append("gated", new GatedFile(gatedBytes, gate, "gated.bin"))
      form.append("note", "line 1\nline 2")
      form.append("data", fileBlob, "data.bin")
      yield* withClientOn(UndiciTransport.layer())(
        { baseUrl: url, ...fast, maxAttempts: 1, timeout: "10 seconds" },
        (client) => client.post("/upload", { body: HttpBody.formData(form) })
      ).pipe(
        Effect.timeoutOrElse({
          duration: "5 seconds",
          orElse: () => Effect.fail(new Error("the form was read whole before it was sent: it never got past the gate"))
        }),
        makeLogCapture().provide
      )
      const body = received.body!
      expect(received.headers!["content-length"]).toBe(String(body.length))
      expect(received.headers!["transfer-encoding"]).toBeUndefined()
      const parsed = yield* Effect.promise(() =>
        new Response(body, { headers: { "content-type": received.headers!["content-type"]! } }).formData()
      )
      expect(parsed.get("note")).toBe("line 1\r\nline 2")
      const data = parsed.get("data") as File
      expect(data.name).toBe("data.bin")
      // compared as buffers: a deep equality of 4 MiB, element by element, takes seconds
      expect(Buffer.from(yield* Effect.promise(() => data.arrayBuffer())).equals(fileBytes)).toBe(true)
      const gated = parsed.get("gated") as File
      expect(gated.name).toBe("gated.bin")
      expect(Buffer.from(yield* Effect.promise(() => gated.arrayBuffer())).equals(gatedBytes)).toBe(true)
    }))
})

/** Answers with headers announcing `length` bytes and the first 64 KiB of them, then holds the connection. */
const announcing = (status: number, length: number) =>
  recordingServer((_request, res) => {
    res.writeHead(status, { "content-type": "application/octet-stream", "content-length": length })
    res.write(new Uint8Array(64 * 1024))
  })

/** Waits (on `close` events) until the server has no connection left, while the client still runs. */
const connectionClosed = (server: { readonly idle: Effect.Effect<void>; readonly live: () => number }) =>
  Effect.gen(function*() {
    yield* server.idle.pipe(
      Effect.timeoutOrElse({
        duration: "3 seconds",
        orElse: () => Effect.fail(new Error("the connection was left open"))
      })
    )
    expect(server.live()).toBe(0)
  })

describeTransports("response bodies the client does not keep are closed", (transport) => {
  const withClient = withClientOn(transport.layer())

  it.live("a body refused on its content-length (maxResponseBytes) is closed: its connection too", () =>
    Effect.gen(function*() {
      const server = yield* announcing(200, 50_000_000)
      yield* withClient(
        { baseUrl: server.url, ...fast, maxAttempts: 1, maxResponseBytes: 1_000 },
        (client) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(client.get("/large"))
            expect(reasonOf(error)).toBe("DecodeError")
            // the client and its transport are still open: only closing the body closes the connection
            yield* connectionClosed(server)
          })
      ).pipe(makeLogCapture().provide)
    }))

  it.live("an error body refused on its content-length (over 1 MiB) is closed: its connection too", () =>
    Effect.gen(function*() {
      const server = yield* announcing(500, 50_000_000)
      yield* withClient(
        { baseUrl: server.url, ...fast, maxAttempts: 1 },
        (client) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(client.get("/large-error"))
            expect(responseOf(error)?.status).toBe(500)
            yield* connectionClosed(server)
          })
      ).pipe(makeLogCapture().provide)
    }))

  it.live("transform over filterStatusOk reads each failed answer's body: three attempts on one connection", () =>
    Effect.gen(function*() {
      const page = "x".repeat(200 * 1024) // an error page over undici's 64 KiB of buffer
      const server = yield* recordingServer((_request, res) => {
        res.writeHead(503, { "content-type": "text/html" })
        res.end(page)
      })
      const error = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.transform(
          HttpClient.filterStatusOk(yield* HttpClient.HttpClient),
          { serviceName: "Pages", ...fast }
        )
        return yield* Effect.flip(client.get(`${server.url}/page`))
      }).pipe(Effect.provide(transport.layer()), makeLogCapture().provide)
      expect(server.seen.length).toBe(3)
      // each attempt's body was read, so the next attempt found the connection free
      expect(server.accepted()).toBe(1)
      expect(reasonOf(error)).toBe("StatusCodeError")
      const response = responseOf(error)!
      expect(response.status).toBe(503)
      expect((yield* response.text).length).toBe(page.length)
    }))
})

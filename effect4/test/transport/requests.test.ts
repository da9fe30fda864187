/**
 * Request encoding and response decoding, the same cases on both transports, on real node:http
 * servers on 127.0.0.1 (port 0). Includes, rewritten for a local server, the behaviours that
 * Effect's own HttpClient tests check against public sites.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Cookies from "effect/http/Cookies"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as UrlParams from "effect/http/UrlParams"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  answerJson,
  describeTransports,
  provideTransport,
  reasonOf,
  recordingServer,
  transportsAndFetch
} from "./transports.js"

const Todo = Schema.Struct({
  userId: Schema.Number,
  id: Schema.Number,
  title: Schema.String,
  completed: Schema.Boolean
})
const NewTodo = Schema.Struct({ userId: Schema.Number, title: Schema.String, completed: Schema.Boolean })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Answers every request with what it saw: method, path, content-type and body (as text). */
const echo = recordingServer((request, res) =>
  answerJson(res, 200, {
    method: request.method,
    url: request.url,
    contentType: request.headers["content-type"] ?? null,
    body: request.body.toString("utf8")
  })
)

describeTransports("request encoding", (transport) => {
  const run = provideTransport(transport)

  it.live("GET: the path, the url params and the headers reach the server", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${server.url}/items/1`, {
        urlParams: { q: "a b", tag: ["x", "y"] },
        headers: { "x-request-id": "42" }
      })
      expect(response.status).toBe(200)
      expect(yield* response.json).toMatchObject({ method: "GET", url: "/items/1?q=a+b&tag=x&tag=y" })
      expect(server.seen[0]!.headers["x-request-id"]).toBe("42")
    }).pipe(run))

  it.live("every method reaches the server as sent", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const
      for (const method of methods) {
        const response = yield* client.execute(HttpClientRequest.make(method)(`${server.url}/m`))
        expect(response.status).toBe(200)
        const text = yield* response.text
        // a HEAD response has no body by definition
        if (method === "HEAD") expect(text).toBe("")
        else expect(JSON.parse(text)).toMatchObject({ method, url: "/m" })
      }
      expect(server.seen.map((r) => r.method)).toEqual(methods)
    }).pipe(run))

  it.live("bodyJson: application/json and the encoded value", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const payload = { q: "effect", n: 3, nested: { ok: true }, list: [1, "é"] }
      const request = yield* HttpClientRequest.post(`${server.url}/json`).pipe(HttpClientRequest.bodyJson(payload))
      yield* client.execute(request)
      expect(server.seen[0]!.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(server.seen[0]!.body.toString("utf8"))).toEqual(payload)
    }).pipe(run))

  it.live("schemaBodyJson on the request and on the response (a todo created and read back)", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) =>
        answerJson(res, 201, { ...JSON.parse(request.body.toString("utf8")), id: 7 })
      )
      const client = (yield* HttpClient.HttpClient).pipe(
        HttpClient.mapRequest(HttpClientRequest.prependUrl(server.url))
      )
      const created = yield* HttpClientRequest.post("/todos").pipe(
        HttpClientRequest.schemaBodyJson(NewTodo)({ userId: 1, title: "test", completed: false }),
        Effect.flatMap(client.execute),
        Effect.flatMap(HttpIncomingMessage.schemaBodyJson(Todo))
      )
      expect(created).toEqual({ userId: 1, id: 7, title: "test", completed: false })
      expect(server.seen[0]!.url).toBe("/todos")
    }).pipe(run))

  it.live("mapRequest runs in the order written (two prependUrl make one URL)", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const hostAndPort = server.url.slice("http://".length)
      const client = (yield* HttpClient.HttpClient).pipe(
        HttpClient.mapRequest(HttpClientRequest.prependUrl(hostAndPort)),
        HttpClient.mapRequest(HttpClientRequest.prependUrl("http://"))
      )
      const response = yield* client.get("/todos/1")
      expect(yield* response.json).toMatchObject({ url: "/todos/1" })
    }).pipe(run))

  it.live("bodyText, bodyUint8Array and bodyUrlParams: content types and bytes", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      yield* client.execute(HttpClientRequest.post(`${server.url}/t`).pipe(HttpClientRequest.bodyText("héllo")))
      yield* client.execute(
        HttpClientRequest.post(`${server.url}/b`).pipe(
          HttpClientRequest.bodyUint8Array(new Uint8Array([0, 1, 2, 255]), "application/octet-stream")
        )
      )
      yield* client.execute(
        HttpClientRequest.post(`${server.url}/u`).pipe(HttpClientRequest.bodyUrlParams({ a: "1", b: "x y" }))
      )
      const [text, bytes, params] = server.seen
      expect(text!.headers["content-type"]).toBe("text/plain")
      expect(text!.body.toString("utf8")).toBe("héllo")
      expect(bytes!.headers["content-type"]).toBe("application/octet-stream")
      expect([...bytes!.body]).toEqual([0, 1, 2, 255])
      expect(params!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(params!.body.toString("utf8")).toBe("a=1&b=x+y")
    }).pipe(run))

  it.live("bodyFormData: a multipart body with its boundary, fields and files, and a content-length", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const form = new FormData()
      form.append("name", "effect")
      form.append("file", new Blob(["file content"], { type: "text/plain" }), "a.txt")
      const sent = yield* Effect.result(
        client.execute(HttpClientRequest.post(`${server.url}/form`).pipe(HttpClientRequest.bodyFormData(form)))
      )
      expect(Result.isSuccess(sent)).toBe(true)
      const seen = server.seen[0]!
      const contentType = String(seen.headers["content-type"])
      expect(contentType).toMatch(/^multipart\/form-data; boundary=/)
      // as undici sends its own form data (a server that requires a length answers 411 to a chunked body)
      expect(Number(seen.headers["content-length"])).toBe(seen.body.length)
      expect(seen.headers["transfer-encoding"]).toBeUndefined()
      // parse it back the way a server would
      const parsed = yield* Effect.promise(() =>
        new Response(seen.body, { headers: { "content-type": contentType } }).formData()
      )
      expect(parsed.get("name")).toBe("effect")
      const file = parsed.get("file") as File
      expect(file.name).toBe("a.txt")
      expect(yield* Effect.promise(() => file.text())).toBe("file content")
    }).pipe(run))

  it.live("bodyStream: the chunks arrive in order, and the stream runs on the caller's context (its logger)", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const logged: Array<unknown> = []
      const logger = Logger.make(({ message }) => logged.push(message))
      const body = Stream.make("hello", " ", "world").pipe(Stream.tap((part) => Effect.log(part)), Stream.encodeText)
      yield* HttpClientRequest.post(`${server.url}/stream`).pipe(
        HttpClientRequest.bodyStream(body),
        client.execute,
        Effect.provide(Logger.layer([logger]))
      )
      expect(server.seen[0]!.body.toString("utf8")).toBe("hello world")
      expect(logged).toEqual([["hello"], [" "], ["world"]])
    }).pipe(run))

  it.live("a request body stream that fails: TransportError", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const client = yield* HttpClient.HttpClient
      const body = Stream.concat(Stream.make(encoder.encode("start")), Stream.fail("broken"))
      const error = yield* HttpClientRequest.post(`${server.url}/stream`).pipe(
        HttpClientRequest.bodyStream(body),
        client.execute,
        Effect.flip
      )
      expect(error._tag).toBe("HttpClientError")
      expect(reasonOf(error)).toBe("TransportError")
    }).pipe(run))

  it.live("a URL that does not parse: InvalidUrlError, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      for (const url of ["/relative/path", "http://[::1", "not a url"]) {
        const error = yield* Effect.flip(client.get(url))
        expect(reasonOf(error)).toBe("InvalidUrlError")
      }
      expect(server.seen.length).toBe(0)
    }).pipe(run))

  it.live("a header value undici rejects (a line break in it): TransportError, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get(server.url, { headers: { "x-bad": "a\r\nx-injected: 1" } }))
      expect(reasonOf(error)).toBe("TransportError")
      expect(server.seen.length).toBe(0)
    }).pipe(run))

  it.live("url params and a path added to a URL instance are kept (the URL the server sees)", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const request = HttpClientRequest.get(new URL(`${server.url}/?foo=bar`)).pipe(
        HttpClientRequest.appendUrl("/foo"),
        HttpClientRequest.setUrlParam("baz", "qux")
      )
      const response = yield* client.execute(request)
      expect(yield* response.json).toMatchObject({ url: "/foo?foo=bar&baz=qux" })
    }).pipe(run))
}, transportsAndFetch)

describeTransports("response decoding", (transport) => {
  const run = provideTransport(transport)

  it.live("json, text, arrayBuffer and urlParamsBody of the same bytes", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end(request.url === "/params" ? "a=1&b=two+words" : "{\"n\":1,\"s\":\"é\"}")
      })
      const client = yield* HttpClient.HttpClient
      expect(yield* Effect.flatMap(client.get(`${server.url}/`), (r) => r.json)).toEqual({ n: 1, s: "é" })
      expect(yield* Effect.flatMap(client.get(`${server.url}/`), (r) => r.text)).toBe("{\"n\":1,\"s\":\"é\"}")
      const bytes = yield* Effect.flatMap(client.get(`${server.url}/`), (r) => r.arrayBuffer)
      expect(decoder.decode(bytes)).toBe("{\"n\":1,\"s\":\"é\"}")
      const params = yield* Effect.flatMap(client.get(`${server.url}/params`), (r) => r.urlParamsBody)
      expect(UrlParams.toString(params)).toBe("a=1&b=two+words")
    }).pipe(run))

  it.live("json of an empty body is null; json that does not parse is a DecodeError", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(request.url === "/empty" ? "" : "{not json")
      })
      const client = yield* HttpClient.HttpClient
      expect(yield* Effect.flatMap(client.get(`${server.url}/empty`), (r) => r.json)).toBeNull()
      const error = yield* Effect.flip(Effect.flatMap(client.get(`${server.url}/bad`), (r) => r.json))
      expect(reasonOf(error)).toBe("DecodeError")
    }).pipe(run))

  it.live("reading text twice gives the same text (the body is read once)", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, { once: true }))
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      const first = yield* response.text
      const second = yield* response.text
      expect(first).toBe("{\"once\":true}")
      expect(second).toBe(first)
      expect(yield* response.json).toEqual({ once: true })
    }).pipe(run))

  it.live("stream: a large body arrives whole, in several chunks", () =>
    Effect.gen(function*() {
      const part = "x".repeat(64 * 1024)
      const server = yield* recordingServer((_request, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        for (let i = 0; i < 8; i++) res.write(part)
        res.end("end")
      })
      const client = yield* HttpClient.HttpClient
      const chunks = yield* client.get(server.url).pipe(
        Effect.map((response) => response.stream),
        Stream.unwrap,
        Stream.runCollect
      )
      const text = chunks.map((chunk) => decoder.decode(chunk)).join("")
      expect(text.length).toBe(8 * part.length + 3)
      expect(text.endsWith("end")).toBe(true)
      expect(chunks.length).toBeGreaterThan(1)
    }).pipe(run))

  it.live("formData of a response: a form body is parsed, a body that is not a form is a DecodeError", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) => {
        if (request.url === "/form") {
          res.writeHead(200, { "content-type": "application/x-www-form-urlencoded" })
          res.end("a=1&b=two+words")
        } else {
          res.writeHead(200, { "content-type": "text/plain" })
          res.end("not a form")
        }
      })
      const client = yield* HttpClient.HttpClient
      const form = yield* Effect.flatMap(client.get(`${server.url}/form`), (r) => r.formData)
      expect(form.get("a")).toBe("1")
      expect(form.get("b")).toBe("two words")
      const error = yield* Effect.flip(Effect.flatMap(client.get(`${server.url}/text`), (r) => r.formData))
      expect(reasonOf(error)).toBe("DecodeError")
    }).pipe(run))

  it.live("status, headers (lower-case names), cookies, and no remote address", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => {
        res.setHeader("Set-Cookie", ["session=abc; Path=/; HttpOnly", "theme=dark; Max-Age=60"])
        res.setHeader("X-Custom", "value")
        answerJson(res, 202, { ok: true })
      })
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(server.url)
      expect(response.status).toBe(202)
      expect(response.headers["x-custom"]).toBe("value")
      expect(response.headers["content-type"]).toBe("application/json")
      expect(Cookies.toRecord(response.cookies)).toEqual({ session: "abc", theme: "dark" })
      expect(response.cookies.cookies["session"]!.options?.httpOnly).toBe(true)
      expect(Option.isNone(response.remoteAddress)).toBe(true)
    }).pipe(run))

  it.live("schemaJson reads status, headers and body; matchStatus picks the branch", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) =>
        request.url === "/missing"
          ? answerJson(res, 404, { error: "nope" })
          : answerJson(res, 200, { userId: 1, id: 1, title: "one", completed: false })
      )
      const client = yield* HttpClient.HttpClient
      const ok = yield* client.get(`${server.url}/todos/1`).pipe(
        Effect.flatMap(HttpClientResponse.schemaJson(Schema.Struct({ status: Schema.Literal(200), body: Todo })))
      )
      expect(ok.body.title).toBe("one")
      const head = yield* client.head(`${server.url}/todos`).pipe(
        Effect.flatMap(HttpClientResponse.schemaJson(Schema.Struct({ status: Schema.Literal(200) })))
      )
      expect(head).toEqual({ status: 200 })
      const branch = (path: string) =>
        client.get(`${server.url}${path}`).pipe(
          Effect.flatMap(HttpClientResponse.matchStatus({
            "2xx": HttpIncomingMessage.schemaBodyJson(Todo),
            404: () => Effect.succeed("not found" as const),
            orElse: () => Effect.fail("boom")
          }))
        )
      expect(yield* branch("/todos/1")).toEqual({ userId: 1, id: 1, title: "one", completed: false })
      expect(yield* branch("/missing")).toBe("not found")
    }).pipe(run))

  it.live("filterStatusOk: a 500 is a StatusCodeError", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 500, {}))
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
      const error = yield* Effect.flip(client.get(server.url))
      expect(reasonOf(error)).toBe("StatusCodeError")
    }).pipe(run))

  it.live("withCookiesRef: cookies set by one response are sent with the next request", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => {
        res.setHeader("Set-Cookie", "session=abc; Path=/")
        answerJson(res, 200, {})
      })
      const ref = yield* Ref.make<ReadonlyArray<Cookies.Cookie>>([])
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withCookiesRef(ref))
      yield* client.get(`${server.url}/login`)
      expect(Cookies.toCookieHeader(Cookies.fromIterable(yield* Ref.get(ref)))).toBe("session=abc")
      yield* client.get(`${server.url}/next`)
      expect(server.seen[0]!.headers.cookie).toBeUndefined()
      expect(server.seen[1]!.headers.cookie).toBe("session=abc")
    }).pipe(run))

  it.live("followRedirects: the response of the final location, with its request", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((request, res) => {
        if (request.url === "/start") {
          res.writeHead(302, { location: "/final" })
          res.end()
        } else {
          answerJson(res, 200, { at: request.url })
        }
      })
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.followRedirects())
      const response = yield* client.get(`${server.url}/start`)
      expect(response.status).toBe(200)
      // fetch follows the redirect itself: its response comes with the request first sent
      expect(response.request.url).toBe(`${server.url}/${transport.followsRedirects ? "start" : "final"}`)
      expect(response.url).toBe(`${server.url}/final`)
      expect(yield* response.json).toEqual({ at: "/final" })
    }).pipe(run))

  it.live("retryTransient: 503, 503, then 200 is three requests and the 200", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res, index) => answerJson(res, index < 2 ? 503 : 200, { index }))
      const client = (yield* HttpClient.HttpClient).pipe(
        HttpClient.retryTransient({ times: 3, schedule: Schedule.spaced("1 millis") })
      )
      const response = yield* client.get(server.url)
      expect(response.status).toBe(200)
      expect(yield* response.json).toEqual({ index: 2 })
      expect(server.seen.length).toBe(3)
    }).pipe(run))

  it.live("a response whose body is never read still returns its status (and the connection is reused)", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, { unread: true }))
      const client = yield* HttpClient.HttpClient
      const first = yield* client.get(server.url)
      expect(first.status).toBe(200)
      const second = yield* client.get(server.url)
      expect(yield* second.json).toEqual({ unread: true })
      expect(server.seen.length).toBe(2)
    }).pipe(run))

  it.live("a response carries the request that was sent and its URL (without the hash)", () =>
    Effect.gen(function*() {
      const server = yield* echo
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${server.url}/who?x=1#part`, { headers: { "x-a": "1" } })
      expect(response.request.url).toBe(`${server.url}/who?x=1#part`)
      expect(response.url).toBe(`${server.url}/who?x=1`)
      expect(response.request.headers["x-a"]).toBe("1")
      expect(encoder.encode(yield* response.text).length).toBeGreaterThan(0)
      // inspected the same way (what logs and errors print)
      expect(response.toJSON()).toMatchObject({
        _id: expect.stringMatching(/HttpClientResponse$/),
        status: 200,
        request: { _id: "HttpClientRequest", method: "GET" }
      })
    }).pipe(run))
}, transportsAndFetch)

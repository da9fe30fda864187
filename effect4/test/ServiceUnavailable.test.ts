import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ServiceUnavailable } from "../src/index.js"

const make = (state: "open" | "half_open", retryAfterMillis: number) =>
  new ServiceUnavailable.ServiceUnavailable({
    service: "Chroma Server",
    state,
    retryAfter: Duration.millis(retryAfterMillis)
  })

const endpoint = { success: Schema.Array(Schema.String), error: ServiceUnavailable.ServiceUnavailable }

const SearchApi = HttpApi.make("search").add(
  HttpApiGroup.make("search")
    .add(HttpApiEndpoint.get("query", "/query", endpoint))
    .add(HttpApiEndpoint.get("probing", "/probing", endpoint))
    .add(HttpApiEndpoint.get("healthy", "/healthy", endpoint))
)

const SearchLive = HttpApiBuilder.group(
  SearchApi,
  "search",
  (handlers) =>
    handlers
      .handle("query", () => Effect.fail(ServiceUnavailable.unsafeMake("Chroma Server", "open", 30_000)))
      .handle("probing", () => Effect.fail(ServiceUnavailable.unsafeMake("Chroma Server", "half_open", 0)))
      .handle("healthy", () => Effect.succeed(["doc-1"]))
)

/** The API as a web handler (no socket), disposed with the test's scope. */
const webHandler = Effect.acquireRelease(
  Effect.sync(() =>
    HttpRouter.toWebHandler(
      HttpApiBuilder.layer(SearchApi).pipe(Layer.provide(SearchLive), Layer.provide(HttpServer.layerServices)),
      {
        disableLogger: true
      }
    )
  ),
  ({ dispose }) => Effect.promise(dispose)
)

const get = (handler: (request: Request) => Promise<Response>, path: string) =>
  Effect.promise(async () => {
    const response = await handler(new Request(`http://localhost${path}`))
    return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() }
  })

describe("ServiceUnavailable", () => {
  it.effect("is tagged \"ServiceUnavailable\" and selected by Effect.catchTag", () =>
    Effect.gen(function*() {
      const error = make("open", 30_000)
      expect(error._tag).toBe("ServiceUnavailable")
      expect(error).toBeInstanceOf(Error)
      const failing: Effect.Effect<string, ServiceUnavailable.ServiceUnavailable | Error> = Effect.fail(error)
      const recovered = yield* failing.pipe(
        Effect.catchTag("ServiceUnavailable", (e) => Effect.succeed(`fallback after ${e.service} ${e.state}`))
      )
      expect(recovered).toBe("fallback after Chroma Server open")
      // and it is yieldable, like any tagged error
      const flipped = yield* Effect.flip(Effect.gen(function*() {
        return yield* error
      }))
      expect(flipped).toBe(error)
    }))

  it("has a readable message naming the service, the state and the wait", () => {
    const open = make("open", 30_000)
    expect(open.message).toContain("Chroma Server")
    expect(open.message).toContain("OPEN")
    expect(open.message).toContain("30s")
    const halfOpen = make("half_open", 0)
    expect(halfOpen.message).toContain("Chroma Server")
    expect(halfOpen.message).toContain("HALF_OPEN")
    expect(halfOpen.message).toContain("a probe is in flight")
    // the message is computed from the fields, so it never reads "undefined" or "[object Object]"
    expect(open.message).not.toMatch(/undefined|\[object/)
    expect(String(open)).toContain("Chroma Server")
  })

  it("unsafeMake builds the same error as the validated constructor, without validating again", () => {
    const unsafe = ServiceUnavailable.unsafeMake("Chroma Server", "open", 30_000)
    const safe = make("open", 30_000)
    expect(unsafe).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
    expect(unsafe._tag).toBe("ServiceUnavailable")
    expect(unsafe.service).toBe(safe.service)
    expect(unsafe.state).toBe(safe.state)
    expect(Duration.toMillis(unsafe.retryAfter)).toBe(30_000)
    expect(Equal.equals(unsafe.retryAfter, safe.retryAfter)).toBe(true)
    expect(Equal.equals(unsafe, safe)).toBe(true)
    expect(unsafe.message).toBe(safe.message)
  })

  it("unsafeMake captures no stack trace", () => {
    expect(ServiceUnavailable.unsafeMake("svc", "open", 1).stack ?? "").not.toContain("at ")
  })

  it("unsafeMake restores Error.stackTraceLimit", () => {
    const before = Error.stackTraceLimit
    try {
      Error.stackTraceLimit = 7
      ServiceUnavailable.unsafeMake("svc", "half_open", 0)
      expect(Error.stackTraceLimit).toBe(7)
    } finally {
      Error.stackTraceLimit = before
    }
  })

  it("the validated constructor rejects a state that is not open or half_open", () => {
    expect(() =>
      new ServiceUnavailable.ServiceUnavailable({
        service: "svc",
        state: "closed" as "open",
        retryAfter: Duration.seconds(1)
      })
    ).toThrow()
  })

  describe("Schema", () => {
    const encode = Schema.encodeSync(ServiceUnavailable.ServiceUnavailable)
    const decode = Schema.decodeUnknownSync(ServiceUnavailable.ServiceUnavailable)

    it("encodes with retryAfter in milliseconds and decodes back to an equal error", () => {
      const error = make("open", 30_000)
      const encoded = encode(error)
      expect(encoded).toEqual({
        _tag: "ServiceUnavailable",
        service: "Chroma Server",
        state: "open",
        retryAfter: 30_000
      })
      const decoded = decode(JSON.parse(JSON.stringify(encoded)))
      expect(decoded).toBeInstanceOf(ServiceUnavailable.ServiceUnavailable)
      expect(Equal.equals(decoded, error)).toBe(true)
      expect(Duration.toMillis(decoded.retryAfter)).toBe(30_000)
      expect(decoded.message).toBe(error.message)
    })

    it("round-trips unsafeMake's error, half_open with zero wait included", () => {
      const error = ServiceUnavailable.unsafeMake("auth", "half_open", 0)
      expect(encode(error)).toEqual({ _tag: "ServiceUnavailable", service: "auth", state: "half_open", retryAfter: 0 })
      expect(Equal.equals(decode(encode(error)), error)).toBe(true)
    })

    it("an isolated breaker's infinite wait is null on the wire and decodes back to infinity", () => {
      const error = ServiceUnavailable.unsafeMake("svc", "open", Infinity)
      const encoded = encode(error)
      expect(encoded.retryAfter).toBeNull()
      expect(JSON.stringify(encoded)).toBe(
        "{\"_tag\":\"ServiceUnavailable\",\"service\":\"svc\",\"state\":\"open\",\"retryAfter\":null}"
      )
      expect(Duration.isFinite(decode(JSON.parse(JSON.stringify(encoded))).retryAfter)).toBe(false)
    })

    it("rejects invalid wire values with a SchemaError", () => {
      const decodeResult = Schema.decodeUnknownResult(ServiceUnavailable.ServiceUnavailable)
      const valid = { _tag: "ServiceUnavailable", service: "svc", state: "open", retryAfter: 1000 }
      for (
        const invalid of [
          { ...valid, state: "closed" },
          { ...valid, retryAfter: -1 },
          { ...valid, retryAfter: "1 second" },
          { ...valid, _tag: "Other" },
          { _tag: "ServiceUnavailable", service: "svc", state: "open" }
        ]
      ) {
        const result = decodeResult(invalid)
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isFailure(result)) expect(Schema.isSchemaError(result.failure)).toBe(true)
      }
    })
  })

  describe("through an HttpApi endpoint that declares it", () => {
    it.effect("a handler failing with it answers 503 with the fields as JSON", () =>
      Effect.gen(function*() {
        const { handler } = yield* webHandler
        const response = yield* get(handler, "/query")
        expect(response.status).toBe(503)
        expect(response.contentType).toContain("application/json")
        expect(response.body).toEqual({
          _tag: "ServiceUnavailable",
          service: "Chroma Server",
          state: "open",
          retryAfter: 30_000
        })
      }))

    it.effect("half_open with a probe in flight answers 503 with retryAfter 0", () =>
      Effect.gen(function*() {
        const { handler } = yield* webHandler
        const response = yield* get(handler, "/probing")
        expect(response.status).toBe(503)
        expect(response.body).toEqual({
          _tag: "ServiceUnavailable",
          service: "Chroma Server",
          state: "half_open",
          retryAfter: 0
        })
      }))

    it.effect("an endpoint of the same API that succeeds still answers 200", () =>
      Effect.gen(function*() {
        const { handler } = yield* webHandler
        const response = yield* get(handler, "/healthy")
        expect(response.status).toBe(200)
        expect(response.body).toEqual(["doc-1"])
      }))
  })
})

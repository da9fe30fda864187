/**
 * The request span and trace propagation, the same cases on both transports: with a recording
 * tracer (standing for an exporting one) the span's name, kind, attributes, parent and status;
 * the `traceparent`/`b3` headers the server receives; and what turns them off.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { refusedPort } from "../utils/server.js"
import { makeRecordingTracer } from "../utils/tracer.js"
import { answerJson, describeTransports, provideTransport, recordingServer, transportsAndFetch } from "./transports.js"

const okServer = recordingServer((_request, res) =>
  answerJson(res, 200, { ok: true }, { "x-answer": "yes", "set-cookie": "secret=1" })
)

describeTransports("tracing", (transport) => {
  const run = provideTransport(transport)

  it.live("with an exporting tracer: Effect's span (named after the method), attributes, captured headers and trace headers", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${server.url}/items/1`, {
        urlParams: { q: "x" },
        headers: { authorization: "Bearer token", "x-plain": "visible" }
      }).pipe(
        Effect.withSpan("caller"),
        Effect.withTracer(recording.tracer),
        // header capture is opt-in in Effect 4
        Effect.provideService(HttpClient.TracerHeaderFilter, () => true)
      )
      expect(response.status).toBe(200)
      const [caller] = recording.named("caller")
      const [span] = recording.named("GET")
      expect(recording.spans.map((s) => s.name)).toEqual(["caller", "GET"])
      expect(span!.kind).toBe("client")
      expect(Option.getOrThrow(span!.parent).spanId).toBe(caller!.spanId)
      expect(span!.status._tag).toBe("Ended")
      expect(Object.fromEntries(span!.attributes)).toMatchObject({
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": Number(new URL(server.url).port),
        "url.full": `${server.url}/items/1?q=x`,
        "url.path": "/items/1",
        "url.scheme": "http",
        "url.query": "q=x",
        "http.request.header.authorization": "<redacted>",
        "http.request.header.x-plain": "visible",
        "http.response.status_code": 200,
        "http.response.header.content-type": "application/json",
        "http.response.header.x-answer": "yes",
        "http.response.header.set-cookie": "<redacted>"
      })
      const seen = server.seen[0]!.headers
      expect(seen.traceparent).toBe(`00-${span!.traceId}-${span!.spanId}-01`)
      expect(seen.b3).toBe(`${span!.traceId}-${span!.spanId}-1-${caller!.spanId}`)
      // the response carries the request as sent, trace headers included
      expect(response.request.headers.traceparent).toBe(seen.traceparent)
    }).pipe(run))

  it.live("the span of a request that fails ends with its failure", () =>
    Effect.gen(function*() {
      const port = yield* refusedPort
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      yield* Effect.flip(client.get(`http://127.0.0.1:${port}/`).pipe(Effect.withTracer(recording.tracer)))
      const [span] = recording.named("GET")
      expect(span!.status._tag).toBe("Ended")
      const exit = span!.status._tag === "Ended" ? span!.status.exit : Exit.void
      expect(Exit.isFailure(exit)).toBe(true)
      expect(span!.attributes.has("http.response.status_code")).toBe(false)
    }).pipe(run))

  it.live("SpanNameGenerator and redacted header names are honoured", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      yield* client.get(`${server.url}/named`, { headers: { "x-api-key": "k" } }).pipe(
        Effect.withTracer(recording.tracer),
        Effect.provideService(
          HttpClient.SpanNameGenerator,
          (request) => `call ${request.method} ${new URL(request.url).pathname}`
        ),
        Effect.provideService(Headers.CurrentRedactedNames, ["x-api-key"]),
        Effect.provideService(HttpClient.TracerHeaderFilter, (name) => name === "x-api-key")
      )
      const [span] = recording.named("call GET /named")
      expect(span).toBeDefined()
      expect(span!.attributes.get("http.request.header.x-api-key")).toBe("<redacted>")
    }).pipe(run))

  it.live("TracerDisabledWhen: no span and no trace headers for the requests it matches", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      const traced = <A, E, R>(self: Effect.Effect<A, E, R>) =>
        self.pipe(
          Effect.withTracer(recording.tracer),
          Effect.provideService(HttpClient.TracerDisabledWhen, (request) => request.url.endsWith("/health"))
        )
      yield* traced(client.get(`${server.url}/health`))
      yield* traced(client.get(`${server.url}/work`))
      expect(recording.spans.length).toBe(1)
      expect(server.seen[0]!.headers.traceparent).toBeUndefined()
      expect(server.seen[0]!.headers.b3).toBeUndefined()
      expect(server.seen[1]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    }).pipe(run))

  it.live("TracerPropagationEnabled false: the span is recorded, no trace headers are sent", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      yield* client.get(server.url).pipe(
        Effect.withTracer(recording.tracer),
        Effect.provideService(HttpClient.TracerPropagationEnabled, false)
      )
      expect(recording.named("GET").length).toBe(1)
      expect(server.seen[0]!.headers.traceparent).toBeUndefined()
      expect(server.seen[0]!.headers.b3).toBeUndefined()
    }).pipe(run))

  it.live("Effect.withTracerEnabled(false): no span and no trace headers", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      yield* client.get(server.url).pipe(Effect.withTracerEnabled(false), Effect.withTracer(recording.tracer))
      expect(recording.spans.length).toBe(0)
      expect(server.seen[0]!.headers.traceparent).toBeUndefined()
    }).pipe(run))

  it.live("with Effect's built-in tracer: the caller's trace continues in the headers, under a fresh span id", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const client = yield* HttpClient.HttpClient
      const caller = yield* Effect.gen(function*() {
        yield* client.get(server.url)
        yield* client.get(server.url)
        return yield* Effect.currentSpan
      }).pipe(Effect.withSpan("caller"))
      const [first, second] = server.seen.map((r) => r.headers)
      for (const headers of [first!, second!]) {
        const [version, traceId, spanId, flags] = String(headers.traceparent).split("-")
        expect(version).toBe("00")
        expect(traceId).toBe(caller.traceId)
        expect(spanId).toMatch(/^[0-9a-f]{16}$/)
        expect(spanId).not.toBe(caller.spanId)
        expect(flags).toBe("01")
        expect(headers.b3).toBe(`${traceId}-${spanId}-1-${caller.spanId}`)
      }
      expect(first!.traceparent).not.toBe(second!.traceparent)
    }).pipe(run))

  it.live("with Effect's built-in tracer and no span around the call: a new trace per request", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const client = yield* HttpClient.HttpClient
      yield* client.get(server.url)
      yield* client.get(server.url)
      const traceIds = server.seen.map((r) => String(r.headers.traceparent).split("-")[1])
      expect(traceIds[0]).toMatch(/^[0-9a-f]{32}$/)
      expect(traceIds[1]).toMatch(/^[0-9a-f]{32}$/)
      expect(traceIds[0]).not.toBe(traceIds[1])
      expect(String(server.seen[0]!.headers.b3).split("-").length).toBe(3)
    }).pipe(run))

  it.live("Tracer.DisablePropagation around the call: no span and no trace headers", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const recording = makeRecordingTracer()
      const client = yield* HttpClient.HttpClient
      yield* client.get(server.url).pipe(
        Effect.provideService(Tracer.DisablePropagation, true),
        Effect.withTracer(recording.tracer)
      )
      expect(recording.named("GET").length).toBe(0)
      expect(server.seen[0]!.headers.traceparent).toBeUndefined()
      expect(server.seen[0]!.headers.b3).toBeUndefined()
    }).pipe(run))

  it.live("an external parent (a trace received from upstream) is continued", () =>
    Effect.gen(function*() {
      const server = yield* okServer
      const client = yield* HttpClient.HttpClient
      const upstream = Tracer.externalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" })
      yield* client.get(server.url).pipe(Effect.withParentSpan(upstream))
      const [, traceId, spanId] = String(server.seen[0]!.headers.traceparent).split("-")
      expect(traceId).toBe(upstream.traceId)
      expect(spanId).not.toBe(upstream.spanId)
      expect(server.seen[0]!.headers.b3).toBe(`${traceId}-${spanId}-1-${upstream.spanId}`)
    }).pipe(run))
}, transportsAndFetch)

import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { Agent, Dispatcher } from "undici"
import * as AttemptSignal from "./attemptSignal.js"
import * as Multipart from "./multipart.js"

// The OpenTelemetry attribute names `HttpClient.make` gives its spans (kept identical).
const ATTR_HTTP_REQUEST_METHOD = "http.request.method"
const ATTR_HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
const ATTR_SERVER_ADDRESS = "server.address"
const ATTR_SERVER_PORT = "server.port"
const ATTR_URL_FULL = "url.full"
const ATTR_URL_PATH = "url.path"
const ATTR_URL_SCHEME = "url.scheme"
const ATTR_URL_QUERY = "url.query"

/**
 * The request controllers of `HttpClient.withScope`, shared with `@effect/platform` through its
 * global key: a request found here is aborted when its scope closes, not when its fiber is
 * interrupted, exactly as `HttpClient.make` does.
 */
const scopedRequests = globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<HttpClientRequest.HttpClientRequest, AbortController>()
)

/**
 * Effect's built-in tracer: its spans are never exported, so a request can skip building one
 * (measured: about 130 µs of client CPU per request instead of 180 µs with the full span, on the
 * HTTP bench's loopback load; the trace headers are the same).
 */
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Random lowercase hex ids, eight digits per `Math.random` call, written as character codes into
 * one buffer and read out as flat Latin-1 strings (a digit at a time made a chain of 32
 * concatenated strings per trace id, about 2 KB of garbage per request).
 */
const hexCodes = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
const idBytes = Buffer.alloc(160)

/** Writes `length` random hex digits into `idBytes` at `at`, and the same at `copyAt`. */
const writeRandomHex = (at: number, length: number, copyAt = at): void => {
  for (let i = 0; i < length; i += 8) {
    let r = (Math.random() * 0x100000000) >>> 0
    for (let j = i; j < i + 8; j++) {
      const digit = hexCodes[r & 15]!
      idBytes[at + j] = digit
      idBytes[copyAt + j] = digit
      r >>>= 4
    }
  }
}

/** A random id, written at 128 (past the headers written in place below). */
const randomHex = (length: 16 | 32): string => {
  writeRandomHex(128, length)
  return idBytes.toString("latin1", 128, 128 + length)
}

const writeAscii = (at: number, text: string): void => {
  for (let i = 0; i < text.length; i++) idBytes[at + i] = text.charCodeAt(i)
}

// a new trace's headers, written in place: `traceparent` at 0 (`00-`, the trace id at 3, `-`,
// the span id at 36, `-01`), `b3` at 64 (the trace id, `-`, the span id at 97, `-1`)
writeAscii(0, "00-")
writeAscii(35, "-")
writeAscii(52, "-01")
writeAscii(96, "-")
writeAscii(113, "-1")

/** The parent a span would get: the current span, skipping any that disable propagation. */
const propagatedParent = (span: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> => {
  while (span._tag === "Some" && Context.get(span.value.context, Tracer.DisablePropagation)) {
    span = span.value._tag === "Span" ? span.value.parent : Option.none()
  }
  return span
}

/**
 * The trace headers `HttpTraceContext.toHeaders` gives a span of the current trace (a fresh
 * one without a parent) and a fresh span id, sampled: the strings, without the span.
 */
const traceHeaders = (parent: Option.Option<Tracer.AnySpan>): Record<string, string> => {
  if (parent._tag === "Some") {
    const traceId = parent.value.traceId
    const spanId = randomHex(16)
    return {
      b3: `${traceId}-${spanId}-1-${parent.value.spanId}`,
      traceparent: `00-${traceId}-${spanId}-01`
    }
  }
  // a new trace: both headers written as bytes and read out once each, as flat strings
  writeRandomHex(3, 32, 64)
  writeRandomHex(36, 16, 97)
  return { b3: idBytes.toString("latin1", 64, 115), traceparent: idBytes.toString("latin1", 0, 55) }
}

/**
 * The headers sent: `headers` with the trace headers set over them (as `Headers.setAll`); the
 * trace headers alone, as they are, when `headers` has no others (a plain `GET`).
 */
const withTrace = (headers: Headers.Headers, trace: Record<string, string>): Record<string, string> => {
  let out: Record<string, string> | undefined
  for (const name in headers) {
    if (name !== "b3" && name !== "traceparent") {
      ;(out ??= Object.create(null) as Record<string, string>)[name] = headers[name]!
    }
  }
  if (out === undefined) return trace
  out.b3 = trace.b3!
  out.traceparent = trace.traceparent!
  return out
}

/** The reason a request stopped by its {@link AttemptSignal.AttemptSignal} fails with. */
const stoppedBySignal = () => new Error("the request was aborted: its attempt ended")

/** What undici sends: its declared body types, and (as its runtime accepts) an async iterable. */
type UndiciBody = Exclude<Dispatcher.DispatchOptions["body"], undefined>

/** A body undici takes as it is (every kind but a stream and form data). */
const requestBodyNow = (body: HttpBody.Empty | HttpBody.Uint8Array | HttpBody.Raw): UndiciBody =>
  body._tag === "Empty" ? null : body.body as Uint8Array

/**
 * A stream body: undici pulls it as an async iterable, run on the caller's runtime. undici never
 * ends an iterable it waits on ("it's up to the user to somehow abort the async iterable"), so
 * the stream also ends, failing, once `stop` is completed: when the request is interrupted or
 * fails, the stream's fiber stops with it instead of waiting forever for a pull.
 */
const streamBody = (
  body: HttpBody.Stream,
  stop: Deferred.Deferred<never, Error>
): Effect.Effect<UndiciBody> =>
  Stream.toAsyncIterableEffect(Stream.interruptWhenDeferred(body.stream, stop)) as Effect.Effect<
    AsyncIterable<Uint8Array>
  > as Effect.Effect<any>

const requestEnded = Exit.fail(new Error("the request ended before its body was sent"))

/**
 * Form data, encoded as multipart here: undici only encodes a `FormData` of its own class, and
 * on Node 20 the global `FormData` is of another undici copy (`NodeHttpClient.layerUndici` fails
 * with `TypeError: action is not a function` there). Its length is computed without reading its
 * files, which are streamed as they are sent (a file-backed `Blob` is never copied into memory):
 * the request carries a `content-length`, as undici gives its own form data (a server that
 * requires one answers 411 to a chunked body).
 */
const formDataBody = (
  request: HttpClientRequest.HttpClientRequest,
  headers: Record<string, string>,
  formData: FormData
): Effect.Effect<
  { readonly body: UndiciBody; readonly headers: Record<string, string> },
  HttpClientError.RequestError
> =>
  Effect.try({
    try: () => {
      const encoded = Multipart.encodeMultipart(formData)
      return {
        body: encoded.body as unknown as UndiciBody,
        headers: {
          ...headers,
          "content-type": encoded.contentType,
          "content-length": String(encoded.contentLength)
        }
      }
    },
    catch: (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
  })

/**
 * How much of a body is buffered while nobody reads it before the socket is paused (the
 * `highWaterMark` undici's `request` gives its body streams). A body that fits is received whole
 * in the background, so an unread small body never holds its connection.
 */
const highWaterMark = 64 * 1024

/** What `send` resumes its fiber with. */
type Sent = Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>

/**
 * One request on `dispatcher.dispatch`, as the handler undici's core calls directly: no
 * `Readable` per body, no `AsyncResource`, no header object until one is asked for. Until its
 * headers come it is also the sending side of `send` (what resumes the caller's fiber, the
 * attempt signal it heeds): one object per request, no closure per callback. It holds the body
 * as it arrives (the socket paused once {@link highWaterMark} bytes wait for a reader that is
 * not reading to the end). It never refers to the response made over it, so that
 * `unreadExchanges` can hold it while that response is collected.
 */
class Exchange implements AttemptSignal.SignalledRequest {
  private abortRequest: ((reason: Error) => void) | undefined = undefined
  /** Why the exchange was aborted, once it was (if undici had not connected it yet, `onConnect` aborts it). */
  private abortReason: Error | undefined = undefined
  /** The headers have not come yet (nor a failure): the sending phase. */
  private sending = true
  /** `send`'s fiber was resumed (with the response, or a failure). */
  private settled = false
  private resumeSend: ((sent: Sent) => void) | undefined
  statusCode = 0
  rawHeaders: RawHeaders = noHeaders
  private chunks: Array<Buffer> = []
  private buffered = 0
  /** The body has arrived whole. */
  complete = false
  /** The exchange failed (or was aborted) after its headers came; `failure` says why. */
  failed = false
  failure: unknown = undefined
  /** A reader takes the body to its end (`text`, `json`, …): the socket is never paused. */
  draining = false
  private paused = false
  private resumeSocket: (() => void) | undefined = undefined
  /** A reader waiting for more of the body; the others, if several wait at once, in `waiters`. */
  private waiter: (() => void) | undefined = undefined
  private waiters: Array<() => void> | undefined = undefined
  /** Part of the body was taken by a stream: it can no longer be read whole. */
  streamed = false
  /** Registered in `unreadExchanges`. */
  watched = false

  constructor(
    /** The request as the caller gave it (without the trace headers, see {@link sent}). */
    private readonly request: HttpClientRequest.HttpClientRequest,
    /** The trace headers sent with it, if any. */
    private readonly trace: Record<string, string> | undefined,
    resume: (sent: Sent) => void,
    private readonly stop: Deferred.Deferred<never, Error> | undefined
  ) {
    this.resumeSend = resume
  }

  /** The request as sent, made only when asked for (a response's `request`, an error). */
  sent(): HttpClientRequest.HttpClientRequest {
    return this.trace === undefined ? this.request : HttpClientRequest.setHeaders(this.request, this.trace)
  }

  private settle(result: Sent) {
    this.settled = true
    const resume = this.resumeSend!
    this.resumeSend = undefined
    resume(result)
  }

  /** The request failed before its headers came: `send` fails with `Transport`. */
  sendFailed(cause: unknown) {
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
    this.settle(Effect.fail(new HttpClientError.RequestError({ request: this.sent(), reason: "Transport", cause })))
  }

  /** The attempt signal was aborted: the request (and its body) ends, and a wait for the headers at once. */
  attemptStopped() {
    this.abort(stoppedBySignal())
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
    // this ends the wait even when the dispatcher never calls back
    if (this.sending && !this.settled) this.sendFailed(stoppedBySignal())
  }

  /** The caller's fiber was interrupted while it waited for the headers (no signal, no scope). */
  interrupted() {
    this.abort(interruptedRequest())
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
  }

  onConnect(abort: (reason: Error) => void) {
    if (this.abortReason !== undefined) abort(this.abortReason)
    else this.abortRequest = abort
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void) {
    // informational (1xx: 100 Continue, 103 Early Hints): the answer follows
    if (statusCode < 200) return true
    this.statusCode = statusCode
    this.rawHeaders = rawHeaders
    this.resumeSocket = resume
    if (this.sending) {
      this.sending = false
      // the signal ended the request first: nobody will read this body
      if (this.settled) this.abort(stoppedBySignal())
      // the response is made when the fiber resumes, once undici has parsed what came with the
      // headers (most bodies end there: a whole body is never watched)
      else this.settle(Effect.sync(() => new DispatchResponse(this)))
    }
    return true
  }

  onData(chunk: Buffer) {
    if (this.failed) return true
    this.chunks.push(chunk)
    this.buffered += chunk.length
    this.wake()
    if (!this.draining && this.buffered >= highWaterMark) {
      this.paused = true
      return false
    }
    return true
  }

  onComplete() {
    if (this.failed) return
    this.complete = true
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
    this.unwatch()
    this.wake()
  }

  onError(error: unknown) {
    if (this.sending) {
      this.sending = false
      if (!this.settled) this.sendFailed(error)
      return
    }
    if (this.complete || this.failed) return
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
    this.failed = true
    this.failure = error
    this.unwatch()
    this.wake()
  }

  /**
   * Aborts the request, or its body, which closes its connection; a no-op once it ended. After
   * the headers the exchange fails here and now, its readers woken: a dispatcher that never
   * connected it, or whose abort never calls `onError`, cannot leave a read waiting.
   */
  abort(reason: Error) {
    if (this.complete || this.failed || this.abortReason !== undefined) return
    this.abortReason = reason
    if (this.stop !== undefined) Deferred.unsafeDone(this.stop, requestEnded)
    const received = !this.sending
    if (received) {
      this.failed = true
      this.failure = reason
      this.unwatch()
    }
    try {
      this.abortRequest?.(reason)
    } catch {
      // a dispatcher's abort that throws: the exchange has ended all the same
    }
    if (received) this.wake()
  }

  /** Whether some of the body is buffered, not yet taken. */
  get hasChunks(): boolean {
    return this.chunks.length > 0
  }

  /** Everything buffered, taken; the socket resumes if it was paused. */
  take(): Array<Buffer> {
    const chunks = this.chunks
    this.chunks = []
    this.buffered = 0
    this.resume()
    return chunks
  }

  /** Resumes the socket, if it was paused. */
  resume() {
    if (this.paused) {
      this.paused = false
      this.resumeSocket?.()
    }
  }

  /** `waiter` is called once the body moves on (more of it, its end, a failure). */
  addWaiter(waiter: () => void) {
    if (this.waiter === undefined) this.waiter = waiter
    else (this.waiters ??= []).push(waiter)
  }

  /** Removes `waiter` (and no other); whether any other reader still waits. */
  removeWaiter(waiter: () => void): boolean {
    if (this.waiter === waiter) this.waiter = this.waiters?.shift()
    else if (this.waiters !== undefined) {
      const i = this.waiters.indexOf(waiter)
      if (i >= 0) this.waiters.splice(i, 1)
    }
    return this.waiter !== undefined
  }

  /** Wakes every waiting reader (a reader still waiting adds itself again). */
  private wake() {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    const waiters = this.waiters
    this.waiters = undefined
    waiter()
    if (waiters !== undefined) { for (const other of waiters) other() }
  }

  private unwatch() {
    if (this.watched) {
      this.watched = false
      unreadExchanges?.unregister(this)
    }
  }
}

/**
 * Raw response headers, name and value in turn. A value is one `Buffer` from undici's own
 * handlers, and an array of them (one per line of a repeated name) when undici wraps the
 * handler for a dispatcher composed with interceptors.
 */
type RawHeaders = ReadonlyArray<Buffer | ReadonlyArray<Buffer>>

const noHeaders: RawHeaders = []

/**
 * An exchange whose body had not arrived whole once its headers were parsed is watched: if its
 * response is garbage-collected before the body ends, the exchange is aborted, which frees the
 * connection (the transport sets no body timeout). The target is a token only the response
 * holds, never the exchange or its body: a registered target is kept alive by V8's scavenger
 * for a while, and with it all it refers to (a registration per response, on the response,
 * kept about 19 MB of bodies alive under load). A body that is whole is never registered.
 *
 * The check is made when the response is, in the step that resumes the request's fiber: undici
 * parses what came with the headers in the same turn as them, and most bodies end there.
 */
const unreadExchanges = globalValue(
  "effect-resilience/UndiciTransport/unreadExchanges",
  () =>
    typeof FinalizationRegistry === "function"
      ? new FinalizationRegistry<Exchange>((exchange) => exchange.abort(new Error("the response was dropped unread")))
      : undefined
)

const interruptedRequest = () => new Error("the request was interrupted")

/**
 * Sends one request and resumes with the response once its headers arrived. With an attempt
 * `signal`, the signal ends it (and its body), interruptible or not, and nothing else does: the
 * client aborts the signal when the attempt is interrupted. Without one, interrupting it before
 * its headers came aborts it, unless its scope (`HttpClient.withScope`) does that.
 */
const send = (
  dispatcher: Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  trace: Record<string, string> | undefined,
  url: Destination,
  scoped: AbortController | undefined,
  signal: AttemptSignal.AttemptSignal | undefined,
  body: UndiciBody,
  headers: Record<string, string>,
  stop?: Deferred.Deferred<never, Error>
): Sent =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
    const exchange = new Exchange(request, trace, resume, stop)
    if (signal !== undefined) {
      if (signal.aborted) {
        exchange.sendFailed(stoppedBySignal())
        return
      }
      signal.request = exchange
    }
    // a scoped request is aborted by its scope, as always
    scoped?.signal.addEventListener("abort", () => {
      if (signal !== undefined) signal.abort()
      else exchange.abort(new Error("the request's scope closed"))
    }, { once: true })
    try {
      dispatcher.dispatch({
        method: request.method as Dispatcher.HttpMethod,
        headers,
        origin: url.origin,
        path: url.path,
        body,
        // timeouts belong to Effect (Effect.timeout, the client's attempt timeout)
        headersTimeout: 60 * 60 * 1000,
        bodyTimeout: 0
      }, exchange as unknown as Dispatcher.DispatchHandler)
    } catch (cause) {
      // a dispatcher may throw on options it rejects (undici's own call `onError` instead)
      exchange.onError(cause)
    }
    // with a signal, the client that made it stops the request; a scoped request, its scope
    if (signal !== undefined || scoped !== undefined) return
    // interrupting before the headers arrived aborts the request and closes its connection
    return Effect.sync(() => exchange.interrupted())
  })

/**
 * What every request fails with on a dispatcher that has no `dispatch` method (a mock of
 * undici's `request` API alone, say): the transport needs the handler interface.
 */
const noDispatch = (dispatcher: unknown) =>
  new TypeError(
    `UndiciTransport needs an undici Dispatcher (Agent, Pool, Client, MockAgent…) with a dispatch method; got ${
      dispatcher === null ? "null" : typeof dispatcher === "object" ? "an object without one" : typeof dispatcher
    }`
  )

/** Where a request goes: its URL, and the origin and path undici takes, read from it once. */
class Destination {
  readonly origin: string
  readonly path: string
  constructor(readonly url: URL) {
    this.origin = url.origin
    this.path = url.pathname + url.search + url.hash
  }
}

/**
 * The destinations of URLs without params or fragment, by URL as written (most requests go to a
 * few URLs, and parsing one costs more than the rest of a request's setup). Cleared when full.
 */
const destinations = new Map<string, Destination>()
const maxDestinations = 512

/** The destination of `request`, or why its URL does not parse (as `HttpClient.make` parses it). */
const destinationOf = (request: HttpClientRequest.HttpClientRequest): Destination | unknown => {
  const plain = request.urlParams.length === 0 && request.hash._tag === "None"
  if (plain) {
    const known = destinations.get(request.url)
    if (known !== undefined) return known
  }
  const parsed = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
  if (parsed._tag === "Left") return parsed.left
  const destination = new Destination(parsed.right)
  if (plain) {
    if (destinations.size >= maxDestinations) destinations.clear()
    destinations.set(request.url, destination)
  }
  return destination
}

/** @internal */
export const make = (dispatcher: Dispatcher): HttpClient.HttpClient => {
  const unusable = typeof (dispatcher as Partial<Dispatcher> | null | undefined)?.dispatch === "function"
    ? undefined
    : noDispatch(dispatcher)
  const dispatch = (
    request: HttpClientRequest.HttpClientRequest,
    trace: Record<string, string> | undefined,
    url: Destination,
    scoped: AbortController | undefined,
    signal: AttemptSignal.AttemptSignal | undefined
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> => {
    const body = request.body
    const headers = trace === undefined ? request.headers : withTrace(request.headers, trace)
    switch (body._tag) {
      case "Stream":
        return Effect.suspend(() => {
          const stop = Deferred.unsafeMake<never, Error>(FiberId.none)
          return Effect.flatMap(
            streamBody(body, stop),
            (converted) => send(dispatcher, request, trace, url, scoped, signal, converted, headers, stop)
          )
        })
      case "FormData":
        return Effect.flatMap(
          formDataBody(request, headers, body.formData),
          (form) => send(dispatcher, request, trace, url, scoped, signal, form.body, form.headers)
        )
      default:
        return send(dispatcher, request, trace, url, scoped, signal, requestBodyNow(body), headers)
    }
  }

  const execute = (
    request: HttpClientRequest.HttpClientRequest,
    signal: AttemptSignal.AttemptSignal | undefined
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
    Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
      const url = destinationOf(request)
      if (!(url instanceof Destination)) {
        return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url }))
      }
      if (unusable !== undefined) {
        return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: unusable }))
      }
      // looked up before trace headers make a new request object
      const scoped = scopedRequests.get(request)
      if (
        !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
        fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
      ) {
        return dispatch(request, undefined, url, scoped, signal)
      }
      const tracer = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer)
      if (tracer === nativeTracer) {
        // Effect's built-in tracer records nothing anyone can read: skip the span, but send
        // the same trace headers its span would have (the current trace, a fresh span id); the
        // request that carries them is made only if someone asks for it (`response.request`)
        if (!fiber.getFiberRef(HttpClient.currentTracerPropagation)) {
          return dispatch(request, undefined, url, scoped, signal)
        }
        const parent = propagatedParent(Context.getOption(fiber.currentContext, Tracer.ParentSpan))
        return dispatch(request, traceHeaders(parent), url, scoped, signal)
      }
      return traced(request, url, fiber, (sent) => dispatch(sent, undefined, url, scoped, signal))
    })

  const client = HttpClient.makeWith(
    (effect) => Effect.flatMap(effect, (request) => execute(request, undefined)),
    Effect.succeed as HttpClient.HttpClient.Preprocess<never, never>
  )
  // what `makeWith`'s `execute` amounts to, without its two steps (a succeed, then a flatMap);
  // clients derived with `HttpClient.mapRequest` and the like go through `preprocess` and
  // `postprocess` as before
  Object.assign(client, {
    execute: (request: HttpClientRequest.HttpClientRequest) => execute(request, undefined)
  })
  const withSignal: AttemptSignal.ExecuteWithSignal = execute
  return AttemptSignal.withExecuteWithSignal(client, withSignal)
}

/** The span of `HttpClient.make`, attribute for attribute, for a tracer that exports spans. */
const traced = (
  request: HttpClientRequest.HttpClientRequest,
  { url }: Destination,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  dispatch: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
) => {
  const nameGenerator = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)
  return Effect.useSpan(nameGenerator(request), { kind: "client", captureStackTrace: false }, (span) => {
    span.attribute(ATTR_HTTP_REQUEST_METHOD, request.method)
    span.attribute(ATTR_SERVER_ADDRESS, url.origin)
    if (url.port !== "") span.attribute(ATTR_SERVER_PORT, +url.port)
    span.attribute(ATTR_URL_FULL, url.toString())
    span.attribute(ATTR_URL_PATH, url.pathname)
    span.attribute(ATTR_URL_SCHEME, url.protocol.slice(0, -1))
    const query = url.search.slice(1)
    if (query !== "") span.attribute(ATTR_URL_QUERY, query)
    const redactedNames = fiber.getFiberRef(Headers.currentRedactedNames)
    const requestHeaders = Headers.redact(request.headers, redactedNames)
    for (const name in requestHeaders) {
      span.attribute(`http.request.header.${name}`, String(requestHeaders[name]))
    }
    const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
      ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
      : request
    return Effect.uninterruptibleMask((restore) =>
      Effect.tap(Effect.withParentSpan(restore(dispatch(sent)), span), (response) => {
        span.attribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status)
        const responseHeaders = Headers.redact(response.headers, redactedNames)
        for (const name in responseHeaders) {
          span.attribute(`http.response.header.${name}`, String(responseHeaders[name]))
        }
      })
    )
  })
}

const textDecoder = new TextDecoder()

/** Why a body cannot be read whole once a stream took part of it. */
const bodyStreamed = () => new Error("the response body was already read in part as a stream")

/**
 * undici's header object (its `parseHeaders`: names lowercased, values as Latin-1) and
 * `Headers.fromInput`'s joining of repeated names (`, `), in one pass over the raw pairs.
 */
const parseRawHeaders = (raw: RawHeaders): Headers.Headers => {
  // no prototype while filling: a header named `__proto__` is a plain entry
  const out: Record<string, string> = Object.create(null)
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase()
    const value = raw[i + 1]!
    if (Array.isArray(value)) {
      for (const each of value) {
        const seen = out[name]
        out[name] = seen === undefined ? each.toString("latin1") : `${seen}, ${each.toString("latin1")}`
      }
    } else {
      const seen = out[name]
      out[name] = seen === undefined ? value.toString("latin1") : `${seen}, ${value.toString("latin1")}`
    }
  }
  return Headers.unsafeFromRecord(out)
}

/**
 * A response over an {@link Exchange}. A body that has arrived whole is read without waiting
 * (the usual case for a small body: it comes with the headers); otherwise a read waits for its
 * end, and interrupting the read aborts the request, which closes its connection. A body read
 * whole is kept, so every later read (`text` after `arrayBuffer`, a second `json`) gets the same
 * bytes.
 */
class DispatchResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly status: number
  private cachedHeaders: Headers.Headers | undefined = undefined
  private cachedCookies: Cookies.Cookies | undefined = undefined
  private bytes: Uint8Array | undefined = undefined
  /** Held only here: `unreadExchanges` watches it (see there). */
  readonly token: object | undefined = undefined

  private sentRequest: HttpClientRequest.HttpClientRequest | undefined = undefined

  constructor(private readonly exchange: Exchange) {
    super()
    this.status = exchange.statusCode
    if (unreadExchanges !== undefined && !exchange.complete && !exchange.failed) {
      const token = {}
      this.token = token
      exchange.watched = true
      unreadExchanges.register(token, exchange, exchange)
    }
  }

  /** The request as sent (with its trace headers), made the first time it is asked for. */
  get request(): HttpClientRequest.HttpClientRequest {
    return this.sentRequest ??= this.exchange.sent()
  }

  get statusText(): string | undefined {
    return undefined
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= parseRawHeaders(this.exchange.rawHeaders)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.headers["set-cookie"]
    if (header === undefined) return this.cachedCookies = Cookies.empty
    // each `set-cookie` line, not their joined value (a cookie's date has a comma)
    const raw = this.exchange.rawHeaders
    const lines: Array<string> = []
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.toString("latin1").toLowerCase() !== "set-cookie") continue
      const value = raw[i + 1]!
      if (Array.isArray(value)) { for (const each of value) lines.push(each.toString("latin1")) }
      else lines.push(value.toString("latin1"))
    }
    return this.cachedCookies = Cookies.fromSetCookie(lines)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** The whole body, once it has arrived (joined once, then kept). */
  private collect(): Uint8Array {
    if (this.bytes !== undefined) return this.bytes
    const chunks = this.exchange.take()
    return this.bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  }

  /** See `AttemptSignal.wholeBody`: the body if it is whole now, without waiting. */
  [AttemptSignal.wholeBodyKey](): Uint8Array | undefined {
    return this.bytes !== undefined || (this.exchange.complete && !this.exchange.streamed) ? this.collect() : undefined
  }

  /** The whole body: at once if it has arrived, else once it has. */
  private get all(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    const exchange = this.exchange
    if (this.bytes === undefined && exchange.streamed) return Effect.fail(this.decodeError(bodyStreamed()))
    if (this.bytes !== undefined || exchange.complete) return Effect.sync(() => this.collect())
    if (exchange.failed) return Effect.fail(this.decodeError(exchange.failure))
    return Effect.async<Uint8Array, HttpClientError.ResponseError>((resume) => {
      const check = () => {
        if (exchange.complete) resume(Effect.sync(() => this.collect()))
        else if (exchange.failed) resume(Effect.fail(this.decodeError(exchange.failure)))
        else exchange.addWaiter(check)
      }
      exchange.draining = true
      exchange.resume()
      check()
      return Effect.sync(() => {
        // another reader still waiting keeps the request going
        if (!exchange.removeWaiter(check)) exchange.abort(new Error("the read of the body was interrupted"))
      })
    })
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    // a body that has arrived whole is decoded in one step
    if (this.bytes !== undefined || (this.exchange.complete && !this.exchange.streamed)) {
      return Effect.sync(() => textDecoder.decode(this.collect()))
    }
    return Effect.map(this.all, (bytes) => textDecoder.decode(bytes))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => {
      try {
        return Effect.succeed(text === "" ? null : JSON.parse(text) as unknown)
      } catch (cause) {
        return Effect.fail(this.decodeError(cause))
      }
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => {
      try {
        return Effect.succeed(UrlParams.fromInput(new URLSearchParams(text)))
      } catch (cause) {
        return Effect.fail(this.decodeError(cause))
      }
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    // a copy of exactly the body's bytes (a chunk may sit in a larger, shared buffer)
    return Effect.map(
      this.all,
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    // as the platform's undici client: a multipart body is not parsed, this fails with `Decode`
    // once the body has been read
    return Effect.flatMap(
      this.all,
      () => Effect.fail(this.decodeError(new TypeError("the response body cannot be read as FormData")))
    )
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.suspend(() => {
      const bytes = this.bytes
      if (bytes !== undefined) return bytes.length === 0 ? Stream.empty : Stream.succeed(bytes)
      const exchange = this.exchange
      // one pull: what is buffered, at once, else the end, the failure or the next chunk; the
      // socket, paused while nobody pulls, resumes on a pull
      const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>> = Effect
        .suspend(() => {
          if (exchange.hasChunks) {
            exchange.streamed = true
            return Effect.succeed(Chunk.unsafeFromArray<Uint8Array>(exchange.take()))
          }
          if (exchange.complete) return Effect.fail(Option.none())
          if (exchange.failed) return Effect.fail(Option.some(this.decodeError(exchange.failure)))
          return Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>>((resume) => {
            const waiter = () => resume(pull)
            exchange.addWaiter(waiter)
            exchange.resume()
            return Effect.sync(() => {
              exchange.removeWaiter(waiter)
            })
          })
        })
      return Stream.ensuring(
        Stream.repeatEffectChunkOption(pull),
        // a stream ended early (taken in part, failed, interrupted) aborts the request
        Effect.sync(() => exchange.abort(new Error("the body stream ended early")))
      )
    })
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** @internal */
export const makeAgent = (options?: Agent.Options): Effect.Effect<Dispatcher, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(
      Effect.orDieWith(
        Effect.tryPromise(() => import("undici")),
        (cause) =>
          new Error("UndiciTransport.layer needs the `undici` package: install it next to effect-resilience", {
            cause
          })
      ),
      (undici) => new undici.Agent(options) as Dispatcher
    ),
    (agent) => Effect.promise(() => agent.destroy())
  )

/** @internal */
export const layer = (options?: Agent.Options): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(HttpClient.HttpClient, Effect.map(makeAgent(options), make))

/** @internal */
export const layerDispatcher = (dispatcher: Dispatcher): Layer.Layer<HttpClient.HttpClient> =>
  Layer.succeed(HttpClient.HttpClient, make(dispatcher))

import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cookies from "effect/http/Cookies"
import * as Headers from "effect/http/Headers"
import type * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as UrlParams from "effect/http/UrlParams"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import type { Agent, Dispatcher } from "undici"
import * as AttemptSignal from "./attemptSignal.js"
import * as Multipart from "./multipart.js"

/**
 * The attempt signal of the request being executed, if the resilient client gave one (see
 * `executeWithSignal` below): set around one `execute`, read by the runner.
 */
const CurrentAttemptSignal = Context.Reference<AttemptSignal.AttemptSignal | undefined>(
  "effect-resilience/UndiciTransport/CurrentAttemptSignal",
  { defaultValue: () => undefined }
)

/** The reason a request stopped by its {@link AttemptSignal.AttemptSignal} fails with. */
const stoppedBySignal = () => new Error("the request was aborted: its attempt ended")
const interruptedRequest = () => new Error("the request was interrupted")
const abortedByClient = () =>
  new Error("the request was aborted by its HttpClient (its scope closed, or its response was dropped)")

/** What undici sends: its declared body types, and (as its runtime accepts) an async iterable. */
type UndiciBody = Exclude<Dispatcher.DispatchOptions["body"], undefined>

const requestEnded = Exit.fail(new Error("the request ended before its body was sent"))

/**
 * How much of a body is buffered while nobody reads it before the socket is paused (the
 * `highWaterMark` undici's `request` gives its body streams). A body that fits is received whole
 * in the background, so an unread small body never holds its connection.
 */
const highWaterMark = 64 * 1024

const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })

/** undici 8's parsed response headers: names lower-cased, a repeated name's values in an array. */
type UndiciHeaders = Record<string, string | Array<string> | undefined>

/** What `send` resumes its fiber with. */
type Sent = Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

/**
 * One request on `dispatcher.dispatch`, as the handler undici calls directly (undici 8's handler
 * API): no `Readable` per body, no `Headers` object until one is asked for. Until its headers
 * come it is also the sending side of `send` (what resumes the caller's fiber). It holds the body
 * as it arrives, the socket paused through undici's controller once {@link highWaterMark} bytes
 * wait for a reader that is not reading to the end. It never refers to the response made over it.
 */
class Exchange implements AttemptSignal.SignalledRequest {
  private controller: Dispatcher.DispatchController | undefined = undefined
  /** Why the exchange was aborted, once it was (before `onRequestStart`, applied there). */
  private abortReason: Error | undefined = undefined
  /** The headers have not come yet (nor a failure): the sending phase. */
  private sending = true
  /** `send`'s fiber was resumed (with the response, or a failure). */
  private settled = false
  private resumeSend: ((sent: Sent) => void) | undefined
  statusCode = 0
  /** undici's header object (names lower-cased; a repeated name's values in an array). */
  headers: UndiciHeaders = {}
  /** Stops listening to `HttpClient.make`'s abort signal (once the exchange has ended). */
  detach: (() => void) | undefined = undefined
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  /** The body has arrived whole. */
  complete = false
  failed = false
  failure: unknown = undefined
  /** A reader reads to the end: the socket is not paused any more. */
  draining = false
  private paused = false
  /** A reader waiting for more of the body; the others, if several wait at once, in `waiters`. */
  private waiter: (() => void) | undefined = undefined
  private waiters: Array<() => void> | undefined = undefined
  /** Part of the body was taken by a stream: it can no longer be read whole. */
  streamed = false

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly url: string,
    resume: (sent: Sent) => void,
    private readonly stop: Deferred.Deferred<never, Error> | undefined
  ) {
    this.resumeSend = resume
  }

  private settle(result: Sent) {
    this.settled = true
    const resume = this.resumeSend!
    this.resumeSend = undefined
    resume(result)
  }

  /** The exchange has ended: a request body stream still running stops, the signal is let go. */
  private endBody() {
    if (this.stop !== undefined) Deferred.doneUnsafe(this.stop, requestEnded)
    const detach = this.detach
    this.detach = undefined
    detach?.()
  }

  /** The request failed before its headers came: `send` fails with a `TransportError`. */
  sendFailed(cause: unknown) {
    this.endBody()
    this.settle(Effect.fail(transportError(this.request, cause)))
  }

  /** The attempt signal was aborted: the request (and its body) ends, and a wait for the headers at once. */
  attemptStopped() {
    this.abort(stoppedBySignal())
    // this ends the wait even when the dispatcher never calls back
    if (this.sending && !this.settled) this.sendFailed(stoppedBySignal())
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.controller = controller
    if (this.abortReason !== undefined) controller.abort(this.abortReason)
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: UndiciHeaders
  ) {
    // informational (1xx: 100 Continue, 103 Early Hints): the answer follows
    if (statusCode < 200) return
    this.controller = controller
    this.statusCode = statusCode
    this.headers = headers
    if (this.sending) {
      this.sending = false
      // the signal ended the request first: nobody will read this body
      if (this.settled) this.abort(stoppedBySignal())
      // the response is made when the fiber resumes, once undici has parsed what came with the
      // headers (most bodies end there)
      else this.settle(Effect.sync(() => new DispatchResponse(this)))
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Uint8Array) {
    if (this.failed) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
    this.wake()
    if (!this.draining && this.buffered >= highWaterMark && !this.paused) {
      this.paused = true
      controller.pause()
    }
  }

  onResponseEnd() {
    if (this.failed) return
    this.complete = true
    this.endBody()
    this.wake()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: unknown) {
    this.fail(error)
  }

  /** undici failed the request (or `dispatch` threw): before the headers, `send` fails. */
  fail(error: unknown) {
    if (this.sending) {
      this.sending = false
      if (!this.settled) this.sendFailed(error)
      return
    }
    if (this.complete || this.failed) return
    this.endBody()
    this.failed = true
    this.failure = error
    this.wake()
  }

  /**
   * Aborts the request, or its body, which closes its connection; a no-op once it ended. After
   * the headers the exchange fails here and now, its readers woken: a dispatcher that never
   * started it, or whose abort never calls `onResponseError`, cannot leave a read waiting.
   */
  abort(reason: Error) {
    if (this.complete || this.failed || this.abortReason !== undefined) return
    this.abortReason = reason
    this.endBody()
    const received = !this.sending
    if (received) {
      this.failed = true
      this.failure = reason
    }
    try {
      this.controller?.abort(reason)
    } catch {
      // a dispatcher's abort that throws: the exchange has ended all the same
    }
    if (received) this.wake()
  }

  /** The body has arrived whole, or the exchange failed (or was aborted). */
  get ended(): boolean {
    return this.complete || this.failed
  }

  /** Whether some of the body is buffered, not yet taken. */
  get hasChunks(): boolean {
    return this.chunks.length > 0
  }

  /** Everything buffered, taken; the socket resumes if it was paused. */
  take(): Array<Uint8Array> {
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
      this.controller?.resume()
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
}

/**
 * A stream body: undici pulls it as an async iterable, run on the caller's context. undici never
 * ends an iterable it waits on, so the stream also ends, failing, once `stop` is completed: when
 * the request is interrupted or fails, the stream's fiber stops with it.
 */
const streamBody = (
  body: HttpBody.Stream,
  stop: Deferred.Deferred<never, Error>
): Effect.Effect<UndiciBody> =>
  Effect.map(
    Stream.toAsyncIterableEffect(Stream.interruptWhen(body.stream, Deferred.await(stop))),
    (iterable) => iterable as unknown as UndiciBody
  )

/**
 * Form data, encoded as multipart here (by the core's encoder): its length is computed without
 * reading its files, which are streamed as they are sent, so the request carries a
 * `content-length` (a server that requires one answers 411 to a chunked body).
 */
const formDataBody = (
  request: HttpClientRequest.HttpClientRequest,
  headers: Headers.Headers,
  formData: FormData
): Effect.Effect<{ readonly body: UndiciBody; readonly headers: Headers.Headers }, HttpClientError.HttpClientError> =>
  Effect.try({
    try: () => {
      const encoded = Multipart.encodeMultipart(formData)
      return {
        body: encoded.body as unknown as UndiciBody,
        headers: Headers.setAll(headers, {
          "content-type": encoded.contentType,
          "content-length": String(encoded.contentLength)
        })
      }
    },
    catch: (cause) =>
      new HttpClientError.HttpClientError({ reason: new HttpClientError.EncodeError({ request, cause }) })
  })

/**
 * Sends one request and resumes with the response once its headers arrived. With an attempt
 * signal, the signal ends it (and its body), interruptible or not; without one, interrupting it
 * before its headers came aborts it. `abortSignal` (`HttpClient.make`'s, aborted when the request's
 * scope closes or its response is dropped unread) aborts it too.
 */
const send = (
  dispatcher: Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  abortSignal: AbortSignal,
  attempt: AttemptSignal.AttemptSignal | undefined,
  body: UndiciBody,
  headers: Headers.Headers,
  stop?: Deferred.Deferred<never, Error>
): Sent =>
  Effect.callback<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    const href = url.href
    const hash = href.indexOf("#")
    const exchange = new Exchange(request, hash < 0 ? href : href.slice(0, hash), resume, stop)
    if (attempt !== undefined) {
      if (attempt.aborted) {
        exchange.sendFailed(stoppedBySignal())
        return
      }
      attempt.request = exchange
    }
    // `HttpClient.make` aborts its signal when the request's scope closes, when the response is
    // dropped unread or interrupted, and also once a body stream ends: an exchange that has ended
    // (its body whole, or failed) ignores it, so that the attempt's own outcome stands
    const onAbort = () => {
      if (exchange.ended) return
      if (attempt !== undefined) attempt.abort()
      else exchange.abort(abortedByClient())
    }
    if (abortSignal.aborted) onAbort()
    else {
      abortSignal.addEventListener("abort", onAbort, { once: true })
      exchange.detach = () => abortSignal.removeEventListener("abort", onAbort)
    }
    try {
      dispatcher.dispatch({
        method: request.method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string>,
        origin: url.origin,
        path: url.pathname + url.search,
        body,
        // timeouts belong to Effect (Effect.timeout, the client's attempt timeout)
        headersTimeout: 60 * 60 * 1000,
        bodyTimeout: 0
      }, exchange as unknown as Dispatcher.DispatchHandler)
    } catch (cause) {
      // undici 8 throws on options or a handler it rejects, instead of calling back
      exchange.fail(cause)
    }
    // with a signal, the client that made it stops the request
    if (attempt !== undefined) return
    // interrupting before the headers arrived aborts the request and closes its connection
    return Effect.sync(() => exchange.abort(interruptedRequest()))
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

/** @internal */
export const make = (dispatcher: Dispatcher): HttpClient.HttpClient => {
  const unusable = typeof (dispatcher as Partial<Dispatcher> | null | undefined)?.dispatch === "function"
    ? undefined
    : noDispatch(dispatcher)
  const client = HttpClient.make((request, url, signal, fiber) => {
    if (unusable !== undefined) return Effect.fail(transportError(request, unusable))
    const attempt = fiber.getRef(CurrentAttemptSignal)
    const body = request.body
    switch (body._tag) {
      case "Stream":
        return Effect.suspend(() => {
          const stop = Deferred.makeUnsafe<never, Error>()
          return Effect.flatMap(
            streamBody(body, stop),
            (converted) => send(dispatcher, request, url, signal, attempt, converted, request.headers, stop)
          )
        })
      case "FormData":
        return Effect.flatMap(
          formDataBody(request, request.headers, body.formData),
          (form) => send(dispatcher, request, url, signal, attempt, form.body, form.headers)
        )
      case "Empty":
        return send(dispatcher, request, url, signal, attempt, null, request.headers)
      default:
        return send(dispatcher, request, url, signal, attempt, body.body as Uint8Array, request.headers)
    }
  })
  const withSignal: AttemptSignal.ExecuteWithSignal = (request, signal) =>
    Effect.provideService(client.execute(request), CurrentAttemptSignal, signal)
  return AttemptSignal.withExecuteWithSignal(client, withSignal)
}

const textDecoder = new TextDecoder()
const formDecoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** Why a body cannot be read whole once a stream took part of it. */
const bodyStreamed = () => new Error("the response body was already read in part as a stream")

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  let length = 0
  for (const chunk of chunks) length += chunk.length
  const out = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * A response over an {@link Exchange}. A body that has arrived whole is read without waiting
 * (the usual case for a small body: it comes with the headers); otherwise a read waits for its
 * end, and interrupting the read aborts the request, which closes its connection. A body read
 * whole is kept, so every later read (`text` after `arrayBuffer`, a second `json`) gets the same
 * bytes.
 */
class DispatchResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly status: number
  readonly request: HttpClientRequest.HttpClientRequest
  readonly url: string
  private cachedHeaders: Headers.Headers | undefined = undefined
  private cachedCookies: Cookies.Cookies | undefined = undefined
  private bytes: Uint8Array | undefined = undefined
  private cachedFormData: Effect.Effect<FormData, HttpClientError.HttpClientError> | undefined = undefined

  constructor(private readonly exchange: Exchange) {
    super()
    this.status = exchange.statusCode
    this.request = exchange.request
    this.url = exchange.url
  }

  get statusText(): string | undefined {
    return undefined
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.exchange.headers as Headers.Input)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    // each `set-cookie` line, not their joined value (a cookie's date has a comma)
    const header = this.exchange.headers["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(typeof header === "string" ? [header] : header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.HttpClientError {
    return new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({ request: this.request, response: this, cause })
    })
  }

  /** The whole body, once it has arrived (joined once, then kept). */
  private collect(): Uint8Array {
    return this.bytes ??= concat(this.exchange.take())
  }

  /** See `AttemptSignal.wholeBody`: the body if it is whole now, without waiting. */
  [AttemptSignal.wholeBodyKey](): Uint8Array | undefined {
    return this.bytes !== undefined || (this.exchange.complete && !this.exchange.streamed) ? this.collect() : undefined
  }

  /** The whole body: at once if it has arrived, else once it has. */
  private get all(): Effect.Effect<Uint8Array, HttpClientError.HttpClientError> {
    const exchange = this.exchange
    if (this.bytes === undefined && exchange.streamed) return Effect.fail(this.decodeError(bodyStreamed()))
    if (this.bytes !== undefined || exchange.complete) return Effect.sync(() => this.collect())
    if (exchange.failed) return Effect.fail(this.decodeError(exchange.failure))
    return Effect.callback<Uint8Array, HttpClientError.HttpClientError>((resume) => {
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

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    // a body that has arrived whole is decoded in one step
    if (this.bytes !== undefined || (this.exchange.complete && !this.exchange.streamed)) {
      return Effect.sync(() => textDecoder.decode(this.collect()))
    }
    return Effect.map(this.all, (bytes) => textDecoder.decode(bytes))
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) => {
      try {
        return Effect.succeed(text === "" ? null : JSON.parse(text) as Schema.Json)
      } catch (cause) {
        return Effect.fail(this.decodeError(cause))
      }
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.all, (bytes) => {
      try {
        // a leading "?" is form data: URLSearchParams would take it for a query's prefix
        return Effect.succeed(
          UrlParams.fromInput(new URLSearchParams(formDecoder.decode(bytes).replace(/^\?/, "%3F")))
        )
      } catch (cause) {
        return Effect.fail(this.decodeError(cause))
      }
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    // a copy of exactly the body's bytes (a chunk may sit in a larger, shared buffer)
    return Effect.map(
      this.all,
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    // as the platform's clients in Effect 4: the body parsed by the runtime's `Response`
    return this.cachedFormData ??= Effect.flatMap(this.all, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes as Uint8Array<ArrayBuffer>, { headers: this.headers }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get upgrade(): Effect.Effect<Socket.Socket, HttpClientError.HttpClientError> {
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({
          request: this.request,
          response: this,
          description: "UndiciTransport does not hand over the connection of an HTTP upgrade"
        })
      })
    )
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return Stream.suspend(() => {
      const bytes = this.bytes
      if (bytes !== undefined) return bytes.length === 0 ? Stream.empty : Stream.succeed(bytes)
      const exchange = this.exchange
      // one pull: what is buffered, at once, else the end, the failure or the next chunk; the
      // socket, paused while nobody pulls, resumes on a pull
      const pull: Effect.Effect<
        readonly [Uint8Array, ...Array<Uint8Array>],
        HttpClientError.HttpClientError | Cause.Done
      > = Effect.suspend(() => {
        if (exchange.hasChunks) {
          exchange.streamed = true
          return Effect.succeed(exchange.take() as unknown as readonly [Uint8Array, ...Array<Uint8Array>])
        }
        if (exchange.complete) return Cause.done()
        if (exchange.failed) return Effect.fail(this.decodeError(exchange.failure))
        return Effect.callback<
          readonly [Uint8Array, ...Array<Uint8Array>],
          HttpClientError.HttpClientError | Cause.Done
        >((resume) => {
          const waiter = () => resume(pull)
          exchange.addWaiter(waiter)
          exchange.resume()
          return Effect.sync(() => {
            exchange.removeWaiter(waiter)
          })
        })
      })
      return Stream.ensuring(
        Stream.fromPull(Effect.succeed(pull)),
        // a stream ended early (taken in part, failed, interrupted) aborts the request
        Effect.sync(() => exchange.abort(new Error("the body stream ended early")))
      )
    })
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "effect/http/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }

  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

/** @internal */
export const makeAgent = (options?: Agent.Options): Effect.Effect<Dispatcher, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(
      Effect.orDie(
        Effect.mapError(
          Effect.tryPromise(() => import("undici")),
          (cause) =>
            new Error("UndiciTransport.layer needs the `undici` package: install it next to effect-resilience", {
              cause
            })
        )
      ),
      (undici) => new undici.Agent(options) as Dispatcher
    ),
    (agent) => Effect.promise(() => agent.destroy())
  )

/** @internal */
export const layer = (options?: Agent.Options): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(HttpClient.HttpClient, Effect.map(makeAgent(options), make))

/** @internal */
export const layerDispatcher = (dispatcher: Dispatcher): Layer.Layer<HttpClient.HttpClient> =>
  Layer.succeed(HttpClient.HttpClient, make(dispatcher))

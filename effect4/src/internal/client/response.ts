/**
 * The response a call hands back. By default its body is read inside the attempt (as the Python
 * client's `requests` did), so the attempt timeout, the retry loop and the breaker cover a body
 * that stalls, breaks or is cut short; the caller gets a {@link BufferedResponse}. A call that
 * asks to stream gets the platform's own response, whose body reads abort the request when they
 * are interrupted, bounded by what is left of the call's deadline.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Cookies from "effect/http/Cookies"
import type * as Headers from "effect/http/Headers"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as UrlParams from "effect/http/UrlParams"
import * as Inspectable from "effect/Inspectable"
import type * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AttemptSignal from "../attemptSignal.js"
import { monotonicMillis } from "../time.js"

/** The failure of an answer whose status is an error (the body kept in `response`). @internal */
export const statusCodeError = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  description: string
): HttpClientError.HttpClientError =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.StatusCodeError({ request, response, description })
  })

/** The same failure of a response (its reason, description and cause), with `response` instead. @internal */
export const withResponse = (
  error: HttpClientError.HttpClientError,
  response: HttpClientResponse.HttpClientResponse
): HttpClientError.HttpClientError => {
  const reason = error.reason
  if (!("response" in reason)) return error
  const fields = {
    request: reason.request,
    response,
    ...(reason.description !== undefined ? { description: reason.description } : {}),
    ...(reason.cause !== undefined ? { cause: reason.cause } : {})
  }
  return new HttpClientError.HttpClientError({
    reason: reason._tag === "StatusCodeError"
      ? new HttpClientError.StatusCodeError(fields)
      : reason._tag === "DecodeError"
      ? new HttpClientError.DecodeError(fields)
      : new HttpClientError.EmptyBodyError(fields)
  })
}

/** @internal */
export const decodeError = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  cause: unknown,
  description?: string
): HttpClientError.HttpClientError =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.DecodeError({
      request,
      response,
      cause,
      ...(description !== undefined ? { description } : {})
    })
  })

const textDecoder = new TextDecoder()
const emptyBody = new Uint8Array(0)

/**
 * A response whose body is in memory. Everything a platform response offers works on it, with
 * the same errors (a `DecodeError` reason for a body that is not what was asked); reading it
 * does no I/O and can be repeated.
 *
 * @internal
 */
export class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly status: number
  readonly body: Uint8Array
  private readonly source: HttpClientResponse.HttpClientResponse
  private textCache: string | undefined

  constructor(source: HttpClientResponse.HttpClientResponse, body: Uint8Array) {
    super()
    this.source = source
    this.status = source.status
    this.body = body
  }

  // read from the source when asked for: a transport may make its request (with the trace
  // headers) or parse its headers only then
  get request(): HttpClientRequest.HttpClientRequest {
    return this.source.request
  }

  get url(): string {
    return this.source.url
  }

  // read from the source when asked for: a transport may parse its headers only then
  get headers(): Headers.Headers {
    return this.source.headers
  }

  get remoteAddress(): Option.Option<string> {
    return this.source.remoteAddress
  }

  get cookies(): Cookies.Cookies {
    return this.source.cookies
  }

  private decodeText(): string {
    return this.textCache ??= textDecoder.decode(this.body)
  }

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return Effect.sync(() => this.decodeText())
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.try({
      try: () => {
        const text = this.decodeText()
        return text === "" ? null : JSON.parse(text) as Schema.Json
      },
      catch: (cause) => decodeError(this.request, this, cause)
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.try({
      try: () => UrlParams.fromInput(new URLSearchParams(this.decodeText())),
      catch: (cause) => decodeError(this.request, this, cause)
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    // a copy of exactly the body's bytes (a view may sit in a larger, shared buffer): the caller
    // may keep or change it without touching the next read
    return Effect.sync(() => {
      const body = this.body
      return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.tryPromise({
      try: () => new Response(this.body, { headers: this.headers as Record<string, string> }).formData(),
      catch: (cause) => decodeError(this.request, this, cause)
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return this.body.length === 0 ? Stream.empty : Stream.succeed(this.body)
  }

  /** A buffered response has handed its connection back: there is nothing to upgrade. */
  get upgrade(): HttpClientResponse.HttpClientResponse["upgrade"] {
    return this.source.upgrade
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

/** Statuses whose answers carry no body, and the answers to a `HEAD` (`method`, the request's). */
const bodyless = (
  response: HttpClientResponse.HttpClientResponse,
  method: string = response.request.method
): boolean => response.status === 204 || response.status === 304 || method === "HEAD"

/**
 * Why a body was not kept: it is longer than the limit.
 *
 * @internal
 */
export const tooLarge = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  size: number | undefined
): HttpClientError.HttpClientError =>
  decodeError(
    response.request,
    response,
    undefined,
    `the body${size === undefined ? "" : ` of ${size} bytes`} is longer than maxResponseBytes (${maxBytes} bytes)`
  )

/**
 * The body broke off while it was read (the connection was reset or closed early, a chunked
 * body was cut short): a transport failure of the attempt, like a reset before the headers.
 */
const brokenBody = (response: HttpClientResponse.HttpClientResponse) => (error: HttpClientError.HttpClientError) =>
  error.reason._tag === "EmptyBodyError" ? Effect.succeed(emptyBody) : Effect.fail(
    new HttpClientError.HttpClientError({
      reason: new HttpClientError.TransportError({
        request: response.request,
        description: `the response body (status ${response.status}) broke off`,
        cause: error.reason.cause
      })
    })
  )

/**
 * Closes the body of a response nobody will read, at once: a read of it is started and
 * interrupted, which aborts the request (every transport's response does that), so its
 * connection is closed instead of staying busy until the response is garbage-collected.
 * Never waits for the body, nor fails.
 *
 * @internal
 */
export const discardBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  bodyless(response) ? Effect.void : Effect.flatMap(
    Effect.forkChild(Stream.runDrain(response.stream)),
    // the read starts (and reaches its wait for data) before it is interrupted
    (reading) => Effect.andThen(Effect.yieldNow, Fiber.interrupt(reading))
  )

/**
 * The body of `response` when it can be had without waiting and is kept: none for a bodyless
 * answer, or the whole body `UndiciTransport` already has (without a copy or a header parse),
 * if it is no longer than `maxBytes`; else `undefined` (read it with {@link readBody}).
 * `method` is the request's, when the caller has it (`response.request` may be made when read).
 *
 * @internal
 */
export const bodyNow = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  method?: string
): Uint8Array | undefined => {
  if (bodyless(response, method)) return emptyBody
  const whole = AttemptSignal.wholeBody(response)
  return whole !== undefined && whole.length <= maxBytes ? whole : undefined
}

/**
 * Reads the whole body of `response` into memory, failing with {@link tooLarge} as soon as it
 * is longer than `maxBytes` (from its `content-length`, before reading anything, or while
 * reading one without), and with a `TransportError` reason when it breaks off.
 * Interrupting the read, or failing it, aborts the request: the platform's response does that,
 * and the connection is then closed rather than reused. A body refused on its `content-length`
 * is closed the same way ({@link discardBody}).
 *
 * @internal
 */
export const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<Uint8Array, HttpClientError.HttpClientError> => {
  if (bodyless(response)) return Effect.succeed(emptyBody)
  // UndiciTransport: a body that has arrived whole (with its headers, usually), without a copy
  // or a header parse
  const whole = AttemptSignal.wholeBody(response)
  if (whole !== undefined) {
    return whole.length > maxBytes ? Effect.fail(tooLarge(response, maxBytes, whole.length)) : Effect.succeed(whole)
  }
  const announced = response.headers["content-length"]
  if (announced !== undefined) {
    const length = Number(announced)
    if (length > maxBytes) {
      return Effect.andThen(discardBody(response), Effect.fail(tooLarge(response, maxBytes, length)))
    }
    // the fast path: undici reads a body of known length into one buffer
    if (Number.isSafeInteger(length)) {
      return Effect.matchEffect(response.arrayBuffer, {
        onFailure: brokenBody(response),
        onSuccess: (buffer) => Effect.succeed(new Uint8Array(buffer))
      })
    }
  }
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    let over = false
    const body = Stream.catch(response.stream, (error) => Stream.fromEffect(brokenBody(response)(error)))
    const read = Stream.runForEachWhile(body, (chunk) =>
      Effect.sync(() => {
        size += chunk.length
        if (size > maxBytes) {
          over = true
          return false // ending the read early aborts the request
        }
        if (chunk.length > 0) chunks.push(chunk)
        return true
      }))
    return Effect.flatMap(read, () => {
      if (over) return Effect.fail(tooLarge(response, maxBytes, undefined))
      if (chunks.length === 0) return Effect.succeed(emptyBody)
      return Effect.succeed(chunks.length === 1 ? chunks[0]! : concat(chunks, size))
    })
  })
}

/** The chunks, `size` bytes in all, in one array (no Node `Buffer`: the client runs in browsers). */
const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const whole = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    whole.set(chunk, offset)
    offset += chunk.length
  }
  return whole
}

/**
 * A streamed response whose body reads are bounded by what is left of the call's deadline
 * (`deadlineAt`, monotonic milliseconds of `clock`): a read still running then is interrupted
 * (which aborts the request) and fails with a `DecodeError` reason whose cause is the deadline's
 * `TimeoutError`. Without a deadline the platform's response is handed over as it is.
 *
 * @internal
 */
export const boundedByDeadline = (
  response: HttpClientResponse.HttpClientResponse,
  clock: Clock.Clock,
  deadlineAt: number,
  onDeadline: () => Cause.TimeoutError
): HttpClientResponse.HttpClientResponse =>
  deadlineAt === Infinity ? response : new DeadlineBoundResponse(response, clock, deadlineAt, onDeadline)

class DeadlineBoundResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  constructor(
    readonly original: HttpClientResponse.HttpClientResponse,
    private readonly clock: Clock.Clock,
    private readonly deadlineAt: number,
    private readonly onDeadline: () => Cause.TimeoutError
  ) {
    super()
  }
  private left(): Duration.Duration {
    return Duration.millis(Math.max(0, this.deadlineAt - monotonicMillis(this.clock)))
  }
  private expired = (): HttpClientError.HttpClientError => {
    const cause = this.onDeadline()
    return decodeError(this.request, this, cause, cause.message)
  }
  private bounded<A>(
    body: Effect.Effect<A, HttpClientError.HttpClientError>
  ): Effect.Effect<A, HttpClientError.HttpClientError> {
    return Effect.suspend(() =>
      Effect.timeoutOrElse(body, { duration: this.left(), orElse: () => Effect.fail(this.expired()) })
    )
  }
  get request() {
    return this.original.request
  }
  get url() {
    return this.original.url
  }
  get upgrade() {
    return this.original.upgrade
  }
  get status() {
    return this.original.status
  }
  get headers() {
    return this.original.headers
  }
  get cookies() {
    return this.original.cookies
  }
  get remoteAddress() {
    return this.original.remoteAddress
  }
  get text() {
    return this.bounded(this.original.text)
  }
  get json() {
    return this.bounded(this.original.json)
  }
  get arrayBuffer() {
    return this.bounded(this.original.arrayBuffer)
  }
  get formData() {
    return this.bounded(this.original.formData)
  }
  get urlParamsBody() {
    return this.bounded(this.original.urlParamsBody)
  }
  get stream() {
    return Stream.suspend(() =>
      Stream.interruptWhen(
        this.original.stream,
        Effect.flatMap(this.clock.sleep(this.left()), () => Effect.fail(this.expired()))
      )
    )
  }
  toJSON() {
    return this.original.toJSON()
  }
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

/**
 * Request preparation and redaction: the base URL and its credentials, inline queries moved to
 * URL params, credentials in absolute URLs moved to a header, and the words log lines use for a
 * request (never its query values or credentials).
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Target } from "../../../core/src/clientRules.js"
import * as Rules from "../../../core/src/clientRules.js"

export type { Target } from "../../../core/src/clientRules.js"
export { basicAuthorization, splitQuery } from "../../../core/src/clientRules.js"

/**
 * The request as it is sent: relative paths resolved against the base URL, the base URL's
 * credentials added for the base URL only, and credentials written into an absolute URL moved
 * into an `authorization` header (so that they reach no log line, span attribute or error
 * message). A query written in the URL is sent as written (the platform would re-encode it as
 * form data: `?flag&q=a%20b` as `?flag=&q=a+b`), followed by the request's URL params, encoded
 * as the platform encodes them; errors show it only through {@link redactError}.
 *
 * @internal
 */
export const prepare = (
  target: Target,
  request: HttpClientRequest.HttpClientRequest
): HttpClientRequest.HttpClientRequest => {
  // the usual call, a path under the base URL without query or fragment, without the regular
  // expressions and the split below (which would give the same request)
  const written = request.url
  if (written.charCodeAt(0) === 47 && written.indexOf("?") === -1 && written.indexOf("#") === -1) {
    const url = target.baseUrl + written
    const resolved = url === written ? request : HttpClientRequest.setUrl(request, url)
    return target.authorization !== undefined && resolved.headers["authorization"] === undefined
      ? HttpClientRequest.setHeader(resolved, "authorization", target.authorization)
      : resolved
  }
  const [path, query] = Rules.splitQuery(written)
  let url = Rules.isAbsolute(path) ? path : target.baseUrl + (path.startsWith("/") ? path : `/${path}`)
  let authorization: string | undefined
  if (Rules.hasUserinfo(url)) {
    try {
      const parsed = new URL(url)
      const basic = Rules.basicAuthorization(parsed)
      authorization = "header" in basic ? basic.header : undefined
      parsed.username = ""
      parsed.password = ""
      url = parsed.toString()
    } catch {
      // not a URL the platform can send either (it fails the attempt with InvalidUrl): its
      // credentials still reach no log line, span or error message
      url = Rules.withoutUserinfo(url)
    }
  } else if (url === target.baseUrl || url.startsWith(`${target.baseUrl}/`)) {
    // the base URL's credentials go to the base URL only, never to another host given in full
    authorization = target.authorization
  }
  let prepared: HttpClientRequest.HttpClientRequest
  if (query === undefined) {
    prepared = url === request.url ? request : HttpClientRequest.setUrl(request, url)
  } else {
    // the platform appends URL params through `searchParams`, which re-encodes the whole query:
    // they are written after the query here instead
    prepared = request.urlParams.length === 0
      ? HttpClientRequest.setUrl(request, `${url}?${query}`)
      : withoutUrlParams(request, `${url}?${query}&${UrlParams.toString(request.urlParams)}`)
  }
  if (authorization !== undefined && prepared.headers["authorization"] === undefined) {
    prepared = HttpClientRequest.setHeader(prepared, "authorization", authorization)
  }
  return prepared
}

/** `request` sent to `url`, without URL params (the platform offers no way to remove them). */
const withoutUrlParams = (
  request: HttpClientRequest.HttpClientRequest,
  url: string
): HttpClientRequest.HttpClientRequest => {
  let fresh = HttpClientRequest.make(request.method)(url)
  if (request.body._tag !== "Empty") fresh = HttpClientRequest.setBody(fresh, request.body)
  // after the body: the request's own headers win over the ones `setBody` derives
  fresh = HttpClientRequest.setHeaders(fresh, request.headers)
  return Option.isSome(request.hash) ? HttpClientRequest.setHash(fresh, request.hash.value) : fresh
}

/**
 * `request` with a query written in its URL moved into its URL params, so that the platform's
 * error messages (which print the URL, never the params) do not show its values.
 *
 * @internal
 */
export const redact = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const [path, query] = Rules.splitQuery(request.url)
  if (query === undefined) return request
  return HttpClientRequest.appendUrlParams(
    HttpClientRequest.setUrl(request, path),
    Array.from(new URLSearchParams(query).entries())
  )
}

/**
 * `error` with its request {@link redact}ed: the failure a call reports, in errors, log lines
 * and events, for a request whose URL carries a query.
 *
 * @internal
 */
export const redactError = <E>(error: E): E => {
  if (!HttpClientError.isHttpClientError(error) || !error.request.url.includes("?")) return error
  const fields = {
    request: redact(error.request),
    ...(error.description !== undefined ? { description: error.description } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {})
  }
  return (error._tag === "RequestError"
    ? new HttpClientError.RequestError({ ...fields, reason: error.reason })
    : new HttpClientError.ResponseError({ ...fields, response: error.response, reason: error.reason })) as E
}

/**
 * `cause` with its failures {@link redactError}ed when `request`'s URL carries a query (the
 * failure path only: a success costs nothing).
 *
 * @internal
 */
export const redactCause = <E>(request: HttpClientRequest.HttpClientRequest, cause: Cause.Cause<E>): Cause.Cause<E> =>
  request.url.includes("?") ? Cause.map(cause, redactError) : cause

/**
 * The path of a request relative to the base URL, for log lines and spans (never its query).
 *
 * @internal
 */
export const describePath = (target: Target, request: HttpClientRequest.HttpClientRequest): string =>
  Rules.describePath(target, request.url)

/**
 * The refusal of a path given to `get`, `post`, … that would leave the client's base URL: an
 * absolute URL (another host is reached with `execute`), or `..` segments that climb above the
 * base URL's path. A `RequestError` `InvalidUrl` (nothing is sent) naming the path without its
 * query or credentials; `undefined` for a path that stays under the base URL.
 *
 * @internal
 */
export const pathRefused = (
  request: HttpClientRequest.HttpClientRequest,
  target: Target
): HttpClientError.RequestError | undefined => {
  // the usual path: relative (so not absolute), and without a dot or a percent sign (so no `..`
  // segment, written or encoded): nothing to split or scan
  const written = request.url
  if (written.charCodeAt(0) === 47 && written.indexOf(".") === -1 && written.indexOf("%") === -1) return undefined
  const [path] = Rules.splitQuery(written)
  const problem = Rules.outsideBase(path, target.baseUrl)
  if (problem === undefined) return undefined
  const shown = Rules.withoutUserinfo(path)
  return new HttpClientError.RequestError({
    request: HttpClientRequest.setUrl(request, shown),
    reason: "InvalidUrl",
    description: `the path ${JSON.stringify(shown)} ${problem}`
  })
}

/**
 * Whether sending a request twice may do twice what it asks: a POST or a PATCH without an
 * `Idempotency-Key` header.
 *
 * @internal
 */
export const isUnsafe = (request: HttpClientRequest.HttpClientRequest): boolean =>
  Rules.isUnsafe(request.method, request.headers["idempotency-key"])

// -----------------------------------------------------------------------------
// Request bodies: which can be sent again
// -----------------------------------------------------------------------------

/** The bodies their callers marked as safe to send more than once (`ResilientServiceClient.replayable`). */
const markedReplayable = globalValue(
  Symbol.for("effect-resilience/ResilientServiceClient/replayableBodies"),
  () => new WeakSet<HttpBody.HttpBody>()
)

/**
 * Marks `body` as one the client may send again: running its stream again yields the same bytes
 * (a file read from its path, chunks held in memory).
 *
 * @internal
 */
export const replayable = <B extends HttpBody.HttpBody>(body: B): B => {
  markedReplayable.add(body)
  return body
}

/**
 * The one-shot bodies a transport started to send, by the body object the caller gave (the
 * `HttpBody` of a stream, the source of a `Raw` body), whatever call or attempt sent them: a
 * redirect or a retry made outside the client (`HttpClient.followRedirects`,
 * `HttpClient.retryTransient` around the client or under `transform`) sends the same object
 * again, through a fresh call or within one attempt.
 */
const startedOnce = globalValue(
  Symbol.for("effect-resilience/ResilientServiceClient/startedBodies"),
  () => new WeakSet<object>()
)

const sentAgainDescription = "a one-shot body cannot be sent again (a redirect or retry outside the client)"

/** The refusal of a one-shot body that already started to go out: nothing more of it is sent. */
const sentAgain = (request: HttpClientRequest.HttpClientRequest): HttpClientError.RequestError =>
  new HttpClientError.RequestError({ request: redact(request), reason: "Encode", description: sentAgainDescription })

/** One attempt of a call, as the fibers it runs know it. */
type AttemptToken = object

/**
 * The attempt a fiber runs for (inherited by the fibers it forks, and by the runtime a transport
 * captures to run a body stream): a body started by a fiber of an attempt that is over is refused.
 */
const currentAttempt = globalValue(
  Symbol.for("effect-resilience/ResilientServiceClient/currentAttempt"),
  () => FiberRef.unsafeMake<AttemptToken | undefined>(undefined)
)

/**
 * The body of one call, as far as sending it again goes. A body held in memory (bytes, text,
 * JSON, form data) is not tracked at all; a stream body is, from the moment a transport starts
 * it: a one-shot stream (anything not marked {@link replayable}) is never sent twice, by the
 * client or by anything around it, and a failure of the stream itself is the caller's, not the
 * service's: it stops the attempt (so that the transport aborts the request instead of ending
 * it, which would hand the server a complete, truncated body).
 *
 * @internal
 */
export class SentBody {
  /** The transport started reading the body: what it took is gone, for a one-shot source. */
  started = false
  /** How the body's own stream failed during the attempt running now, if it did. */
  failure: Cause.Cause<unknown> | undefined = undefined
  /**
   * The attempt running now, if one is: the body may start within it only. A transport may start
   * a body late, in a fiber of its own, after its attempt ended (timed out): such a start, and a
   * failure it meets, belongs to an attempt that is over (its fibers carry its token in
   * {@link currentAttempt}).
   */
  private attempt: AttemptToken | undefined = undefined
  /** Stops the attempt running now (set by the attempt: interrupts its fiber, or aborts its signal). */
  private stopAttempt: (() => void) | undefined = undefined
  constructor(
    /** The body object the caller gave, as {@link startedOnce} knows it. */
    readonly source: object,
    /** The body may be sent again (marked {@link replayable}). */
    readonly replayable: boolean,
    /** The client sees when the transport starts the body (an Effect stream); otherwise an attempt starts it. */
    readonly seesStart: boolean
  ) {}
  /** Called as an attempt starts: its token, for the fibers it runs ({@link currentAttempt}). */
  attemptStarts(): AttemptToken {
    const attempt: AttemptToken = {}
    this.failure = undefined
    this.attempt = attempt
    if (!this.seesStart) this.start(attempt)
    return attempt
  }
  /** Called as the attempt ends, however it ends. */
  attemptEnds(): void {
    this.attempt = undefined
    this.stopAttempt = undefined
  }
  /**
   * Whether `attempt` (the token of the fiber that asks; `undefined` from a fiber that carries
   * none, such as one a transport started from scratch) is the attempt running now.
   */
  private current(attempt: AttemptToken | undefined): boolean {
    return this.attempt !== undefined && (attempt === undefined || attempt === this.attempt)
  }
  /** The attempt running now is stopped by `stop` (set by the attempt once it runs). */
  stopWith(stop: () => void): void {
    this.stopAttempt = stop
  }
  /** The transport starts the body; `false` if it may not (its attempt ended, or it was sent already). */
  start(attempt: AttemptToken | undefined): boolean {
    if (!this.current(attempt)) return false
    if (!this.replayable) {
      if (startedOnce.has(this.source)) return false
      startedOnce.add(this.source)
    }
    this.started = true
    return true
  }
  /**
   * The body's own stream failed with `cause`: recorded, and the attempt stopped, if one is
   * running (then `true`: the transport is about to abort the request, do not end it).
   */
  failed(cause: Cause.Cause<unknown>, attempt: AttemptToken | undefined): boolean {
    // after its attempt, a failure of the body is nobody's
    if (!this.current(attempt)) return false
    this.failure = cause
    const stop = this.stopAttempt
    if (stop === undefined) return false
    this.stopAttempt = undefined
    stop()
    return true
  }
  /** A retry would send the body again, and it cannot be sent again. */
  get spent(): boolean {
    return this.started && !this.replayable
  }
}

/**
 * `request`, with its body tracked if it is a stream (see {@link SentBody}); `undefined` for a
 * body held in memory, which any attempt can send again. `refused` when its body is a one-shot
 * one that already started to go out (a redirect or retry outside the client sends it again):
 * the call fails with it, and nothing is sent.
 *
 * @internal
 */
export const trackBody = (
  request: HttpClientRequest.HttpClientRequest
):
  | { readonly request: HttpClientRequest.HttpClientRequest; readonly body: SentBody; readonly refused?: undefined }
  | { readonly refused: HttpClientError.RequestError }
  | undefined =>
{
  const body = request.body
  switch (body._tag) {
    case "Empty":
    case "Uint8Array":
    case "FormData":
      return undefined
    case "Raw": {
      const raw = body.body
      if (Rules.inMemory(raw)) return undefined
      if (markedReplayable.has(body)) return { request, body: new SentBody(raw as object, true, false) }
      if (startedOnce.has(raw as object) || Rules.alreadyRead(raw)) return { refused: sentAgain(request) }
      // a Node stream, a ReadableStream, an async iterable: read as an Effect stream, so that the
      // client sees it start (and a transport that sends it again within an attempt, following a
      // redirect, is refused instead of sending it empty)
      const stream = streamOf(raw)
      return stream === undefined
        ? { request, body: new SentBody(raw as object, false, false) }
        : tracking(request, raw as object, false, stream, body.contentType, body.contentLength)
    }
    case "Stream": {
      const marked = markedReplayable.has(body)
      if (!marked && startedOnce.has(body)) return { refused: sentAgain(request) }
      return tracking(request, body, marked, body.stream, body.contentType, body.contentLength)
    }
  }
}

/** A `Raw` body's source as an Effect stream, when it is one (else the client cannot see it start). */
const streamOf = (raw: unknown): Stream.Stream<Uint8Array, unknown> | undefined => {
  if (typeof ReadableStream === "function" && raw instanceof ReadableStream) {
    return Stream.fromReadableStream({ evaluate: () => raw as ReadableStream<Uint8Array>, onError: (error) => error })
  }
  if (
    typeof raw === "object" && raw !== null &&
    typeof (raw as { readonly [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  ) {
    return Stream.fromAsyncIterable(raw as AsyncIterable<Uint8Array>, (error) => error)
  }
  return undefined
}

/** `request` with `stream` as its body, tracked by a new {@link SentBody} of `source`. */
const tracking = (
  request: HttpClientRequest.HttpClientRequest,
  source: object,
  replayable: boolean,
  stream: Stream.Stream<Uint8Array, unknown>,
  contentType: string | undefined,
  contentLength: number | undefined
): { readonly request: HttpClientRequest.HttpClientRequest; readonly body: SentBody } => {
  const sent = new SentBody(source, replayable, true)
  const tracked = Stream.catchAllCause(
    Stream.unwrap(Effect.map(
      FiberRef.get(currentAttempt),
      (attempt) => sent.start(attempt) ? stream : Stream.fail(sentAgain(request))
    )),
    (cause) =>
      // the transport stopping the body (the request ended) is no failure of the body's own;
      // a failure that stopped the attempt is not handed to the transport, which would end
      // the request (a complete, truncated body) where the stop aborts it
      Cause.isInterruptedOnly(cause)
        ? Stream.failCause(cause)
        : Stream.unwrap(Effect.map(
          FiberRef.get(currentAttempt),
          (attempt) => sent.failed(cause, attempt) ? Stream.never : Stream.failCause(cause)
        ))
  )
  const withBody = HttpClientRequest.setBody(request, HttpBody.stream(tracked, contentType, contentLength))
  // `setBody` sets the headers from the body: keep the ones the request had
  return { request: keepHeaders(withBody, request), body: sent }
}

/**
 * One attempt of a call whose body is tracked: the body may start while it runs, and a failure
 * of the body's own stream (a file that could not be read) is the attempt's failure, as
 * `RequestError` `Encode`, whatever the transport made of it: the request could not be encoded.
 * Never the service's failure.
 *
 * @internal
 */
export const attemptWithBody = <A, E>(
  sent: SentBody,
  request: HttpClientRequest.HttpClientRequest,
  attempt: Effect.Effect<A, E>
): Effect.Effect<A, E | HttpClientError.RequestError> =>
  Effect.ensuring(
    Effect.catchAllCause(
      Effect.suspend(() => Effect.locally(attempt, currentAttempt, sent.attemptStarts())),
      (cause): Effect.Effect<never, E | HttpClientError.RequestError> =>
        sent.failure !== undefined ? Effect.fail(bodyFailed(request, sent.failure)) : Effect.failCause(cause)
    ),
    Effect.sync(() => sent.attemptEnds())
  )

/** The failure of an attempt whose body's own stream failed (or was refused: sent already). */
const bodyFailed = (
  request: HttpClientRequest.HttpClientRequest,
  failure: Cause.Cause<unknown>
): HttpClientError.RequestError => {
  const error = Cause.squash(failure)
  return HttpClientError.isHttpClientError(error) && error._tag === "RequestError" &&
      error.description === sentAgainDescription
    ? new HttpClientError.RequestError({ request, reason: "Encode", description: sentAgainDescription })
    : new HttpClientError.RequestError({
      request,
      reason: "Encode",
      description: "the request body's stream failed while it was sent",
      cause: error
    })
}

const keepHeaders = (
  request: HttpClientRequest.HttpClientRequest,
  from: HttpClientRequest.HttpClientRequest
): HttpClientRequest.HttpClientRequest => {
  let kept = request
  for (const name of ["content-type", "content-length"]) {
    const value = from.headers[name]
    if (value !== undefined && kept.headers[name] !== value) kept = HttpClientRequest.setHeader(kept, name, value)
  }
  return kept
}

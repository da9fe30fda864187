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
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import * as Stream from "effect/Stream"

/** @internal */
export interface Target {
  /** The base URL without userinfo, query or fragment, without a trailing slash. */
  readonly baseUrl: string
  /** `hostname:port` */
  readonly authority: string
  /** The Basic `authorization` header made from userinfo, if any. */
  readonly authorization: string | undefined
}

/**
 * The Basic `authorization` header for the userinfo of `url` (`header` is `undefined` when it
 * has none), or why it cannot be made (`invalid`: a malformed percent-encoding).
 *
 * @internal
 */
export const basicAuthorization = (
  url: URL
): { readonly header: string | undefined } | { readonly invalid: string } => {
  if (url.username === "" && url.password === "") return { header: undefined }
  let user: string
  let password: string
  try {
    user = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    return { invalid: "has a malformed percent-encoding (%XX) in its user or password" }
  }
  return { header: `Basic ${base64(new TextEncoder().encode(`${user}:${password}`))}` }
}

/** Base64 of `bytes`, with the platform's `btoa` (no Node `Buffer`: the client runs in browsers). */
const base64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

/**
 * Splits an inline query off a path into URL params, so that no error message (platform errors
 * print the URL) and no log line shows query values.
 *
 * @internal
 */
export const splitQuery = (path: string): readonly [string, ReadonlyArray<readonly [string, string]>] => {
  const hash = path.indexOf("#")
  const withoutHash = hash === -1 ? path : path.slice(0, hash)
  const question = withoutHash.indexOf("?")
  if (question === -1) return [withoutHash, []]
  const params = Array.from(new URLSearchParams(withoutHash.slice(question + 1)).entries())
  return [withoutHash.slice(0, question), params]
}

const isAbsolute = (url: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(url)

/** `scheme://user:pass@host…` */
const hasUserinfo = (url: string) => /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url)

/**
 * The request as it is sent: relative paths resolved against the base URL, an inline query
 * moved to URL params, the base URL's credentials added for the base URL only, and credentials
 * written into an absolute URL moved into an `authorization` header (so that they reach no log
 * line, span attribute or error message).
 *
 * @internal
 */
export const prepare = (
  target: Target,
  request: HttpClientRequest.HttpClientRequest
): HttpClientRequest.HttpClientRequest => {
  const [path, params] = splitQuery(request.url)
  let url = isAbsolute(path) ? path : target.baseUrl + (path.startsWith("/") ? path : `/${path}`)
  let authorization: string | undefined
  if (hasUserinfo(url)) {
    try {
      const parsed = new URL(url)
      const basic = basicAuthorization(parsed)
      authorization = "header" in basic ? basic.header : undefined
      parsed.username = ""
      parsed.password = ""
      url = parsed.toString()
    } catch {
      // not a URL the platform can send either (it fails the attempt with InvalidUrl): its
      // credentials still reach no log line, span or error message
      url = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1")
    }
  } else if (url === target.baseUrl || url.startsWith(`${target.baseUrl}/`)) {
    // the base URL's credentials go to the base URL only, never to another host given in full
    authorization = target.authorization
  }
  let prepared = url === request.url ? request : HttpClientRequest.setUrl(request, url)
  if (params.length > 0) prepared = HttpClientRequest.appendUrlParams(prepared, params)
  if (authorization !== undefined && prepared.headers["authorization"] === undefined) {
    prepared = HttpClientRequest.setHeader(prepared, "authorization", authorization)
  }
  return prepared
}

/**
 * The path of a request relative to the base URL, for log lines (never its query).
 *
 * @internal
 */
export const describePath = (target: Target, request: HttpClientRequest.HttpClientRequest): string => {
  const url = request.url
  const path = url.startsWith(target.baseUrl) ? url.slice(target.baseUrl.length) : url
  return path === "" ? "/" : path
}

/**
 * Whether sending a request twice may do twice what it asks: a POST or a PATCH without an
 * `Idempotency-Key` header.
 *
 * @internal
 */
export const isUnsafe = (request: HttpClientRequest.HttpClientRequest): boolean =>
  (request.method === "POST" || request.method === "PATCH") && request.headers["idempotency-key"] === undefined

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

/** A `Raw` body the transports send from memory: sending it again sends the same bytes. */
const inMemory = (raw: unknown): boolean =>
  raw === null || raw === undefined || typeof raw === "string" || raw instanceof ArrayBuffer ||
  ArrayBuffer.isView(raw) || raw instanceof URLSearchParams ||
  (typeof Blob === "function" && raw instanceof Blob) ||
  (typeof FormData === "function" && raw instanceof FormData)

/**
 * The body of one call, as far as sending it again goes. A body held in memory (bytes, text,
 * JSON, form data) is not tracked at all; a stream body is, from the moment a transport starts
 * it: a one-shot stream (anything not marked {@link replayable}) is never sent twice, and a
 * failure of the stream itself is the caller's, not the service's.
 *
 * @internal
 */
export class SentBody {
  /** The transport started reading the body: what it took is gone, for a one-shot source. */
  started = false
  /** How the body's own stream failed during the attempt running now, if it did. */
  failure: Cause.Cause<unknown> | undefined = undefined
  constructor(
    /** The body may be sent again (marked {@link replayable}). */
    readonly replayable: boolean,
    /** The client sees when the transport starts the body (an Effect stream); otherwise an attempt starts it. */
    readonly seesStart: boolean
  ) {}
  /** Called as an attempt starts. */
  attemptStarts(): void {
    this.failure = undefined
    if (!this.seesStart) this.started = true
  }
  /** A retry would send the body again, and it cannot be sent again. */
  get spent(): boolean {
    return this.started && !this.replayable
  }
}

/**
 * `request`, with its body tracked if it is a stream (see {@link SentBody}); `undefined` for a
 * body held in memory, which any attempt can send again.
 *
 * @internal
 */
export const trackBody = (
  request: HttpClientRequest.HttpClientRequest
): { readonly request: HttpClientRequest.HttpClientRequest; readonly body: SentBody } | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
    case "Uint8Array":
    case "FormData":
      return undefined
    case "Raw":
      // a Node stream, a ReadableStream, an async iterable: the client cannot see it start
      return inMemory(body.body) ? undefined : { request, body: new SentBody(markedReplayable.has(body), false) }
    case "Stream": {
      const sent = new SentBody(markedReplayable.has(body), true)
      const tracked = Stream.tapErrorCause(
        Stream.suspend(() => {
          sent.started = true
          return body.stream
        }),
        (cause) =>
          Effect.sync(() => {
            // the transport stopping the body (the request ended) is no failure of the body's own
            if (!Cause.isInterruptedOnly(cause)) sent.failure = cause
          })
      )
      const withBody = HttpClientRequest.setBody(
        request,
        HttpBody.stream(tracked, body.contentType, body.contentLength)
      )
      // `setBody` sets the headers from the body: keep the ones the request had
      return { request: keepHeaders(withBody, request), body: sent }
    }
  }
}

/**
 * The failure of an attempt whose body's own stream failed (a file that could not be read): the
 * request could not be encoded, whatever the transport made of it. Never the service's failure.
 *
 * @internal
 */
export const bodyFailed = (
  request: HttpClientRequest.HttpClientRequest,
  failure: Cause.Cause<unknown>
): HttpClientError.RequestError =>
  new HttpClientError.RequestError({
    request,
    reason: "Encode",
    description: "the request body's stream failed while it was sent",
    cause: Cause.squash(failure)
  })

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

/**
 * Request preparation and redaction: the base URL and its credentials, inline queries moved to
 * URL params, credentials in absolute URLs moved to a header, and the words log lines use for a
 * request (never its query values or credentials).
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"

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
  return { header: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` }
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

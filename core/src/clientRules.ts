/**
 * The client's rules about URLs, credentials and transports, as plain functions both editions
 * share: the base URL a client is given (checked, its userinfo turned into a Basic
 * `authorization` header), the paths that would leave it, a query written in a URL, the words
 * for the client that an option error is about, the transport error codes that show a request
 * never left, and the request bodies that can be sent again. Web APIs only (`URL`,
 * `TextEncoder`, `btoa`): the client runs in browsers too.
 *
 * @internal
 */
import type { Checked } from "./types.js"
import { invalid, valid } from "./types.js"
import { nearestName } from "./validate.js"

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

/** Base64 of `bytes`, with the web's `btoa` (no Node-only API: the client runs in browsers). */
const base64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

/**
 * The path of a URL as written and its query (the text after `?`, `undefined` without one or
 * when it is empty); a fragment is dropped, as HTTP sends none.
 *
 * @internal
 */
export const splitQuery = (url: string): readonly [string, string | undefined] => {
  const hash = url.indexOf("#")
  const withoutHash = hash === -1 ? url : url.slice(0, hash)
  const question = withoutHash.indexOf("?")
  if (question === -1) return [withoutHash, undefined]
  const query = withoutHash.slice(question + 1)
  return [withoutHash.slice(0, question), query === "" ? undefined : query]
}

/** `scheme://…` @internal */
export const isAbsolute = (url: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(url)

/** `scheme://user:pass@host…` @internal */
export const hasUserinfo = (url: string): boolean => /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url)

/** `url` without what precedes an `@` in its authority (what a log line, span or error may show). @internal */
export const withoutUserinfo = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1")

/** A URL as an error message may show it: what precedes an `@` in its authority as `…`. */
const hideUserinfo = (value: string): string => value.replace(/^((?:[a-z][a-z0-9+.-]*:?\/\/)?)[^/?#]*@/i, "$1…@")

const redactUserinfo = (url: URL): string => {
  if (url.username === "" && url.password === "") return url.toString()
  const copy = new URL(url.toString())
  copy.username = ""
  copy.password = ""
  return copy.toString()
}

/**
 * The base URL of a client, checked: an absolute `http`/`https` URL without query or fragment,
 * its userinfo (if any) turned into a Basic `authorization` header and removed. An issue at
 * `baseUrl` says what was typed and what is wrong with it (credentials hidden).
 *
 * @internal
 */
export const parseBaseUrl = (value: unknown): Checked<Target> => {
  if (typeof value !== "string" || value.trim() === "") {
    return invalid(["baseUrl"], "is required: an absolute http(s) URL such as \"http://chroma:6003\"")
  }
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  // "chroma:6003" parses as the scheme "chroma" with the path "6003": a URL without its scheme
  if (url === undefined || (!value.includes("://") && url.protocol !== "http:" && url.protocol !== "https:")) {
    return invalid(["baseUrl"], notAUrl(value.trim()))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    const scheme = url.protocol.slice(0, -1)
    const meant = nearestName(scheme, ["http", "https"])
    const shown = redactUserinfo(url)
    return invalid(
      ["baseUrl"],
      `must use http or https, got the scheme "${scheme}" in ${JSON.stringify(shown)}${
        meant === undefined ? "" : `; did you mean ${JSON.stringify(`${meant}:${shown.slice(scheme.length + 1)}`)}?`
      }`
    )
  }
  if (url.search !== "" || url.hash !== "") {
    return invalid(["baseUrl"], "must not carry a query or a fragment; pass query values as urlParams")
  }
  const basic = basicAuthorization(url)
  if ("invalid" in basic) return invalid(["baseUrl"], basic.invalid)
  url.username = ""
  url.password = ""
  return valid({
    baseUrl: url.toString().replace(/\/+$/, ""),
    authority: authorityOf(url),
    authorization: basic.header
  })
}

/** `hostname:port`, the port filled in (80 or 443) when the URL has none. */
const authorityOf = (url: URL): string =>
  `${url.hostname}:${url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"}`

/**
 * Why a base URL that `URL` refuses (or reads as another scheme) is wrong, in terms of what was
 * typed: a scheme without "://" (`http//chroma:6003`), a port out of range or not a number, no
 * host, or no scheme at all (`chroma:6003`).
 */
const notAUrl = (value: string): string => {
  const shown = hideUserinfo(value)
  const got = `got ${JSON.stringify(shown)}`
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)
  if (scheme !== null) {
    const authority = value.slice(scheme[0].length).split(/[/?#]/)[0]!
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1)
    const [, host = hostPort, port] = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort) ?? []
    if (host === "") return `must name a host after "${scheme[0]}", ${got}`
    if (port !== undefined && port !== "" && !/^\d+$/.test(port)) {
      return `has a port that is not a number (${JSON.stringify(port)}), ${got}`
    }
    if (port !== undefined && Number(port) > 65535) {
      return `has the port ${port}, out of range (a port is 1 to 65535), ${got}`
    }
    return `is not a valid URL (a host name has letters, digits, "-" and "."), ${got}`
  }
  const example = "such as \"http://chroma:6003\""
  const slashes = /^(https?)(?::?\/{1,2}|:\\+)(?=[^/\\])/i.exec(shown)
  if (slashes !== null) {
    return `must start with its scheme and "://", ${example}, ${got}; did you mean ${
      JSON.stringify(`${slashes[1]!.toLowerCase()}://${shown.slice(slashes[0].length)}`)
    }?`
  }
  const suggestion = /^[a-z0-9[]/i.test(shown) ? `; did you mean ${JSON.stringify(`http://${shown}`)}?` : ""
  return `must be an absolute http(s) URL with its scheme, ${example}, ${got}${suggestion}`
}

/**
 * Who an option error is about: the client's id or name as given, else its host, else
 * `fallback` (a layer's tag).
 *
 * @internal
 */
export const culpritOf = (options: unknown, fallback: string | undefined): string | undefined => {
  if (typeof options !== "object" || options === null || Array.isArray(options)) return fallback
  const given = options as { readonly id?: unknown; readonly serviceName?: unknown; readonly baseUrl?: unknown }
  for (const value of [given.id, given.serviceName]) {
    if (typeof value === "string" && value.trim() !== "") return value
  }
  if (typeof given.baseUrl === "string") {
    try {
      const url = new URL(given.baseUrl)
      if (url.hostname !== "") return authorityOf(url)
    } catch {
      // no host to show: the tag names the client, if any
    }
  }
  return fallback
}

/**
 * The path of a request's URL relative to the base URL, for log lines, spans and events (never
 * its query).
 *
 * @internal
 */
export const describePath = (target: Target, url: string): string => {
  const [written] = splitQuery(url)
  const path = written.startsWith(target.baseUrl) ? written.slice(target.baseUrl.length) : written
  return path === "" ? "/" : path
}

/**
 * What a path needs to leave the base URL: a segment that starts with a dot (`.` or `%2e`), a
 * `\\`, a `:` (an absolute URL), a tab, CR or LF (dropped by the URL parser, they can join dots).
 */
const mayLeaveBase = /[\\:\t\n\r]|(?:^|\/)(?:\.|%2e)/i

/**
 * Why `path` leaves the base URL, or `undefined` when it stays under it: an absolute URL, or a
 * path the URL parser resolves above the base URL's path. Resolved by the parser itself (as the
 * transports resolve it), so that what it reads as `..` counts whatever it was written as:
 * `%2e%2e`, `.\t.` (it drops tab, CR and LF), `..\\` (it reads `\\` as `/` in an http(s) URL).
 *
 * @internal
 */
export const outsideBase = (path: string, baseUrl: string): string | undefined => {
  // the common case, a plain path, costs one test
  if (!mayLeaveBase.test(path)) return undefined
  if (isAbsolute(path)) {
    return `is an absolute URL, not a path under baseUrl ${baseUrl} (call another host with execute)`
  }
  let base: URL
  let resolved: URL
  try {
    base = new URL(baseUrl)
    // joined as the request is prepared
    resolved = new URL(baseUrl + (path.startsWith("/") ? path : `/${path}`))
  } catch {
    // not a URL the transports can send either: they fail the attempt with an invalid URL
    return undefined
  }
  const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`
  const inside = resolved.origin === base.origin &&
    (resolved.pathname === base.pathname || resolved.pathname.startsWith(basePath))
  return inside ? undefined : `climbs above baseUrl ${baseUrl} with ".." segments`
}

/**
 * Whether sending a request twice may do twice what it asks: a POST or a PATCH without an
 * `Idempotency-Key` header (`idempotencyKey`, the header's value if any).
 *
 * @internal
 */
export const isUnsafe = (method: string, idempotencyKey: string | undefined): boolean =>
  (method === "POST" || method === "PATCH") && idempotencyKey === undefined

/**
 * Error codes of a transport failure that happened before the request could be sent: refused
 * connections, DNS failures, unreachable hosts, connect timeouts.
 */
const notSentCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT"
])

/**
 * Whether the cause of a transport error shows that the request never left: a code from
 * {@link notSentCodes}, or a system error raised by `connect` or `getaddrinfo`. Looks through
 * `cause` chains (fetch wraps the system error) and `AggregateError`s (every address tried
 * failed to connect).
 *
 * @internal
 */
export const neverSent = (cause: unknown, depth = 0): boolean => {
  if (typeof cause !== "object" || cause === null || depth > 4) return false
  const { code, errors, syscall } = cause as { code?: unknown; syscall?: unknown; errors?: unknown }
  if (typeof code === "string" && notSentCodes.has(code)) return true
  if (syscall === "connect" || syscall === "getaddrinfo") return true
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => neverSent(e, depth + 1))) return true
  return neverSent((cause as { cause?: unknown }).cause, depth + 1)
}

/**
 * A raw body a transport sends from memory: sending it again sends the same bytes.
 *
 * @internal
 */
export const inMemory = (raw: unknown): boolean =>
  raw === null || raw === undefined || typeof raw === "string" || raw instanceof ArrayBuffer ||
  ArrayBuffer.isView(raw) || raw instanceof URLSearchParams ||
  (typeof Blob === "function" && raw instanceof Blob) ||
  (typeof FormData === "function" && raw instanceof FormData)

/**
 * A source someone already read from: a Node `Readable` read, ended or destroyed, a web
 * `ReadableStream` locked to a reader (feature-detected: no Node import, the client runs in
 * browsers).
 *
 * @internal
 */
export const alreadyRead = (raw: unknown): boolean => {
  if (typeof raw !== "object" || raw === null) return false
  const source = raw as {
    readonly readableDidRead?: unknown
    readonly readableEnded?: unknown
    readonly destroyed?: unknown
    readonly locked?: unknown
  }
  if (typeof source.readableDidRead === "boolean") {
    return source.readableDidRead || source.readableEnded === true || source.destroyed === true
  }
  return typeof ReadableStream === "function" && raw instanceof ReadableStream && raw.locked
}

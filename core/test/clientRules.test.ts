/**
 * The client's rules of the core: base URLs, paths that leave them, queries and credentials, the
 * transport errors that show a request never left, the bodies that can be sent again.
 */
import { describe, expect, it } from "vitest"
import * as Rules from "../src/clientRules.js"

const issueOf = (value: unknown) => {
  const checked = Rules.parseBaseUrl(value)
  return checked._tag === "Invalid" ? checked.issue : undefined
}

describe("the base URL", () => {
  it("keeps the URL without its userinfo, which becomes a Basic authorization header", () => {
    expect(Rules.parseBaseUrl("http://alice:s3cr3t@chroma:6003/api/")).toEqual({
      _tag: "Valid",
      value: {
        baseUrl: "http://chroma:6003/api",
        authority: "chroma:6003",
        authorization: `Basic ${btoa("alice:s3cr3t")}`
      }
    })
    expect(Rules.parseBaseUrl("https://billing")).toEqual({
      _tag: "Valid",
      value: { baseUrl: "https://billing", authority: "billing:443", authorization: undefined }
    })
  })

  it("says what was typed and what is wrong with it, at baseUrl, credentials hidden", () => {
    expect(issueOf("")?.message).toBe("is required: an absolute http(s) URL such as \"http://chroma:6003\"")
    expect(issueOf("chroma:6003")?.message).toBe(
      "must be an absolute http(s) URL with its scheme, such as \"http://chroma:6003\", got \"chroma:6003\"; did you mean \"http://chroma:6003\"?"
    )
    expect(issueOf("htp://chroma:6003")?.message).toBe(
      "must use http or https, got the scheme \"htp\" in \"htp://chroma:6003\"; did you mean \"http://chroma:6003\"?"
    )
    expect(issueOf("http://x:1/?q=1")?.message).toBe(
      "must not carry a query or a fragment; pass query values as urlParams"
    )
    expect(issueOf("http://us%zzer:pw@chroma:6003")?.message).toBe(
      "has a malformed percent-encoding (%XX) in its user or password"
    )
    const secret = issueOf("http//svc:zqSecret1@chroma:6003")
    expect(secret?.path).toEqual(["baseUrl"])
    expect(secret?.message).toContain("did you mean \"http://…@chroma:6003\"?")
    expect(secret?.message).not.toContain("zqSecret1")
  })

  it("names the client an error is about by id, name or host", () => {
    expect(Rules.culpritOf({ id: "billing", serviceName: "Billing" }, "tag")).toBe("billing")
    expect(Rules.culpritOf({ serviceName: "Billing" }, "tag")).toBe("Billing")
    expect(Rules.culpritOf({ baseUrl: "http://billing.test" }, "tag")).toBe("billing.test:80")
    expect(Rules.culpritOf({ baseUrl: "not a url" }, "tag")).toBe("tag")
  })
})

describe("paths and queries", () => {
  const base = "http://svc:8080/api"
  it("a path that climbs above the base URL or names another host leaves it, whatever it is written as", () => {
    for (const path of ["../admin", "/a/../../admin", "%2e%2e/admin", "..\\admin", ".\t./admin"]) {
      expect(Rules.outsideBase(path, base)).toBe(`climbs above baseUrl ${base} with ".." segments`)
    }
    expect(Rules.outsideBase("http://other:9/x", base)).toContain("is an absolute URL")
    for (const path of ["/query", "query", "/items/../users/7", "/a.b/c"]) {
      expect(Rules.outsideBase(path, base)).toBeUndefined()
    }
  })

  it("a query is split from its path, a fragment dropped; a path is shown relative to the base URL", () => {
    expect(Rules.splitQuery("/search?q=a%20b#top")).toEqual(["/search", "q=a%20b"])
    expect(Rules.splitQuery("/search?")).toEqual(["/search", undefined])
    const target = { baseUrl: base, authority: "svc:8080", authorization: undefined }
    expect(Rules.describePath(target, `${base}/search?api_key=x`)).toBe("/search")
    expect(Rules.describePath(target, base)).toBe("/")
    expect(Rules.withoutUserinfo("http://admin:pw@other:81/x")).toBe("http://other:81/x")
  })

  it("a POST or PATCH without an Idempotency-Key is unsafe to repeat", () => {
    expect(Rules.isUnsafe("POST", undefined)).toBe(true)
    expect(Rules.isUnsafe("PATCH", undefined)).toBe(true)
    expect(Rules.isUnsafe("POST", "k1")).toBe(false)
    expect(Rules.isUnsafe("PUT", undefined)).toBe(false)
  })
})

describe("transports and bodies", () => {
  it("a refused connect or a failed lookup shows the request never left; a reset does not", () => {
    const system = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall })
    expect(Rules.neverSent(system("ECONNREFUSED", "connect"))).toBe(true)
    expect(Rules.neverSent({ cause: system("ENOTFOUND", "getaddrinfo") })).toBe(true)
    expect(Rules.neverSent(new AggregateError([system("ECONNREFUSED", "connect"), system("EHOSTUNREACH", "connect")])))
      .toBe(true)
    expect(Rules.neverSent(system("ECONNRESET", "read"))).toBe(false)
    expect(Rules.neverSent(undefined)).toBe(false)
  })

  it("a body in memory can be sent again; a locked stream was read already", () => {
    expect(Rules.inMemory("text")).toBe(true)
    expect(Rules.inMemory(new Uint8Array(1))).toBe(true)
    expect(Rules.inMemory(new ReadableStream())).toBe(false)
    const stream = new ReadableStream()
    expect(Rules.alreadyRead(stream)).toBe(false)
    stream.getReader()
    expect(Rules.alreadyRead(stream)).toBe(true)
    expect(Rules.alreadyRead({ readableDidRead: true })).toBe(true)
  })
})

/**
 * `Request.prepare` takes a shortcut for the usual call (a path under the base URL, without
 * query or fragment). The shortcut must give exactly the request of the general path: the same
 * URL, URL params and headers, the base URL's credentials included. A fragment (which HTTP never
 * sends, so the general path drops it) sends the same path through the general path.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as fc from "fast-check"
import { propertyRuns } from "../../test/utils/propertyRuns.js"
import * as Request from "../src/internal/client/request.js"

const targets: ReadonlyArray<Request.Target> = [
  { baseUrl: "http://billing.test", authority: "billing.test:80", authorization: undefined },
  { baseUrl: "https://api.test:8443/v1", authority: "api.test:8443", authorization: "Basic YWxpY2U6cw==" },
  { baseUrl: "", authority: "billing", authorization: undefined }
]

const shown = (request: HttpClientRequest.HttpClientRequest) => ({
  url: request.url,
  urlParams: request.urlParams,
  headers: { ...request.headers }
})

const segment = fc.stringMatching(/^[A-Za-z0-9._~%@:+,;=!$&'()*-]{0,12}$/)

describe("Request.prepare for a plain relative path", () => {
  it("gives the request the general path gives (property)", () =>
    fc.assert(
      fc.property(
        fc.constantFrom(...targets),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        (target, segments, ownAuthorization, params) => {
          const path = `/${segments.join("/")}`
          let request = HttpClientRequest.get(path)
          if (ownAuthorization) request = HttpClientRequest.setHeader(request, "authorization", "Bearer mine")
          if (params) request = HttpClientRequest.setUrlParam(request, "page", "2")
          const fast = Request.prepare(target, request)
          const general = Request.prepare(target, HttpClientRequest.setUrl(request, `${path}#fragment`))
          expect(shown(fast)).toEqual(shown(general))
        }
      ),
      { numRuns: propertyRuns }
    ))

  it("adds the base URL's credentials, and keeps the caller's own", () => {
    const target = targets[1]!
    expect(Request.prepare(target, HttpClientRequest.get("/charges")).headers["authorization"]).toBe(
      "Basic YWxpY2U6cw=="
    )
    expect(Request.prepare(target, HttpClientRequest.get("/charges")).url).toBe("https://api.test:8443/v1/charges")
    const own = HttpClientRequest.setHeader(HttpClientRequest.get("/charges"), "authorization", "Bearer mine")
    expect(Request.prepare(target, own).headers["authorization"]).toBe("Bearer mine")
  })
})

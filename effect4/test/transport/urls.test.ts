/**
 * The URL a ResilientServiceClient sends, on each transport, to a node:http server on 127.0.0.1
 * (port 0): a query written in the path arrives as written, its values stay out of error
 * messages and log lines, and a path that would leave the base URL is refused before anything
 * is sent.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { ResilientServiceClient } from "../../src/index.js"
import { makeLogCapture } from "../utils/logs.js"
import {
  answerJson,
  describeTransports,
  provideTransport,
  reasonOf,
  recordingServer,
  transportsAndFetch
} from "./transports.js"

const fast = { backoff: "1 millis", timeout: "2 seconds" } as const

describeTransports("ResilientServiceClient URLs", (transport) => {
  const run = <A, E, R>(self: Effect.Effect<A, E, R>) => self.pipe(provideTransport(transport))

  it.live("a query written in the path arrives as written, URL params after it", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const client = yield* ResilientServiceClient.make({ baseUrl: `${server.url}/api`, ...fast })
      yield* client.get("/search?flag&tags=a;b&q=a%20b")
      yield* client.get("search?flag&tags=a;b", { urlParams: { page: 2, q: "a b" } })
      yield* client.execute(HttpClientRequest.get("/items?id=1,2&sort=-date#top"))
      yield* client.get("/plain", { urlParams: { q: "a b" } })
      expect(server.seen.map((seen) => seen.url)).toEqual([
        "/api/search?flag&tags=a;b&q=a%20b",
        "/api/search?flag&tags=a;b&page=2&q=a+b",
        "/api/items?id=1,2&sort=-date",
        "/api/plain?q=a+b"
      ])
    }).pipe(run))

  it.live("its values reach no error message and no log line (the request carries them)", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 503, { error: "busy" }))
      const logs = makeLogCapture()
      // what the caller's classifier is shown
      const judged: Array<string> = []
      const [error, encodeError] = yield* Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({
          baseUrl: server.url.replace("://", "://alice:s3cr3t-pw@"),
          ...fast,
          maxAttempts: 2,
          isFailure: (error) => {
            judged.push(String(error))
            return true
          }
        })
        const error = yield* Effect.flip(client.get("/search?api_key=TOPSECRET&q=cats"))
        const circular: Record<string, unknown> = {}
        circular.self = circular
        const encodeError = yield* Effect.flip(client.post("/save?token=TOPSECRET", { json: circular }))
        return [error, encodeError] as const
      }).pipe(logs.provide)
      expect(server.seen.map((seen) => seen.url)).toEqual([
        "/search?api_key=TOPSECRET&q=cats",
        "/search?api_key=TOPSECRET&q=cats"
      ])
      expect(error._tag === "HttpClientError" && reasonOf(error)).toBe("StatusCodeError")
      const response = error as Extract<typeof error, { readonly _tag: "HttpClientError" }>
      expect(response.message).toContain(`503 GET ${server.url}/search`)
      // the values are still there for code that looks for them, as URL params
      expect(response.request.urlParams.params).toEqual([["api_key", "TOPSECRET"], ["q", "cats"]])
      expect(judged.length).toBeGreaterThan(0)
      const printed = [...logs.messages(), response.message, String(error), encodeError.message, ...judged].join("\n")
      expect(printed).not.toContain("TOPSECRET")
      expect(printed).not.toContain("s3cr3t")
      expect(logs.messages().some((line) => line.includes("HTTP 503"))).toBe(true)
    }).pipe(run))

  it.live("an absolute URL or a path climbing above baseUrl is refused: InvalidUrlError, nothing sent", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer((_request, res) => answerJson(res, 200, {}))
      const client = yield* ResilientServiceClient.make({ baseUrl: `${server.url}/api/v1`, ...fast })
      const refusals: Array<readonly [string, string]> = [
        [`${server.url.replace("://", "://bob:pw@")}/other?k=SECRET`, "is an absolute URL, not a path under baseUrl"],
        ["../admin", "climbs above baseUrl"],
        ["/items/../../admin?k=SECRET", "climbs above baseUrl"],
        ["/%2e%2e/admin", "climbs above baseUrl"],
        // what the URL parser reads as `..`: `\\` is `/` in an http(s) URL, tab, CR and LF are dropped
        ["/..\\..\\admin", "climbs above baseUrl"],
        ["..\\..\\admin?k=SECRET", "climbs above baseUrl"],
        ["/.\t./.\t./admin", "climbs above baseUrl"],
        ["/\n../../admin", "climbs above baseUrl"],
        ["/.\r.\\%2E./admin", "climbs above baseUrl"]
      ]
      for (const [path, words] of refusals) {
        const error = yield* Effect.flip(client.get(path))
        expect(error._tag === "HttpClientError" && reasonOf(error)).toBe("InvalidUrlError")
        expect(error.message).toContain(words)
        expect(error.message).toContain(`${server.url}/api/v1`)
        expect(error.message).not.toContain("SECRET")
        expect(error.message).not.toContain("bob:pw")
      }
      expect(server.seen).toEqual([])
      // paths that stay under the base URL go out
      yield* client.get("/items/../users/./7")
      yield* client.get("/items\\..\\users/.\t./8")
      expect(server.seen.map((seen) => seen.url)).toEqual(["/api/v1/users/7", "/api/v1/8"])
      expect(yield* Effect.map(client.status, (status) => status.failureCount)).toBe(0)
    }).pipe(run))
}, transportsAndFetch)

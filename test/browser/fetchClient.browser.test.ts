/**
 * The resilient client in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core), on the platform's `FetchHttpClient`: the client's sources are bundled for the
 * browser (esbuild, `platform: "browser"`: no Node module can creep in) and served, with the page
 * and the endpoints it calls, by a node:http server on 127.0.0.1 (port 0). A body that arrives in
 * several chunks without a `content-length`, a retried 503, an upload and Basic credentials from
 * the base URL each go through the browser's fetch.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { build } from "esbuild"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { launchBrowser } from "../utils/browser.js"

const bundlePage = Effect.promise(async () => {
  const result = await build({
    entryPoints: [path.join(import.meta.dirname, "fetchClient.page.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent"
  })
  return result.outputFiles[0]!.text
})

const chunks = ["first chunk|", "second chunk|", "third chunk"]

interface Seen {
  authorization: string | undefined
  flakyRequests: number
}

/** The page, its script, and the endpoints the page calls. */
const serve = (script: string, seen: Seen) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((req, res) => {
        const body: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => body.push(chunk))
        req.on("end", () => {
          switch (req.url) {
            case "/":
              res.writeHead(200, { "content-type": "text/html" })
              res.end("<!doctype html><title>client</title><script type=\"module\" src=\"/page.js\"></script>")
              return
            case "/page.js":
              res.writeHead(200, { "content-type": "text/javascript" })
              res.end(script)
              return
            case "/chunked": {
              seen.authorization = req.headers.authorization
              // no content-length: chunked transfer, each chunk written once the last one went out
              res.writeHead(200, { "content-type": "text/plain" })
              const next = (i: number) => {
                if (i === chunks.length) return res.end()
                res.write(chunks[i], () => next(i + 1))
              }
              next(0)
              return
            }
            case "/flaky":
              seen.flakyRequests++
              res.writeHead(seen.flakyRequests === 1 ? 503 : 200, { "content-type": "application/json" })
              res.end(JSON.stringify({ request: seen.flakyRequests }))
              return
            case "/upload":
              res.writeHead(200, { "content-type": "application/json" })
              res.end(JSON.stringify({ received: Buffer.concat(body).toString("utf8") }))
              return
            default:
              res.writeHead(404)
              res.end()
          }
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

describe("ResilientServiceClient on FetchHttpClient in Chromium", () => {
  it.scopedLive("a chunked body without content-length, a retried 503, an upload and Basic credentials", () =>
    Effect.gen(function*() {
      const seen: Seen = { authorization: undefined, flakyRequests: 0 }
      const server = yield* serve(yield* bundlePage, seen)
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const browser = yield* launchBrowser
      const page = yield* Effect.promise(() => browser.newPage())
      yield* Effect.promise(() => page.goto(`${origin}/`))
      yield* Effect.promise(() => page.waitForFunction(() => "runChecks" in globalThis))
      const result = yield* Effect.promise(() =>
        page.evaluate(
          (origin) => (globalThis as unknown as { runChecks: (origin: string) => Promise<unknown> }).runChecks(origin),
          origin
        )
      )
      expect(result).toEqual({
        chunked: chunks.join(""),
        flaky: { request: 2 },
        upload: { received: "uploaded from the page" }
      })
      expect(seen.flakyRequests).toBe(2)
      expect(seen.authorization).toBe(`Basic ${Buffer.from("alice:päss").toString("base64")}`)
    }))
})

import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { expectInOrder, runDemo } from "./utils/demo.js"

describe("npm run demo", () => {
  it.live("runs the whole scenario, exits 0 and measures every cell of the table", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runDemo("--quick")
      expect(stderr).toBe("")
      expect(code).toBe(0)
      // the scripted scenario, in order
      const order = [
        "upstream healthy",
        "GET /search → chroma",
        "POST /charge → HTTP 200",
        "retryUnsafeMethods: false and each charge carries an Idempotency-Key",
        "upstream down",
        "Chroma Server: closed → open",
        "fallback (ServiceUnavailable)",
        // why the second call: attempts are counted, not calls
        "open during call #2: the breaker counts failed attempts, not calls",
        "POST /charge → HTTP 503",
        "billing answers 503 on purpose",
        "fails closed",
        "upstream back up",
        "Chroma Server: open → half_open",
        "Chroma Server: half_open → closed",
        "Chroma Server is closed",
        // progress while the table is measured, row by row
        "measuring row 1/3, Service down",
        "row 1/3 measured in",
        "measuring row 2/3, Transient failure",
        "measuring row 3/3, Recovery",
        "row 3/3 measured in",
        "| Scenario",
        // what the Recovery row compares
        "Recovery: \"before\" is a client without a breaker that never stopped calling",
        "waited out its recovery timeout"
      ]
      expectInOrder(stdout, order)
      const rows = stdout.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| Scenario"))
      expect(rows.length).toBe(3)
      for (const row of rows) {
        const [, before, after, improvement] = row.split("|").slice(1, -1).map((c) => c.trim())
        // every measured cell holds a figure; "Recovery"'s improvement is words
        const measured = row.startsWith("| Recovery") ? [before, after] : [before, after, improvement]
        for (const cell of measured) expect(cell).toMatch(/\d/)
      }
    }), 60_000)
})

/**
 * Starts `npm run demo -- --serve` (with the shortest timings) and lets a test wait for what it
 * prints: each wait is resumed by the output itself, never by a timer.
 */
const serveDemo = Effect.acquireRelease(
  Effect.sync(() => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/demo/main.ts", "--serve", "--quick"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const waiting = new Set<() => void>()
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      for (const wake of waiting) wake()
    })
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    /** Resumes once the output holds `text` after position `from`; gives the position just after it. */
    const printed = (text: string, from = 0) =>
      Effect.async<number>((resume) => {
        const wake = () => {
          const at = stdout.indexOf(text, from)
          if (at >= 0) {
            waiting.delete(wake)
            resume(Effect.succeed(at + text.length))
          }
        }
        waiting.add(wake)
        wake()
        return Effect.sync(() => waiting.delete(wake))
      })
    return { child, printed, stdout: () => stdout, stderr: () => stderr }
  }),
  ({ child }) => Effect.sync(() => child.kill())
)

const fetchJson = (url: string, method = "GET") =>
  Effect.promise(() =>
    fetch(url, { method }).then(async (response) => ({ status: response.status, body: await response.json() as any }))
  )

describe("npm run demo -- --serve", () => {
  it.live(
    "prints the status page and the upstream switches; POST /demo/upstream/down opens the breaker, /up closes it",
    () =>
      Effect.gen(function*() {
        const demo = yield* serveDemo
        yield* demo.printed("/demo/upstream/up")
        const gateway = /status page\s+(http:\/\/127\.0\.0\.1:\d+)\/v1\/api\/status\n/.exec(demo.stdout())?.[1]
        expect(gateway, demo.stdout()).toBeDefined()
        expect(demo.stdout()).toContain(`curl -X POST ${gateway}/demo/upstream/down`)
        const page = yield* Effect.promise(() => fetch(`${gateway}/v1/api/status`))
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toContain("text/html")

        const down = yield* fetchJson(`${gateway}/demo/upstream/down`, "POST")
        expect(down).toEqual({ status: 200, body: { upstream: "refusing" } })
        // the background caller's searches fail until the breaker opens
        const opened = yield* demo.printed("Chroma Server: closed → open")
        expect((yield* fetchJson(`${gateway}/v1/api/status/services/chroma`)).body.state).toBe("open")

        yield* fetchJson(`${gateway}/demo/upstream/up`, "POST")
        yield* demo.printed("Chroma Server: half_open → closed", opened)
        expect((yield* fetchJson(`${gateway}/v1/api/status/services/chroma`)).body.state).toBe("closed")

        expect((yield* fetchJson(`${gateway}/demo/upstream/sideways`, "POST")).status).toBe(404)

        // billing's charges carry an Idempotency-Key: the caller's, or one made per charge
        const keyed = yield* Effect.promise(() =>
          fetch(`${gateway}/charge`, { method: "POST", headers: { "Idempotency-Key": "order-7" } }).then((r) =>
            r.json()
          )
        )
        expect(keyed).toEqual({ charged: true, idempotency_key: "order-7" })
        expect((yield* fetchJson(`${gateway}/charge`, "POST")).body.idempotency_key).toMatch(/^charge-[0-9a-f-]{36}$/)
        expect(demo.stderr()).toBe("")
      }).pipe(Effect.scoped),
    30_000
  )
})

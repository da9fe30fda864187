import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"

/** Runs the demo as a user would (with its shortest timings) and collects what it prints. */
const runDemo = Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/demo/main.ts", "--quick"], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  return Effect.sync(() => child.kill())
})

describe("npm run demo", () => {
  it.live("runs the whole scenario, exits 0 and measures every cell of the table", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runDemo
      expect(stderr).toBe("")
      expect(code).toBe(0)
      // the scripted scenario, in order
      const order = [
        "upstream healthy",
        "GET /search → chroma",
        "upstream down",
        "Chroma Server: closed → open",
        "fallback (ServiceUnavailable)",
        "POST /charge → HTTP 503",
        "upstream back up",
        "Chroma Server: open → half_open",
        "Chroma Server: half_open → closed",
        "Chroma Server is closed"
      ]
      let at = 0
      for (const marker of order) {
        const found = stdout.indexOf(marker, at)
        expect(found, `"${marker}" after position ${at}`).toBeGreaterThanOrEqual(at)
        at = found
      }
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

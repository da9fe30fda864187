/**
 * `npm run demo -- --fleet` as a user runs it (shortest timings): three forked replica processes,
 * a private redis-server, one embedded upstream. It must exit 0 by itself, show the fleet
 * following replica 1 and closing again, and let fewer requests reach the dead upstream than
 * independent breakers do.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expectInOrder, runDemo, runDemoWithEnv } from "./utils/demo.js"
import { describeWithRedis } from "./utils/redisSuite.js"

describeWithRedis("npm run demo -- --fleet", () => {
  it.live(
    "runs the fleet and the independent replicas, exits 0, and the fleet lets fewer requests through",
    () =>
      Effect.gen(function*() {
        const { code, stderr, stdout } = yield* runDemo("--fleet", "--quick")
        expect(stderr).toBe("")
        expect(code).toBe(0)
        const order = [
          "fleet: 3 replicas",
          "upstream down",
          "replica-1 open",
          "after the first",
          "every replica closed again",
          "independent: 3 replicas",
          "every replica closed again"
        ]
        expectInOrder(stdout, order)
        const totals = /fleet (\d+), independent breakers (\d+)/.exec(stdout)
        expect(totals).not.toBeNull()
        expect(Number(totals![1])).toBeLessThan(Number(totals![2]))
      }),
    90_000
  )
})

describe("npm run demo -- --fleet without redis-server", () => {
  it.live(
    "says what is missing and how to install it, and exits 1 before starting anything",
    () =>
      Effect.gen(function*() {
        // a PATH with nothing on it: no redis-server to find (node itself is run by its path)
        const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "no-redis-"))
        const { code, stderr, stdout } = yield* runDemoWithEnv({ ...process.env, PATH: emptyDir }, "--fleet", "--quick")
        fs.rmSync(emptyDir, { recursive: true, force: true })
        expect(code).toBe(1)
        expect(stdout).toBe("")
        expect(stderr).toContain("The fleet demo needs redis-server")
        expect(stderr).toContain("sudo apt-get install redis-server")
        expect(stderr).not.toContain("ENOENT")
      }),
    60_000
  )
})

describe("npm test without redis-server", () => {
  /** vitest on one Redis suite, as `npm test` runs it, with a PATH where no redis-server is. */
  const vitestWithoutRedis = (ci: boolean) => {
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "no-redis-"))
    const { CI: _ci, ...env } = process.env
    const run = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "test/Redis.test.ts"], {
      env: { ...env, PATH: emptyDir, NO_COLOR: "1", ...(ci ? { CI: "true" } : {}) },
      encoding: "utf8"
    })
    fs.rmSync(emptyDir, { recursive: true, force: true })
    return run
  }

  it("prints one line naming the skipped suites and why; under CI=true the run fails", () => {
    const skipped = vitestWithoutRedis(false)
    expect(skipped.status, skipped.stderr).toBe(0)
    const lines = skipped.stdout.split("\n").filter((line) => line.includes("skipped: redis-server"))
    expect(lines).toEqual([
      "1 fleet suite skipped: redis-server is not on PATH (Debian: apt-get install redis-server; with CI set they fail instead): Redis connection"
    ])
    const underCi = vitestWithoutRedis(true)
    expect(underCi.status).toBe(1)
    expect(underCi.stdout).toContain("redis-server is required under CI but was not found on PATH")
  }, 60_000)
})

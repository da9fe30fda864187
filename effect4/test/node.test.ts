import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createRequire } from "node:module"
import * as Resilience from "../src/index.js"

const require = createRequire(import.meta.url)
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version

const atLeast = (actual: string, minimum: readonly [number, number]): boolean => {
  const [major = 0, minor = 0] = actual.replace(/^v/, "").split(".").map(Number)
  return major > minimum[0] || (major === minimum[0] && minor >= minimum[1])
}

describe("the Effect 4 edition's toolchain", () => {
  it("runs on Node >= 22.19 (from the node package), not the machine's Node", () => {
    expect(atLeast(process.version, [22, 19]), process.version).toBe(true)
  })

  it("resolves effect 4.x, @effect/vitest 4.x and vitest 5.x from effect4/node_modules", () => {
    expect(versionOf("effect")).toMatch(/^4\./)
    expect(versionOf("@effect/vitest")).toMatch(/^4\./)
    expect(versionOf("vitest")).toMatch(/^5\./)
  })

  it.effect("runs effects with @effect/vitest 4", () =>
    Effect.gen(function*() {
      const doubled = yield* Effect.succeed(21).pipe(Effect.map((n) => n * 2))
      expect(doubled).toBe(42)
    }))

  it("declares the package version its package.json has", () => {
    expect(Resilience.version).toBe((require("../package.json") as { version: string }).version)
  })
})

/**
 * The core is shared by both editions: its sources import nothing but other core sources (no
 * `effect`, no Node module, nothing of an edition) and use no platform global, clock or timer,
 * so that each edition can compile them as they are.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const sourceDir = resolve(dirname(fileURLToPath(import.meta.url)), "../src")

// static imports and re-exports (`import … from "x"`, `export … from "x"`, `import "x"`), dynamic
// imports and `require` calls
const specifierPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g

/** The module specifiers a source names. */
const specifiers = (source: string): ReadonlyArray<string> =>
  Array.from(source.matchAll(specifierPattern), (match) => match[1]!)

/** The specifiers of `file` that leave the core's sources. */
const outside = (file: string): ReadonlyArray<string> =>
  specifiers(readFileSync(file, "utf8")).filter((specifier) => {
    if (!specifier.startsWith("./") && !specifier.startsWith("../")) return true
    const target = relative(sourceDir, resolve(dirname(file), specifier))
    return target.startsWith("..") || !specifier.endsWith(".js")
  })

describe("core purity", () => {
  const files = readdirSync(sourceDir).filter((name) => name.endsWith(".ts"))

  it("finds the core's sources", () => {
    expect(files).toEqual(expect.arrayContaining(["machine.ts", "strategies.ts", "fleetProtocol.ts", "types.ts"]))
  })

  it.each(files)("%s imports nothing outside core/src", (name) => {
    expect(outside(join(sourceDir, name))).toEqual([])
  })

  // what only Node has, and what reads the clock or schedules work behind the caller
  const forbiddenGlobals =
    /\b(?:process\.|Buffer\b|setTimeout\b|setInterval\b|Date\.now\b|console\.|new Promise\b|globalThis\b)/

  it.each(files)("%s uses no platform global, clock or timer", (name) => {
    const found = readFileSync(join(sourceDir, name), "utf8").split("\n").filter((line) => forbiddenGlobals.test(line))
    expect(found).toEqual([])
  })

  it("the check sees every kind of import that leaves core", () => {
    const source = [
      `import * as Effect from "effect/Effect"`,
      `import type { Duration } from "effect"`,
      `export { x } from "../../src/index.js"`,
      `import "node:fs"`,
      `const lazy = import("node:crypto")`,
      `import { step } from "./machine.js"`
    ].join("\n")
    expect(specifiers(source)).toEqual([
      "effect/Effect",
      "effect",
      "../../src/index.js",
      "node:fs",
      "node:crypto",
      "./machine.js"
    ])
  })
})

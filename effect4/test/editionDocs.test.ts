import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The TypeScript blocks of this edition's README and of every page of its docs/ stand, word for
 * word, in files under examples/, which `npm run typecheck` compiles: a snippet a reader copies
 * cannot rot. The pages import "effect-resilience"; the examples import the sources.
 * (docs/getting-started.md has its own check, test/gettingStarted.test.ts.)
 */
const edition = path.resolve(import.meta.dirname, "..")

/** The README and every page of docs/ but getting-started.md. */
const pages = [
  "README.md",
  ...fs.readdirSync(path.join(edition, "docs"))
    .filter((file) => file.endsWith(".md") && file !== "getting-started.md")
    .sort()
    .map((file) => `docs/${file}`)
]

const blocksOf = (file: string): ReadonlyArray<string> => {
  const full = path.join(edition, file)
  if (!fs.existsSync(full)) return []
  return Array.from(fs.readFileSync(full, "utf8").matchAll(/```ts\n([\s\S]*?)```/g), (m) => m[1]!)
}

const asExample = (block: string, depth: number): string => {
  const up = "../".repeat(depth)
  return block
    .replaceAll("from \"effect-resilience/testing\"", `from "${up}src/Testing.js"`)
    .replaceAll("from \"effect-resilience\"", `from "${up}src/index.js"`)
    .trim()
}

/** Every example's text below its header line, with its depth under effect4/. */
const examples = (dir: string, depth: number): ReadonlyArray<{ readonly depth: number; readonly text: string }> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? examples(path.join(dir, entry.name), depth + 1)
      : entry.name.endsWith(".ts")
      ? [{ depth, text: fs.readFileSync(path.join(dir, entry.name), "utf8") }]
      : []
  )

const all = examples(path.join(edition, "examples"), 1)

describe("the Effect 4 edition's pages", () => {
  for (const page of pages) {
    it(`every TypeScript block of ${page} is a type-checked file under examples/`, () => {
      for (const block of blocksOf(page)) {
        const found = all.some(({ depth, text }) => text.includes(asExample(block, depth)))
        expect(found, `${page}: no file under examples/ holds\n${block}`).toBe(true)
      }
    })
  }

  it("the comparison with effect/persistence/CircuitBreaker gives the bench command and its figures", () => {
    const page = fs.readFileSync(path.join(edition, "docs/coming-from-effect-circuit-breaker.md"), "utf8")
    const pkg = JSON.parse(fs.readFileSync(path.join(edition, "package.json"), "utf8"))
    expect(pkg.scripts["bench:breaker"]).toContain("bench/breaker.ts")
    expect(page).toContain("npm run bench:breaker")
    expect(fs.existsSync(path.join(edition, "bench/breaker.ts"))).toBe(true)
    for (const measured of ["× bare", "EVALSHA", "Redis stopped", "p99"]) expect(page).toContain(measured)
  })

  it("the performance page and the comparison give the commands the benches answer to", () => {
    const performance = fs.readFileSync(path.join(edition, "docs/performance.md"), "utf8")
    const comparison = fs.readFileSync(path.join(edition, "docs/coming-from-effect-circuit-breaker.md"), "utf8")
    // the top-level bench takes the section "effect4" and hands it to this edition's script
    const topLevel = fs.readFileSync(path.join(edition, "../bench/index.ts"), "utf8")
    expect(topLevel).toContain(`name !== "effect4"`)
    expect(topLevel).toContain(`"bench:breaker"`)
    for (const page of [performance, comparison]) {
      expect(page).toContain("npm run bench -- --only effect4")
      expect(page).toContain("npm run bench:breaker")
      expect(page).toContain("our store")
    }
    for (const measured of ["Redis commands per call", "rejections per second", "Redis stopped for 3 s", "p99"]) {
      expect(performance).toContain(measured)
    }
  })
})

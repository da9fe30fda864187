import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * Every TypeScript block of the README and docs/ must stand, word for word, in a file under
 * examples/, which `npm test` type-checks: so no snippet a reader copies can rot. The docs
 * import "effect-resilience"; the examples import the sources.
 */
const root = path.resolve(import.meta.dirname, "..")

const blocksOf = (file: string): ReadonlyArray<string> => {
  const text = fs.readFileSync(file, "utf8")
  return Array.from(text.matchAll(/```ts\n([\s\S]*?)```/g), (m) => m[1]!)
}

const normalize = (block: string, depth: number): string => {
  const up = "../".repeat(depth)
  return block
    .replaceAll("from \"effect-resilience/testing\"", `from "${up}src/Testing.js"`)
    .replaceAll("from \"effect-resilience\"", `from "${up}src/index.js"`)
    .trim()
}

const examples = (dir: string, depth: number): ReadonlyArray<{ depth: number; text: string }> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? examples(path.join(dir, entry.name), depth + 1)
      : entry.name.endsWith(".ts")
      ? [{ depth, text: fs.readFileSync(path.join(dir, entry.name), "utf8") }]
      : []
  )

describe("docs", () => {
  const files = [
    path.join(root, "README.md"),
    ...fs.readdirSync(path.join(root, "docs")).map((f) => path.join(root, "docs", f))
  ]
    .filter((f) => f.endsWith(".md"))
  const sources = examples(path.join(root, "examples"), 1)
  for (const file of files) {
    it(`every TypeScript block of ${path.relative(root, file)} is a type-checked example`, () => {
      for (const block of blocksOf(file)) {
        const found = sources.some((source) => source.text.includes(normalize(block, source.depth)))
        expect(found, `not under examples/:\n${block}`).toBe(true)
      }
    })
  }
})

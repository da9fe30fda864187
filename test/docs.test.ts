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

/** Names every snippet may use without importing them: the language's and the platform's. */
const builtins = new Set([
  "Array",
  "BigInt",
  "Date",
  "Error",
  "JSON",
  "Map",
  "Math",
  "Number",
  "Object",
  "Promise",
  "ReadonlyArray",
  "Record",
  "Set",
  "String",
  "Symbol",
  "URL",
  "Uint8Array"
])

/**
 * The capitalised names a snippet uses (`Effect.gen`, `new Agent(`, `Context.Tag<`) that it
 * neither imports nor declares: a reader who copies it must not have to guess where they come from.
 */
const unboundNames = (block: string): ReadonlyArray<string> => {
  const code = block
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "\"\"")
  const bound = new Set<string>()
  for (
    const [, namespace, named, single] of code.matchAll(/import\s+(?:type\s+)?(?:\*\s+as\s+(\w+)|\{([^}]*)\}|(\w+))/g)
  ) {
    for (const name of [namespace, single]) if (name !== undefined) bound.add(name)
    for (const part of named?.split(",") ?? []) {
      const alias = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)
      bound.add(alias[alias.length - 1]!)
    }
  }
  for (const [, name] of code.matchAll(/\b(?:class|const|let|function|interface|type|enum|namespace)\s+(\w+)/g)) {
    bound.add(name!)
  }
  const used = new Set(Array.from(code.matchAll(/(?<![\w.$])([A-Z]\w*)(?=\.|\(|<)/g), (m) => m[1]!))
  return [...used].filter((name) => !bound.has(name) && !builtins.has(name))
}

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
    it(`every TypeScript block of ${path.relative(root, file)} has its imports`, () => {
      const text = fs.readFileSync(file, "utf8")
      for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
        // a block that says it continues the one before shares its imports
        const before = text.slice(0, match.index).trimEnd().split("\n").pop() ?? ""
        if (before.includes("(continued)")) continue
        expect(unboundNames(match[1]!), `a block of ${path.relative(root, file)} misses imports:\n${match[1]}`)
          .toEqual([])
      }
    })
  }

  it("the package's version is the latest version of CHANGELOG.md", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }
    const changelog = fs.readFileSync(path.join(root, "CHANGELOG.md"), "utf8")
    const latest = /^## .*?(\d+\.\d+\.\d+)/m.exec(changelog)?.[1]
    expect(latest).toBe(pkg.version)
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { action, files, parse, read } from "../scripts/gettingStarted.js"

/**
 * docs/getting-started.md is followed word for word by `npm run test:package` (in an empty
 * folder, against the packed tarball). These fast checks keep the page, its type-checked copy in
 * examples/getting-started/ and the package's own ranges in agreement without packing anything.
 */
const root = path.resolve(import.meta.dirname, "..")
const steps = read()
const pageFiles = files(steps)
const commands = steps.flatMap((step) => step._tag === "Command" ? [step.command] : [])

const asExample = (text: string) =>
  text
    .replaceAll("from \"effect-resilience/testing\"", "from \"../../src/Testing.js\"")
    .replaceAll("from \"effect-resilience\"", "from \"../../src/index.js\"")

describe("docs/getting-started.md", () => {
  it("writes a package.json, a tsconfig.json and the app's sources, and nothing else", () => {
    expect([...pageFiles.keys()].sort()).toEqual([
      "package.json",
      "src/Chroma.ts",
      "src/main.ts",
      "src/search.test.ts",
      "src/search.ts",
      "src/server.ts",
      "tsconfig.json"
    ])
  })

  it("each source is, byte for byte, its type-checked copy in examples/getting-started/ (below its header line)", () => {
    for (const [file, text] of pageFiles) {
      if (!file.endsWith(".ts")) continue
      const example = fs.readFileSync(path.join(root, "examples/getting-started", path.basename(file)), "utf8")
      expect(example.startsWith("// docs/getting-started.md"), file).toBe(true)
      expect(example.slice(example.indexOf("\n") + 1), file).toBe(asExample(text))
    }
  })

  it("the project is an ES module package with the scripts the page runs, checked under NodeNext", () => {
    const pkg = JSON.parse(pageFiles.get("package.json")!)
    expect(pkg.type).toBe("module")
    expect(Object.keys(pkg.scripts).sort()).toEqual(["serve", "start", "test", "typecheck"])
    const tsconfig = JSON.parse(pageFiles.get("tsconfig.json")!)
    expect(tsconfig.compilerOptions.moduleResolution).toBe("NodeNext")
  })

  it("starts from an empty folder, and the package check knows every command", () => {
    expect(action(commands[0]!)?._tag).toBe("Enter")
    for (const command of commands) expect(action(command), command).toBeDefined()
    expect(commands).toEqual(expect.arrayContaining(["npm run typecheck", "npm start", "npm test"]))
  })

  it("installs the Effect 3 ranges the package declares (never effect@latest, which is 4.x)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    const installed = commands.filter((command) => action(command)?._tag === "Install").join(" ").split(" ")
    const range = (name: string) => installed.find((word) => word.startsWith(`${name}@`))?.slice(name.length + 1)
    // the page's short range (^3.22) covers the declared one (^3.22.0)
    for (const peer of ["effect", "@effect/platform"]) {
      expect(pkg.peerDependencies[peer], peer).toMatch(new RegExp(`^${range(peer)!.replace(/[.^]/g, "\\$&")}\\.0$`))
    }
    expect(range("@effect/platform-node")).toBe("^0.108")
    // the lean transport of step 5: the optional peer, in the major the package declares
    expect(pkg.peerDependencies.undici).toBe(`${range("undici")}.0.0`)
    expect(range("@effect/vitest")).toBe("^0.30")
    expect(range("vitest")).toBe("^3.2")
    // the 0.3 line by its range: once the Effect 4 edition (0.4) is `latest`, a bare name installs that
    expect(range("effect-resilience")).toBe(pkg.version.replace(/^(\d+\.\d+)\..*$/, "^$1"))
    expect(installed).not.toContain("effect")
  })

  it("the README gives the same install line", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
    const install = commands.find((command) => command.startsWith("npm i effect-resilience@"))!
    expect(readme.includes(install), install).toBe(true)
  })
})

describe("the page parser", () => {
  it("reads labelled blocks as files, continued blocks as appends, sh lines as commands", () => {
    const page = [
      "```sh",
      "mkdir app && cd app",
      "npm test   # the tests",
      "```",
      "`src/a.ts`",
      "",
      "```ts",
      "export const a = 1",
      "```",
      "`src/a.ts` (continued)",
      "",
      "```ts",
      "export const b = 2",
      "```",
      "Some output:",
      "",
      "```json",
      "{}",
      "```"
    ].join("\n")
    const parsed = parse(page)
    expect(parsed.map((step) => step._tag)).toEqual(["Command", "Command", "File", "File"])
    expect(parsed[1]).toEqual({ _tag: "Command", command: "npm test" })
    expect(files(parsed)).toEqual(new Map([["src/a.ts", "export const a = 1\n\nexport const b = 2\n"]]))
  })

  it("refuses a continued file that was never begun", () => {
    expect(() => files(parse("`x.ts` (continued)\n\n```ts\nx\n```"))).toThrow("continued before it is begun")
  })
})
